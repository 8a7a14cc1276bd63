"""The header segments of a JPEG file: frame size, XMP packet and Photoshop/IPTC block.

exifread reads EXIF but leaves XMP to a slow whole-file scan (and only in debug mode)
and does not read IPTC at all; both live in APP segments before the image data, so one
pass over the segment headers finds them without reading the compressed image.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO

_XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
_PHOTOSHOP_HEADER = b"Photoshop 3.0\x00"
# Start-of-frame markers carry the image size; C4 (DHT), C8 (JPG) and CC (DAC) are not frames.
_SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


@dataclass(frozen=True, slots=True)
class JpegHeader:
    """What the segments before the scan data hold."""

    width_px: int | None
    height_px: int | None
    xmp: bytes | None  # the XMP packet, as stored
    photoshop: bytes | None  # the APP13 Photoshop image-resource block (IPTC lives inside)
    app_markers: tuple[str, ...]  # e.g. ("APP0 JFIF", "APP1 Exif", "APP1 XMP"), in file order
    # Makers' own blocks (Canon CIFF, Olympus PictureInfo, Casio QVCI, FLIR), as (marker, payload)
    vendor_segments: tuple[tuple[int, bytes], ...] = ()


def read_jpeg_header(fh: BinaryIO, *, max_segments: int = 512,
                     max_vendor_bytes: int = 16 * 1024 * 1024) -> JpegHeader | None:
    """Walks the segments up to the first scan; None when the file is not a JPEG.

    Makers' blocks (see vendor_segments) are kept up to `max_vendor_bytes` in all.
    """
    fh.seek(0)
    if fh.read(2) != b"\xff\xd8":
        return None
    width = height = None
    xmp = photoshop = None
    markers: list[str] = []
    vendor: list[tuple[int, bytes]] = []
    vendor_bytes = 0
    for _ in range(max_segments):
        byte = fh.read(1)
        while byte == b"\xff":  # fill bytes may precede a marker
            byte = fh.read(1)
        if not byte:
            break
        marker = byte[0]
        if marker in (0xD9, 0xDA):  # end of image, start of scan: no more headers
            break
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # markers without a length
            continue
        raw_length = fh.read(2)
        if len(raw_length) != 2:
            break
        length = struct.unpack(">H", raw_length)[0] - 2
        if length < 0:
            break
        payload = fh.read(length)
        if marker in _SOF_MARKERS and len(payload) >= 5:
            height, width = struct.unpack(">HH", payload[1:5])
        elif 0xE0 <= marker <= 0xEF:
            label = _app_label(marker, payload)
            markers.append(label)
            if label == "APP1 XMP" and xmp is None:
                xmp = payload[len(_XMP_HEADER):]
            elif label == "APP13 Photoshop":
                photoshop = (photoshop or b"") + payload[len(_PHOTOSHOP_HEADER):]
            elif _is_vendor_segment(marker, payload) and vendor_bytes + len(payload) <= max_vendor_bytes:
                vendor.append((marker, payload))
                vendor_bytes += len(payload)
    return JpegHeader(width, height, xmp, photoshop, tuple(markers), tuple(vendor))


def _is_vendor_segment(marker: int, payload: bytes) -> bool:
    if marker == 0xE0:
        return payload[6:14] == b"HEAPJPGM"  # Canon CIFF
    if marker == 0xE1:
        return payload.startswith((b"QVCI\x00", b"FLIR\x00"))
    return marker == 0xEC and b"[picture info]" in payload[:256]  # Olympus, Sanyo, Nikon CoolPix


def _app_label(marker: int, payload: bytes) -> str:
    name = f"APP{marker - 0xE0}"
    if payload.startswith(_XMP_HEADER):
        return f"{name} XMP"
    if payload.startswith(_PHOTOSHOP_HEADER):
        return f"{name} Photoshop"
    ident = payload[:16].split(b"\x00", 1)[0]
    text = "".join(chr(c) if 32 <= c < 127 else "?" for c in ident[:24])
    return f"{name} {text}".rstrip()
