"""Capture time, make and model from the fixed headers of rarer camera and recorder formats.

Kyocera/Contax N Digital RAW, Sony DSC-F1 PMP, Olympus DSS dictation, FLIR FPF thermal
images, JVC/Panasonic MOI (MOD/TOD video index), RED R3D video, Sigma X3F raws (the
property list of the SD9/SD10, which carry no EXIF) and Lytro LFP light-field pictures.
Each layout is as ExifTool reads it (KyoceraRaw.pm, Sony.pm, Olympus.pm, FLIR.pm,
MOI.pm, Red.pm, SigmaRaw.pm, Lytro.pm); each reader checks its signature and every
length, and gives None rather than guess.
"""

from __future__ import annotations

import contextlib
import json
import re
import struct
from collections.abc import Callable
from datetime import datetime
from typing import Any, BinaryIO

from forensics.media.metadata.makers.vendor_block import VendorBlock, clean_text, exif_time_text, unix_wall_clock

_MAX_HEADER_BYTES = 64 * 1024
_MAX_JSON_BYTES = 1024 * 1024


def _time_text(*parts: int, millis: int | None = None) -> str | None:
    try:
        # Callers pass year..second; a wrong count is datetime's TypeError, caught below.
        value = datetime(*parts)  # type: ignore[arg-type]
    except (ValueError, TypeError, OverflowError):
        return None
    if millis is not None and 0 < millis < 1000:
        value = value.replace(microsecond=millis * 1000)
    return exif_time_text(value)


def _kyocera(head: bytes, fh: BinaryIO) -> VendorBlock | None:
    # Contax N Digital: every string is stored reversed ("LATIGID N" is "N DIGITAL").
    if len(head) < 0x35 or head[0x19:0x20] != b"ARECOYK":
        return None
    model = clean_text(head[0x0C:0x18][::-1].strip(b"\x00 "))
    make = clean_text(head[0x19:0x20][::-1].strip(b"\x00 "))
    stamp = clean_text(head[0x21:0x35][::-1].strip(b"\x00 ")) or ""
    captured = stamp if re.fullmatch(r"\d{4}:\d\d:\d\d \d\d:\d\d:\d\d", stamp) else None
    return VendorBlock("Kyocera RAW header", {"Make": make, "Model": model, "DateTimeOriginal": stamp},
                       captured, make, model)


def _sony_pmp(head: bytes, fh: BinaryIO) -> VendorBlock | None:
    # Only the DSC-F1 wrote PMP: the format names the camera (ExifTool states it the same way).
    if len(head) < 128 or head[8:12] != b"\x00\x00\x00\x7c" or head[124:128] != b"\xff\xd8\xff\xdb":
        return None
    year, month, day, hour, minute, second = head[76:82]
    captured = _time_text(year + (2000 if year < 70 else 1900), month, day, hour, minute, second)
    fields = {"DateTimeOriginal": captured, "Make": "Sony", "Model": "DSC-F1",
              "Note": "make and model implied by the PMP format, which only the Sony DSC-F1 wrote"}
    return VendorBlock("Sony PMP header", fields, captured, "Sony", "DSC-F1")


def _olympus_dss(head: bytes, fh: BinaryIO) -> VendorBlock | None:
    if len(head) < 62 or head[1:4] not in (b"dss", b"ds2"):
        return None
    model = clean_text(head[12:28])
    start = re.fullmatch(rb"(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)", head[38:50])
    end = re.fullmatch(rb"(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)", head[50:62])
    # The recording's start on the recorder's clock: when the sound was captured.
    captured = _time_text(2000 + int(start[1]), *(int(g) for g in start.groups()[1:])) if start else None
    ended = _time_text(2000 + int(end[1]), *(int(g) for g in end.groups()[1:])) if end else None
    return VendorBlock("Olympus DSS header", {"Model": model, "StartTime": captured, "EndTime": ended},
                       captured, None, model)


def _flir_fpf(head: bytes, fh: BinaryIO) -> VendorBlock | None:
    if len(head) < 0x264 or not head.startswith(b"FPF Public Image Format\x00"):
        return None
    year, month, day, hour, minute, second, millis = struct.unpack("<7I", head[0x248:0x264])
    captured = _time_text(year, month, day, hour, minute, second, millis=millis)
    fields = {"DateTimeOriginal": captured, "CameraModel": clean_text(head[0x78:0x98]),
              "CameraSerialNumber": clean_text(head[0xB8:0xD8]), "LensModel": clean_text(head[0xE0:0x100])}
    return VendorBlock("FLIR FPF header", fields, captured)


def _moi(head: bytes, fh: BinaryIO) -> VendorBlock | None:
    if len(head) < 14 or head[:2] != b"V6":
        return None
    year, month, day, hour, minute, millis = struct.unpack(">HBBBBH", head[6:14])
    captured = _time_text(year, month, day, hour, minute, millis // 1000, millis=millis % 1000)
    return VendorBlock("MOI header", {"DateTimeOriginal": captured}, captured) if captured else None


def _red(head: bytes, fh: BinaryIO) -> VendorBlock | None:
    if len(head) < 0x44 or head[4:8] not in (b"RED1", b"RED2"):
        return None
    if head[4:8] == b"RED1":
        return None  # RED1 keeps its directory after the header in another layout; no sample to check it on
    pos = 0x44 + head[0x40] * 0x18
    if pos + 2 > len(head):
        return None
    end = min(len(head), pos + 2 + struct.unpack(">H", head[pos:pos + 2])[0])
    pos += 2
    tags: dict[int, bytes] = {}
    while pos + 4 <= end:
        length, tag = struct.unpack(">HH", head[pos:pos + 4])
        if length < 4 or pos + length > end:
            break
        if tag >> 12 == 1:  # format 1: text
            tags[tag] = head[pos + 4:pos + length]
        pos += length
    date, clock = clean_text(tags.get(0x1023, b"")), clean_text(tags.get(0x1024, b""))
    model = clean_text(tags.get(0x1071, b""))
    captured = None
    if date and clock and re.fullmatch(r"\d{8}", date) and re.fullmatch(r"\d{6}", clock):
        captured = f"{date[:4]}:{date[4:6]}:{date[6:]} {clock[:2]}:{clock[2:4]}:{clock[4:]}"
    if not (captured or model):
        return None
    fields = {"DateCreated": date, "TimeCreated": clock, "Model": model,
              "SerialNumber": clean_text(tags.get(0x1006, b""))}
    return VendorBlock("RED R3D header", fields, captured, None, model)


def _x3f(head: bytes, fh: BinaryIO) -> VendorBlock | None:
    if not head.startswith(b"FOVb"):
        return None
    fh.seek(0, 2)
    size = fh.tell()
    if size < 16:
        return None
    fh.seek(size - 4)
    directory = struct.unpack("<I", fh.read(4))[0]
    fh.seek(directory)
    header = fh.read(12)
    if len(header) < 12 or header[:4] != b"SECd":
        return None
    count = min(struct.unpack("<I", header[8:12])[0], 256)
    entries = fh.read(12 * count)
    for i in range(len(entries) // 12):
        offset, length, kind = struct.unpack("<II4s", entries[i * 12:i * 12 + 12])
        if kind == b"PROP" and length <= _MAX_HEADER_BYTES and offset + length <= size:
            fh.seek(offset)
            return _x3f_properties(fh.read(length))
    return None


def _x3f_properties(section: bytes) -> VendorBlock | None:
    if len(section) < 24 or section[:4] != b"SECp":
        return None
    entries, char_format, _, chars = struct.unpack("<IIII", section[8:24])
    table_end = 24 + 8 * entries
    if char_format != 0 or table_end + 2 * chars > len(section):
        return None
    text = section[table_end:table_end + 2 * chars].decode("utf-16-le", errors="replace")
    props: dict[str, str] = {}
    for i in range(entries):
        name_at, value_at = struct.unpack("<II", section[24 + 8 * i:32 + 8 * i])
        if name_at < len(text) and value_at < len(text):
            props[text[name_at:].split("\x00", 1)[0]] = text[value_at:].split("\x00", 1)[0][:256]
    seconds = props.get("TIME", "")
    captured = unix_wall_clock(int(seconds)) if seconds.isdigit() else None
    make, model = props.get("CAMMANUF") or None, props.get("CAMMODEL") or None
    if not (captured or make or model):
        return None
    fields: dict[str, Any] = {k: props[k] for k in ("CAMMANUF", "CAMMODEL", "CAMSERIAL", "FIRMVERS", "TIME")
                              if k in props}
    return VendorBlock("Sigma X3F properties", fields, captured, make, model)


def _lytro(head: bytes, fh: BinaryIO) -> VendorBlock | None:
    if not head.startswith(b"\x89LFP\r\n\x1a\n"):
        return None
    fh.seek(16)
    flat: dict[str, Any] = {}
    for _ in range(64):
        segment = fh.read(16)
        if len(segment) < 16 or not segment.startswith(b"\x89LF"):
            break
        length = struct.unpack(">I", segment[12:16])[0]
        fh.seek(80, 1)  # the segment's SHA-1 name
        if length & 0x80000000:
            break
        if length <= _MAX_JSON_BYTES:
            body = fh.read(length)
            if re.match(rb"\{\s+\"", body):
                with contextlib.suppress(ValueError, UnicodeDecodeError, RecursionError):
                    _flatten(json.loads(body.decode("utf-8")), "", flat, 0)
        else:
            fh.seek(length, 1)
        fh.seek((16 - length % 16) % 16, 1)
    make, model = flat.get("CameraMake"), flat.get("CameraModel")
    zulu = flat.get("DevicesClockZuluTime")
    captured = zulu.replace("-", ":", 2).replace("T", " ") if isinstance(zulu, str) else None
    if not (make or model or captured):
        return None
    # Text only: JSON allows values (Infinity, NaN) that a canonical record cannot hold.
    fields = {k: v for k, v in (("CameraMake", make), ("CameraModel", model), ("DevicesClockZuluTime", zulu),
                                ("CameraSerialNumber", flat.get("CameraSerialNumber"))) if isinstance(v, str)}
    return VendorBlock("Lytro LFP metadata", fields, captured, _str(make), _str(model))


def _flatten(value: Any, prefix: str, out: dict[str, Any], depth: int) -> None:
    # ExifTool's names for LFP JSON: the keys of the path, each capitalised, joined.
    if depth > 12 or len(out) > 10_000:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(item, prefix + str(key)[:1].upper() + str(key)[1:], out, depth + 1)
    elif not isinstance(value, list):
        out.setdefault(prefix, value)


def _str(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


_READERS: tuple[Callable[[bytes, BinaryIO], VendorBlock | None], ...] = (
    _kyocera, _sony_pmp, _olympus_dss, _flir_fpf, _moi, _red, _x3f, _lytro)


def read_raw_header(head: bytes, fh: BinaryIO) -> VendorBlock | None:
    """The block of the first of these formats whose signature `head` (the file's start) has."""
    for reader in _READERS:
        block = reader(head, fh)
        if block is not None:
            return block
    return None
