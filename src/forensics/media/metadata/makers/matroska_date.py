"""The muxing date (`DateUTC`) and writing application of a Matroska/WebM file, read from its EBML.

libavformat refuses some valid-enough Matroska files outright (a header it finds short,
an element it does not expect) and then nothing at all is known of them. `DateUTC`
sits in the Segment's Info element near the start: nanoseconds since 2001-01-01 UTC,
the time the muxer wrote the file (not the camera's capture time). Elements are walked
by their headers, at most a few hundred of them, and Clusters (the media) are never read.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO

from forensics.media.metadata.makers.vendor_block import VendorBlock, clean_text, exif_time_text

_EBML = 0x1A45DFA3
_SEGMENT = 0x18538067
_INFO = 0x1549A966
_CLUSTER = 0x1F43B675
_DATE_UTC = 0x4461
_MUXING_APP = 0x4D80
_WRITING_APP = 0x5741
_TITLE = 0x7BA9
_EPOCH_2001 = datetime(2001, 1, 1, tzinfo=UTC)


def read_matroska_date(fh: BinaryIO, *, max_elements: int = 512, max_info_bytes: int = 64 * 1024) -> VendorBlock | None:
    """The Info element's date and applications; None when the file is not EBML or has no Info."""
    fh.seek(0, 2)
    size = fh.tell()
    pos = 0
    info = None
    segment_end = size
    for _ in range(max_elements):
        element = _element(fh, pos, size)
        if element is None:
            break
        ident, start, end = element
        if pos == 0 and ident != _EBML:
            return None
        if ident == _SEGMENT:
            pos, segment_end = start, end  # step inside: Info is one of its children
            continue
        if ident == _CLUSTER or pos >= segment_end:
            break
        if ident == _INFO and end - start <= max_info_bytes:
            fh.seek(start)
            info = fh.read(end - start)
            break
        pos = end
    if info is None:
        return None
    fields: dict[str, Any] = {}
    created = None
    pos = 0
    while pos < len(info):
        element = _element_in(info, pos)
        if element is None:
            break
        ident, start, end = element
        value = info[start:end]
        if ident == _DATE_UTC and len(value) == 8:
            nanoseconds = struct.unpack(">q", value)[0]
            try:
                created = exif_time_text(_EPOCH_2001 + timedelta(microseconds=nanoseconds // 1000))
            except OverflowError:
                created = None
            fields["DateUTC"] = created
        elif ident in (_MUXING_APP, _WRITING_APP, _TITLE):
            name = {_MUXING_APP: "MuxingApp", _WRITING_APP: "WritingApp", _TITLE: "Title"}[ident]
            fields[name] = clean_text(value)
        pos = end
    if not fields:
        return None
    return VendorBlock("Matroska Info", fields, created=created)


def _vint(data: bytes, pos: int, *, keep_marker: bool) -> tuple[int, int] | None:
    """An EBML variable-length integer at `pos`: (value, length); None when it runs past the data."""
    if pos >= len(data) or data[pos] == 0:
        return None
    length = 8 - data[pos].bit_length() + 1
    if pos + length > len(data):
        return None
    value = int.from_bytes(data[pos:pos + length], "big")
    if not keep_marker:
        value &= (1 << (7 * length)) - 1
        if value == (1 << (7 * length)) - 1:
            value = -1  # all ones: size unknown (a live stream's Segment)
    return value, length


def _header(data: bytes, pos: int) -> tuple[int, int, int] | None:
    """An element's id, the length of its id and size fields, and its size (-1: unknown) at `pos`."""
    ident = _vint(data, pos, keep_marker=True)
    if ident is None:
        return None
    size = _vint(data, pos + ident[1], keep_marker=False)
    if size is None:
        return None
    return ident[0], ident[1] + size[1], size[0]


def _element_in(data: bytes, pos: int) -> tuple[int, int, int] | None:
    header = _header(data, pos)
    if header is None:
        return None
    ident, length, size = header
    start = pos + length
    end = len(data) if size < 0 else start + size
    return (ident, start, end) if end <= len(data) else None


def _element(fh: BinaryIO, pos: int, file_size: int) -> tuple[int, int, int] | None:
    fh.seek(pos)
    header = _header(fh.read(12), 0)
    if header is None:
        return None
    ident, length, size = header
    start = pos + length
    return ident, start, file_size if size < 0 else min(start + size, file_size)
