"""Movie and track headers of ISO base media files (MP4, MOV, 3GP, M4A, HEIC) read from the boxes.

ffmpeg hides what a verifier needs from these headers: it drops a creation time of 0
(the 1904 epoch that marks a zeroed clock) and PyAV does not expose the display matrix,
which is how phones record rotation. Both sit in small boxes inside `moov`, so a direct
read costs a few seeks and no decoding.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import BinaryIO

_EPOCH_1904 = datetime(1904, 1, 1, tzinfo=UTC)
_CONTAINER_BOXES = {b"moov", b"trak", b"mdia", b"edts"}
_MAX_MOOV_BYTES = 64 * 1024 * 1024
_MAX_USER_DATA_BYTES = 4096
_MAX_XML_BYTES = 256 * 1024
CANON_UUID = bytes.fromhex("85c0b687820f11e08111f4ce462b6a48")


@dataclass(frozen=True, slots=True)
class TrackHeader:
    """One `trak`: its handler, times, size and display matrix."""

    track_id: int
    handler_type: str | None  # "vide", "soun", "meta", ...
    handler_name: str | None
    created_at: datetime | None  # tkhd creation time, UTC by spec (1904 epoch when zero)
    media_created_at: datetime | None  # mdhd creation time
    width_px: float | None  # tkhd presentation size (16.16 fixed point)
    height_px: float | None
    matrix: tuple[float, ...]  # a, b, u, c, d, v, x, y, w
    rotation_cw_deg: int | None  # clockwise turn for display, whole degrees (90 for an upright iPhone; ffmpeg: -90)


@dataclass(frozen=True, slots=True)
class MovieHeader:
    """The `ftyp` brands and the `mvhd` of one file."""

    major_brand: str | None
    minor_version: int | None
    compatible_brands: tuple[str, ...]
    created_at: datetime | None  # UTC by spec; the 1904 epoch when the field is zero
    modified_at: datetime | None
    duration_s: float | None
    tracks: tuple[TrackHeader, ...]
    # moov/udta children up to 4 KiB, as (type, body): camera makers' boxes libavformat skips;
    # Canon's moov/uuid CMT1 (IFD0) and CMT2 (EXIF IFD) blocks as ("canon:CMT1", TIFF bytes);
    # the XML of moov/meta as ("meta:xml", text): Sony's NonRealTimeMeta
    user_data: tuple[tuple[str, bytes], ...] = ()
    # A HEIF/AVIF still's primary item: its `ispe` size (a grid's is the whole picture's, not a tile's)
    primary_size: tuple[int, int] | None = None


def read_movie_header(fh: BinaryIO, *, max_top_boxes: int = 4096) -> MovieHeader | None:
    """Reads `ftyp` and `moov` from the top level; None when the file is not ISO BMFF."""
    fh.seek(0, 2)
    file_size = fh.tell()
    fh.seek(0)
    brands: tuple[str | None, int | None, tuple[str, ...]] = (None, None, ())
    moov: bytes | None = None
    primary: tuple[int, int] | None = None
    pos = 0
    for index in range(max_top_boxes):
        header = _box_header(fh, pos, file_size)
        if header is None:
            break
        kind, start, end = header
        if index == 0 and kind not in (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip", b"pnot"):
            return None
        if kind == b"ftyp":
            fh.seek(start)
            brands = _brands(fh.read(min(end - start, 4096)))
        elif kind == b"moov" and end - start <= _MAX_MOOV_BYTES:
            fh.seek(start)
            moov = fh.read(end - start)
            break
        elif kind == b"meta" and end - start <= _MAX_MOOV_BYTES and primary is None:  # a HEIF/AVIF still
            fh.seek(start)
            primary = heif_primary_size(fh.read(end - start))
        pos = end
    if moov is None and brands[0] is None:
        return None
    created = modified = None
    duration = None
    tracks: list[TrackHeader] = []
    user_data: list[tuple[str, bytes]] = []
    for kind, body in _children(moov or b""):
        if kind == b"mvhd":
            created, modified, duration = _mvhd(body)
        elif kind == b"udta":
            for k, v in _children(body):
                if len(v) <= _MAX_USER_DATA_BYTES:
                    user_data.append((k.decode("latin-1"), v))
                elif k == b"NCDT":  # Nikon: keep the tag list, not the thumbnails beside it
                    user_data += [("NCDT/NCTG", t) for n, t in _children(v)
                                  if n == b"NCTG" and len(t) <= _MAX_XML_BYTES]
        elif kind == b"meta":  # Sony's NonRealTimeMeta XML; an ISO meta box has 4 bytes of version first
            user_data += [("meta:xml", v) for k, v in _children(body[4:]) + _children(body)
                          if k == b"xml " and len(v) <= _MAX_XML_BYTES][:1]
        elif kind == b"uuid" and body[:16] == CANON_UUID:  # Canon's CMT1/CMT2 TIFF blocks (EOS/PowerShot MP4, CR3)
            user_data += [("canon:" + k.decode("latin-1"), v) for k, v in _children(body[16:])
                          if k in (b"CMT1", b"CMT2") and len(v) <= _MAX_USER_DATA_BYTES]
        elif kind == b"trak":
            track = _trak(body)
            if track is not None:
                tracks.append(track)
    return MovieHeader(brands[0], brands[1], brands[2], created, modified, duration, tuple(tracks),
                       tuple(user_data), primary)


def heif_primary_size(meta: bytes) -> tuple[int, int] | None:
    """(width, height) of the primary item of a HEIF `meta` box body, from the `ispe` property
    that `ipma` associates with it; None when any part is missing or damaged."""
    boxes = dict(_children(meta[4:]))  # a full box: version and flags first
    pitm, iprp = boxes.get(b"pitm"), boxes.get(b"iprp")
    if pitm is None or iprp is None or len(pitm) < 6:
        return None
    primary = struct.unpack(">H", pitm[4:6])[0] if pitm[0] == 0 else \
        (struct.unpack(">I", pitm[4:8])[0] if len(pitm) >= 8 else None)
    parts = _children(iprp)
    properties = next((_children(body) for kind, body in parts if kind == b"ipco"), [])
    for kind, body in parts:
        if kind != b"ipma" or len(body) < 8:
            continue
        version, flags = body[0], int.from_bytes(body[1:4], "big")
        pos, id_bytes, index_bytes = 8, 2 if version < 1 else 4, 2 if flags & 1 else 1
        for _ in range(struct.unpack(">I", body[4:8])[0]):
            if pos + id_bytes + 1 > len(body):
                return None
            item = int.from_bytes(body[pos:pos + id_bytes], "big")
            count = body[pos + id_bytes]
            pos += id_bytes + 1
            indices = [int.from_bytes(body[pos + i * index_bytes:pos + (i + 1) * index_bytes], "big")
                       & (0x7FFF if index_bytes == 2 else 0x7F) for i in range(count)]
            pos += count * index_bytes
            if item != primary:
                continue
            for index in indices:  # 1-based; 0 means no property
                if 1 <= index <= len(properties) and properties[index - 1][0] == b"ispe" \
                        and len(properties[index - 1][1]) >= 12:
                    width, height = struct.unpack(">II", properties[index - 1][1][4:12])
                    return (width, height) if width and height else None
            return None
    return None


def jxl_boxes(fh: BinaryIO, *, max_boxes: int = 4096) -> list[bytes] | None:
    """The top-level box types of a JPEG XL file (ISO BMFF boxes), a Brotli-compressed box as b"brob/"
    and the type it holds (b"brob/Exif"); None when there are no boxes (a bare codestream has no EXIF)."""
    fh.seek(0, 2)
    size = fh.tell()
    pos = 0
    kinds: list[bytes] = []
    while len(kinds) < max_boxes:
        header = _box_header(fh, pos, size)
        if header is None:
            break  # the end, or a damaged box: what comes after cannot be told
        kind, start, end = header
        if pos == 0 and kind != b"JXL ":
            return None
        if kind == b"brob":
            fh.seek(start)
            kind += b"/" + fh.read(4)
        kinds.append(kind)
        pos = end
    return kinds or None


def _box_header(fh: BinaryIO, pos: int, limit: int) -> tuple[bytes, int, int] | None:
    if pos + 8 > limit:
        return None
    fh.seek(pos)
    raw = fh.read(16)
    size, kind = struct.unpack(">I4s", raw[:8])
    start = pos + 8
    if size == 1 and len(raw) == 16:
        size = struct.unpack(">Q", raw[8:16])[0]
        start = pos + 16
    elif size == 0:
        size = limit - pos
    if size < start - pos or pos + size > limit:
        return None
    return kind, start, pos + size


def _children(data: bytes) -> list[tuple[bytes, bytes]]:
    out = []
    pos = 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        start = pos + 8
        if size == 1 and pos + 16 <= len(data):
            size = struct.unpack(">Q", data[pos + 8:pos + 16])[0]
            start = pos + 16
        elif size == 0:
            size = len(data) - pos
        if size < start - pos or pos + size > len(data):
            break
        out.append((kind, data[start:pos + size]))
        pos += size
    return out


def _brands(body: bytes) -> tuple[str | None, int | None, tuple[str, ...]]:
    if len(body) < 8:
        return None, None, ()
    major = body[:4].decode("latin-1")
    minor = struct.unpack(">I", body[4:8])[0]
    compatible = tuple(body[i:i + 4].decode("latin-1") for i in range(8, len(body) - 3, 4))
    return major, minor, compatible


def _time_1904(seconds: int) -> datetime | None:
    try:
        return _EPOCH_1904 + timedelta(seconds=seconds)
    except OverflowError:
        return None


def _mvhd(body: bytes) -> tuple[datetime | None, datetime | None, float | None]:
    if len(body) < 4:
        return None, None, None
    version = body[0]
    layout = ">QQIQ" if version == 1 else ">IIII"
    need = 4 + struct.calcsize(layout)
    if len(body) < need:
        return None, None, None
    created, modified, timescale, duration = struct.unpack(layout, body[4:need])
    seconds = duration / timescale if timescale else None
    return _time_1904(created), _time_1904(modified), seconds


def _trak(body: bytes) -> TrackHeader | None:
    tkhd = mdhd = hdlr = None
    for kind, child in _children(body):
        if kind == b"tkhd":
            tkhd = child
        elif kind == b"mdia":
            for sub_kind, sub in _children(child):
                if sub_kind == b"mdhd":
                    mdhd = sub
                elif sub_kind == b"hdlr":
                    hdlr = sub
    if tkhd is None or len(tkhd) < 4:
        return None
    version = tkhd[0]
    if version == 1:
        head, rest = ">QQII", 4 + 28 + 8  # created, modified, id, reserved, duration(8)
    else:
        head, rest = ">IIII", 4 + 20 + 0  # created, modified, id, reserved, duration(4)
    if len(tkhd) < rest + 8 + 8 + 36 + 8:
        return None
    created, _, track_id, _ = struct.unpack(head, tkhd[4:4 + struct.calcsize(head)])
    pos = rest + 8 + 8  # skip reserved(8), layer, alternate group, volume, reserved
    raw = struct.unpack(">9i", tkhd[pos:pos + 36])
    # a, b, c, d, x, y are 16.16 fixed point; u, v, w are 2.30.
    matrix = tuple(v / (1 << 30) if i in (2, 5, 8) else v / 65536 for i, v in enumerate(raw))
    width, height = (v / 65536 for v in struct.unpack(">II", tkhd[pos + 36:pos + 44]))
    handler_type = handler_name = None
    if hdlr is not None and len(hdlr) >= 24:
        handler_type = hdlr[8:12].decode("latin-1")
        handler_name = _handler_name(hdlr[24:])
    media_created = None
    if mdhd is not None and len(mdhd) >= 12:
        media_created = _time_1904(struct.unpack(">Q" if mdhd[0] == 1 else ">I",
                                                 mdhd[4:12] if mdhd[0] == 1 else mdhd[4:8])[0])
    return TrackHeader(track_id, handler_type, handler_name, _time_1904(created), media_created,
                       width, height, matrix, _matrix_rotation_cw_deg(matrix))


def _handler_name(raw: bytes) -> str | None:
    # MP4 writes a C string; QuickTime a Pascal string (length byte first).
    if raw and raw[0] == len(raw) - 1 and raw[0] > 0:
        raw = raw[1:]
    text = raw.split(b"\x00", 1)[0].decode("utf-8", errors="replace").strip()
    return text or None


def _matrix_rotation_cw_deg(matrix: tuple[float, ...]) -> int | None:
    """Rotation of a display matrix in whole degrees, clockwise: ffmpeg's av_display_rotation_get, negated."""
    a, b, _, c, d, *_ = matrix
    scale_x, scale_y = math.hypot(a, c), math.hypot(b, d)
    if scale_x == 0 or scale_y == 0:
        return None
    counter_clockwise = -math.degrees(math.atan2(b / scale_y, a / scale_x))
    return -round(counter_clockwise) % 360
