"""Capture time and camera of RIFF files (AVI, WAV): the IDIT chunk, the INFO list, the EXIF list.

Cameras that record AVI (Pentax, Casio, Konica, Nikon) write the recording time in an
`IDIT` chunk, as the camera's local clock; libavformat hands it over as `creation_time`
as if it were UTC, which it is not. WAV voice memos from cameras carry the EXIF 2.3
audio chunks (`LIST exif`: `ecor` maker, `emdl` model, `etim` time) beside the INFO
list's `ICRD` date. Field recorders (Zoom, Tascam, Sound Devices) and broadcast tools write
a Broadcast Wave `bext` chunk (EBU Tech 3285): the originator (often the recorder's name),
the origination date and time on the recorder's local clock, the samples since midnight,
and the coding history. Chunks are walked by their headers; big ones (`movi`, `data`) are
skipped without reading.
"""

from __future__ import annotations

import re
import struct
from typing import Any, BinaryIO

from forensics.media.metadata.makers.vendor_block import VendorBlock, clean_text

_MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                                       "Dec"), start=1)}
_TEXT_CHUNKS = {b"IDIT": "DateTimeOriginal", b"ICRD": "DateCreated", b"ISFT": "Software", b"IMAK": "Make",
                b"IMOD": "Model", b"etim": "TimeCreated", b"ecor": "Make", b"emdl": "Model",
                b"erel": "RelatedImageFile", b"ever": "ExifVersion"}
_SKIPPED_LISTS = {b"movi", b"rec "}
# bext: Description 256, Originator 32, OriginatorReference 32, OriginationDate 10, OriginationTime 8,
# TimeReference 8 (little-endian samples since midnight), Version 2, UMID 64, loudness 10, reserved 180.
_BEXT_FIXED_BYTES = 602
_BEXT_TEXT = (("Description", 0, 256), ("Originator", 256, 32), ("OriginatorReference", 288, 32),
              ("OriginationDate", 320, 10), ("OriginationTime", 330, 8))


def read_riff_info(fh: BinaryIO, *, max_chunks: int = 1024, max_depth: int = 4,
                   max_text_bytes: int = 1024) -> VendorBlock | None:
    """The IDIT, INFO and EXIF chunks of the first RIFF form; None when there are none."""
    fh.seek(0, 2)
    size = fh.tell()
    fh.seek(0)
    head = fh.read(12)
    if len(head) < 12 or head[:4] != b"RIFF":
        return None
    form = head[8:12]
    end = min(size, 8 + struct.unpack("<I", head[4:8])[0])
    found: dict[str, str] = {}
    budget = [max_chunks]
    _walk(fh, 12, end, found, max_depth, budget, max_text_bytes)
    if not found:
        return None
    fields: dict[str, Any] = dict(found)
    tag = "DateTimeOriginal"
    captured = riff_date(found.get("DateTimeOriginal", ""))
    if captured is None and "TimeCreated" in found:  # the EXIF audio time joins the INFO date
        captured, tag = _day_and_clock(found.get("DateCreated", ""), found["TimeCreated"]), "ICRD + etim"
    if captured is None and "bext OriginationDate" in found:
        captured = _day_and_clock(found["bext OriginationDate"], found.get("bext OriginationTime", ""))
        tag = "bext OriginationDate + OriginationTime"
    kind = form.decode("latin-1").strip()
    return VendorBlock(f"RIFF {kind} chunks", fields, captured, found.get("Make"), found.get("Model"),
                       captured_tag=tag)


def _day_and_clock(day_text: str, clock_text: str) -> str | None:
    """'2024-03-05' and '10:11:12' (any separators, as BWF allows) as EXIF text; None unless both are there."""
    day = re.match(r"\s*(\d{4})[-:/_. ](\d\d)[-:/_. ](\d\d)", day_text)
    clock = re.match(r"\s*(\d\d)[-:/_. ](\d\d)[-:/_. ](\d\d)", clock_text)
    if not day or not clock:
        return None
    return f"{day[1]}:{day[2]}:{day[3]} {clock[1]}:{clock[2]}:{clock[3]}"


def _bext(body: bytes, found: dict[str, str], max_text_bytes: int) -> None:
    for name, start, length in _BEXT_TEXT:
        text = clean_text(body[start:start + length], max_chars=length)
        if text:
            found.setdefault(f"bext {name}", text)
    if len(body) >= 346:
        found.setdefault("bext TimeReference", str(struct.unpack("<Q", body[338:346])[0]))
    history = clean_text(body[_BEXT_FIXED_BYTES:].replace(b"\r\n", b"; ").replace(b"\n", b"; "),
                         max_chars=max_text_bytes)
    if history:
        found.setdefault("bext CodingHistory", history)


def _walk(fh: BinaryIO, pos: int, end: int, found: dict[str, str], depth: int, budget: list[int],
          max_text_bytes: int) -> None:
    while pos + 8 <= end and budget[0] > 0:
        budget[0] -= 1
        fh.seek(pos)
        header = fh.read(12)
        if len(header) < 8:
            return
        kind, length = header[:4], struct.unpack("<I", header[4:8])[0]
        body_end = pos + 8 + length
        if body_end > end:
            body_end = end  # a truncated last chunk: read what is there
        if kind == b"LIST" and len(header) == 12 and header[8:12] not in _SKIPPED_LISTS and depth > 1:
            _walk(fh, pos + 12, body_end, found, depth - 1, budget, max_text_bytes)
        elif kind == b"bext":
            fh.seek(pos + 8)
            _bext(fh.read(min(body_end - pos - 8, _BEXT_FIXED_BYTES + max_text_bytes)), found, max_text_bytes)
        elif kind in _TEXT_CHUNKS and length <= max_text_bytes:
            fh.seek(pos + 8)
            text = clean_text(fh.read(length), max_chars=max_text_bytes)
            if text:
                found.setdefault(_TEXT_CHUNKS[kind], text)
        pos = pos + 8 + length + (length & 1)


def riff_date(text: str) -> str | None:
    """A RIFF date as EXIF text: 'Mon Mar 10 15:04:43 2003' (the AVI standard) or '2009/10/27 12:14:34'."""
    parts = text.split()
    if len(parts) >= 5 and parts[1][:3].title() in _MONTHS and re.fullmatch(r"\d\d?:\d\d:\d\d", parts[3]) \
            and parts[4][:4].isdigit():
        return f"{parts[4][:4]}:{_MONTHS[parts[1][:3].title()]:02d}:{int(parts[2]):02d} {parts[3].zfill(8)}"
    m = re.match(r"(\d{4})[-/:]\s*(\d\d?)[-/:]\s*(\d\d?)/?\s+(\d\d?):\s*(\d\d)(?::(\d\d))?\s*(PM)?", text)
    if not m:
        return None
    hour = int(m[4]) + (12 if m[7] and int(m[4]) < 12 else 0)
    return f"{m[1]}:{int(m[2]):02d}:{int(m[3]):02d} {hour:02d}:{m[5]}:{m[6] or '00'}"
