"""The analysis steps ingest runs on each evidence item, and how their results become case records.

Each step is resumable: it runs only for items that lack its record, and
what it derives is deterministic, so a run killed half-way is completed by
the next without a second copy of anything.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from forensics.custody.case import Case
from forensics.custody.state import Item
from forensics.errors import MediaError
from forensics.progress import ProgressCallback, report

if TYPE_CHECKING:
    from forensics.media.frames import Frame, FrameSet

# The media stack (PyAV, OpenCV, NumPy) is imported by the steps that use it, once they have
# work: an ingest that brought in no media file does not pay a third of a second to load it.

log = logging.getLogger(__name__)

METADATA = "metadata"
FRAMES = "frames"
DEDUP = "dedup"  # an item's frame hashes (forensics.dedup.media_hashes.MediaHashes.to_json)
NEAR_DUPLICATES = "near-duplicates"  # the item's group of the same footage, and its matches, in this case
_MEDIA = ("video", "image", "audio")


def items_of(case: Case, incident: str) -> list[Item]:
    return [item for item in case.state.items.values() if any(r["incident"] == incident for r in item.receipts)]


def record_metadata(case: Case, items: Sequence[Item], *, progress: ProgressCallback | None = None) -> int:
    """Probes every media item that has no metadata record yet and stores the records; returns how many."""
    todo = [i for i in items if METADATA not in i.records and i.media_type in _MEDIA]
    if not todo:
        return 0
    from forensics.media.probe import probe_many

    by_path = {case.path / i.stored.path: i for i in todo}
    mtimes = {p: _iso(i.receipts[0]["stat"]["mtime_ns"]) for p, i in by_path.items()}
    digests = {p: i.stored.sha256 for p, i in by_path.items()}
    for done, record in enumerate(probe_many(list(by_path), sha256_by_path=digests, fs_mtime_utc_by_path=mtimes)):
        item = by_path[Path(record.path)]
        report(progress, done, len(todo), item.receipts[0]["name"], unit="probes")
        # The record names the file as it was received, not where the case keeps it.
        named = dataclasses.replace(record, path=item.receipts[0]["name"])
        case.add_record(item.stored.sha256, METADATA, named.to_json())
    return len(todo)


def record_frames(case: Case, items: Sequence[Item], *, progress: ProgressCallback | None = None) -> int:
    """Extracts keyframes and scene frames of every video without a frames record; stores them as derived files."""
    todo = [i for i in items if FRAMES not in i.records and _is_video(case, i)]
    if not todo:
        return 0
    from forensics.media.frames import INGEST_MAX_FRAMES, INGEST_MODE, extract_frames

    def extract(item: Item) -> dict[str, Any]:
        frameset = extract_frames(case.path / item.stored.path, mode=INGEST_MODE, max_frames=INGEST_MAX_FRAMES)
        return _store_frames(case, item.stored.sha256, frameset)

    _record_each(case, todo, FRAMES, extract, what="frame extraction", progress=progress, unit="videos")
    return len(todo)


def _record_each(case: Case, todo: Sequence[Item], kind: str, work: Callable[[Item], dict[str, Any]], *,
                 what: str, progress: ProgressCallback | None, unit: str) -> None:
    """Stores work(item) as each item's `kind` record, or the error that stopped it."""
    for done, item in enumerate(todo):
        report(progress, done, len(todo), item.receipts[0]["name"], unit=unit)
        try:
            record = work(item)
        except MediaError as ex:
            # Recorded, so a later run does not retry a file that cannot be decoded.
            record = {"error": str(ex)}
        except Exception as ex:  # noqa: BLE001 - a decoder bug on one hostile file must not end the run
            log.exception("%s failed on %s", what, item.stored.path)
            record = {"error": f"{what} failed unexpectedly ({type(ex).__name__}: {ex})"}
        case.add_record(item.stored.sha256, kind, record)


def record_dedup(case: Case, items: Sequence[Item], *, progress: ProgressCallback | None = None) -> int:
    """Hashes every photo and video without a dedup record, then records each item's near-duplicates in the case.

    Items are named "sha256:<digest>" in the matches. The matches are worked out again on
    every run (a run killed after hashing leaves them to the next), and an item's record is
    rewritten only when what it says changes. Returns how many items were hashed.
    """
    todo = [i for i in items if DEDUP not in i.records and _media_type(case, i) in ("image", "video")]
    if not todo and not any(DEDUP in i.records for i in case.state.items.values()):
        return 0
    from forensics.dedup.groups import find_duplicates
    from forensics.dedup.media_hashes import MediaHashes, hash_media

    def hashed(item: Item) -> dict[str, Any]:
        return hash_media(case.path / item.stored.path, key=f"sha256:{item.stored.sha256}").to_json()

    _record_each(case, todo, DEDUP, hashed, what="hashing", progress=progress, unit="files")
    media = []
    for item in case.state.items.values():  # the whole case: footage of another incident counts too
        record = item.records.get(DEDUP)
        data = json.loads((case.path / record.path).read_bytes()) if record is not None else {"error": "none"}
        if not data.get("error"):
            media.append(MediaHashes.from_json(data))
    result = find_duplicates(media)
    for item in case.state.items.values():
        key = f"sha256:{item.stored.sha256}"
        group = next((list(g) for g in result.groups if key in g), [])
        matches = [m.to_json() for m in result.matches if key in (m.a, m.b)]
        if matches or NEAR_DUPLICATES in item.records:
            case.add_record(item.stored.sha256, NEAR_DUPLICATES, {"group": group, "matches": matches})
    return len(todo)


def _store_frames(case: Case, source: str, frameset: FrameSet) -> dict[str, Any]:
    from forensics.media.contact_sheet import contact_sheet, thumbnail
    from forensics.media.frames import INGEST_MODE
    from forensics.media.image_encoding import encode_image, encode_images

    operation = f"frames.{INGEST_MODE}"
    common = {**dataclasses.asdict(frameset.parameters), "time_base": str(frameset.time_base),
              "rotation_deg": frameset.rotation_deg, "rotation_applied": frameset.rotation_applied}
    frames = []
    for frame, png in zip(frameset.frames, encode_images([f.image for f in frameset.frames], format="png")):
        stored = case.add_derived(source, png, name=f"frame-{frame.index:06d}-{round(frame.pts_s * 1000):d}ms.png",
                                  operation=operation, parameters={**common, **_frame_json(frame)})
        frames.append({**_frame_json(frame), "path": stored.stored.path, "sha256": stored.stored.sha256})
    sheet = case.add_derived(source, encode_image(contact_sheet(frameset), format="png"), name="contact-sheet.png",
                             operation="frames.contact_sheet", parameters={**common, "frames": len(frames)})
    thumb = case.add_derived(source, encode_image(thumbnail(frameset), format="jpeg"), name="thumbnail.jpg",
                             operation="frames.thumbnail", parameters=common)
    return {"parameters": common, "frames": frames,
            "shots": [{"start_s": s.start_s, "end_s": s.end_s, "first_index": s.first_index,
                       "frame_count": s.frame_count, "began_with": s.began_with,
                       "representative_index": s.representative.index if s.representative else None}
                      for s in frameset.shots],
            "mirrored": frameset.mirrored, "start_s": frameset.start_s, "duration_s": frameset.duration_s,
            "frame_count": frameset.frame_count, "notes": list(frameset.notes),
            "contact_sheet": sheet.stored.path, "thumbnail": thumb.stored.path}


def _frame_json(frame: Frame) -> dict[str, Any]:
    return {"pts": frame.pts, "pts_s": frame.pts_s, "index": frame.index, "frame_type": frame.frame_type,
            "key_frame": frame.key_frame}


def _is_video(case: Case, item: Item) -> bool:
    """Whether the item's metadata record (streams, not just the signature) says it is a video."""
    return _media_type(case, item) == "video"


def _media_type(case: Case, item: Item) -> str | None:
    """Gives the media type the item's metadata record found in its streams; None without a sound record."""
    record = item.records.get(METADATA)
    if record is None:
        return None
    data = json.loads((case.path / record.path).read_bytes())
    return None if data.get("error") else data.get("media_type")


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).isoformat().replace("+00:00", "Z")
