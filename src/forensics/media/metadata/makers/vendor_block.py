"""The claims of one maker-specific block that exifread and libavformat do not read.

Cameras wrote their capture time, make and model in their own structures long before
EXIF settled (Canon CIFF, Olympus PictureInfo, Casio QVCI), and many still do outside
EXIF (FLIR records, Sony's MDPM in AVCHD video, RIFF INFO chunks, Matroska's DateUTC).
Each decoder in the modules that read them gives one `VendorBlock`: what it decoded,
verbatim, and the three or four claims taken from it, so metadata/claims.py ranks them with the
rest and the record names the block each came from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any


@dataclass(frozen=True, slots=True)
class VendorBlock:
    """What one block states; every claim is None when the block does not give it."""

    name: str  # where it sits, e.g. "Canon CIFF (JPEG APP0)", "Sony MDPM (H.264 SEI)"
    fields: dict[str, Any] = field(default_factory=dict)  # decoded values as JSON, for the raw record
    captured: str | None = None  # "YYYY:MM:DD HH:MM:SS[.fff][+hh:mm]", a zone only when the block states one
    make: str | None = None
    model: str | None = None
    gps: tuple[float, float, float | None] | None = None  # latitude, longitude (degrees), altitude (m)
    created: str | None = None  # when the container was written (muxed), UTC: not a capture time
    captured_tag: str = "DateTimeOriginal"  # the block's own name for `captured`, for the record


def clean_text(raw: bytes, *, max_chars: int = 256) -> str | None:
    """A NUL-terminated or padded byte string as text; None when empty or not text at all."""
    text = raw.split(b"\x00", 1)[0].decode("latin-1")[:max_chars].strip()
    if not text or sum(1 for c in text if c.isprintable()) < len(text):
        return None
    return text


def exif_time_text(value: datetime) -> str:
    """The EXIF form of a time, with its offset only when it is aware, and milliseconds when non-zero."""
    text = value.strftime("%Y:%m:%d %H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond // 1000:03d}"
    offset = value.utcoffset()
    if offset is not None:
        minutes = int(offset.total_seconds() // 60)
        sign = "-" if minutes < 0 else "+"
        text += f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    return text


def unix_wall_clock(seconds: float, *, offset_min: int | None = None) -> str | None:
    """A camera's seconds-since-1970 counter as EXIF time text.

    Cameras without a zone setting count seconds of their local clock, so the counter
    read as UTC gives the wall clock; with `offset_min` the counter is true UTC and the
    text is the local time at that offset. None for a counter out of range (zero, junk).
    """
    if not math.isfinite(seconds) or seconds <= 0 or seconds > 4_102_444_800:  # after 2100: not a clock
        return None
    value = datetime(1970, 1, 1) + timedelta(seconds=seconds)
    if offset_min is not None and -14 * 60 <= offset_min <= 14 * 60:
        zone = timezone(timedelta(minutes=offset_min))
        value = (value.replace(tzinfo=UTC)).astimezone(zone)
    return exif_time_text(value)
