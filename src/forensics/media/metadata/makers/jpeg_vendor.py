"""Makers' blocks inside JPEG files: Canon CIFF, Olympus PictureInfo, Casio QVCI, FLIR, Reconyx.

These cameras put their capture time (and sometimes make, model and position) in a
segment of their own, or in a maker note exifread keeps as bytes. The layouts are those
ExifTool documents and reads (CanonRaw.pm, APP12.pm, Casio.pm, FLIR.pm, Reconyx.pm).
Every offset is checked against the bytes at hand; a short or odd block gives no claim.
"""

from __future__ import annotations

import math
import re
import struct
from datetime import datetime
from typing import Any

from forensics.media.metadata.makers.ciff import read_ciff
from forensics.media.metadata.makers.vendor_block import VendorBlock, clean_text, exif_time_text, unix_wall_clock

_FLIR_CAMERA_INFO = 0x20
_FLIR_GPS_INFO = 0x2B
_MAX_FLIR_RECORDS = 256


def read_jpeg_vendor_blocks(segments: tuple[tuple[int, bytes], ...]) -> tuple[VendorBlock, ...]:
    """The claims of the makers' segments jpeg_segments.read_jpeg_header kept, in file order."""
    blocks: list[VendorBlock | None] = []
    flir = b""
    for marker, payload in segments:
        if marker == 0xE0:
            blocks.append(read_ciff(payload, where="JPEG APP0"))
        elif marker == 0xEC:
            blocks.append(_picture_info(payload))
        elif payload.startswith(b"QVCI\x00"):
            blocks.append(_casio_qvci(payload))
        elif payload.startswith(b"FLIR\x00") and len(payload) > 8:
            flir += payload[8:]  # "FLIR\0", a version byte, this segment's index, the last index
    if flir:
        blocks.append(read_flir_fff(flir, where="FLIR FFF (JPEG APP1)"))
    return tuple(b for b in blocks if b is not None)


def _picture_info(payload: bytes) -> VendorBlock | None:
    # "[picture info]" then "Key=Value" lines; TimeDate counts seconds of the camera clock.
    text = payload.decode("latin-1")
    fields = dict(re.findall(r"^([A-Za-z][\w ]{0,31})=([^\r\n]{0,128})", text, flags=re.MULTILINE))
    captured = None
    time_date = fields.get("TimeDate", "").strip()
    if time_date.isdigit():
        captured = unix_wall_clock(int(time_date))
    if captured is None:
        return None
    maker = clean_text(payload[:payload.find(b"[picture info]")].split(b"\x00", 1)[0])
    if maker:
        fields["Maker"] = maker
    fields["DateTimeOriginal"] = captured
    return VendorBlock("Olympus PictureInfo (JPEG APP12)", fields, captured)


def _casio_qvci(payload: bytes) -> VendorBlock | None:
    # Fixed offsets: DateTimeOriginal "1998.10.24.12.08.57" at 0x4d, the model type at 0x62.
    if len(payload) < 0x4D + 19:
        return None
    m = re.fullmatch(rb"(\d{4})\.(\d\d)\.(\d\d)\.(\d\d)\.(\d\d)\.(\d\d)", payload[0x4D:0x4D + 19])
    if not m:
        return None
    captured = "{}:{}:{} {}:{}:{}".format(*(g.decode() for g in m.groups()))
    fields: dict[str, Any] = {"DateTimeOriginal": captured, "ModelType": clean_text(payload[0x62:0x62 + 7])}
    return VendorBlock("Casio QVCI (JPEG APP1)", fields, captured)


def read_flir_fff(data: bytes, *, where: str) -> VendorBlock | None:
    """FLIR's FFF records: the capture time (CameraInfo) and position (GPSInfo)."""
    if len(data) < 0x40 or data[:4] not in (b"FFF\x00", b"AFF\x00"):
        return None
    order = next((o for o in (">", "<") if 100 <= struct.unpack(o + "I", data[0x14:0x18])[0] < 200), None)
    if order is None:
        return None
    directory, count = struct.unpack(order + "II", data[0x18:0x20])
    records: dict[int, bytes] = {}
    for index in range(min(count, _MAX_FLIR_RECORDS)):
        entry = directory + index * 0x20
        if entry + 0x20 > len(data):
            break
        kind = struct.unpack(order + "H", data[entry:entry + 2])[0]
        offset, length = struct.unpack(order + "II", data[entry + 0x0C:entry + 0x14])
        if kind and offset + length <= len(data):
            records.setdefault(kind, data[offset:offset + length])
    fields: dict[str, Any] = {}
    captured = _flir_time(records.get(_FLIR_CAMERA_INFO, b""))
    if captured:
        fields["DateTimeOriginal"] = captured
    gps = _flir_gps(records.get(_FLIR_GPS_INFO, b""), order, fields)
    if captured is None and gps is None:
        return None
    return VendorBlock(where, fields, captured, gps=gps)


def _flir_time(info: bytes) -> str | None:
    if len(info) < 0x38E:
        return None
    # The record's first word is 2 in its own byte order, whatever the file's order is.
    order = "<" if struct.unpack("<H", info[:2])[0] == 2 else ">"
    seconds, millis = struct.unpack(order + "II", info[0x384:0x38C])
    zone_min = struct.unpack(order + "h", info[0x38C:0x38E])[0]
    # The counter is UTC; the zone field is minutes west of UTC, as in C's `timezone`.
    text = unix_wall_clock(seconds, offset_min=-zone_min)
    if text is None:
        return None
    millis &= 0xFFFF
    return text[:19] + (f".{millis:03d}" if millis < 1000 else "") + text[19:]


def _flir_gps(info: bytes, order: str, fields: dict[str, Any]) -> tuple[float, float, float | None] | None:
    if len(info) < 0x24:
        return None
    for candidate in (order, "<" if order == ">" else ">"):
        if struct.unpack(candidate + "I", info[:4])[0] in (0, 1):
            order = candidate
            break
    if struct.unpack(order + "I", info[:4])[0] != 1:  # GPSValid
        return None
    lat_ref, lon_ref = clean_text(info[8:10]) or "", clean_text(info[10:12]) or ""
    lat, lon = struct.unpack(order + "dd", info[0x10:0x20])
    altitude = struct.unpack(order + "f", info[0x20:0x24])[0]
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return None
    # FLIR stores magnitudes with N/S and E/W beside them (ExifTool -n shows the bare magnitude).
    lat = -abs(lat) if lat_ref == "S" else lat
    lon = -abs(lon) if lon_ref == "W" else lon
    fields.update(GPSLatitudeRef=lat_ref, GPSLongitudeRef=lon_ref, GPSLatitude=lat, GPSLongitude=lon,
                  GPSAltitude=altitude if math.isfinite(altitude) else None)
    return lat, lon, altitude if math.isfinite(altitude) else None


def read_reconyx_maker_note(note: bytes) -> VendorBlock | None:
    """The trail camera's own capture time, from its EXIF maker note (HyperFire, UltraFire, HyperFire 2)."""
    if note.startswith(b"\x01\xf1") and len(note) >= 0x16 + 12:
        values = list(struct.unpack("<6H", note[0x16:0x22]))
        if values[0] & 0xFF00 and not values[0] & 0xFF:  # some firmware writes these words big-endian
            values = [(v >> 8) | ((v & 0xFF) << 8) for v in values]
        second, minute, hour, month, day, year = values
        name = "Reconyx HyperFire maker note"
    elif note.startswith(b"RECONYXUF\x00") and len(note) >= 0x3B + 7:
        second, minute, hour, day, month, year_low, year_high = note[0x3B:0x3B + 7]
        year = year_low + 256 * year_high
        name = "Reconyx UltraFire maker note"
    elif note.startswith(b"RECONYXH2\x00") and len(note) >= 0x3E + 12:
        second, minute, hour, day, month, year = struct.unpack("<6H", note[0x3E:0x4A])
        name = "Reconyx HyperFire 2 maker note"
    else:
        return None
    try:
        captured = exif_time_text(datetime(year, month, day, hour, minute, second))
    except ValueError:
        return None
    return VendorBlock(name, {"DateTimeOriginal": captured}, captured)
