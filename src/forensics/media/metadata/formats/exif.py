"""EXIF tags of stills (JPEG, TIFF, HEIC, AVIF, WebP, PNG, JPEG XL, DNG) through exifread.

Every tag is rendered as JSON right here, where exifread's types are known: text stays
text, rationals become exact "n/d" strings (never floats: the record must reproduce the
file), numbers stay numbers, and binary blobs become hex. exifread raised uncaught
exceptions on about 1% of real files, so callers run this in an isolated worker.
"""

from __future__ import annotations

import io
import logging
import math
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import exifread
from exifread.tags.fields import FieldType

from forensics.digests import sha256_digest
from forensics.media.metadata.formats import mapped_exif

log = logging.getLogger(__name__)

mapped_exif.install()  # same tags, a fraction of the time: see mapped_exif

_BINARY_TYPES = {FieldType.UNDEFINED, FieldType.PROPRIETARY}
_RATIO_TYPES = {FieldType.RATIO, FieldType.SIGNED_RATIO}


@dataclass(frozen=True, slots=True)
class ExifRead:
    """EXIF as read: tags rendered as JSON, exifread's readings of coded tags, the thumbnail."""

    tags: dict[str, Any] = field(default_factory=dict)  # "IFD Name" -> JSON value, e.g. "EXIF FNumber": "11/5"
    labels: dict[str, str] = field(default_factory=dict)  # coded tags: "Image Orientation": "Rotated 90 CW"
    thumbnail: bytes | None = None  # embedded JPEG preview, compared with the main image; never stored
    found_by_scan: bool = False  # exifread could not walk the container; the TIFF block was found by search


def read_exif(fh: BinaryIO, *, max_binary_bytes: int = 4096, max_scan_bytes: int = 64 * 1024 * 1024) -> ExifRead:
    """Reads every EXIF tag (maker notes included) of an open still-image file.

    When exifread cannot find or walk the EXIF block (a WebP EXIF chunk without its
    header, an AVIF item table it chokes on, a Canon CR3), the TIFF block is searched
    for in the first `max_scan_bytes` and handed to exifread directly.
    Binary values longer than `max_binary_bytes` are summarised by size and SHA-256.
    Raises exifread's exception when neither way gives any tag.
    """
    failure: Exception | None = None
    try:
        tags = exifread.process_file(fh, details=True, extract_thumbnail=True, builtin_types=False)
    except Exception as ex:  # noqa: BLE001 - exifread raises anything on malformed containers
        failure, tags = ex, {}
    found_by_scan = False
    if not any(name.startswith("Image ") for name in tags):
        fh.seek(0)
        block = find_tiff_block(fh.read(max_scan_bytes))
        if block is not None:
            try:
                scanned = exifread.process_file(io.BytesIO(block), details=True, extract_thumbnail=True)
            except Exception as ex:  # noqa: BLE001
                log.debug("exifread failed on the TIFF block found by search: %r", ex)
                scanned = {}
            if scanned:
                tags, found_by_scan = scanned, True
    if not tags and failure is not None:
        raise failure
    out: dict[str, Any] = {}
    labels: dict[str, str] = {}
    thumbnail = None
    for name, tag in tags.items():
        if isinstance(tag, bytes):  # JPEGThumbnail / TIFFThumbnail
            if name == "JPEGThumbnail":
                thumbnail = tag
            out[name] = render_binary(tag, max_binary_bytes=0)
            continue
        out[name] = _render(tag, max_binary_bytes)
        printable = str(tag.printable)
        if tag.prefer_printable and printable and printable != _plain_text(out[name]):
            labels[name] = printable
    return ExifRead(out, labels, thumbnail, found_by_scan)


def find_tiff_block(data: bytes) -> bytes | None:
    """The EXIF TIFF structure inside a container, from its header to the end of `data`.

    First an "Exif" marker (two NULs after it) followed by a TIFF header (JPEG APP1, WebP and HEIF Exif
    items), then a bare TIFF header with the usual first-IFD offset of 8 (Canon CR3 boxes).
    """
    for marker in (b"Exif\x00\x00II*\x00", b"Exif\x00\x00MM\x00*"):
        at = data.find(marker)
        if at >= 0:
            return data[at + 6:]
    for header in (b"II*\x00\x08\x00\x00\x00", b"MM\x00*\x00\x00\x00\x08"):
        at = data.find(header, 1)
        if at >= 0:
            return data[at:]
    return None


def _render(tag: Any, max_binary_bytes: int) -> Any:
    values = tag.values
    kind = tag.field_type
    if isinstance(values, bytes):
        return render_binary(values, max_binary_bytes=max_binary_bytes)
    if isinstance(values, str):
        return values
    if not isinstance(values, list):
        return _scalar(values)
    if kind in _BINARY_TYPES or (kind == FieldType.BYTE and len(values) > 16):
        try:
            data = bytes(values)  # raises unless every value is a byte: 30,000-value maker notes, in C
        except (TypeError, ValueError):
            pass
        else:
            return render_binary(data, max_binary_bytes=max_binary_bytes)
    rendered = [_ratio(v) if kind in _RATIO_TYPES else _scalar(v) for v in values]
    return rendered[0] if len(rendered) == 1 else rendered


def _ratio(value: Any) -> str:
    # numerator/denominator survive a zero denominator, which float() would not.
    num, den = getattr(value, "numerator", value), getattr(value, "denominator", 1)
    return f"{num}" if den == 1 else f"{num}/{den}"


def _scalar(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, bytes):
        return render_binary(value, max_binary_bytes=4096)
    if hasattr(value, "numerator"):
        return _ratio(value)
    return str(value)


def _plain_text(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


def render_binary(data: bytes, *, max_binary_bytes: int) -> str | dict[str, Any]:
    """'hex:...' for short blobs; size, SHA-256 and a hex prefix for longer ones."""
    if len(data) <= max_binary_bytes:
        return "hex:" + data.hex()
    return {"hex_prefix": data[:64].hex(), "size_bytes": len(data),
            "sha256": sha256_digest(data)}


def ratio_value(text: Any) -> float | None:
    """A rendered rational ("4467/100", "51", 3) as a float; None for 0 denominators or junk."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return float(text) if math.isfinite(text) else None
    if not isinstance(text, str):
        return None
    num, _, den = text.partition("/")
    try:
        value = float(num) / float(den) if den else float(num)
    except (ValueError, ZeroDivisionError):
        return None
    return value if math.isfinite(value) else None
