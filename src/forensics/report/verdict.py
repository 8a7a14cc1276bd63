"""The block at the top of each item's card: what is established, what the file claims, what to check, and how the
item is related to others, each line short and each linked to where the report shows it in full.

Established is what the custody log and `forensics verify` prove (received
when and under which names, intact or not, digests). Claimed is what the file
and the messages that carried it say, which anyone could have written.
Leads are the flags to check, their sentence first. Related lists the copies
of the same footage, the matches found (their band and its measured precision
in words, score after) and the items a messenger export carried.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timezone

from forensics.custody.inspection import Finding
from forensics.custody.view import CaseView, ItemView
from forensics.media.metadata.record import MediaRecord, iso
from forensics.report import facts
from forensics.report.chronology import implausible_reason, time_text
from forensics.report.markup import digest, esc
from forensics.report.methods import INTERCEPTS, NEAR_DUPLICATES, score_words
from forensics.report.where_when import FORMAT_ZERO, WhereWhen

RECEIPTS_NAMED = 5  # names listed in the block; the card lists them all


@dataclass(frozen=True, slots=True)
class Related:
    """The case's same-footage groups, matches and leads, numbered as the report's sections show them."""

    groups: list[list[facts.Reference]]
    matches: list[facts.DuplicateMatch]
    leads: list[facts.SceneLead]
    intercepts: list[tuple[int, facts.InterceptMatch]]  # each with its number: the chronology's, one per pair
    carried_by_export: Mapping[str, list[ItemView]]  # an export's received name -> the items its messages carried

    @classmethod
    def of(cls, view: CaseView) -> Related:
        carried: dict[str, list[ItemView]] = {}
        for item in view.items:
            for carrier in item.messages.carriers if item.messages is not None else ():
                members = carried.setdefault(carrier.message.export, [])
                if all(m.sha256 != item.sha256 for m in members):
                    members.append(item)
        return cls(facts.duplicate_groups(view), facts.duplicate_matches(view), facts.scene_leads(view),
                   numbered_intercepts(facts.intercept_matches(view)), carried)


def numbered_intercepts(matches: list[facts.InterceptMatch]) -> list[tuple[int, facts.InterceptMatch]]:
    """Gives each match the number of its pair of files, as the chronology numbers them (case_claims.py): pairs of
    the case's items first, in the order given; then matches in a library, one number each. Two places of one pair
    share its number."""
    pairs: dict[tuple[str, str], int] = {}
    for m in matches:
        if m.query.item is not None and m.reference.item is not None and m.query.key != m.reference.key:
            pairs.setdefault((min(m.query.key, m.reference.key), max(m.query.key, m.reference.key)), len(pairs) + 1)
    numbered = []
    for m in matches:
        number = pairs.get((min(m.query.key, m.reference.key), max(m.query.key, m.reference.key)))
        if number is None:
            number = len(pairs) + 1
            pairs[(m.query.key, f"{m.reference.key}#{number}")] = number
        numbered.append((number, m))
    return sorted(numbered, key=lambda nm: nm[0])


def group_id(n: int) -> str:
    return f"same-footage-{n}"


def match_id(n: int) -> str:
    return f"match-{n}"


def intercept_id(n: int) -> str:
    return f"intercept-{n}"


def lead_id(n: int) -> str:
    return f"lead-{n}"


def _ref(ref: facts.Reference, links: Mapping[str, str]) -> str:
    return links.get(ref.item.sha256, esc(ref.label)) if ref.item else esc(ref.name)


def _span(span: tuple[float, float] | None) -> str:
    return "" if span is None else f" {span[0]:.2f}–{span[1]:.2f} s"


def capture_claim(meta: MediaRecord) -> tuple[str, str]:
    """Gives the capture time a file claims, in its zone and in UTC, and where that zone comes from."""
    when = meta.captured_at
    if when is None:
        return "", ""
    reason = implausible_reason(when)
    if reason is not None:
        return f"{iso(when)}: {FORMAT_ZERO if 'zero' in reason else 'not a plausible date'} ({reason})", ""
    zone = meta.capture_zone
    if when.tzinfo is None and zone is not None and meta.captured_at_utc is not None:
        local = meta.captured_at_utc.astimezone(timezone(zone.offset))
        twice = "; a local time that happened twice or never" if zone.ambiguous else ""
        return time_text(local), f"the file states no zone: {zone.name}, the zone of its GPS position{twice}"
    if when.tzinfo is None:
        return time_text(when), "the file states no zone, and no GPS position gives one"
    return time_text(when), "the zone as the file states it"


def verdict_html(view: CaseView, item: ItemView, anchor: str, failed: list[Finding], others_failed: list[Finding],
                 related: Related, found: WhereWhen, links: Mapping[str, str]) -> str:
    """Gives an item's verdict block: established, claimed, leads to check, related."""
    return ('<div class="verdict-block">'
            + _part("Established", _established(item, failed, others_failed))
            + _part("Claimed", _claimed(item, anchor, found))
            + _part("Leads to check", _leads(item, related, links))
            + _part("Related", _related(view, item, related, links)) + "</div>")


def _part(title: str, lines: list[str]) -> str:
    if not lines:
        return ""
    return f'<p class="vb-head">{title}</p><ul>' + "".join(f"<li>{line}</li>" for line in lines) + "</ul>"


def _established(item: ItemView, failed: list[Finding], others_failed: list[Finding]) -> list[str]:
    receipts = item.item.receipts
    lines = []
    if receipts:
        first = receipts[0]
        also = [esc(r.name) for r in receipts[1:RECEIPTS_NAMED]]
        more = f" and {len(receipts) - RECEIPTS_NAMED} more" if len(receipts) > RECEIPTS_NAMED else ""
        lines.append(f"received {len(receipts)} time(s): first as {esc(first.name)} at {esc(first.time)} "
                     f"(log entry {first.log_seq}{', incident ' + esc(first.incident) if first.incident else ''})"
                     + (f"; also as {', '.join(also)}{more}" if also else ""))
    if failed:
        lines.append('<span class="bad-text">FAILED <code>forensics verify</code>: '
                     + "; ".join(f"{esc(f.code)}: {esc(f.message)}" for f in failed) + "</span>")
    else:
        lines.append(f"intact: <code>forensics verify</code> read every byte of the stored copy and found its size "
                     f"({item.item.stored.size:,} bytes) and both digests as log entry {item.item.stored.log_seq} "
                     "recorded them")
    lines += [f'<span class="bad-text">{esc(f.code)}: {esc(f.subject)}: {esc(f.message)} (a file derived from it, '
              "or a record about it; left out of this report)</span>" for f in others_failed]
    lines.append(f"sha256 {digest(item.item.stored.sha256)}")
    return lines


def _claimed(item: ItemView, anchor: str, found: WhereWhen) -> list[str]:
    meta = item.metadata
    lines = []
    if meta is not None and not meta.error:
        when, zone = capture_claim(meta)
        if when:
            lines.append(f"captured <code>{esc(when)}</code>" + (f" <span class=\"muted\">from "
                                                                  f"{esc(meta.captured_at_source)}; {esc(zone)}"
                                                                  "</span>" if zone else ""))
        if meta.created_at is not None and implausible_reason(meta.created_at) is not None:
            lines.append(f"container date <code>{esc(iso(meta.created_at))}</code>: {FORMAT_ZERO}")
        gps = meta.gps
        if gps is not None and gps.has_position:
            outlier = next((km for p, km in found.places.outliers if p.item_id == item.sha256), None)
            left = next((why for p, why in found.places.left_out if p.item_id == item.sha256), None)
            note = (f' <span class="flag">outlier: {outlier:,.1f} km from the main place</span>' if outlier is not None
                    else f' <span class="flag">left out: {esc(left)}</span>' if left else "")
            lines.append(f'place <a href="#places">{gps.latitude_deg:.6f}, {gps.longitude_deg:.6f}</a> '
                         f'<span class="muted">from {esc(gps.source)}</span>{note}')
        device = " ".join(v for v in (meta.device.make, meta.device.model) if v)
        if device or meta.device.software:
            lines.append("device " + esc(device or "not named")
                         + (f' <span class="muted">software {esc(meta.device.software)}</span>'
                            if meta.device.software else ""))
        c = meta.provenance
        if c is not None and c.state != "none":
            state = {"valid": "valid", "trusted": "valid, signer trusted", "invalid": "INVALID",
                     "not_checked": "not checked"}.get(c.state, c.state)
            lines.append(f'Content Credentials <a href="#{anchor}-credentials">{esc(state)}</a>'
                         + (f" signed by {esc(c.signer)}" if c.signer else ""))
        elif c is not None:
            lines.append('Content Credentials: none <span class="muted">(the format can carry them)</span>')
    carried = item.messages
    if carried is not None and carried.carriers:
        sent = sorted(s for s in ((c.message.sent.at or c.message.sent.local) for c in carried.carriers
                                  if c.message.sent is not None) if s)
        lines.append(f'carried by <a href="#{anchor}-carried">{len(carried.carriers)} message(s)</a>'
                     + (f", the first sent <code>{esc(sent[0])}</code>" if sent else ""))
    return lines


def _leads(item: ItemView, related: Related, links: Mapping[str, str]) -> list[str]:
    meta = item.metadata
    found = [(f.code, f.message) for f in (meta.flags if meta is not None else ())]
    found += [(f.code, f.message) for f in (item.messages.leads if item.messages is not None else ())]
    lines = [f'{esc(message)} <span class="flag">{esc(code)}</span>' for code, message in found]
    for n, lead in enumerate(related.leads, start=1):
        if item.sha256 in (lead.a.key, lead.b.key):
            other = lead.b if lead.a.key == item.sha256 else lead.a
            lines.append(f'alike {_ref(other, links)}, not shown to be one recording: {esc(lead.reason)} '
                         f'<a href="#{lead_id(n)}">(lead {n})</a>')
    return lines


def _related(view: CaseView, item: ItemView, related: Related, links: Mapping[str, str]) -> list[str]:
    lines = []
    for n, group in enumerate(related.groups, start=1):
        if any(r.key == item.sha256 for r in group):
            others = ", ".join(_ref(r, links) for r in group if r.key != item.sha256)
            lines.append(f'the same footage as {others} <a href="#{group_id(n)}">(group {n})</a>')
    for n, m in enumerate(related.matches, start=1):
        if item.sha256 not in (m.a.key, m.b.key):
            continue
        mine, other = (m.a_span_s, m.b) if m.a.key == item.sha256 else (m.b_span_s, m.a)
        theirs = m.b_span_s if other is m.b else m.a_span_s
        holds = (m.relation == "a_contains_b") == (other is m.b)
        what = {"same": "the same recording as", "overlap": "shares a stretch with"}.get(
            m.relation, "holds" if holds else "is held in")
        lines.append(f"{what} {_ref(other, links)}{_span(theirs)}{' (here' + _span(mine) + ')' if mine else ''}: "
                     f'{esc(score_words(NEAR_DUPLICATES, m.confidence, m.score))} <a href="#{match_id(n)}">'
                     f"(match {n})</a>")
    for n, i in related.intercepts:
        if item.sha256 not in (i.query.key, i.reference.key):
            continue
        offset = "" if i.offset_s is None else f" (its time {i.offset_s:.3f} s at the query's 0 s)"
        if i.query.key == item.sha256:
            text = (f"its sound{_span(i.query_span_s)} is found in {_ref(i.reference, links)}"
                    + (_span(i.reference_span_s) if i.reference_span_s else offset))
        else:
            text = (f"holds the sound of {_ref(i.query, links)}{_span(i.query_span_s)}"
                    + (f" at{_span(i.reference_span_s)} here" if i.reference_span_s else offset))
        lines.append(f'{text}: {esc(score_words(INTERCEPTS, i.confidence, i.score))} '
                     f'<a href="#{intercept_id(n)}">(intercept match {n})</a>')
    carried = {i.sha256: i for name in item.names for i in related.carried_by_export.get(name, ())}
    if carried:
        lines.append("its messages carried " + ", ".join(links.get(sha, esc(i.display_name))
                                                         for sha, i in carried.items()))
    return lines
