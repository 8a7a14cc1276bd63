"""Canon's CIFF heaps: the capture time, make and model of CRW raws and of old PowerShot JPEGs.

Before EXIF, Canon cameras (PowerShot A5 to the EOS 300D) wrote their own "camera image
file format": a heap of records, in a .CRW file or inside a JPEG APP0 segment. exifread
reads neither. The layout (Canon's CIFF 1.0r4 specification, as ExifTool reads it): a
header with the byte order and the heap's start; each heap ends with the offset of its
record table; a record is a tag, a size and an offset, or eight bytes of data kept in
the record itself; two of the data types are heaps nested inside.
"""

from __future__ import annotations

import struct
from typing import Any

from forensics.media.metadata.makers.vendor_block import VendorBlock, clean_text, unix_wall_clock

_MAKE_MODEL = 0x080A  # "Canon\0Canon PowerShot A5\0"
_TIME_STAMP = 0x180E  # seconds of the camera clock, time zone code, time zone info
_OWNER_NAME = 0x0810
_FIRMWARE = 0x080B
_STORED_IN_RECORD = 0x4000
_SUB_HEAPS = (0x2800, 0x3000)


def is_ciff(data: bytes) -> bool:
    """Whether `data` starts with a CIFF header (a .CRW file, or the payload of a JPEG APP0 CIFF)."""
    return data[:2] in (b"II", b"MM") and data[6:10] == b"HEAP"


def read_ciff(data: bytes, *, where: str = "CRW", max_depth: int = 6, max_records: int = 2048) -> VendorBlock | None:
    """The claims of a CIFF heap held whole in `data`; None when it is not CIFF or holds none of them.

    Nested heaps are followed `max_depth` deep and `max_records` records in all, so a
    crafted heap that points into itself ends.
    """
    if not is_ciff(data) or len(data) < 14:
        return None
    order = "<" if data[:2] == b"II" else ">"
    header_length = struct.unpack(order + "I", data[2:6])[0]
    if not 14 <= header_length < len(data):
        return None
    found: dict[int, bytes] = {}
    budget = [max_records]
    _walk(data, header_length, len(data), order, found, max_depth, budget)
    fields: dict[str, Any] = {}
    make = model = captured = None
    if _MAKE_MODEL in found:
        parts = found[_MAKE_MODEL].split(b"\x00")
        make = clean_text(parts[0]) if parts else None
        model = clean_text(parts[1]) if len(parts) > 1 else None
        fields.update(Make=make, Model=model)
    if _TIME_STAMP in found and len(found[_TIME_STAMP]) >= 12:
        seconds, zone_code, zone_info = struct.unpack(order + "IiI", found[_TIME_STAMP][:12])
        # ExifTool reads the counter as the camera's wall clock and leaves the zone fields aside:
        # the specification does not say whether a set zone makes the counter UTC.
        captured = unix_wall_clock(seconds)
        fields.update(DateTimeOriginal=captured, TimeZoneCode=zone_code, TimeZoneInfo=zone_info)
    for tag, name in ((_OWNER_NAME, "OwnerName"), (_FIRMWARE, "FirmwareVersion")):
        if tag in found:
            fields[name] = clean_text(found[tag])
    if make is None and model is None and captured is None:
        return None
    return VendorBlock(f"Canon CIFF ({where})", fields, captured, make, model)


def _walk(data: bytes, start: int, end: int, order: str, found: dict[int, bytes], depth: int,
          budget: list[int]) -> None:
    if depth <= 0 or end - start < 6 or end > len(data):
        return
    table = start + struct.unpack(order + "I", data[end - 4:end])[0]
    if not start <= table <= end - 6:
        return
    count = struct.unpack(order + "H", data[table:table + 2])[0]
    pos = table + 2
    for _ in range(count):
        if budget[0] <= 0 or pos + 10 > end:
            return
        budget[0] -= 1
        tag, size, offset = struct.unpack(order + "HII", data[pos:pos + 10])
        if tag & 0xC000 == _STORED_IN_RECORD:
            value = data[pos + 2:pos + 10]
        elif start + offset + size <= end:
            value = data[start + offset:start + offset + size]
            if tag & 0x3800 in _SUB_HEAPS:
                _walk(data, start + offset, start + offset + size, order, found, depth - 1, budget)
                pos += 10
                continue
        else:
            value = b""
        found.setdefault(tag & 0x3FFF, value)
        pos += 10
