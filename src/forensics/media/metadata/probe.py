"""`probe_media`: one normalised metadata record per file, every reader isolated and time-limited.

The readers (readers.py) run in worker processes (pipeline/isolation.py); this module turns what
they send back into a `MediaRecord`: container and stream facts, the image size, the
claims (claims.py), the raw tags, and the flags (flags.py). A file that defeats the
readers still gets a record, with `error` saying what could not be read and why.
"""

from __future__ import annotations

import logging
import os
import re
import stat
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from forensics.digests import named_sha256
from forensics.errors import ParameterError
from forensics.inputs import why_not_read
from forensics.media.content_type import AUDIO_SUFFIXES, PICTURE_AND_VIDEO_SUFFIXES, ContentType, MediaType
from forensics.media.metadata.claims import TagSources, choose_capture, device_claim, gps_claim, time_claims
from forensics.media.metadata.flags import flags_for
from forensics.media.metadata.formats.container import ContainerRead
from forensics.media.metadata.formats.credentials import Credentials, checked_trust_anchors
from forensics.media.metadata.formats.exif import ExifRead
from forensics.media.metadata.formats.isobmff import MovieHeader
from forensics.media.metadata.formats.xmp import parse_xmp
from forensics.media.metadata.makers.vendor_block import VendorBlock
from forensics.media.metadata.readers import Fingerprint, JpegRead, ReaderFailure, XmpRead, read_file
from forensics.media.metadata.record import BINARY_NOTE, Device, ImageFacts, MediaRecord, StreamFacts, iso
from forensics.media.metadata.thumbnail import ThumbnailCheck
from forensics.media.metadata.timestamps import parse_datetime
from forensics.media.metadata.zones import zone_at
from forensics.pipeline.isolation import Job, Outcome, WorkerPool, shared_pool
from forensics.progress import ProgressCallback, tell

log = logging.getLogger(__name__)
T = TypeVar("T")

_PRELOAD = ("forensics.media.metadata.readers",)
_SHA256 = re.compile(r"^(?:sha256:)?([0-9a-fA-F]{64})$")
# Hashing is bounded separately from reading: a slow disk is not a hostile file.
_MIN_HASH_RATE_BYTES_PER_S = 20e6
_READER_NAMES = {"exif": "EXIF (exifread)", "container": "container (libavformat)", "movie": "QuickTime boxes",
                 "jpeg": "JPEG segments", "xmp": "XMP", "maker": "maker's block",
                 "c2pa": "Content Credentials (c2pa-rs)"}
# libavformat formats that hold one still picture, whatever stream type they report.
_STILL_FORMATS = {"image2", "ico", "fits", "mjpeg"}
# EXIF Orientation -> clockwise turn for display; 5-8 also swap width and height.
_ORIENTATION_DEG = {1: 0, 2: 0, 3: 180, 4: 180, 5: 90, 6: 90, 7: 270, 8: 270}


def probe_media(path: Path, *, sha256: str | None = None, timeout_s: float = 20.0,
                fs_mtime_utc: str | None = None, pool: WorkerPool | None = None,
                trust_anchors_pem: str | None = None) -> MediaRecord:
    """Reads the metadata of one file into a record; never raises for bad media.

    `sha256` (hex, or "sha256:<hex>") skips hashing when the caller has the digest.
    `fs_mtime_utc` (ISO 8601) is the original file's modification time, for the
    consistency flags; when None the file's own is used. `timeout_s` bounds the readers.
    Raises ParameterError for a bad argument (no such file, a folder, a malformed digest).
    Calls from several threads take turns on one shared pool, unless each passes its own
    `pool` (see worker_pool); probe_many uses every core. `trust_anchors_pem` (PEM certificates) are the
    roots Content Credentials' signers are checked against; without them signers are named, "unverified".
    """
    path = Path(path)
    jobs, early = _prepare([path], {path: sha256}, {path: fs_mtime_utc}, timeout_s, missing_is_error=False,
                           trust_anchors_pem=trust_anchors_pem)
    return next(_run(jobs, early, timeout_s, None, None, pool=pool))


def worker_pool(*, workers: int = 1) -> WorkerPool:
    """A private pool of isolated reader workers for probe_media's `pool`; the caller closes it."""
    return WorkerPool(workers=workers, preload=_PRELOAD)


def probe_many(paths: Iterable[Path], *, timeout_s: float = 20.0, workers: int | None = None,
               sha256_by_path: Mapping[Path, str] | None = None,
               fs_mtime_utc_by_path: Mapping[Path, str] | None = None,
               progress: ProgressCallback | None = None, trust_anchors_pem: str | None = None
               ) -> Iterator[MediaRecord]:
    """Probes many files on all cores; yields records as they finish, not in input order.

    `workers` None shares one process-wide pool (one worker per core); a number starts a
    private pool of that size for this call. `sha256_by_path` and `fs_mtime_utc_by_path`
    are probe_media's `sha256` and `fs_mtime_utc` for the files that have them. A file
    that vanished before its turn gets an error record. Arguments are checked before the
    first record is asked for; ParameterError for a folder or a malformed digest or time.
    """
    digests = {Path(k): v for k, v in (sha256_by_path or {}).items()}
    mtimes = {Path(k): v for k, v in (fs_mtime_utc_by_path or {}).items()}
    jobs, early = _prepare([Path(p) for p in paths], digests, mtimes, timeout_s, missing_is_error=True,
                           trust_anchors_pem=trust_anchors_pem)
    return _run(jobs, early, timeout_s, workers, progress)


def _prepare(paths: list[Path], digests: Mapping[Path, str | None], mtimes: Mapping[Path, str | None],
             timeout_s: float, *, missing_is_error: bool, trust_anchors_pem: str | None = None
             ) -> tuple[list[Job], list[MediaRecord]]:
    """Checks the arguments; gives the jobs for the workers and the records settled already."""
    if timeout_s <= 0:
        raise ParameterError(f"timeout_s must be positive, not {timeout_s}")
    if trust_anchors_pem is not None:
        checked_trust_anchors(trust_anchors_pem)
    jobs: list[Job] = []
    early: list[MediaRecord] = []
    for path in paths:
        digest = _digest(digests.get(path))
        fs_time = _parse_mtime(mtimes.get(path))
        try:
            info = os.lstat(path)
        except FileNotFoundError as ex:
            if not missing_is_error:
                raise ParameterError(f"{path}: no such file") from ex
            early.append(_failed_record(path, digest, None, "no such file (moved or deleted before it was read)"))
            continue
        except OSError as ex:
            early.append(_failed_record(path, digest, None, f"cannot read the file ({ex.strerror})"))
            continue
        if stat.S_ISDIR(info.st_mode):
            raise ParameterError(f"{path}: is a folder; give files, or use media_files() to list a folder")
        reason = why_not_read(info)
        if reason is not None:  # a link, FIFO or device: never opened (forensics.inputs)
            early.append(_failed_record(path, digest, info.st_size, reason))
            continue
        fs_time = fs_time or datetime.fromtimestamp(info.st_mtime, tz=UTC)
        hashing_s = 0.0 if digest else info.st_size / _MIN_HASH_RATE_BYTES_PER_S
        jobs.append(Job((path, fs_time), (str(path), digest, trust_anchors_pem), timeout_s + hashing_s))
    return jobs, early


def _run(jobs: list[Job], early: list[MediaRecord], timeout_s: float, workers: int | None,
         progress: ProgressCallback | None, *, pool: WorkerPool | None = None) -> Iterator[MediaRecord]:
    total = len(jobs) + len(early)
    done = 0
    for record in early:
        done += 1
        tell(progress, done, total, record.path)
        yield record
    if not jobs:
        return
    own = pool is None and workers is not None
    if pool is None:
        pool = shared_pool(preload=_PRELOAD) if workers is None else WorkerPool(workers=workers, preload=_PRELOAD)
    try:
        for outcome in pool.map_unordered(read_file, jobs, timeout_s=timeout_s):
            path, fs_time = outcome.key
            done += 1
            tell(progress, done, total, path.name)
            yield _record(path, outcome, fs_time, timeout_s)
    finally:
        if own:
            pool.close()


def _digest(value: str | None) -> str | None:
    if value is None:
        return None
    m = _SHA256.match(value.strip())
    if not m:
        raise ParameterError(f"sha256 must be 64 hex digits, optionally prefixed 'sha256:', not {value!r}")
    return m[1].lower()


def _parse_mtime(value: str | None) -> datetime | None:
    if value is None:
        return None
    parsed = parse_datetime(value, assume_utc=True)
    if parsed is None:
        raise ParameterError(f"fs_mtime_utc must be an ISO 8601 time, not {value!r}")
    return parsed.astimezone(UTC)


def _failed_record(path: Path, sha256: str | None, size: int | None, error: str) -> MediaRecord:
    return MediaRecord(path=str(path), sha256=named_sha256(sha256) if sha256 else None, size_bytes=size,
                       media_type="other", detected_format=None, captured_at=None, captured_at_source=None,
                       utc_offset=None, created_at=None, created_at_source=None, filesystem_modified_at=None,
                       times=(), gps=None, device=Device(), container=None, streams=(), image=None,
                       raw={}, flags=(), error=error)


def _first(items: tuple[Any, ...], kind: type[T]) -> T | None:
    return next((item for item in items if isinstance(item, kind)), None)


def _record(path: Path, outcome: Outcome, fs_time: datetime, timeout_s: float) -> MediaRecord:
    items = outcome.items
    failures = [item for item in items if isinstance(item, ReaderFailure)]
    fingerprint = _first(items, Fingerprint)
    if fingerprint is None:  # nothing but the file's own failure: it could not even be opened
        return _failed_record(path, None, None, _outcome_error(outcome, timeout_s) or "the file could not be read")
    content = fingerprint.content
    exif, thumb, jpeg = _first(items, ExifRead), _first(items, ThumbnailCheck), _first(items, JpegRead)
    container, movie, scanned = _first(items, ContainerRead), _first(items, MovieHeader), _first(items, XmpRead)
    format_tags = dict(container.format_tags) if container else {}
    xmp_packet = format_tags.pop("xmp", None)
    xmp = jpeg.xmp if jpeg else scanned.properties if scanned else {}
    if xmp_packet and not xmp:
        xmp = parse_xmp(xmp_packet.encode("utf-8"))
    blocks = tuple(item for item in items if isinstance(item, VendorBlock))
    tags = TagSources(exif=exif.tags if exif else {}, xmp=xmp, iptc=jpeg.iptc if jpeg else {},
                      format_tags=format_tags, movie=movie, blocks=blocks,
                      format_name=container.facts.format_name if container else None,
                      stream_tags=tuple(container.stream_tags.values()) if container else ())
    claims = time_claims(tags)
    capture = choose_capture(claims)
    created = next((t for t in claims if t.kind == "container"), None)
    streams = _rotated_streams(container.streams if container else (), movie)
    media_type = _media_type(content, streams, container)
    captured_at = capture.claim.value if capture.claim else None
    gps = gps_claim(tags)
    record = MediaRecord(
        path=str(path),
        sha256=named_sha256(fingerprint.sha256),
        size_bytes=fingerprint.size_bytes,
        media_type=media_type,
        detected_format=content.mime,
        captured_at=captured_at,
        captured_at_source=capture.claim.source if capture.claim else None,
        utc_offset=capture.utc_offset,
        created_at=created.value if created else None,
        created_at_source=created.source if created else None,
        filesystem_modified_at=fs_time,
        times=claims,
        gps=gps,
        device=device_claim(tags),
        container=container.facts if container and media_type in ("video", "audio") else None,
        streams=streams if media_type in ("video", "audio") else (),
        image=_image_facts(content, exif, jpeg, thumb, streams, movie) if media_type == "image" else None,
        provenance=_first(items, Credentials),
        capture_zone=zone_at(gps.latitude_deg, gps.longitude_deg, captured_at)
        if gps is not None and captured_at is not None and captured_at.tzinfo is None else None,
        raw=_raw(tags, exif, jpeg, container, movie, failures),
        error=_error(content, outcome, failures, container, streams, timeout_s)
        or _misnamed(path, media_type, fingerprint.size_bytes),
    )
    if record.error:
        log.debug("%s: %s", path, record.error)
    return replace(record, flags=flags_for(record))


def _rotated_streams(streams: tuple[StreamFacts, ...], movie: MovieHeader | None) -> tuple[StreamFacts, ...]:
    """Streams with the display rotation of their track header applied to the display size."""
    if movie is None:
        return streams
    tracks = iter([t for t in movie.tracks if t.handler_type == "vide"])
    out = []
    for s in streams:
        if s.kind == "video":
            track = next(tracks, None)
            if track is not None and track.rotation_cw_deg is not None:
                w, h = s.display_width_px, s.display_height_px
                if track.rotation_cw_deg % 180:
                    w, h = h, w
                s = replace(s, rotation_cw_deg=track.rotation_cw_deg, display_width_px=w, display_height_px=h)
        out.append(s)
    return tuple(out)


def _media_type(content: ContentType, streams: tuple[StreamFacts, ...], container: ContainerRead | None) -> MediaType:
    if content.family == "image":
        return "image"
    kinds = {s.kind for s in streams}
    if content.family == "unknown":
        # libavformat guesses hard: text reads as ANSI art ("tty") or lyrics ("lrc"), and
        # its image pipes (DPX, EXR, JPEG 2000, PPM, ICO...) are stills, not video.
        name = container.facts.format_name if container else ""
        if not container or name == "tty" or not kinds & {"video", "audio"}:
            return "other"
        if name.endswith("_pipe") or name in _STILL_FORMATS:
            # These demuxers take a file by its name; only a picture header they could read makes it one.
            return "image" if any(s.coded_width_px and s.coded_height_px for s in streams) else "other"
    if "video" in kinds and not content.audio_hint:
        return "video"
    if "audio" in kinds:
        return "audio"
    if content.family == "av":
        return "audio" if content.audio_hint else "video"
    return "other"


def _image_facts(content: ContentType, exif: ExifRead | None, jpeg: JpegRead | None, thumb: ThumbnailCheck | None,
                 streams: tuple[StreamFacts, ...], movie: MovieHeader | None) -> ImageFacts:
    tags = exif.tags if exif else {}
    width = height = None
    if jpeg is not None:
        width, height = jpeg.width_px, jpeg.height_px
    elif movie is not None and movie.primary_size is not None:
        width, height = movie.primary_size  # the primary item's ispe: a grid's whole picture
    elif content.format in ("heif", "avif") and isinstance(tags.get("EXIF ExifImageWidth"), int):
        # HEIF images are grids of tiles; libavformat lists the tiles, EXIF the whole picture.
        width, height = tags.get("EXIF ExifImageWidth"), tags.get("EXIF ExifImageLength")
    else:
        sized = [s for s in streams if s.coded_width_px and s.coded_height_px]
        if sized:
            best = max(sized, key=lambda s: (s.coded_width_px or 0) * (s.coded_height_px or 0))
            width, height = best.coded_width_px, best.coded_height_px
    orientation = tags.get("Image Orientation")
    orientation = orientation if isinstance(orientation, int) and orientation in _ORIENTATION_DEG else None
    turn = _ORIENTATION_DEG.get(orientation) if orientation else None
    swap = orientation is not None and orientation >= 5
    return ImageFacts(width, height, orientation, height if swap else width, width if swap else height, turn,
                      thumb.similarity if thumb else None, thumb.rotation_cw_deg if thumb else None,
                      thumb.coverage if thumb else None)


def _raw(tags: TagSources, exif: ExifRead | None, jpeg: JpegRead | None, container: ContainerRead | None,
         movie: MovieHeader | None, failures: list[ReaderFailure]) -> dict[str, Any]:
    raw: dict[str, Any] = {"_notes": BINARY_NOTE}
    if exif and exif.tags:
        raw["exif"] = exif.tags
        if exif.labels:
            raw["exif_labels"] = exif.labels
    if tags.xmp:
        raw["xmp"] = tags.xmp
    if tags.iptc:
        raw["iptc"] = tags.iptc
    if tags.blocks:
        raw["vendor"] = [{"block": block.name, "fields": block.fields} for block in tags.blocks]
    if jpeg is not None:
        raw["jpeg"] = {"width_px": jpeg.width_px, "height_px": jpeg.height_px, "app_markers": list(jpeg.app_markers)}
    if container is not None:
        raw["format"] = tags.format_tags
        for index, stream_tags in container.stream_tags.items():
            if stream_tags:
                raw[f"stream:{index}"] = stream_tags
    if movie is not None:
        raw["quicktime"] = _movie_json(movie)
    if failures:
        raw["reader_failures"] = {f.reader: f.message for f in failures}
    return raw


def _movie_json(movie: MovieHeader) -> dict[str, Any]:
    return {
        "major_brand": movie.major_brand, "minor_version": movie.minor_version,
        "compatible_brands": [b for b in movie.compatible_brands if b.strip("\x00")],
        "mvhd_created": iso(movie.created_at), "mvhd_modified": iso(movie.modified_at),
        "duration_s": movie.duration_s,
        "tracks": [{"track_id": t.track_id, "handler_type": t.handler_type, "handler_name": t.handler_name,
                    "tkhd_created": iso(t.created_at), "mdhd_created": iso(t.media_created_at),
                    "width_px": t.width_px, "height_px": t.height_px, "matrix": list(t.matrix),
                    "rotation_cw_deg": t.rotation_cw_deg} for t in movie.tracks],
    }


def _outcome_error(outcome: Outcome, timeout_s: float) -> str | None:
    if outcome.status == "timeout":
        return (f"reading stopped at the {timeout_s:g} s time limit; what was read before is kept "
                "(a file that stalls readers may be damaged or crafted)")
    if outcome.status == "died":
        return f"a reader crashed on this file ({outcome.detail}); what was read before is kept"
    if outcome.status == "raised":
        return f"the file could not be read ({outcome.detail})"
    return None


def _misnamed(path: Path, media_type: str, size_bytes: int) -> str | None:
    """Gives the problem of a file named as media whose bytes are no media this reads, or None."""
    suffix = path.suffix.lower()
    if media_type != "other" or suffix not in PICTURE_AND_VIDEO_SUFFIXES | AUDIO_SUFFIXES:
        return None
    if size_bytes == 0:
        return f"named {suffix} but empty (0 bytes): nothing was received in it"
    return (f"named {suffix} but its bytes are no picture, video or recording of a known kind "
            "(damaged, encrypted, or renamed)")


def _error(content: ContentType, outcome: Outcome, failures: list[ReaderFailure], container: ContainerRead | None,
           streams: tuple[StreamFacts, ...], timeout_s: float) -> str | None:
    problems = []
    stopped = _outcome_error(outcome, timeout_s)
    if stopped:
        problems.append(stopped)
    for failure in failures:
        # For stills, libavformat is only a second opinion on the pixel size; its refusal
        # (JPEG XL, broken HEIF grids) is kept in raw, not reported as an error.
        if content.family == "image" and failure.reader == "container":
            continue
        problems.append(f"{_READER_NAMES.get(failure.reader, failure.reader)}: {failure.message}")
    if content.family == "av" and container is not None and not any(s.kind in ("video", "audio") for s in streams):
        problems.append("no audio or video stream found")
    return "; ".join(problems) or None
