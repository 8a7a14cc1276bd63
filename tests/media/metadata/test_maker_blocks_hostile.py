"""The makers'-block readers on damaged and crafted input: no exception, no hang, no claim from junk."""

from __future__ import annotations

import io
import random
import struct
from pathlib import Path

import pytest

from conftest import SHARED_DATA
from forensics.media.content_type import HEAD_BYTES, sniff
from forensics.media.metadata.formats.exif import ExifRead
from forensics.media.metadata.formats.isobmff import read_movie_header
from forensics.media.metadata.formats.jpeg_segments import read_jpeg_header
from forensics.media.metadata.makers.ciff import read_ciff
from forensics.media.metadata.makers.dv_pack import read_dv_date
from forensics.media.metadata.makers.exiftool_rdf import read_exiftool_rdf
from forensics.media.metadata.makers.jpeg_vendor import read_flir_fff, read_jpeg_vendor_blocks, read_reconyx_maker_note
from forensics.media.metadata.makers.maker_formats import (
    carries_exif,
    read_embedded_exif,
    read_maker_formats,
    wants_maker_formats,
)
from forensics.media.metadata.makers.matroska_date import read_matroska_date
from forensics.media.metadata.makers.mdpm import read_mdpm
from forensics.media.metadata.makers.mie import read_mie
from forensics.media.metadata.makers.raw_headers import read_raw_header
from forensics.media.metadata.makers.riff_info import read_riff_info, riff_date
from forensics.media.metadata.makers.user_data import read_canon_exif, read_user_data
from forensics.media.metadata.readers import ReaderFailure, _guarded

SAMPLES = ["exiftool/t/images/" + n for n in (
    "CanonRaw.crw", "M2TS.mts", "Matroska.mkv", "Pentax.avi", "RIFF.wav", "DV.dv", "KyoceraRaw.raw", "Sony.pmp",
    "Olympus.dss", "FLIR.fpf", "MOI.moi", "Red.r3d", "Sigma.x3f", "SigmaDP2.x3f", "Lytro.lfp", "MIE.mie",
    "BPG.bpg", "Minolta.mrw", "MIFF.miff", "PDF.pdf", "CaptureOne.eip", "ExifTool.jpg", "CasioQVCI.jpg",
    "QuickTime.mov", "CanonRaw.cr3", "XMP.xml")] + ["metadata-extractor-images/mp4/Issue 515 (java).mp4",
    "metadata-extractor-images/jpg/FLIR iPhone device.jpg", "exif-py/tests/resources/jpg/exif-org/olympus-d320l.jpg"]


def _all_readers(data: bytes, tmp_path: Path, *, with_exifread: bool = True) -> None:
    """Every reader of this change on `data`, through the worker's entry point and directly.

    exifread itself is left out for randomly corrupted data: an entry count of millions
    makes it loop for tens of seconds, which the worker's time limit (not these parsers)
    answers; truncated copies, whose counts are the camera's, still go through it.
    """
    path = tmp_path / "sample.bin"
    path.write_bytes(data)
    head = data[:HEAD_BYTES]
    content = sniff(head)
    if wants_maker_formats(content):
        read_maker_formats(path, content, head)
    if with_exifread and carries_exif(head):  # exifread may raise: the worker's guard turns that into a failure
        assert all(isinstance(r, (ExifRead, ReaderFailure)) for r in _guarded("exif", read_embedded_exif, path, head))
    fh = io.BytesIO(data)
    for reader in (read_mdpm, read_matroska_date, read_riff_info, read_dv_date, read_mie, read_exiftool_rdf):
        reader(fh)
    read_raw_header(head, fh)
    read_ciff(data)
    read_flir_fff(data, where="test")
    read_reconyx_maker_note(data)
    movie = read_movie_header(io.BytesIO(data)) if data[4:8] in (b"ftyp", b"moov") else None
    if movie is not None:
        read_user_data(movie.user_data)
    if movie is not None and with_exifread:
        assert all(isinstance(r, (ExifRead, ReaderFailure)) for r in _guarded("exif", read_canon_exif, movie.user_data))
    header = read_jpeg_header(io.BytesIO(data))
    if header is not None:
        read_jpeg_vendor_blocks(header.vendor_segments)


@pytest.mark.parametrize("name", SAMPLES)
def test_truncated_and_corrupted_real_files(name: str, tmp_path: Path) -> None:
    if not (SHARED_DATA / name).is_file():
        pytest.skip(f"{name} is not in the shared real media ({SHARED_DATA.resolve()})")
    original = (SHARED_DATA / name).read_bytes()[:64 * 1024]
    rng = random.Random(name)
    for cut in sorted({len(original) * k // 16 for k in range(16)} | {1, 7, 13, 33}):
        _all_readers(original[:cut], tmp_path)
    for _ in range(40):
        damaged = bytearray(original)
        for _ in range(rng.randint(1, 12)):
            at = rng.randrange(len(damaged))
            damaged[at] = rng.choice((0x00, 0xFF, 0x7F, rng.randrange(256)))
        _all_readers(bytes(damaged), tmp_path, with_exifread=False)


def test_ciff_heap_that_points_into_itself_ends() -> None:
    # A heap whose table holds one sub-heap record spanning the heap itself: endless without a depth limit.
    body = bytearray(64)
    table = 32
    body[table:table + 2] = struct.pack("<H", 1)
    body[table + 2:table + 12] = struct.pack("<HII", 0x300A, 64, 0)  # a sub-heap at offset 0, the whole heap
    body[-4:] = struct.pack("<I", table)
    data = b"II" + struct.pack("<I", 26) + b"HEAPCCDR" + b"\x00" * 12 + bytes(body)
    assert read_ciff(data) is None


def test_mie_groups_nested_without_end_stop() -> None:
    data = b"~\x10\x04\x000MIE" + b"~\x10\x04\x00Meta" * 10_000
    assert read_mie(io.BytesIO(data)) is None


def test_riff_chunk_lengths_past_the_end() -> None:
    data = b"RIFF" + struct.pack("<I", 0xFFFFFFF0) + b"AVI " + b"LIST" + struct.pack("<I", 0xFFFFFF00) + b"hdrl" \
        + b"IDIT" + struct.pack("<I", 20) + b"2009/10/27 12:14:34\x00"
    block = read_riff_info(io.BytesIO(data))
    assert block is not None and block.captured == "2009:10:27 12:14:34"  # what is there is still read


def test_riff_dates() -> None:
    assert riff_date("Mon Mar 10 15:04:43 2003") == "2003:03:10 15:04:43"
    assert riff_date("2001/ 1/27  1:42PM") == "2001:01:27 13:42:00"
    assert riff_date("2002-12-16  15:35:01") == "2002:12:16 15:35:01"
    assert riff_date("not a date") is None


def test_matroska_with_an_endless_size_is_bounded() -> None:
    data = b"\x1a\x45\xdf\xa3\x80" + b"\x18\x53\x80\x67\x01\xff\xff\xff\xff\xff\xff\xff" + b"\xec\x80" * 5000
    assert read_matroska_date(io.BytesIO(data)) is None


def test_mdpm_out_of_order_entries_stop_the_walk() -> None:
    uuid = bytes.fromhex("17ee8c60f84d11d98cd60800200c9a66") + b"MDPM"
    body = bytes([3, 0x19, 0x20, 0x08, 0x12, 0x31, 0x18, 0x02, 0x20, 0x08, 0x12, 0xE0, 0x10, 0x11, 0, 0])
    # One video PES packet holding the message; tag 0x18 after 0x19 is out of order: no date from it.
    pes = b"\x00\x00\x01\xe0\x00\x00\x80\x00\x00" + uuid + body
    packet = b"\x47\x40\x11\x10" + pes + b"\xff" * (184 - len(pes))
    block = read_mdpm(io.BytesIO(packet))
    assert block is None or block.captured is None


def _mdpm_packet(entries: list[tuple[int, bytes]]) -> bytes:
    uuid = bytes.fromhex("17ee8c60f84d11d98cd60800200c9a66") + b"MDPM"
    body = bytes([len(entries)]) + b"".join(bytes([tag]) + value for tag, value in entries)
    pes = b"\x00\x00\x01\xe0\x00\x00\x80\x00\x00" + uuid + body
    return b"\x47\x40\x11\x10" + pes + b"\xff" * (184 - len(pes))


def test_mdpm_time_zone_and_gps_as_exiftool_reads_them() -> None:
    def rational(num: int, den: int) -> bytes:
        return struct.pack(">HH", num, den)

    packet = _mdpm_packet([
        (0x18, bytes([0x20 | 0x0A, 0x20, 0x10, 0x06])),  # zone -05:00 (sign bit, 5 hours), 2010-06 in BCD
        (0x19, bytes([0x15, 0x08, 0x30, 0x00])),  # the 15th, 08:30:00
        (0xB1, b"N\x00\x00\x00"), (0xB2, rational(40, 1)), (0xB3, rational(26, 1)), (0xB4, rational(4632, 100)),
        (0xB5, b"W\x00\x00\x00"), (0xB6, rational(79, 1)), (0xB7, rational(58, 1)), (0xB8, rational(3000, 100)),
        (0xB9, b"\x00\x00\x00\x00"), (0xBA, rational(350, 1)),
        (0xE0, b"\x01\x03\x00\x00"),  # Panasonic
    ])
    block = read_mdpm(io.BytesIO(packet))
    assert block is not None
    assert block.captured == "2010:06:15 08:30:00-05:00"
    assert block.make == "Panasonic" and block.model is None  # only Sony's model tags are known
    assert block.gps is not None
    latitude, longitude, altitude = block.gps
    assert (round(latitude, 6), round(longitude, 6), altitude) == (40.446200, -79.975, 350.0)


def test_exiftool_rdf_gps_in_printed_and_numeric_forms() -> None:
    def export(lat: str, lon: str, extra: str = "") -> bytes:
        return ("<?xml version='1.0'?><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>"
                "<rdf:Description rdf:about='a.jpg' xmlns:GPS='http://ns.exiftool.org/EXIF/GPS/1.0/'"
                " xmlns:Composite='http://ns.exiftool.org/Composite/1.0/'>"
                f"<Composite:GPSLatitude>{lat}</Composite:GPSLatitude>"
                f"<Composite:GPSLongitude>{lon}</Composite:GPSLongitude>{extra}"
                "</rdf:Description></rdf:RDF>").encode()

    printed = read_exiftool_rdf(io.BytesIO(export("34 deg 4&apos; 31.53&quot; N", "118 deg 15&apos; 15.37&quot; W")))
    assert printed is not None and printed.gps is not None
    assert printed.gps[0] == pytest.approx(34.075425, abs=1e-6) and printed.gps[1] == pytest.approx(-118.254269, abs=1e-6)
    numeric = read_exiftool_rdf(io.BytesIO(export("-33.5", "151.25")))
    assert numeric is not None and numeric.gps == (-33.5, 151.25, None)
    unsigned = read_exiftool_rdf(io.BytesIO(export("33.5", "151.25", "<GPS:GPSLatitudeRef>South</GPS:GPSLatitudeRef>")))
    assert unsigned is not None and unsigned.gps is not None and unsigned.gps[0] == -33.5
    assert read_exiftool_rdf(io.BytesIO(export("north", "151.25"))).gps is None
    assert read_exiftool_rdf(io.BytesIO(b"<rdf:RDF xmlns:rdf='http://ns.exiftool.org/'")) is None  # cut short
