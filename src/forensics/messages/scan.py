"""Finds the messenger and platform exports in a folder and links each file to the messages that carried it.

Exports are told by their content, whatever their names: a JSON object with a Telegram chat's
shape, a yt-dlp info.json, a text whose first lines are WhatsApp messages. A file is linked to a
message by the path the message names, and to every message that names a file with the same
SHA-256: the same footage forwarded into two chats, or saved twice, keeps both contexts. Nothing is
followed through a link, and nothing but regular files is opened.
"""

from __future__ import annotations

import logging
import os
import posixpath
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from forensics.digests import file_sha256, named_sha256
from forensics.errors import ParameterError
from forensics.inputs import why_not_read
from forensics.media.content_type import AUDIO_SUFFIXES, HEAD_BYTES, PICTURE_AND_VIDEO_SUFFIXES, sniff
from forensics.messages.folder import ExportFolder
from forensics.messages.reading import (
    NotAnExport,
    UnparsedNotes,
    decode,
    load_json,
    open_regular,
    read_bounded,
    read_head,
)
from forensics.messages.record import AbsentMedia, CarriedFile, Carrier, Export, ExportScan, Message, ScanProblem
from forensics.messages.telegram import is_telegram, read_telegram
from forensics.messages.whatsapp import looks_like_whatsapp, read_whatsapp
from forensics.messages.ytdlp import INFO_SUFFIX, is_ytdlp, read_ytdlp
from forensics.progress import ProgressCallback, tell

log = logging.getLogger(__name__)

DATE_ORDERS = ("d/m/y", "m/d/y", "y/m/d")
_MEDIA_SUFFIXES = PICTURE_AND_VIDEO_SUFFIXES | AUDIO_SUFFIXES
_TELEGRAM_HTML = (b"Exported Data", b"page_wrap", b"tgme", b"Telegram")
# What a Telegram HTML export holds besides the evidence: its page's own pictures, styles and scripts.
_HTML_FURNITURE = ("css", "js", "images")


def scan_exports(root: Path, *, zone: str | None = None, date_order: str | None = None,
                 max_export_bytes: int = 64 * 2**20, max_same_bytes_carriers: int = 200,
                 progress: ProgressCallback | None = None) -> ExportScan:
    """Gives the exports found under `root`, every file they name or that is media, with the messages that
    carried it, the files named but absent, and the media no export names.

    `zone` (an IANA name such as "Europe/Kyiv") is the zone WhatsApp's local times are read in;
    without it they stay local, zone unknown. `date_order` ("d/m/y", "m/d/y", "y/m/d") overrides the
    order inferred from a WhatsApp export's dates. An export larger than `max_export_bytes` is not read
    (a problem says so). A file gets at most `max_same_bytes_carriers` messages through its copies (a sticker
    sent a thousand times, each copy saved apart, would otherwise give a million); the rest are counted.
    Raises ParameterError when `root` is not a folder or an option is wrong.
    """
    base = os.fspath(root)
    try:
        info = os.lstat(base)
    except OSError as ex:
        raise ParameterError(f"{base}: {ex.strerror or ex}") from ex
    if not stat.S_ISDIR(info.st_mode):
        raise ParameterError(f"{base}: {why_not_read(info) or 'a file'}; give the folder that holds the exports")
    problems: list[ScanProblem] = []
    listing = {rel: Listed(os.path.join(base, rel), reason=reason) for rel, reason in _walk(base, problems)}
    return scan_listing(listing, root=base, zone=zone, date_order=date_order, max_export_bytes=max_export_bytes,
                        max_same_bytes_carriers=max_same_bytes_carriers, progress=progress, problems=problems)


@dataclass(frozen=True, slots=True)
class Listed:
    """One file of a listing to scan: where its bytes are, and its digest when the caller knows it."""

    path: str  # the file to read (a case's stored copy, or the file in the folder scanned)
    sha256: str | None = None  # "sha256:<hex>"; hashed here when None
    size_bytes: int | None = None
    reason: str | None = None  # why it is not read (a link, a FIFO), None for a regular file
    media: bool | None = None  # a picture, video or sound (then it is no export and its head is not read); None: look


def scan_listing(listing: Mapping[str, Listed], *, root: str, zone: str | None = None, date_order: str | None = None,
                 max_export_bytes: int = 64 * 2**20, max_same_bytes_carriers: int = 200,
                 progress: ProgressCallback | None = None, problems: list[ScanProblem] | None = None) -> ExportScan:
    """scan_exports over a listing: names relative to `root` (with "/") -> the file to read. A case scans its
    stored copies under the names they were received by, with the digests it holds, so nothing is hashed twice."""
    tz = _zone(zone)
    if date_order is not None and date_order not in DATE_ORDERS:
        raise ParameterError(f"date order {date_order!r}: give one of {', '.join(DATE_ORDERS)}")
    problems = problems if problems is not None else []
    entries = {rel: item.reason for rel, item in listing.items()}
    heads: dict[str, bytes] = {}
    for rel, reason in entries.items():
        if reason is None and not listing[rel].media:
            try:
                heads[rel] = read_head(listing[rel].path, HEAD_BYTES)
            except (OSError, NotAnExport) as ex:
                entries[rel] = _why(ex)
                problems.append(ScanProblem(rel, f"cannot be read ({_why(ex)})"))
    exports: list[Export] = []
    html_folders: list[str] = []
    for rel, head in heads.items():
        found = _read_export(listing[rel].path, rel, head, entries, problems, html_folders, tz=tz,
                             date_order=date_order, max_bytes=max_export_bytes)
        if found is not None:
            exports.append(found)
            log.info("%s: %s export, %d messages", rel, found.form, len(found.messages))
    return _link(root, listing, exports, heads, problems, html_folders, progress, max_twins=max_same_bytes_carriers)


def _media_of(listing: Mapping[str, Listed], heads: Mapping[str, bytes]) -> Iterator[str]:
    """The names of the pictures, videos and sounds of a listing: as the caller says, else by their heads."""
    for rel, item in listing.items():
        if item.media or (item.media is None and rel in heads and _is_media(rel, heads[rel])):
            yield rel


def _walk(base: str, problems: list[ScanProblem]) -> Iterator[tuple[str, str | None]]:
    """Yields every entry under `base` but folders, relative, with None for a regular file or why it is not read."""

    def unlisted(ex: OSError) -> None:
        problems.append(ScanProblem(_rel(base, ex.filename) or ".", f"folder not listed ({ex.strerror or ex})"))

    for here, dirs, files in os.walk(base, followlinks=False, onerror=unlisted):
        dirs.sort()
        for name in sorted(files) + [d for d in dirs if os.path.islink(os.path.join(here, d))]:
            path = os.path.join(here, name)
            rel = _rel(base, path)
            try:
                reason = why_not_read(os.lstat(path))
            except OSError as ex:
                reason = f"cannot be looked at ({ex.strerror or ex})"
            if reason is not None:
                problems.append(ScanProblem(rel, reason))
            yield rel, reason
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(here, d))]


def _read_export(file: str, rel: str, head: bytes, entries: dict[str, str | None], problems: list[ScanProblem],
                 html_folders: list[str], *, tz: ZoneInfo | None, date_order: str | None,
                 max_bytes: int) -> Export | None:
    """Gives the export the file at `rel` is, or None; a file that looks like one but cannot be read is a problem."""
    name = posixpath.basename(rel)
    folder = ExportFolder(posixpath.dirname(rel), entries)
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    notes = UnparsedNotes()
    chat_named = name == "_chat.txt" or name.startswith("WhatsApp Chat")
    if chat_named and start[:1] in (b"{", b"<"):
        # Junk that happens to open with a brace or a bracket is no JSON or HTML export either: said, as below.
        problems.append(ScanProblem(rel, "named like a WhatsApp chat export but its first lines are not messages; "
                                         "not read"))
        return None
    if start.startswith(b"{"):
        named_like = name == "result.json" or name.endswith(INFO_SUFFIX) or any(
            key in head for key in (b'"messages"', b'"chats"', b'"extractor'))
        try:
            data = load_json(read_bounded(file, max_bytes=max_bytes), notes)
        except (NotAnExport, OSError, MemoryError) as ex:
            if named_like:
                problems.append(ScanProblem(rel, f"looks like an export, not read: {_why(ex)}"))
            return None
        if is_telegram(data):
            return read_telegram(data, export=rel, folder=folder, notes=notes)
        if is_ytdlp(data):
            return read_ytdlp(data, export=rel, folder=folder, notes=notes)
        if named_like:
            problems.append(ScanProblem(rel, "named like an export (Telegram's result.json, yt-dlp's .info.json) "
                                             "but has neither's fields; not read"))
        return None
    if start[:1] == b"<":
        if name.startswith("messages") and name.endswith(".html") and any(m in head for m in _TELEGRAM_HTML):
            html_folders.append(posixpath.dirname(rel))
            problems.append(ScanProblem(rel, "a Telegram HTML export: not read; export the chat again as JSON "
                                             "(Telegram Desktop: Export chat history, format: Machine-readable JSON)"))
        return None
    if not _is_text(head):
        if chat_named:
            problems.append(ScanProblem(rel, "named like a WhatsApp chat export but is not text; not read"))
        return None
    if not looks_like_whatsapp(decode(head)):
        if chat_named:
            problems.append(ScanProblem(rel, "named like a WhatsApp chat export but its first lines are not "
                                             "messages; not read"))
        return None
    try:
        size = os.lstat(file).st_size
        if size > max_bytes:
            raise NotAnExport(f"{size / 2**20:.1f} MiB, over the {max_bytes / 2**20:.0f} MiB an export may have "
                              "to be read; give a higher limit to read it")
        fd = open_regular(file)
    except (NotAnExport, OSError) as ex:
        problems.append(ScanProblem(rel, f"looks like a WhatsApp chat export, not read: {_why(ex)}"))
        return None
    return read_whatsapp(fd, export=rel, folder=folder, notes=notes, zone=tz, date_order=date_order)


def _link(base: str, listing: Mapping[str, Listed], exports: list[Export], heads: dict[str, bytes],
          problems: list[ScanProblem], html_folders: list[str], progress: ProgressCallback | None, *,
          max_twins: int) -> ExportScan:
    """Gives the scan: each file with the messages naming it or its bytes, absent files, unnamed media."""
    named: dict[str, list[Message]] = {}
    absent: list[AbsentMedia] = []
    for export in exports:
        for message in export.messages:
            for path in dict.fromkeys(r.path for r in message.media if r.state == "present" and r.path is not None):
                named.setdefault(path, []).append(message)
            absent += [AbsentMedia(export.path, message.chat, message.where, ref.named, ref.path, ref.state, ref.note)
                       for ref in message.media if ref.state != "present"]
    export_paths = {e.path for e in exports}
    furniture = tuple(posixpath.join(f, sub) + "/" if f else sub + "/" for f in html_folders for sub in _HTML_FURNITURE)
    media = {rel for rel in _media_of(listing, heads) if rel not in export_paths and not rel.startswith(furniture)}
    wanted = sorted(media | set(named))
    digests: dict[str, tuple[str, int]] = {}
    for n, rel in enumerate(wanted):
        tell(progress, n, len(wanted), rel)
        known = listing[rel]
        if known.sha256 is not None and known.size_bytes is not None:
            digests[rel] = known.sha256, known.size_bytes
            continue
        try:
            digests[rel] = _sha256(known.path)
        except (OSError, NotAnExport) as ex:
            problems.append(ScanProblem(rel, f"cannot be read to hash ({_why(ex)})"))
    tell(progress, len(wanted), len(wanted), "")
    by_digest: dict[str, list[str]] = {}
    for rel, (digest, _size) in digests.items():
        by_digest.setdefault(digest, []).append(rel)
    files = []
    for rel, (digest, size) in digests.items():
        twins = [p for p in by_digest[digest] if p != rel]
        carriers = [Carrier(m, rel, "path") for m in named.get(rel, [])]
        through = [Carrier(m, twin, "same-bytes") for twin in twins for m in named.get(twin, [])[:max_twins + 1]]
        carriers += through[:max_twins]
        left_out = max(0, sum(len(named.get(twin, [])) for twin in twins) - max_twins)
        files.append(CarriedFile(rel, digest, size, tuple(carriers), tuple(twins[:max_twins]), left_out))
    unnamed = tuple(sorted(rel for rel in media if rel not in named)) if exports else ()
    return ExportScan(base, tuple(exports), tuple(files), tuple(absent), unnamed, tuple(problems))


def _sha256(path: str) -> tuple[str, int]:
    with os.fdopen(open_regular(path), "rb") as fh:
        return named_sha256(file_sha256(fh)), fh.tell()


def _is_media(rel: str, head: bytes) -> bool:
    return sniff(head).family in ("image", "av") or posixpath.splitext(rel)[1].lower() in _MEDIA_SUFFIXES


def _is_text(head: bytes) -> bool:
    """Whether the first bytes read as text: no NUL, and mostly UTF-8 (a last character may be cut)."""
    if b"\x00" in head:
        return False
    text = head.decode("utf-8", "replace")
    return text.count("\ufffd") <= max(2, len(text) // 100)


def _zone(zone: str | None) -> ZoneInfo | None:
    if zone is None:
        return None
    try:
        return ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as ex:
        raise ParameterError(f"time zone {zone!r}: not an IANA zone name such as Europe/Kyiv or UTC") from ex


def _rel(base: str, path: str | Any) -> str:
    return Path(os.path.relpath(os.fspath(path), base)).as_posix()


def _why(ex: BaseException) -> str:
    if isinstance(ex, MemoryError):
        return "needs more memory than this process may use"
    if isinstance(ex, OSError):
        return ex.strerror or str(ex)
    return str(ex)
