"""Makers' blocks in generated videos: Canon's EXIF boxes in an MP4, the 3GPP udta date, an AVI IDIT."""

from __future__ import annotations

import struct
import subprocess
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import imageio_ffmpeg
import pytest

from conftest import SHARED_DATA
from forensics.media.metadata.formats.isobmff import CANON_UUID, _children
from forensics.media.metadata.probe import probe_media


def _mp4(tmp_path: Path) -> bytes:
    out = tmp_path / "clip.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=10",
                    "-t", "0.3", "-pix_fmt", "yuv420p", "-c:v", "libx264", str(out)], check=True)
    return out.read_bytes()


def _with_moov_child(mp4: bytes, child: bytes) -> bytes:
    # ffmpeg writes moov last: a child appended to it only changes moov's size.
    pos = 0
    while pos + 8 <= len(mp4):
        size, kind = struct.unpack(">I4s", mp4[pos:pos + 8])
        if kind == b"moov":
            assert pos + size == len(mp4), "moov is not the last box"
            return mp4[:pos] + struct.pack(">I4s", size + len(child), b"moov") + mp4[pos + 8:] + child
        pos += size
    raise AssertionError("no moov box")


def _box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(body), kind) + body


def test_canon_exif_boxes_in_an_mp4(tmp_path: Path) -> None:
    cr3 = SHARED_DATA / "exiftool/t/images/CanonRaw.cr3"
    if not cr3.is_file():
        pytest.skip(f"the shared real media are not here ({SHARED_DATA.resolve()})")
    moov = next(body for kind, body in _children(cr3.read_bytes()) if kind == b"moov")
    canon = next(body for kind, body in _children(moov) if kind == b"uuid" and body[:16] == CANON_UUID)
    video = tmp_path / "canon.mp4"
    video.write_bytes(_with_moov_child(_mp4(tmp_path), _box(b"uuid", canon)))  # the box as an EOS camera writes it
    r = probe_media(video)
    assert r.media_type == "video" and r.error is None
    assert (r.device.make, r.device.model) == ("Canon", "Canon EOS M50")
    assert r.captured_at == datetime(2018, 2, 21, 12, 8, 56, 210000, tzinfo=UTC)  # SubSecTimeOriginal 21
    assert r.captured_at_source == "EXIF DateTimeOriginal"


def test_3gpp_udta_date_wins_over_the_container_time(tmp_path: Path) -> None:
    udta = _box(b"udta", _box(b"date", b"2020-11-20T15:04:02+0100"))
    video = tmp_path / "phone.mp4"
    video.write_bytes(_with_moov_child(_mp4(tmp_path), udta))
    r = probe_media(video)
    assert r.captured_at == datetime(2020, 11, 20, 15, 4, 2, tzinfo=timezone(timedelta(hours=1)))
    assert r.captured_at_source == "QuickTime user data (udta) DateTimeOriginal"


def test_avi_idit_is_the_local_capture_clock(tmp_path: Path) -> None:
    out = tmp_path / "cam.avi"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=10",
                    "-t", "0.3", "-c:v", "mjpeg", "-metadata", "date=2009-10-27", str(out)], check=True)
    plain = probe_media(out)
    assert plain.captured_at is None  # ffmpeg's INFO ICRD is a day, not a capture instant
    # A camera's IDIT chunk ("2009/10/27 12:14:34", Pentax style), here after ffmpeg's chunks.
    data = out.read_bytes()
    idit = b"IDIT" + struct.pack("<I", 20) + b"2009/10/27 12:14:34\x00"
    out.write_bytes(b"RIFF" + struct.pack("<I", struct.unpack("<I", data[4:8])[0] + len(idit)) + data[8:] + idit)
    r = probe_media(out)
    assert r.captured_at == datetime(2009, 10, 27, 12, 14, 34)  # a wall clock: the file gives no zone
    assert r.captured_at_source == "RIFF AVI chunks DateTimeOriginal"


SONY_XML = b"""<?xml version="1.0" encoding="UTF-8"?>
<NonRealTimeMeta xmlns="urn:schemas-professionalDisc:nonRealTimeMeta:ver.2.00" lastUpdate="2019-04-24T22:24:10+02:00">
\t<Duration value="125"/>
\t<CreationDate value="2019-04-24T22:24:00+02:00"/>
\t<Device manufacturer="Sony" modelName="ILCE-7M3" serialNo="4294967295"/>
</NonRealTimeMeta>
"""


def test_sony_nonrealtimemeta_in_the_mp4_and_beside_it(tmp_path: Path) -> None:
    # As XAVC S cameras write it: moov/meta (version, flags), an 'nrtm' handler, the XML in an 'xml ' box.
    handler = _box(b"hdlr", b"\x00" * 8 + b"nrtm" + b"\x00" * 13)
    meta = _box(b"meta", b"\x00\x00\x00\x00" + handler + _box(b"xml ", b"\x00\x00\x00\x00" + SONY_XML))
    video = tmp_path / "C0001.MP4"
    video.write_bytes(_with_moov_child(_mp4(tmp_path), meta))
    sidecar = tmp_path / "C0001M01.XML"
    sidecar.write_bytes(SONY_XML)
    zone = timezone(timedelta(hours=2))
    for path, where in ((video, "MP4 meta"), (sidecar, "XML sidecar")):
        r = probe_media(path)
        assert r.captured_at == datetime(2019, 4, 24, 22, 24, 0, tzinfo=zone)
        assert r.captured_at_source == f"Sony NonRealTimeMeta ({where}) DateTimeOriginal"
        assert (r.device.make, r.device.model) == ("Sony", "ILCE-7M3")


def test_nikon_nctg_records_in_a_mov(tmp_path: Path) -> None:
    def record(tag: int, kind: int, value: bytes) -> bytes:
        size = {2: 1, 3: 2, 4: 4}[kind]
        return struct.pack(">IHH", tag, kind, len(value) // size) + value

    nctg = (record(0x01, 2, b"NIKON\x00") + record(0x02, 2, b"NIKON D5100\x00") + record(0x13, 4, b"\x00\x00\x01\x2c")
            + record(0x12, 2, b"2012:03:04 10:11:12\x00"))
    thumbnail = _box(b"NCTH", b"\xff\xd8" + b"\x00" * 6000)  # makes NCDT too big to keep whole, as in real files
    udta = _box(b"udta", _box(b"NCDT", _box(b"NCHD", b"\x00" * 16) + _box(b"NCTG", nctg) + thumbnail))
    video = tmp_path / "DSC_0001.MOV"
    video.write_bytes(_with_moov_child(_mp4(tmp_path), udta))
    r = probe_media(video)
    assert (r.device.make, r.device.model) == ("NIKON", "NIKON D5100")
    assert r.captured_at == datetime(2012, 3, 4, 10, 11, 12)
    assert r.captured_at_source == "Nikon NCTG (udta/NCDT) DateTimeOriginal"
