"""Runs the readers of makers' formats that exifread and libavformat do not open, chosen by signature.

Two entry points for the worker (metadata/readers.py): `read_maker_formats` gives the
`VendorBlock`s our own parsers find, and `read_embedded_exif` hands the EXIF block of
containers that embed one whole (BPG, Minolta MRW, Sigma X3F, ImageMagick MIFF, PDF,
Capture One EIP) to exifread. They are separate so that exifread raising on a damaged
block costs only that block. Every read is bounded; nothing here decodes media.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any, BinaryIO

from forensics.media.content_type import ContentType
from forensics.media.metadata.formats.exif import ExifRead, find_tiff_block, read_exif
from forensics.media.metadata.makers.ciff import is_ciff, read_ciff
from forensics.media.metadata.makers.dv_pack import is_dv, read_dv_date
from forensics.media.metadata.makers.exiftool_rdf import is_exiftool_rdf, read_exiftool_rdf
from forensics.media.metadata.makers.matroska_date import read_matroska_date
from forensics.media.metadata.makers.mdpm import read_mdpm
from forensics.media.metadata.makers.mie import is_mie, read_mie
from forensics.media.metadata.makers.raw_headers import read_raw_header
from forensics.media.metadata.makers.riff_info import read_riff_info
from forensics.media.metadata.makers.sony_xml import is_sony_xml, read_sony_xml
from forensics.media.metadata.makers.vendor_block import VendorBlock

_MAX_CIFF_BYTES = 64 * 1024 * 1024
_MAX_EMBEDDED_SCAN_BYTES = 16 * 1024 * 1024
_MAX_ZIP_MEMBER_BYTES = 64 * 1024 * 1024
_MAX_SIDECAR_BYTES = 1024 * 1024
# Containers known to carry a whole EXIF TIFF block inside (signatures at the start of the file).
_EXIF_CARRIERS = (b"BPG\xfb", b"\x00MRM", b"FOVb", b"id=ImageMagick", b"%PDF")
_PDF_DATE = re.compile(rb"/(CreationDate|ModDate)\s*\(D:(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(Z|[+\-]\d\d'?\d\d)?")
_PDF_TEXT = re.compile(rb"/(Producer|Creator)\s*\(([^()\\]{0,200})\)")


def wants_maker_formats(content: ContentType) -> bool:
    """Whether a file of this kind may hold blocks these readers know (JPEG and ISO BMFF have their own)."""
    return content.family == "unknown" or content.format in ("mpegts", "m2ts", "matroska", "avi", "wav", "riff")


def read_maker_formats(path: Path, content: ContentType, head: bytes) -> tuple[VendorBlock, ...]:
    """The VendorBlocks of one file; our own parsers only, which give None rather than raise."""
    found: list[Any] = []
    with open(path, "rb") as fh:
        if content.format in ("mpegts", "m2ts"):
            found.append(read_mdpm(fh, packet_bytes=192 if content.format == "m2ts" else 188,
                                   offset=4 if content.format == "m2ts" else 0))
        elif content.format == "matroska":
            found.append(read_matroska_date(fh))
        elif content.format in ("avi", "wav", "riff"):
            found.append(read_riff_info(fh))
        elif is_dv(head):
            found.append(read_dv_date(fh))
        elif is_ciff(head):
            found.append(read_ciff(fh.read(_MAX_CIFF_BYTES)))
        elif is_mie(head):
            found.append(read_mie(fh))
        elif is_sony_xml(head):  # a clip's sidecar (M4ROOT/CLIP/*.XML)
            found.append(read_sony_xml(fh.read(_MAX_SIDECAR_BYTES), where="XML sidecar"))
        elif is_exiftool_rdf(head):  # `exiftool -X` of another file, passed on as its sidecar
            found.append(read_exiftool_rdf(fh))
        else:
            found.append(read_raw_header(head, fh))
            if head.startswith(b"%PDF"):
                found.append(_pdf_info(fh))
    return tuple(item for item in found if item is not None)


def carries_exif(head: bytes) -> bool:
    """Whether the file is a container known to hold a whole EXIF block that exifread cannot find."""
    return head.startswith(_EXIF_CARRIERS) or (head.startswith(b"PK\x03\x04") and b".IIQ" in head[:256])


def read_embedded_exif(path: Path, head: bytes) -> ExifRead | None:
    """The EXIF block inside a BPG, MRW, X3F, MIFF, PDF or EIP file, through exifread (which may raise)."""
    with open(path, "rb") as fh:
        if head.startswith(_EXIF_CARRIERS):
            block = find_tiff_block(fh.read(_MAX_EMBEDDED_SCAN_BYTES))
        else:
            block = _capture_one_tiff(fh)
    if block is None:
        return None
    result = read_exif(io.BytesIO(block))
    return replace(result, thumbnail=None) if result.tags else None


def _capture_one_tiff(fh: BinaryIO) -> bytes | None:
    # An EIP is a ZIP holding the raw (.IIQ, a TIFF) and the editor's settings.
    try:
        with zipfile.ZipFile(fh) as archive:
            for info in archive.infolist()[:64]:
                if info.filename.upper().endswith(".IIQ") and info.file_size <= _MAX_ZIP_MEMBER_BYTES:
                    data = archive.read(info)
                    return data if data[:4] in (b"II*\x00", b"MM\x00*") else None
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError):
        return None
    return None


def _pdf_info(fh: BinaryIO) -> VendorBlock | None:
    # The Info dictionary is plain text in the file's first or last objects (never in a compressed stream
    # before PDF 1.5 object streams; those are not read here).
    fh.seek(0, 2)
    size = fh.tell()
    fh.seek(0)
    data = fh.read(_MAX_EMBEDDED_SCAN_BYTES)
    if size > len(data):
        fh.seek(max(len(data), size - _MAX_EMBEDDED_SCAN_BYTES))
        data += fh.read()
    fields: dict[str, str] = {}
    for m in _PDF_DATE.finditer(data):
        zone = (m[8] or b"").decode().replace("'", "")
        zone = "+00:00" if zone == "Z" else f"{zone[:3]}:{zone[3:]}" if zone else ""
        text = "{}:{}:{} {}:{}:{}".format(*(g.decode() for g in m.groups()[1:7])) + zone
        fields.setdefault(m[1].decode(), text)
    for m in _PDF_TEXT.finditer(data):
        fields.setdefault(m[1].decode(), m[2].decode("latin-1"))
    if not fields:
        return None
    return VendorBlock("PDF Info dictionary", fields, created=fields.get("CreationDate"))
