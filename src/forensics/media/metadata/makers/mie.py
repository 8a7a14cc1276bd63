"""Make, model and dates of a MIE file (ExifTool's "Meta Information Encapsulation" format).

MIE is a stream of elements: a '~' sync byte, a format code, the tag's length, the
value's length (253, 254 and 255 say a 2, 4 or 8-byte length follows), the tag name,
the value. A group (format 0x10 big-endian, 0x18 little-endian) of length 0 holds the
elements that follow, up to an empty terminator element. Layout as in ExifTool's MIE.pm
and its specification; only text values of the Camera and Document groups are read.
"""

from __future__ import annotations

import re
from typing import BinaryIO

from forensics.media.metadata.makers.vendor_block import VendorBlock, clean_text

_GROUPS = (0x10, 0x18)
_TEXT = (0x20, 0x28)  # ISO 8859-1, UTF-8
_WANTED = {("Camera", "Make"): "Make", ("Camera", "Model"): "Model", ("Document", "OriginalDate"): "DateTimeOriginal",
           ("Document", "CreateDate"): "CreateDate", ("Document", "ModifyDate"): "ModifyDate"}
_EXTENDED = {253: 2, 254: 4, 255: 8}


def is_mie(head: bytes) -> bool:
    """Whether `head` starts with the MIE file group ("~", a group format, "0MIE")."""
    return len(head) >= 8 and head[0] == 0x7E and head[1] in _GROUPS and head[2] == 4 and head[4:8] == b"0MIE"


def read_mie(fh: BinaryIO, *, max_elements: int = 4096, max_bytes: int = 16 * 1024 * 1024) -> VendorBlock | None:
    """The Camera and Document text tags of a MIE file; None when it has none of them."""
    fh.seek(0)
    data = fh.read(max_bytes)
    path: list[str] = []
    found: dict[str, str] = {}
    pos = 0
    for _ in range(max_elements):
        if pos + 4 > len(data) or data[pos] != 0x7E:
            break
        fmt, tag_len, value_len = data[pos + 1], data[pos + 2], data[pos + 3]
        pos += 4
        if fmt == 0 and tag_len == 0:  # a group's terminator
            if not path:
                break
            path.pop()
            continue
        tag = data[pos:pos + tag_len].decode("latin-1")
        pos += tag_len
        if value_len in _EXTENDED:
            width = _EXTENDED[value_len]
            value_len = int.from_bytes(data[pos:pos + width], "big")
            pos += width
        if fmt in _GROUPS and value_len == 0:
            if len(path) >= 16:
                break
            path.append(tag)
            continue
        value = data[pos:pos + value_len]
        pos += value_len
        key = (path[-1] if path else "", tag)
        if fmt in _TEXT and key in _WANTED:
            text = clean_text(value)
            if text:
                found.setdefault(_WANTED[key], text)
    if not found:
        return None
    captured = found.get("DateTimeOriginal")
    if captured and not re.match(r"\d{4}:\d\d:\d\d \d\d:\d\d:\d\d", captured):
        captured = None
    return VendorBlock("MIE Camera/Document groups", dict(found), captured, found.get("Make"), found.get("Model"))
