"""The recording date and time of a DV stream, from the packs of its first frame's VAUX blocks.

DV camcorders write "rec date" (pack 0x62) and "rec time" (pack 0x63) in BCD in the
video-auxiliary blocks of every frame: the camera's local clock, without a zone.
libavformat reads DV as raw video with no tags. The walk is ExifTool's (DV.pm): find the
first DIF header block, then the five blocks after it, fifteen five-byte packs each.
"""

from __future__ import annotations

import re
from typing import BinaryIO

from forensics.media.metadata.makers.vendor_block import VendorBlock

_DIF_BLOCK_BYTES = 80
_HEADER = re.compile(rb"\x1f\x07\x00[\x3f\xbf]")


def is_dv(head: bytes) -> bool:
    """Whether `head` starts with a DV DIF header block (raw .dv files)."""
    return _HEADER.match(head) is not None


def read_dv_date(fh: BinaryIO, *, scan_bytes: int = 12000) -> VendorBlock | None:
    """The first frame's recording time; None when the stream has no valid date and time packs."""
    fh.seek(0)
    data = fh.read(scan_bytes)
    m = _HEADER.search(data)
    if m is None:
        return None
    start = m.start()
    if start + 6 * _DIF_BLOCK_BYTES > len(data):
        return None
    date = clock = None
    for block in range(1, 6):
        pos = start + block * _DIF_BLOCK_BYTES
        if data[pos] & 0xF0 != 0x50:  # VAUX blocks only
            continue
        for pack in range(15):
            p = pos + 3 + pack * 5
            kind, body = data[p], data[p + 1:p + 5]
            if kind == 0x62:
                text = f"{body[3]:02x}:{body[2] & 0x1F:02x}:{body[1] & 0x3F:02x}"
                # Two-digit years: DV dates from before 1990 do not exist.
                date = None if re.search("[a-f]", text) else ("20" if text < "9" else "19") + text
                clock = None
            elif kind == 0x63 and date:
                text = f"{body[3] & 0x3F:02x}:{body[2] & 0x7F:02x}:{body[1] & 0x7F:02x}"
                clock = None if re.search("[a-f]", text) else text
                break
            else:
                clock = None  # the time pack must follow the date pack
        if date and clock:
            break
    if not (date and clock):
        return None
    captured = f"{date} {clock}"
    return VendorBlock("DV VAUX rec date/time packs", {"DateTimeOriginal": captured}, captured)
