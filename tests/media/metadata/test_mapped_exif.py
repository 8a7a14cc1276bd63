"""MappedExifHeader must give exactly what exifread's own ExifHeader gives, on every real file."""

from __future__ import annotations

import io
import logging
import struct
import time
from pathlib import Path
from typing import Any

import exifread
from exifread.core.exif_header import ExifHeader

from conftest import FIXTURES
from forensics.media.metadata.formats.mapped_exif import MappedExifHeader

_STILL_SUFFIXES = {".jpg", ".jpeg", ".tif", ".tiff", ".heic", ".heif", ".avif", ".webp", ".png", ".jxl", ".dng",
                   ".arw", ".nef", ".cr2", ".orf", ".rw2", ".pef", ".srw", ".raf", ".crw", ".mrw", ".x3f", ".gif"}


def _read(path_or_data: Path | bytes, header: type) -> Any:
    """Every tag exifread gives with `header` as its walker, as comparable values, or the exception it raised."""
    saved = exifread.ExifHeader
    exifread.ExifHeader = header
    try:
        with io.BytesIO(path_or_data) if isinstance(path_or_data, bytes) else open(path_or_data, "rb") as fh:
            tags = exifread.process_file(fh, details=True, extract_thumbnail=True)
    except Exception as ex:  # noqa: BLE001 - the exception itself is what is compared
        return ("raised", type(ex).__name__, str(ex))
    finally:
        exifread.ExifHeader = saved
    return {name: tag if isinstance(tag, bytes) else
            (str(tag.printable), tag.tag, tag.field_type, repr(tag.values), tag.field_offset, tag.field_length,
             tag.prefer_printable) for name, tag in tags.items()}


def _stills(shared_data: Path) -> list[Path]:
    return sorted(p for p in shared_data.rglob("*") if p.is_file() and
                  (p.suffix.lower() in _STILL_SUFFIXES or "fuzzing" in p.parts or "invalid" in p.parts))


def test_same_tags_as_exifread_on_every_real_still(shared_data: Path) -> None:
    logging.disable(logging.WARNING)  # exifread warns about every damaged file; both walkers alike
    try:
        files = _stills(shared_data)
        assert len(files) > 500
        differing = [p for p in files if _read(p, MappedExifHeader) != _read(p, ExifHeader)]
    finally:
        logging.disable(logging.NOTSET)
    assert differing == []


def test_same_tags_on_a_truncated_and_an_in_memory_file(shared_data: Path) -> None:
    # Truncation puts IFD entries and arrays past the end: the cases the mapped walker hands back to exifread.
    data = (shared_data / "metadata-extractor-images/jpg/Samsung S730.jpg").read_bytes()
    logging.disable(logging.WARNING)
    try:
        for cut in (len(data), 4000, 2000, 1200, 700, 300):
            ours, theirs = _read(data[:cut], MappedExifHeader), _read(data[:cut], ExifHeader)
            assert ours == theirs, cut
        assert len(_read(data, MappedExifHeader)) > 40
    finally:
        logging.disable(logging.NOTSET)


def test_same_tags_on_the_fixture_photos_whole_and_cut() -> None:
    photos = sorted((FIXTURES / "incident/photo").glob("*.jpg"))
    assert photos
    logging.disable(logging.WARNING)
    try:
        for photo in photos:
            data = photo.read_bytes()
            whole = _read(data, MappedExifHeader)
            assert "EXIF DateTimeOriginal" in whole and "GPS GPSLatitude" in whole, photo.name
            for cut in (len(data), 1500, 900, 400, 200):
                assert _read(data[:cut], MappedExifHeader) == _read(data[:cut], ExifHeader), (photo.name, cut)
    finally:
        logging.disable(logging.NOTSET)


def _tiff_with_maker_note(count: int, note: bytes) -> bytes:
    """A little-endian TIFF: IFD0 pointing to an EXIF IFD whose MakerNote claims `count` bytes."""
    ifd0 = struct.pack("<H", 1) + struct.pack("<HHII", 0x8769, 4, 1, 26) + struct.pack("<I", 0)  # ExifOffset -> 26
    exif = struct.pack("<H", 1) + struct.pack("<HHII", 0x927C, 7, count, 44) + struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", 8) + ifd0 + exif + note  # note at 44


def test_a_maker_note_claiming_millions_of_bytes_costs_no_time() -> None:
    note = bytes(range(200))
    data = _tiff_with_maker_note(50_000_000, note)  # exifread alone reads 50 M zeros, a call each
    start = time.monotonic()
    logging.disable(logging.WARNING)
    try:
        tags = _read(data, MappedExifHeader)
    finally:
        logging.disable(logging.NOTSET)
    assert time.monotonic() - start < 2
    assert "EXIF MakerNote" in tags and repr(list(note)) == tags["EXIF MakerNote"][3]
    small = _tiff_with_maker_note(5000, note)  # a few thousand missing: exifread's zeros, exactly
    assert _read(small, MappedExifHeader) == _read(small, ExifHeader)
