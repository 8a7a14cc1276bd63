"""One card per evidence item, and the pictures the report carries for them.

Pictures are copied from the case only when their bytes still match the digest
the custody log recorded; a picture that does not is left out with a note, so
the report never shows altered content as the case's.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from forensics.custody.verify import VerifyReport
from forensics.custody.view import CaseView, ItemView
from forensics.digests import named_sha256, sha256_digest
from forensics.errors import MediaError
from forensics.media.metadata.formats.credentials import Credentials
from forensics.media.metadata.record import MediaRecord, StreamFacts, iso
from forensics.messages.case_records import CarriersRecord, ExportRecord
from forensics.record_kinds import FRAMES, METADATA
from forensics.report import facts
from forensics.report.chronology import implausible_reason
from forensics.report.exhibits import Exhibits, derived_findings, original_findings
from forensics.report.folder import Assets
from forensics.report.markup import attr, definitions, digest, esc, seconds, table
from forensics.report.verdict import Related, verdict_html
from forensics.report.where_when import FORMAT_ZERO, WhereWhen

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

log = logging.getLogger(__name__)

_NOT_UTF8 = ' <span class="flag">not UTF-8: shown with \\xNN escapes, exact bytes kept in the log</span>'
AUDIO_PICTURE_S = 30.0
SILENT_DBFS = -80.0  # a span whose loudest sample is below this holds nothing to see  # an audio card shows the first half minute; matches show their own span


@dataclass(frozen=True, slots=True)
class Context:
    """What every part of a report names items by and links them with, computed once per report."""

    view: CaseView
    verification: VerifyReport
    exhibits: Exhibits
    related: Related
    found: WhereWhen
    links: Mapping[str, str]  # item sha256 -> a link to its card, "E3 name as first received"

    @classmethod
    def of(cls, view: CaseView, verification: VerifyReport, exhibits: Exhibits, found: WhereWhen) -> Context:
        links = {e.item.sha256: f'<a href="#{e.label}"><b>{e.label}</b> {esc(e.item.display_name)}</a>'
                 for e in exhibits}
        return cls(view, verification, exhibits, Related.of(view), found, links)

    def link(self, item: ItemView | None) -> str:
        """Gives a link to the item's card, named by exhibit number and first name."""
        return "" if item is None else self.links[item.sha256]

    def ref(self, ref: facts.Reference) -> str:
        """Gives a link to the card of a file a record names, or its name as written when the case lacks it."""
        return self.links[ref.item.sha256] if ref.item is not None else esc(ref.name)


def anchor(ctx: Context, item: ItemView) -> str:
    """Gives the id of the item's card: its exhibit label, "E3"."""
    return ctx.exhibits.of(item).label


class Pictures:
    """Copies or draws each picture once, into the report's assets; gives <img> HTML."""

    def __init__(self, view: CaseView, assets: Assets) -> None:
        self.view = view
        self.assets = assets
        self._done: dict[tuple[Any, ...], str] = {}
        self._why: dict[tuple[Any, ...], str] = {}  # why a photo has no preview
        # The first audio track of the items drawn last (sha256 -> samples), at most two: a match draws its query
        # and its reference, and one recording matched to several is drawn again at once, each without decoding
        # the whole file again; more could hold hours of samples each.
        self._sounds: dict[str, NDArray[np.float32]] = {}

    def _img(self, rel: str, alt: str, *, loading: str = "lazy") -> str:
        return f'<img src="{rel}" alt="{attr(alt)}" loading="{loading}">'

    def derived(self, item: ItemView, path: str | None, alt: str) -> str:
        """Gives an <img> of a derived file of the item, checked against its logged digest."""
        if not path:
            return ""
        key = ("derived", path)
        if key not in self._done:
            self._done[key] = self._copy(item, path, alt)
        return self._done[key]

    def _copy(self, item: ItemView, path: str, alt: str) -> str:
        derived = item.derived_file(path)
        if derived is None:
            return f'<p class="flag">{esc(path)} is not a file the log records</p>'
        try:
            data = self.view.read_file(path, max_bytes=max(2 * derived.stored.size, 1 << 20))
        except (OSError, ValueError) as ex:
            return f'<p class="flag">{esc(path)} cannot be read ({esc(getattr(ex, "strerror", None) or ex)})</p>'
        if sha256_digest(data) != named_sha256(derived.stored.sha256):
            return f'<p class="flag">{esc(path)} differs from what the log recorded; not shown</p>'
        suffix = "." + path.rsplit(".", 1)[-1].lower() if "." in path else ""
        return self._img(self.assets.add(data, suffix), alt)

    def thumbnail(self, item: ItemView | None) -> str:
        if item is None:
            return ""
        frames = item.frames
        if frames is not None and frames.thumbnail:
            return self.derived(item, frames.thumbnail, f"thumbnail of {item.display_name}")
        if item.item.media_type == "image":
            return self.photo(item)
        return ""

    def photo(self, item: ItemView) -> str:
        """Gives an <img> of a reduced copy of the photo, or "" (photo_missing says why)."""
        return self._photo(item)[0]

    def photo_missing(self, item: ItemView) -> str:
        """Gives why the photo has no preview: a format not decoded here, a damaged file, a copy that changed."""
        return self._photo(item)[1]

    def _photo(self, item: ItemView) -> tuple[str, str]:
        key = ("photo", item.sha256)
        if key not in self._why:
            from forensics.report.pictures import picture_preview

            html, why = "", ""
            try:
                data = self.view.read_file(item.item.stored.path, max_bytes=max(2 * item.item.stored.size, 1 << 20))
            except (OSError, ValueError) as ex:
                data, why = b"", f"the stored copy cannot be read ({getattr(ex, 'strerror', None) or ex})"
            if sha256_digest(data) == named_sha256(item.sha256):
                image = item.metadata.image if item.metadata is not None else None
                preview = picture_preview(data, width_px=image.width_px if image else None,
                                          height_px=image.height_px if image else None)
                why = preview.why_not
                if preview.jpeg is not None:
                    html = self._img(self.assets.add(preview.jpeg, ".jpg"), f"preview of {item.display_name}")
            elif not why:
                # Verify read it intact, or the card says so first: it changed since, so nothing of it is shown.
                why = "the stored copy no longer matches its digest"
            self._done[key], self._why[key] = html, why
        return self._done[key], self._why[key]

    def frame_at(self, item: ItemView | None, time_s: float | None) -> str:
        """Gives the stored frame nearest `time_s` (the thumbnail for a photo or no time)."""
        if item is None:
            return ""
        frames = item.frames
        if time_s is None or frames is None or not frames.frames:
            return self.thumbnail(item)
        nearest = min(frames.frames, key=lambda f: abs(f.pts_s - time_s))
        return self.derived(item, nearest.path, f"frame of {item.display_name} at {nearest.pts_s} s")

    def spectrogram(self, item: ItemView | None, span_s: tuple[float, float] | None, role: str,
                    marks_s: tuple[tuple[float, float], ...] = ()) -> str:
        """Gives a <figure> with a spectrogram of the item's audio over `span_s` (with a second either side)."""
        if item is None:
            return ""
        key = ("spectrogram", item.sha256, span_s, marks_s)
        if key not in self._done:
            self._done[key] = self._draw(item, span_s, role, marks_s)
        return self._done[key]

    def _draw(self, item: ItemView, span_s: tuple[float, float] | None, role: str,
              marks_s: tuple[tuple[float, float], ...]) -> str:
        import numpy as np

        from forensics.report.pictures import SPECTROGRAM_RATE_HZ, spectrogram_png

        if span_s is None:
            start_s, length_s, marks = 0.0, AUDIO_PICTURE_S, marks_s
        else:
            start_s = max(0.0, span_s[0] - 1.0)
            length_s, marks = span_s[1] + 1.0 - start_s, (span_s, *marks_s)
        try:
            sound = self._sound(item)
        except MediaError as ex:
            return f'<p class="flag">no spectrogram of {esc(item.display_name)}: {esc(ex)}</p>'
        # int(round()): `start_s` may be a NumPy float, which round() leaves a float before NumPy 2.
        first = int(round(start_s * SPECTROGRAM_RATE_HZ))  # noqa: RUF046
        samples = sound[first:first + int(length_s * SPECTROGRAM_RATE_HZ)]
        if len(samples) == 0:
            return ""
        end_s = start_s + len(samples) / SPECTROGRAM_RATE_HZ
        peak = float(np.abs(samples).max())
        # Whole dB as an int: np.log10 gives a NumPy float, which round() leaves a float before NumPy 2, and full
        # scale must read "0", not "-0".
        peak_db = int(round(20 * np.log10(max(peak, 1e-12))))  # noqa: RUF046
        if peak_db < SILENT_DBFS:
            # A spectrogram of digital silence is a black box that looks like a fault: say what it is.
            return (f'<p class="muted">{role}: {esc(item.display_name)}, {start_s:.2f}–{end_s:.2f} s: the audio '
                    f"track is silent (peak {peak_db} dBFS); no spectrogram</p>")
        png = spectrogram_png(samples, start_s=start_s, title=f"{role}: 0-4 kHz", marks_s=marks)
        caption = f"{role}: {esc(item.display_name)}, {start_s:.2f}–{end_s:.2f} s, peak {peak_db} dBFS"
        if marks:
            caption += "; outlined: " + ", ".join(f"{a:.2f}–{b:.2f} s" for a, b in marks)
        return (f"<figure>{self._img(self.assets.add(png, '.png'), f'spectrogram of {item.display_name}')}"
                f"<figcaption>{caption}</figcaption></figure>")

    def _sound(self, item: ItemView) -> NDArray[np.float32]:
        """Gives the item's first audio track as the audio step decodes it (forensics.audio.decode), mono at the
        spectrogram's rate: sample n is at n / rate seconds, the times the audio records state."""
        from forensics.audio.decode import decode_audio
        from forensics.report.pictures import SPECTROGRAM_RATE_HZ

        sound = self._sounds.pop(item.sha256, None)
        if sound is None:
            path = self.view.path / item.item.stored.path
            sound = decode_audio(path, sample_rate_hz=SPECTROGRAM_RATE_HZ).tracks[0].samples
        self._sounds[item.sha256] = sound  # last in the dict: the one drawn last
        while len(self._sounds) > 2:
            del self._sounds[next(iter(self._sounds))]
        return sound


def card(ctx: Context, item: ItemView, pictures: Pictures) -> str:
    """Gives the card of one item: its verdict block, pictures, names as received, digests, metadata, audio."""
    meta = item.metadata
    stored = item.item.stored
    label = anchor(ctx, item)
    failed = original_findings(ctx.verification, item)
    figures = []
    frames = item.frames
    if frames is not None:
        figures.append(f"<figure>{pictures.thumbnail(item)}<figcaption>thumbnail</figcaption></figure>")
        sheet = pictures.derived(item, frames.contact_sheet, f"contact sheet of {item.display_name}")
        figures.append(f"<figure>{sheet}<figcaption>contact sheet: {len(frames.frames)} frames, "
                       f"{len(frames.shots)} shot(s)</figcaption></figure>")
    elif item.item.media_type == "image":
        if failed:  # the stored copy is not what was received: nothing drawn from it is shown
            figures.append(f'<p class="bad-text">no preview: the stored copy failed verification '
                           f"({esc(failed[0].code)}: {esc(failed[0].message)}); what the case holds is not what "
                           "was received, and is not shown</p>")
        else:
            preview = pictures.photo(item)
            why = pictures.photo_missing(item)
            damaged = why.startswith("the file is damaged")
            figures.append(f"<figure>{preview}<figcaption>preview (reduced)</figcaption></figure>" if preview else
                           f'<p class="{"bad-text" if damaged else "muted"}">no preview: {esc(why)}; the original '
                           "is in the case, as received</p>")
    segments = facts.transmissions(item)
    if _has_audio(item) and not failed:
        figures.append(pictures.spectrogram(item, None, "audio", tuple((t.start_s, t.end_s) for t in segments)))
    receipts = "".join(f"<li>{esc(r.name)}{_NOT_UTF8 if r.name_b64 is not None else ''}"
                       f' <span class="muted">({esc(r.incident)}, from {esc(r.source_root)}, '
                       f"log entry {r.log_seq}, {esc(r.time)})</span></li>" for r in item.item.receipts)
    pairs = [("names as received", f"<ul>{receipts}</ul>"),
             ("type", esc(item.item.media_type) + (f" ({esc(item.item.mime)})" if item.item.mime else "")),
             ("size", f"{stored.size:,} bytes"),
             ("sha256", digest(stored.sha256)), ("sha512", digest(stored.sha512)),
             ("stored as", f"<code>{esc(stored.path)}</code>"),
             *_metadata_pairs(meta, item.failure(METADATA))]
    carried = item.messages
    parts = [(f'<article class="card{" failed" if failed else ""}" id="{label}">'
              f'<h3><span class="exhibit">{label}</span> {esc(item.display_name)}</h3>')]
    if failed:
        parts.append('<p class="banner" role="alert"><b>FAILED verification</b>: '
                     + "; ".join(f"{esc(f.code)}: {esc(f.message)}" for f in failed)
                     + ". The case no longer holds the bytes received under this exhibit.</p>")
    parts.append(verdict_html(ctx.view, item, label, failed, derived_findings(ctx.verification, item), ctx.related,
                              ctx.found, ctx.links))
    if any(figures):
        parts.append(f'<div class="pictures">{"".join(figures)}</div>')
    parts.append(f"<details open><summary>Details</summary>{definitions(pairs)}")
    if meta is not None and meta.provenance is not None and meta.provenance.state != "none":
        parts.append(f'<div id="{label}-credentials">{credentials_html(meta.provenance)}</div>')
    if carried is not None and carried.carriers:
        parts.append(f'<div id="{label}-carried">{carriers_html(carried, ctx)}</div>')
    if item.export is not None:
        parts.append(export_html(item.export))
    if segments:
        rows = [(str(n), seconds(t.start_s), seconds(t.end_s), seconds(t.end_s - t.start_s))
                for n, t in enumerate(segments, 1)]
        parts.append("<p><b>Transmissions</b> <span class=\"muted\">(speech bursts)</span></p>"
                     + table(("#", "start", "end", "length"), rows))
    if item.failure(FRAMES):
        parts.append(f'<p class="flag">frames could not be extracted: {esc(item.failure(FRAMES))}</p>')
    return "".join(parts) + "</details></article>"


def _has_audio(item: ItemView) -> bool:
    return item.metadata is not None and item.metadata.audio_track_count > 0


def _metadata_pairs(meta: MediaRecord | None, failure: str | None) -> list[tuple[str, str]]:
    error = failure if meta is None else meta.error
    if error:
        return [("metadata", f'<span class="flag">{esc(error)}</span>')]
    if meta is None:
        return [("metadata", '<span class="none">no metadata record</span>')]
    captured = iso(meta.captured_at_utc) or (f"{iso(meta.captured_at)} (local, no zone)" if meta.captured_at else "")
    if captured and meta.captured_at_source:
        how = f"from {meta.captured_at_source}"
        if meta.capture_zone is not None and meta.captured_at is not None:
            how = (f"{iso(meta.captured_at)} local, from {meta.captured_at_source}, in the zone of the GPS position "
                   f"({meta.capture_zone.name})")
        elif meta.captured_at is not None and meta.captured_at.tzinfo is not None:
            how = f"{iso(meta.captured_at)} as the file gives it, from {meta.captured_at_source}"
        captured = f"{esc(captured)} <span class=\"muted\">{esc(how)}</span>"
    gps = meta.gps
    place = ""
    if gps is not None and gps.has_position:
        place = f"{gps.latitude_deg:.6f}, {gps.longitude_deg:.6f} <span class=\"muted\">{esc(gps.source)}</span>"
    device, container = meta.device, meta.container
    streams = "<br>".join(esc(_stream_text(s)) for s in meta.streams)
    created = iso(meta.created_at) or ""
    if meta.created_at is not None and implausible_reason(meta.created_at) is not None:
        created = f"{created}: {FORMAT_ZERO}"
    return [("captured", captured if "<" in str(captured) else esc(captured)),
            ("container created", esc(created)),
            ("place", place),
            ("device", esc(" ".join(v for v in (device.make, device.model) if v))),
            ("software", esc(device.software or "")),
            ("format", esc((container.format_long_name or container.format_name) if container else "")),
            ("duration", seconds(container.duration_s if container else None)),
            ("streams", streams)]


def _stream_text(s: StreamFacts) -> str:
    parts = [f"#{s.index} {s.kind}", str(s.codec or "")]
    if s.display_width_px:
        parts.append(f"{s.display_width_px}x{s.display_height_px}")
    if s.frame_rate_avg_fps:
        parts.append(f"{s.frame_rate_avg_fps:.3g} fps")
    if s.sample_rate_hz:
        parts.append(f"{s.sample_rate_hz} Hz, {s.channels} ch")
    return " ".join(p for p in parts if p)


def credentials_html(c: Credentials) -> str:
    """Gives what a file's Content Credentials say, and whether they hold, as a small block."""
    if c.state == "not_checked":
        return (f'<p><b>Content Credentials</b> <span class="flag">not checked</span> {esc(c.note or "")}'
                + (f" <code>{esc(c.remote_url)}</code>" if c.remote_url else "") + "</p>")
    state = {"valid": "valid", "trusted": "valid, signer trusted", "invalid": "INVALID"}.get(c.state, c.state)
    trust = {"unverified": "signer not checked against any trust list (named, not vouched for)",
             "trusted": "signer chains to a trust anchor given", "untrusted": "signer outside the trust anchors given"}
    pairs = [("state", f'<span class="{"flag" if c.state == "invalid" else "muted"}">{esc(state)}</span>'
                       + (f" ({esc(', '.join(f.code for f in c.integrity_failures))})" if c.integrity_failures
                          else "")),
             ("signer", esc(" / ".join(v for v in (c.signer, c.issuer) if v))
              + (f' <span class="muted">{esc(trust.get(c.trust, ""))}</span>' if c.trust else "")),
             ("signed", esc(c.signed_at or "") + (f' <span class="muted">time-stamped by {esc(c.time_stamp)}</span>'
                                                   if c.time_stamp else "")),
             ("made with", esc(c.claim_generator or "")),
             ("actions", "<br>".join(esc(" ".join(v for v in (a.action.removeprefix("c2pa."),
                                                              f"by {a.software_agent}" if a.software_agent else "",
                                                              f"({a.digital_source_type})" if a.digital_source_type
                                                              else "") if v)) for a in c.actions)),
             ("ingredients", "<br>".join(esc(f"{i.title or '(untitled)'} ({i.relationship or 'ingredient'}"
                                             f"{', with its own credentials' if i.has_credentials else ''})")
                                         for i in c.ingredients))]
    return "<p><b>Content Credentials</b> <span class=\"muted\">(C2PA, read offline)</span></p>" + definitions(pairs)


def carriers_html(record: CarriersRecord, ctx: Context | None = None) -> str:
    """Gives the messages that carried an item, one row each, the export linked to its card when `ctx` is given."""
    rows = []
    for c in record.carriers:
        m = c.message
        sent = m.sent
        when = (sent.at or f"{sent.local} (zone unknown)") if sent is not None else ""
        who = m.sender or ""
        if m.forwarded_from:
            who += f" (forwarded from {m.forwarded_from})"
        where = esc(f"{m.source}: {m.chat or ''} {m.where}".strip())
        export = ctx.view.item_named(m.export) if ctx is not None else None
        if export is not None and ctx is not None:
            where += f"<br>in {ctx.link(export)}"
        text = (m.title + ": " if m.title else "") + m.text
        rows.append((esc(when), esc(who), where + (f"<br><code>{esc(m.url)}</code>" if m.url else ""),
                     esc(text[:300] + ("…" if len(text) > 300 else "")),
                     esc(c.named_path) + (' <span class="muted">(same bytes)</span>' if c.by == "same-bytes" else "")))
    more = (f'<p class="muted">{record.same_bytes_left_out} more messages carried copies of these bytes; not listed</p>'
            if record.same_bytes_left_out else "")
    return ("<p><b>Carried by</b> <span class=\"muted\">(from the messenger and platform exports received)</span></p>"
            + table(("sent", "sender", "chat", "text", "as"), rows) + more)


def export_html(record: ExportRecord) -> str:
    """Gives how an export was read and what it names that the case did not receive."""
    e = record.export
    pairs = [("export", esc(f"{e.form}, {record.message_count} messages") + (f", chat {esc(e.chat)}" if e.chat else "")),
             ("read", "<br>".join(esc(n) for n in e.notes)),
             ("not understood", "<br>".join(esc(f"{u.where}: {u.note}") for u in e.unparsed[:20])),
             ("named, not received", "<br>".join(esc(f"{a.named} ({a.state}, {a.where})") for a in record.absent[:50])
              + (f"<br>… {len(record.absent) - 50} more" if len(record.absent) > 50 else "")),
             ("media no export names", "<br>".join(esc(n) for n in record.unnamed[:50]))]
    return "<p><b>Messenger export</b></p>" + definitions(pairs)
