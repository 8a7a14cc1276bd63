"""Camera claims in QuickTime/MP4 user-data boxes that libavformat skips: `date`, Pentax `TAGS`.

Some Android phones and cameras (the 3GPP `date` box: "2020-11-20T15:04:02+0100") write
the capture time with its zone in `moov/udta`, and Pentax compacts write their make in
a binary `TAGS` box; ExifTool reads both (QuickTime.pm, Pentax.pm), libavformat neither.
Canon cameras write EXIF itself into their MP4 and CR3 files, as two TIFF blocks in a
`moov/uuid` box: CMT1 holds IFD0 (make, model), CMT2 the EXIF IFD (DateTimeOriginal);
Nikon cameras write tag records (NCTG) in `udta/NCDT`, with EXIF's value types.
"""

from __future__ import annotations

import io
import re
import struct

from forensics.media.metadata.formats.exif import ExifRead, read_exif
from forensics.media.metadata.makers.sony_xml import read_sony_xml
from forensics.media.metadata.makers.vendor_block import VendorBlock, clean_text
from forensics.media.metadata.timestamps import parse_datetime

_DATE = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:Z|[+\-]\d\d:?\d\d)?")


def read_user_data(boxes: tuple[tuple[str, bytes], ...]) -> tuple[VendorBlock, ...]:
    """The claims of the user-data boxes isobmff.read_movie_header kept (udta, Sony's XML)."""
    sony = next((read_sony_xml(body, where="MP4 meta") for kind, body in boxes if kind == "meta:xml"), None)
    nikon = _nikon_tags(boxes)
    return tuple(b for b in (_udta(boxes), sony, nikon) if b is not None)


# EXIF's value types and their sizes; Nikon's NCTG records use the same codes.
_EXIF_TYPE_BYTES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8}
_NCTG_TEXT = {0x01: "Make", 0x02: "Model", 0x03: "Software", 0x11: "CreateDate", 0x12: "DateTimeOriginal"}


def _nikon_tags(boxes: tuple[tuple[str, bytes], ...], *, max_records: int = 1024) -> VendorBlock | None:
    """Make, model and capture time from a Nikon MOV's udta/NCDT/NCTG records (ExifTool's Nikon.pm)."""
    data = next((body for kind, body in boxes if kind == "NCDT/NCTG"), None)
    if data is None:
        return None
    fields: dict[str, str] = {}
    pos = 0
    for _ in range(max_records):
        if pos + 8 > len(data):
            break
        tag, kind, count = struct.unpack(">IHH", data[pos:pos + 8])
        size = count * _EXIF_TYPE_BYTES.get(kind, 0)
        pos += 8
        if kind not in _EXIF_TYPE_BYTES or pos + size > len(data):
            break
        if kind == 2 and tag in _NCTG_TEXT:
            text = clean_text(data[pos:pos + size])
            if text:
                fields[_NCTG_TEXT[tag]] = text
        pos += size
    captured = fields.get("DateTimeOriginal")
    if captured and parse_datetime(captured) is None:
        captured = None
    if not fields:
        return None
    return VendorBlock("Nikon NCTG (udta/NCDT)", fields, captured, fields.get("Make"), fields.get("Model"))


def _udta(boxes: tuple[tuple[str, bytes], ...]) -> VendorBlock | None:
    fields: dict[str, str] = {}
    captured = make = None
    for kind, body in boxes:
        if kind == "date" and captured is None:
            m = _DATE.fullmatch(body.rstrip(b"\x00"))
            if m and parse_datetime(m[0].decode()) is not None:
                captured = fields["date"] = m[0].decode()
        elif kind == "TAGS" and make is None and body.startswith(b"PENTAX DIGITAL CAMERA\x00"):
            make = clean_text(body[:24])
            if make:
                fields["TAGS Make"] = make
    if not fields:
        return None
    return VendorBlock("QuickTime user data (udta)", fields, captured, make)


def read_canon_exif(boxes: tuple[tuple[str, bytes], ...]) -> ExifRead | None:
    """EXIF from Canon's CMT1 and CMT2 blocks, named as in a JPEG ("Image Make", "EXIF DateTimeOriginal").

    exifread reads each block as a TIFF of its own, so the CMT2 tags come back under
    "Image"; they are EXIF-IFD tags (exifread's one tag table names them right).
    Raises what exifread raises on a damaged block; the worker's guard keeps that to itself.
    """
    tags: dict[str, object] = {}
    labels: dict[str, str] = {}
    for kind, body in boxes:
        if kind not in ("canon:CMT1", "canon:CMT2") or body[:4] not in (b"II*\x00", b"MM\x00*"):
            continue
        result = read_exif(io.BytesIO(body))
        prefix = "Image " if kind == "canon:CMT1" else "EXIF "
        for name, value in result.tags.items():
            if name.startswith("Image "):
                tags.setdefault(prefix + name[len("Image "):], value)
        for name, label in result.labels.items():
            if name.startswith("Image "):
                labels.setdefault(prefix + name[len("Image "):], label)
    return ExifRead(tags, labels) if tags else None  # type: ignore[arg-type]
