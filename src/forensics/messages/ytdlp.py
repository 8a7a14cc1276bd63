"""yt-dlp's `NAME.info.json`: what the platform said about a post when it was downloaded.

The downloaded file is the one `_filename` (or `filename`) names, else `NAME.<ext>` beside the
info.json, else any audio or video file of that stem; pictures of that stem are its thumbnails.
`timestamp` (UTC epoch) is the upload; without it, `release_timestamp`; without both, only
`upload_date`, a day (yt-dlp gives it in UTC), is known.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from forensics.media.content_type import AUDIO_SUFFIXES, PICTURE_AND_VIDEO_SUFFIXES
from forensics.messages.folder import ExportFolder
from forensics.messages.reading import UnparsedNotes
from forensics.messages.record import Export, MediaRef, Message, SentTime

INFO_SUFFIX = ".info.json"
_PICTURES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif"})
_READ = ("id", "title", "description", "uploader", "uploader_id", "channel", "channel_id", "channel_url",
         "webpage_url", "original_url", "extractor", "extractor_key", "upload_date", "timestamp",
         "release_timestamp", "_filename", "filename", "ext")


def is_ytdlp(data: Any) -> bool:
    """Whether a JSON value has the shape of a yt-dlp info.json (an extractor, an id, a page)."""
    return (isinstance(data, Mapping) and ("extractor" in data or "extractor_key" in data) and "id" in data
            and ("webpage_url" in data or "original_url" in data or "_type" in data))


def read_ytdlp(data: Mapping[str, Any], *, export: str, folder: ExportFolder, notes: UnparsedNotes) -> Export:
    """Gives the post a yt-dlp info.json describes, with the downloaded file and thumbnails beside it."""
    kind = data.get("_type", "video")
    if kind not in ("video", None):
        notes.add("(file)", f"an info.json of a {kind!s:.40}: its entries are not read; each video's own info.json is")
    values = {key: data.get(key) for key in _READ}
    for key, value in values.items():
        if value is not None and not isinstance(value, (str, int, float)):
            notes.add(key, f"a {type(value).__name__} where a value was expected, not read")
            values[key] = None
    text = _str(values["description"]) or ""
    message = Message(
        source="yt-dlp", export=export, kind="post", chat=_str(values["channel"]) or _str(values["uploader"]),
        chat_id=_str(values["channel_id"]), chat_type=_str(values["extractor_key"]) or _str(values["extractor"]),
        message_id=_str(values["id"]), line=None, sender=_str(values["uploader"]),
        sender_id=_str(values["uploader_id"]), author=None, sent=_posted(values, notes), edited=None,
        forwarded_from=None, reply_to=None, title=_str(values["title"]), text=text,
        url=_str(values["webpage_url"]) or _str(values["original_url"]),
        links=tuple(u for u in (_str(values["original_url"]), _str(values["channel_url"])) if u),
        media=_downloads(values, export, folder, notes))
    return Export(export, "yt-dlp", "yt-dlp-video", message.chat, (message,), notes.notes(), ())


def _posted(values: Mapping[str, Any], notes: UnparsedNotes) -> SentTime | None:
    day = _str(values["upload_date"])
    local = None
    if day is not None:
        try:
            local = datetime.strptime(day, "%Y%m%d").date().isoformat()
        except ValueError:
            notes.add("upload_date", f"{day!r} is not a YYYYMMDD date")
    for key in ("timestamp", "release_timestamp"):
        epoch = values[key]
        if epoch is None:
            continue
        try:
            at = datetime.fromtimestamp(float(epoch), UTC)
        except (ValueError, OverflowError, OSError):
            notes.add(key, f"{epoch!r} is not a time")
            continue
        source = "timestamp (UTC epoch): the upload" if key == "timestamp" else \
            "release_timestamp (UTC epoch): the release; the info.json gives no upload time"
        return SentTime(at.isoformat(), local, source, str(epoch))
    if day is None:
        return None
    return SentTime(None, local, "a day only: upload_date, which yt-dlp gives in UTC; no timestamp", day)


def _downloads(values: Mapping[str, Any], export: str, folder: ExportFolder,
               notes: UnparsedNotes) -> tuple[MediaRef, ...]:
    name = posixpath.basename(export)
    stem = name[: -len(INFO_SUFFIX)] if name.endswith(INFO_SUFFIX) else posixpath.splitext(name)[0]
    here = folder.folder
    beside = sorted(p for p in folder.entries if posixpath.dirname(p) == here
                    and posixpath.basename(p).startswith(stem + ".") and p != export)
    refs: list[MediaRef] = []
    for key in ("_filename", "filename"):
        named = _str(values[key])
        if named:  # an absolute path of the machine that downloaded it: only its last part is looked for here
            ref = folder.ref(posixpath.basename(named.replace("\\", "/")), role="download")
            refs.append(MediaRef(named, ref.path, "download", ref.state, mime_type=None, note=ref.note))
            break
    if not refs or refs[0].state != "present":
        ext = _str(values["ext"])
        candidates = [p for p in beside if ext and p.endswith("." + ext)] or \
            [p for p in beside if posixpath.splitext(p)[1].lower() in (PICTURE_AND_VIDEO_SUFFIXES | AUDIO_SUFFIXES)
             - _PICTURES]
        if candidates:
            if refs:
                notes.add("_filename", f"{refs[0].named!r} is not here; {posixpath.basename(candidates[0])!r} is "
                                       "taken as the download (the same stem)")
            refs = [folder.ref(posixpath.basename(candidates[0]), role="download")]
        elif not refs:
            refs = [MediaRef(f"{stem}.{ext or '?'}", posixpath.join(here, f"{stem}.{ext or '?'}") if here else
                             f"{stem}.{ext or '?'}", "download", "absent", note="no file of this name beside the info.json")]
    taken = {r.path for r in refs}
    refs += [folder.ref(posixpath.basename(p), role="thumbnail") for p in beside
             if posixpath.splitext(p)[1].lower() in _PICTURES and p not in taken]
    return tuple(refs)


def _str(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    return value if isinstance(value, str) else str(value)
