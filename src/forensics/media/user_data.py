"""Camera claims in QuickTime/MP4 user-data boxes that libavformat skips: `date`, Pentax `TAGS`.

Some Android phones and cameras (the 3GPP `date` box: "2020-11-20T15:04:02+0100") write
the capture time with its zone in `moov/udta`, and Pentax compacts write their make in
a binary `TAGS` box; ExifTool reads both (QuickTime.pm, Pentax.pm), libavformat neither.
Canon cameras write EXIF itself into their MP4 and CR3 files, as two TIFF blocks in a
`moov/uuid` box: CMT1 holds IFD0 (make, model), CMT2 the EXIF IFD (DateTimeOriginal).
"""

from __future__ import annotations

import io
import re

from forensics.media.sony_xml import read_sony_xml
from forensics.media.stills import ExifRead, read_exif
from forensics.media.timestamps import parse_datetime
from forensics.media.vendor_block import VendorBlock, clean_text

_DATE = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:Z|[+\-]\d\d:?\d\d)?")


def read_user_data(boxes: tuple[tuple[str, bytes], ...]) -> tuple[VendorBlock, ...]:
    """The claims of the user-data boxes isobmff.read_movie_header kept (udta, Sony's XML)."""
    sony = next((read_sony_xml(body, where="MP4 meta") for kind, body in boxes if kind == "meta:xml"), None)
    udta = _udta(boxes)
    return tuple(b for b in (udta, sony) if b is not None)


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
