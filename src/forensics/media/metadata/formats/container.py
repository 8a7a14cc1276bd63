"""Container and stream facts through PyAV (libavformat), without decoding any frame.

Runs inside an isolated worker (see pipeline/isolation.py): libavformat is C code fed with
untrusted files, so a crash or hang here must cost one file, not the run.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from forensics.errors import MediaUnreadable
from forensics.media.metadata.record import ContainerFacts, StreamFacts, tag_any_case

log = logging.getLogger(__name__)

_AV_TIME_BASE = 1_000_000


@dataclass(frozen=True, slots=True)
class ContainerRead:
    """What libavformat found: facts, and every format and stream tag verbatim."""

    facts: ContainerFacts
    streams: tuple[StreamFacts, ...]
    format_tags: dict[str, str] = field(default_factory=dict)
    stream_tags: dict[int, dict[str, str]] = field(default_factory=dict)  # by stream index


def read_container(path: Path, *, max_probe_packets: int = 120, vfr_tolerance: float = 0.1,
                   skip_frames: bool = True) -> ContainerRead:
    """Opens `path` with libavformat and gives its container and stream facts.

    Frame rates come from the sample index where the container has one (MP4, MOV);
    otherwise from the time stamps of the first `max_probe_packets` video packets.
    A stream is variable-frame-rate when more than 5% of its frame durations differ from
    the median by more than `vfr_tolerance` (a fraction of the median) and one tick.
    `skip_frames` keeps libavformat's stream analysis from decoding pictures (see _open).
    Raises MediaUnreadable when libavformat cannot open or parse the file.
    """
    container = _open(path, skip_frames=skip_frames)
    if skip_frames and any(s.type == "video" and s.codec_context is not None and not s.codec_context.width
           for s in container.streams):
        # A codec that states its picture size only in decoded frames: open again, decoding.
        container.close()
        container = _open(path, skip_frames=False)
    with container:
        fmt = container.format
        tags = {str(k): str(v) for k, v in container.metadata.items()}
        streams = []
        stream_tags = {}
        for stream in container.streams:
            stream_tags[stream.index] = {str(k): str(v) for k, v in stream.metadata.items()}
            streams.append(_stream_facts(container, stream, max_probe_packets, vfr_tolerance))
        brands = tags.get("compatible_brands", "")
        facts = ContainerFacts(
            format_name=fmt.name,
            format_long_name=fmt.long_name,
            major_brand=(tags.get("major_brand") or "").strip() or None,
            minor_version=tags.get("minor_version"),
            compatible_brands=tuple(b.strip() for b in _chunks(brands, 4) if b.strip("\x00 ")),
            encoder=tag_any_case(tags, "encoder"),
            duration_s=container.duration / _AV_TIME_BASE if container.duration else None,
            bit_rate_bps=container.bit_rate or None,
            handler_names=tuple(h for h in (tag_any_case(t, "handler_name") for t in stream_tags.values()) if h),
        )
    return ContainerRead(facts, tuple(streams), tags, stream_tags)


def _open(path: Path, *, skip_frames: bool) -> Any:
    # export_xmp makes the MOV demuxer hand over an XMP packet as the "xmp" tag. skip_frame
    # stops libavformat's stream analysis decoding pictures it only needs for the pixel format,
    # which no record holds: 0.27 s -> 0.06 s on the real videos, every recorded fact the same
    # (on ../shared/data), except that Matroska streams then get a duration measured from
    # their packets' time stamps where they had none.
    options = {"export_xmp": "1", "skip_frame": "all"} if skip_frames else {"export_xmp": "1"}
    try:
        return av.open(str(path), options=options, metadata_errors="replace")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError, OSError) as ex:
        reason = getattr(ex, "strerror", None) or str(ex)  # FFmpeg's message without the path again
        raise MediaUnreadable(f"{path.name}: libavformat cannot open it ({reason})") from ex


def _chunks(text: str, size: int) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)]


def _stream_facts(container: Any, stream: Any, max_probe_packets: int, vfr_tolerance: float) -> StreamFacts:
    ctx = stream.codec_context  # None when libavcodec has no decoder for the codec
    tags = stream.metadata
    kind = stream.type or "data"
    if kind == "video" and stream.disposition & av.stream.Disposition.attached_pic:
        kind = "attached_picture"  # cover art in an audio file: not a video track
    common: dict[str, Any] = {
        "index": stream.index,
        "kind": kind,
        "codec": ctx.name if ctx is not None else None,
        "profile": stream.profile if ctx is not None else None,
        "bit_rate_bps": (ctx.bit_rate or None) if ctx is not None else None,
        "duration_s": _seconds(stream.duration, stream.time_base),
        "handler_name": tags.get("handler_name"),
        "language": stream.language,
    }
    if kind == "audio" and ctx is not None:
        return StreamFacts(**common, channels=ctx.channels or None, channel_layout=ctx.layout.name,
                           sample_rate_hz=ctx.sample_rate or None)
    if kind != "video" or ctx is None:
        return StreamFacts(**common)
    timestamps = _frame_timestamps(container, stream, max_probe_packets)
    sar = stream.sample_aspect_ratio  # anamorphic pixels: display width = coded width x SAR
    width = ctx.width or None
    return StreamFacts(
        **common,
        coded_width_px=width,
        coded_height_px=ctx.height or None,
        display_width_px=round(width * sar) if width and sar else width,
        display_height_px=ctx.height or None,
        frame_count=stream.frames or None,
        frame_rate_avg_fps=_fps(stream.average_rate),
        frame_rate_real_fps=_fps(stream.base_rate),
        variable_frame_rate=_is_variable(timestamps, vfr_tolerance),
    )


def _seconds(ticks: int | None, time_base: Fraction | None) -> float | None:
    if not ticks or not time_base:
        return None
    return float(ticks * time_base)


def _fps(rate: Fraction | None) -> float | None:
    if not rate:
        return None
    return round(float(rate), 6)


def _frame_timestamps(container: Any, stream: Any, max_probe_packets: int) -> list[int]:
    entries = stream.index_entries
    if entries is not None and len(entries) > 2:
        return [e.timestamp for e in entries if not e.is_discard]
    # No sample index (MPEG-TS, raw streams): read a few packets' time stamps, no decoding.
    stamps: list[int] = []
    try:
        for packet in container.demux(stream):
            if packet.pts is not None:
                stamps.append(packet.pts)
            if len(stamps) >= max_probe_packets:
                break
    except (av.error.FFmpegError, ValueError) as ex:
        log.debug("stopped reading packet times of stream %d: %s", stream.index, ex)
    return stamps


def _is_variable(timestamps: list[int], tolerance: float) -> bool | None:
    if len(timestamps) < 4:
        return None
    ordered = sorted(timestamps)
    durations = [b - a for a, b in itertools.pairwise(ordered) if b > a]
    if len(durations) < 3:
        return None
    median = sorted(durations)[len(durations) // 2]
    # A tick either way is rounding of a constant rate (30000/1001 in a 1/600 time base).
    slack = max(median * tolerance, 1)
    off = sum(1 for d in durations if abs(d - median) > slack)
    return off > 0.05 * len(durations)
