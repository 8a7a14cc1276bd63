"""Sony and Panasonic AVCHD metadata (MDPM) from the H.264 stream of MTS/M2TS files.

AVCHD camcorders and cameras write the capture time with its zone, the maker and the
model as "modified DV pack metadata": an unregistered-user-data SEI message in the
video stream (UUID 17ee8c60-f84d-11d9-8cd6-0800200c9a66, then "MDPM"). libavformat does
not expose it. The layout is ExifTool's (H264.pm): a count, then five-byte entries (a
tag and four bytes), in rising tag order; the capture time is tags 0x18-0x19, in BCD,
after a byte with the zone; the position tags 0xb1-0xba (camcorders with GPS); the maker
code is tag 0xe0, a Sony model tags 0xe4-0xe6.
"""

from __future__ import annotations

import re
import struct
from typing import Any, BinaryIO

from forensics.media.metadata.makers.vendor_block import VendorBlock, clean_text

_MDPM = bytes.fromhex("17ee8c60f84d11d98cd60800200c9a66") + b"MDPM"
# Maker codes as ExifTool lists them.
_MAKERS = {0x0103: "Panasonic", 0x0108: "Sony", 0x1011: "Canon", 0x1104: "JVC"}
_EMULATION_PREVENTION = re.compile(b"\x00\x00\x03")


def read_mdpm(fh: BinaryIO, *, packet_bytes: int = 188, offset: int = 0,
              max_scan_bytes: int = 1024 * 1024, chunk_packets: int = 512) -> VendorBlock | None:
    """The first MDPM message in the video stream of a transport stream; None when there is none.

    `packet_bytes` is 188 for .MTS-style streams without time codes and 192 for M2TS
    (a 4-byte time code first, `offset` 4). The file is read `chunk_packets` at a time
    and no further than `max_scan_bytes`: cameras write the message with the first
    picture and repeat it with every group of pictures.
    """
    fh.seek(0)
    video = bytearray()
    pids: set[int] = set()
    searched = 0
    read = 0
    body_bytes = 1 + 255 * 5 * 2  # a count, 255 entries, room for emulation-prevention bytes
    while read < max_scan_bytes:
        chunk = fh.read(packet_bytes * chunk_packets)
        read += len(chunk)
        video += _video_payload(chunk, packet_bytes, offset, pids)
        at = video.find(_MDPM, max(0, searched - len(_MDPM)))
        if at >= 0 and (len(video) - at >= len(_MDPM) + body_bytes or len(chunk) < packet_bytes * chunk_packets):
            start = at + len(_MDPM)
            return _decode(_EMULATION_PREVENTION.sub(b"\x00\x00", bytes(video[start:start + body_bytes])))
        if at < 0:
            searched = len(video)
        if len(chunk) < packet_bytes * chunk_packets:
            break
    return None


def _video_payload(data: bytes, packet_bytes: int, offset: int, video_pids: set[int]) -> bytes:
    """The payload bytes of the H.264 PIDs (`video_pids`, updated as they appear), in file order."""
    chunks: list[bytes] = []
    for start in range(offset, len(data) - 188 + 1, packet_bytes):
        packet = data[start:start + 188]
        if packet[0] != 0x47:
            continue
        pid = ((packet[1] & 0x1F) << 8) | packet[2]
        control = (packet[3] >> 4) & 0x3
        pos = 4
        if control & 0x2:
            pos += 1 + packet[4]
        if not control & 0x1 or pos >= 188:
            continue
        payload = packet[pos:]
        if packet[1] & 0x40 and payload[:3] == b"\x00\x00\x01" and len(payload) > 9:
            if 0xE0 <= payload[3] <= 0xEF:  # a PES packet of a video stream starts here
                video_pids.add(pid)
                payload = payload[9 + payload[8]:]
            else:
                video_pids.discard(pid)
        if pid in video_pids:
            chunks.append(payload)
    return b"".join(chunks)


def _decode(body: bytes) -> VendorBlock | None:
    if not body:
        return None
    entries: dict[int, bytes] = {}
    last = -1
    for index in range(body[0]):
        pos = 1 + index * 5
        if pos + 5 > len(body) or body[pos] <= last:  # out of order: the message ends or is damaged
            break
        last = body[pos]
        entries[last] = body[pos + 1:pos + 5]
    fields: dict[str, Any] = {}
    captured = _capture_time(entries.get(0x18), entries.get(0x19))
    if captured:
        fields["DateTimeOriginal"] = captured
    make = None
    if 0xE0 in entries:
        code = struct.unpack(">H", entries[0xE0][:2])[0]
        make = _MAKERS.get(code)
        fields["MakeCode"] = code
    model = None
    if make == "Sony" and 0xE4 in entries:
        model = clean_text(b"".join(entries.get(tag, b"") for tag in (0xE4, 0xE5, 0xE6)))
    fields.update({k: v for k, v in (("Make", make), ("Model", model)) if v})
    gps = _position(entries, fields)
    if not fields:
        return None
    return VendorBlock("AVCHD MDPM (H.264 SEI)", fields, captured, make, model, gps)


def _rational(raw: bytes | None) -> float | None:
    # A four-byte entry holds a 16-bit numerator and a 16-bit denominator.
    if raw is None:
        return None
    numerator, denominator = struct.unpack(">HH", raw)
    return numerator / denominator if denominator else None


def _position(entries: dict[int, bytes], fields: dict[str, Any]) -> tuple[float, float, float | None] | None:
    """Latitude and longitude from tags 0xb1-0xb8 (a reference, then degrees, minutes, seconds), altitude 0xba."""
    coordinates = []
    for ref_tag, first, positive, negative in ((0xB1, 0xB2, "N", "S"), (0xB5, 0xB6, "E", "W")):
        ref = clean_text(entries.get(ref_tag, b""))
        parts = [_rational(entries.get(first + i)) for i in range(3)]
        if ref not in (positive, negative) or any(p is None for p in parts):
            return None
        degrees = parts[0] + parts[1] / 60 + parts[2] / 3600  # type: ignore[operator]
        coordinates.append(-degrees if ref == negative else degrees)
    altitude = _rational(entries.get(0xBA))
    if altitude is not None and 0xB9 in entries and struct.unpack(">I", entries[0xB9])[0]:
        altitude = -altitude  # reference 1: below sea level
    fields.update(GPSLatitude=coordinates[0], GPSLongitude=coordinates[1], GPSAltitude=altitude)
    return coordinates[0], coordinates[1], altitude


def _capture_time(first: bytes | None, second: bytes | None) -> str | None:
    if first is None or second is None:
        return None
    zone, *digits = first + second
    text = "".join(f"{d:02x}" for d in digits)  # binary-coded decimal: 0x20 0x08 -> "2008"
    if not text.isdigit():
        return None
    sign = "-" if zone & 0x20 else "+"
    hours, minutes = (zone >> 1) & 0x0F, 30 if zone & 0x01 else 0
    # A DST flag (0x40) says the offset already includes daylight saving: nothing to add.
    return (f"{text[0:4]}:{text[4:6]}:{text[6:8]} {text[8:10]}:{text[10:12]}:{text[12:14]}"
            f"{sign}{hours:02d}:{minutes:02d}")
