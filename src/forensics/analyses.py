"""The analysis steps ingest runs on each evidence item, and how their results become case records.

Each step is resumable: it runs only for items that lack its record, and
what it derives is deterministic, so a run killed half-way is completed by
the next without a second copy of anything.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Sequence
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
AUDIO = "audio"
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

    for done, item in enumerate(todo):
        report(progress, done, len(todo), item.receipts[0]["name"], unit="videos")
        try:
            frameset = extract_frames(case.path / item.stored.path, mode=INGEST_MODE, max_frames=INGEST_MAX_FRAMES)
        except MediaError as ex:
            # Recorded, so a later run does not retry a file that cannot be decoded.
            case.add_record(item.stored.sha256, FRAMES, {"error": str(ex)})
            continue
        except Exception as ex:  # noqa: BLE001 - a decoder bug on one hostile file must not end the run
            log.exception("frame extraction failed on %s", item.stored.path)
            case.add_record(item.stored.sha256, FRAMES,
                            {"error": f"frame extraction failed unexpectedly ({type(ex).__name__}: {ex})"})
            continue
        case.add_record(item.stored.sha256, FRAMES, _store_frames(case, item.stored.sha256, frameset))
    return len(todo)


def record_audio(case: Case, items: Sequence[Item], *, library: Path | None = None,
                 progress: ProgressCallback | None = None) -> int:
    """Fingerprints and segments each audio or video item without an audio record; links items sharing a transmission.

    The record of each new item lists its tracks' transmissions, its fingerprint (a derived
    file), the items of the case it shares audio with (spans and offsets; items analysed in
    earlier runs are searched too, their own records stay as they were) and, with `library`,
    its matches in that intercept library.
    """
    todo = [i for i in items if AUDIO not in i.records and i.media_type in ("video", "audio")]
    if not todo:
        return 0
    from forensics.audio.crossmatch import CrossMatcher
    from forensics.audio.library import Library
    from forensics.audio.search import fingerprint_file, match_fingerprinted, track_summary
    from forensics.audio.spectrum import features_from_bytes, features_to_bytes

    records: dict[str, dict[str, Any]] = {}
    with CrossMatcher() as cross:
        for item in case.state.items.values():  # what earlier runs fingerprinted
            record = item.records.get(AUDIO)
            for track in (json.loads((case.path / record.path).read_bytes()).get("tracks", []) if record else []):
                features = features_from_bytes((case.path / track["fingerprint"]).read_bytes())
                cross.add(item.stored.sha256, item.receipts[0]["name"], track["stream_index"], features)
        for done, item in enumerate(todo):
            report(progress, done, 2 * len(todo), item.receipts[0]["name"], unit="recordings")
            printed = fingerprint_file(case.path / item.stored.path, sha256=item.stored.sha256)
            if printed.error is not None or printed.audio is None:
                records[item.stored.sha256] = {"error": printed.error, "tracks": []}
                continue
            tracks = []
            for track, features in zip(printed.audio.tracks, printed.features):
                cross.add(item.stored.sha256, item.receipts[0]["name"], track.stream_index, features)
                stored = case.add_derived(item.stored.sha256, features_to_bytes(features),
                                          name=f"audio-fingerprint-{track.stream_index}.npz",
                                          operation="audio.fingerprint", parameters={"stream_index": track.stream_index})
                tracks.append({**track_summary(track), "fingerprint": stored.stored.path})
            records[item.stored.sha256] = {"tracks": tracks, "notes": list(printed.audio.notes)}
        external = Library(library, create=False) if library is not None else None
        try:
            # Decoded again rather than held: a case's recordings can be hours long, and decoding is fast.
            for done, item in enumerate(todo):
                report(progress, len(todo) + done, 2 * len(todo), item.receipts[0]["name"], unit="recordings")
                record = records[item.stored.sha256]
                if record["tracks"]:
                    printed = fingerprint_file(case.path / item.stored.path, sha256=item.stored.sha256)
                    assert printed.audio is not None
                    record["links"] = [m.to_json() for m in cross.links(item.stored.sha256, printed.audio,
                                                                         printed.features)]
                    if external is not None:
                        record["library"] = {"path": str(library), "matches": [
                            m.to_json() for m in match_fingerprinted(external, printed)]}
                case.add_record(item.stored.sha256, AUDIO, record)
        finally:
            if external is not None:
                external.close()
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
    record = item.records.get(METADATA)
    if record is None:
        return False
    data = json.loads((case.path / record.path).read_bytes())
    return data.get("media_type") == "video" and not data.get("error")


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).isoformat().replace("+00:00", "Z")
