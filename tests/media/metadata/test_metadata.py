"""The pieces of the metadata record that need no media: dates, positions, XMP, IPTC, sniffing, JSON, flags."""

from __future__ import annotations

import json
import struct
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest

from forensics.media.content_type import sniff
from forensics.media.metadata.claims import TagSources, choose_capture, device_claim, gps_claim, time_claims
from forensics.media.metadata.flags import duration_text, flags_for
from forensics.media.metadata.formats.exif import find_tiff_block, ratio_value
from forensics.media.metadata.formats.iptc import parse_photoshop_iptc
from forensics.media.metadata.formats.isobmff import heif_primary_size, read_movie_header
from forensics.media.metadata.formats.xmp import find_xmp_packet, parse_xmp
from forensics.media.metadata.location import dms_to_degrees, parse_iso6709, parse_xmp_coordinate
from forensics.media.metadata.record import (
    ContainerFacts,
    Device,
    Gps,
    ImageFacts,
    MediaRecord,
    StreamFacts,
    TimeClaim,
    iso,
)
from forensics.media.metadata.timestamps import gps_datetime, is_epoch_date, is_zero_date, parse_datetime

# --- dates ------------------------------------------------------------------------------------

def test_exif_date_with_subseconds_and_offset_is_aware() -> None:
    value = parse_datetime("2014:09:16 14:05:12", subsec="133", offset="+01:00")
    assert value == datetime(2014, 9, 16, 14, 5, 12, 133000, tzinfo=timezone(timedelta(hours=1)))


def test_exif_date_without_offset_stays_naive() -> None:
    assert parse_datetime("2014:09:16 14:05:12").tzinfo is None


@pytest.mark.parametrize("text, expected", [
    ("2019-07-24T11:25:40+0300", datetime(2019, 7, 24, 8, 25, 40, tzinfo=UTC)),  # Apple creationdate
    ("2019-07-24T08:25:57.000000Z", datetime(2019, 7, 24, 8, 25, 57, tzinfo=UTC)),  # ffmpeg creation_time
    ("2005-09-07T15:07:40-07:00", datetime(2005, 9, 7, 22, 7, 40, tzinfo=UTC)),  # XMP
])
def test_iso_dates_parse_to_the_same_instant(text: str, expected: datetime) -> None:
    assert parse_datetime(text) == expected


@pytest.mark.parametrize("text", ["0000:00:00 00:00:00", "    :  :     :  :  ", "2014:13:45 10:00:00", "", "2010",
                                  "2004-02-26"])
def test_unusable_dates_give_none(text: str) -> None:
    assert parse_datetime(text) is None


def test_zero_and_epoch_dates_are_recognised() -> None:
    assert is_zero_date("0000:00:00 00:00:00")
    assert not is_zero_date("2014:09:16 14:05:12")
    assert is_epoch_date(datetime(1904, 1, 1, tzinfo=UTC))
    assert not is_epoch_date(datetime(2004, 1, 1))


def test_gps_date_and_time_are_utc() -> None:
    assert gps_datetime("2018:02:05", [7, 11, 43.07]) == datetime(2018, 2, 5, 7, 11, 43, 70000, tzinfo=UTC)
    assert gps_datetime("2014:09:259", [13, 5, 12.05]) is None  # the iPhone 6 sample's malformed date


def test_iso_text_marks_utc_with_z_and_keeps_naive_times_naive() -> None:
    assert iso(datetime(2019, 7, 24, 8, 25, 40, tzinfo=UTC)) == "2019-07-24T08:25:40Z"
    assert iso(datetime(2019, 7, 24, 11, 25, 40, tzinfo=timezone(timedelta(hours=3)))) == "2019-07-24T11:25:40+03:00"
    assert iso(datetime(2014, 9, 16, 14, 5, 12)) == "2014-09-16T14:05:12"


def test_durations_read_at_a_glance() -> None:
    assert duration_text(17) == "17 s"
    assert duration_text(-3 * 86400 - 7200) == "3 d 2 h"
    assert duration_text(5 * 3600 + 12 * 60) == "5 h 12 min"


# --- positions --------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("+32.0929+034.8620+028.516/", (32.0929, 34.862, 28.516)),  # iPhone
    ("+51.4169-000.0806/", (51.4169, -0.0806, None)),  # Android
    ("+4043.2500-07400.0000/", (40.720833, -74.0, None)),  # DDMM.MM form
    ("+404315-0740000/", (40.720833, -74.0, None)),  # DDMMSS form
])
def test_iso6709(text: str, expected: tuple[float, float, float | None]) -> None:
    lat, lon, alt = parse_iso6709(text)  # type: ignore[misc]
    assert lat == pytest.approx(expected[0], abs=1e-6)
    assert lon == pytest.approx(expected[1], abs=1e-6)
    assert alt == expected[2]


def test_iso6709_garbage_is_none() -> None:
    assert parse_iso6709("somewhere") is None


def test_exif_dms_and_xmp_coordinates() -> None:
    assert dms_to_degrees([51, 45, 44.67], "N") == pytest.approx(51.762408, abs=1e-6)
    assert dms_to_degrees([0, 19, 4.41], "W") == pytest.approx(-0.317892, abs=1e-6)
    assert parse_xmp_coordinate("54,59.38N") == pytest.approx(54.989667, abs=1e-6)
    assert parse_xmp_coordinate("1,54,51W") == pytest.approx(-1.914167, abs=1e-6)


def test_rationals_render_back_exactly() -> None:
    assert ratio_value("4467/100") == 44.67
    assert ratio_value("0/0") is None
    assert ratio_value(3) == 3.0


# --- XMP, IPTC, JPEG/TIFF blocks ----------------------------------------------------------------

_XMP = b"""<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:xap="http://ns.adobe.com/xap/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/"
 xmlns:exif="http://ns.adobe.com/exif/1.0/" xap:CreatorTool="Adobe Photoshop CS2" exif:GPSLatitude="54,59.38N">
<xap:CreateDate>2005-09-07T15:07:40-07:00</xap:CreateDate>
<dc:subject><rdf:Bag><rdf:li>one</rdf:li><rdf:li>two</rdf:li></rdf:Bag></dc:subject>
</rdf:Description></rdf:RDF></x:xmpmeta>"""


def test_xmp_keys_use_the_usual_prefixes_whatever_the_file_declared() -> None:
    xmp = parse_xmp(_XMP)
    assert xmp["xmp:CreatorTool"] == "Adobe Photoshop CS2"  # declared as xap:
    assert xmp["xmp:CreateDate"] == "2005-09-07T15:07:40-07:00"
    assert xmp["dc:subject"] == ["one", "two"]
    assert xmp["exif:GPSLatitude"] == "54,59.38N"


def test_xmp_in_utf16_is_read() -> None:
    assert parse_xmp(_XMP.decode().encode("utf-16-be"))["xmp:CreatorTool"] == "Adobe Photoshop CS2"


def test_damaged_xmp_is_read_leniently_and_says_so() -> None:
    xmp = parse_xmp(_XMP.replace(b"</dc:subject>", b""))
    assert "_error" in xmp
    assert xmp["xmp:CreateDate"] == "2005-09-07T15:07:40-07:00"


def test_iptc_records_from_a_photoshop_block() -> None:
    records = b"".join(b"\x1c\x02" + bytes([n]) + struct.pack(">H", len(v)) + v
                       for n, v in ((80, b"Phil"), (25, b"a"), (25, b"b"), (55, b"20040226")))
    block = b"8BIM\x04\x04\x00\x00" + struct.pack(">I", len(records)) + records
    assert parse_photoshop_iptc(block) == {"By-line": "Phil", "Keywords": ["a", "b"], "DateCreated": "20040226"}


def test_tiff_block_is_found_behind_an_exif_marker() -> None:
    assert find_tiff_block(b"junk....Exif\x00\x00II*\x00\x08\x00\x00\x00rest") == b"II*\x00\x08\x00\x00\x00rest"
    assert find_tiff_block(b"nothing here") is None


# --- sniffing -----------------------------------------------------------------------------------

@pytest.mark.parametrize("head, family, fmt", [
    (b"\xff\xd8\xff\xe1", "image", "jpeg"),
    (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "image", "heif"),
    (b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  ", "av", "quicktime"),
    (b"\x00\x00\x00\x1cftypM4A \x00\x00\x00\x00M4A isom", "av", "m4a"),
    (b"\x1a\x45\xdf\xa3\x01\x00", "av", "matroska"),
    (b"RIFF\x00\x00\x00\x00WEBPVP8X", "image", "webp"),
    (b"%PDF-1.4\n", "unknown", None),
])
def test_sniff_by_content(head: bytes, family: str, fmt: str | None) -> None:
    found = sniff(head)
    assert (found.family, found.format) == (family, fmt)


def test_movie_header_gives_1904_for_a_zero_creation_time(tmp_path) -> None:  # type: ignore[no-untyped-def]
    mvhd = b"\x00" * 4 + struct.pack(">IIII", 0, 0, 600, 1200) + b"\x00" * 80
    data = _box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2avc1mp41") + _box(b"moov", _box(b"mvhd", mvhd))
    path = tmp_path / "zero.mp4"
    path.write_bytes(data)
    with open(path, "rb") as fh:
        movie = read_movie_header(fh)
    assert movie is not None
    assert movie.created_at == datetime(1904, 1, 1, tzinfo=UTC)
    assert movie.duration_s == 2.0
    assert movie.compatible_brands == ("isom", "iso2", "avc1", "mp41")


def _box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", 8 + len(body)) + kind + body


def _heif_meta(*, wide_indices: bool) -> bytes:
    """A HEIF meta box: primary item 7 (a grid) with ispe 4000x3000; item 3 (a tile) with ispe 512x512."""
    ispe = lambda w, h: _box(b"ispe", bytes(4) + struct.pack(">II", w, h))  # noqa: E731
    ipco = _box(b"ipco", _box(b"hvcC", bytes(23)) + ispe(512, 512) + _box(b"irot", b"\x01") + ispe(4000, 3000))
    index = (lambda i, essential=False: struct.pack(">H", i | (0x8000 if essential else 0))) if wide_indices \
        else (lambda i, essential=False: bytes([i | (0x80 if essential else 0)]))
    entries = [(3, [index(1, True), index(2)]), (7, [index(3), index(4)])]
    ipma = _box(b"ipma", bytes([0, 0, 0, 1 if wide_indices else 0]) + struct.pack(">I", len(entries))
                + b"".join(struct.pack(">HB", item, len(props)) + b"".join(props) for item, props in entries))
    return _box(b"meta", bytes(4) + _box(b"hdlr", bytes(24)) + _box(b"pitm", bytes(4) + struct.pack(">H", 7))
                + _box(b"iprp", ipco + ipma))


@pytest.mark.parametrize("wide_indices", [False, True])
def test_a_heif_primary_items_size_is_its_own_ispe_and_damage_gives_none(tmp_path, wide_indices) -> None:  # type: ignore[no-untyped-def]
    data = _box(b"ftyp", b"heic\x00\x00\x00\x00mif1heic") + _heif_meta(wide_indices=wide_indices) + _box(b"mdat", b"")
    path = tmp_path / "grid.heic"
    path.write_bytes(data)
    with open(path, "rb") as fh:
        movie = read_movie_header(fh)
    assert movie is not None and movie.primary_size == (4000, 3000)
    meta = _heif_meta(wide_indices=wide_indices)[8:]
    for cut in range(len(meta)):  # every truncation: a size or None, never an exception
        assert heif_primary_size(meta[:cut]) in (None, (4000, 3000))
    rng = np.random.default_rng(11)
    for _ in range(300):
        damaged = bytearray(meta)
        for at in rng.integers(0, len(meta), 3):
            damaged[at] = int(rng.integers(0, 256))
        found = heif_primary_size(bytes(damaged))
        assert found is None or (isinstance(found, tuple) and len(found) == 2)


# --- claims -------------------------------------------------------------------------------------

def test_capture_prefers_exif_original_then_apple_then_xmp_and_the_container_last() -> None:
    tags = TagSources(exif={"EXIF DateTimeOriginal": "2014:09:16 14:05:12", "Image DateTime": "2015:01:01 00:00:00"},
                      xmp={"xmp:CreateDate": "2010-01-01T00:00:00Z"},
                      format_tags={"creation_time": "2016-01-01T00:00:00.000000Z"})
    capture = choose_capture(time_claims(tags))
    assert capture.claim is not None and capture.claim.source == "EXIF DateTimeOriginal"
    only_container = choose_capture(time_claims(TagSources(format_tags={"creation_time": "2016-01-01T00:00:00Z"},
                                                           format_name="matroska,webm")))
    assert only_container.claim is not None and only_container.claim.kind == "container"
    assert only_container.utc_offset is None  # UTC by spec says nothing of the local zone


def test_gps_of_zero_over_zero_rationals_is_null_island_not_nothing() -> None:
    exif = {"GPS GPSLatitude": ["0/0", "0/0", "0/0"], "GPS GPSLongitude": ["0/0", "0/0", "0/0"]}
    gps = gps_claim(TagSources(exif=exif))
    assert gps is not None and (gps.latitude_deg, gps.longitude_deg) == (0.0, 0.0)


def test_device_takes_apple_keys_when_there_is_no_exif() -> None:
    fmt = {"com.apple.quicktime.make": "Apple", "com.apple.quicktime.model": "iPhone 6",
           "com.apple.quicktime.software": "12.3", "encoder": "Lavf58"}
    device = device_claim(TagSources(format_tags=fmt))
    assert (device.make, device.model, device.software) == ("Apple", "iPhone 6", "12.3")
    assert dict(device.vendor_tags) == {k: v for k, v in fmt.items() if k.startswith("com.")}


# --- flags and JSON ------------------------------------------------------------------------------

def _record(**changes: object) -> MediaRecord:
    base: dict[str, object] = dict(
        path="x.jpg", sha256="sha256:" + "0" * 64, size_bytes=1000, media_type="image", detected_format="image/jpeg",
        captured_at=None, captured_at_source=None, utc_offset=None, created_at=None, created_at_source=None,
        filesystem_modified_at=None, times=(), gps=None, device=Device(), container=None, streams=(), image=None,
        raw={}, flags=(), error=None)
    base.update(changes)
    return MediaRecord(**base)  # type: ignore[arg-type]


def _codes(record: MediaRecord) -> list[str]:
    return [f.code for f in flags_for(record)]


def test_no_metadata_flag() -> None:
    assert _codes(_record()) == ["no_metadata"]
    assert "no_metadata" not in _codes(_record(device=Device(make="Apple")))


def test_gps_time_off_by_a_whole_zone_is_fine_but_not_by_minutes() -> None:
    local = datetime(2014, 9, 16, 14, 5, 12)
    gps = TimeClaim("gps", "EXIF GPS", "t", datetime(2014, 9, 16, 13, 5, 12, tzinfo=UTC), None)
    capture = dict(captured_at=local, captured_at_source="EXIF DateTimeOriginal", device=Device(make="x"))
    assert "time_gps_mismatch" not in _codes(_record(times=(gps,), **capture))
    late = TimeClaim("gps", "EXIF GPS", "t", datetime(2014, 9, 16, 12, 57, 12, tzinfo=UTC), None)  # 1 h 8 min
    assert "time_gps_mismatch" in _codes(_record(times=(late,), **capture))


def test_file_written_before_it_was_captured_is_flagged() -> None:
    captured = datetime(2020, 5, 1, 12, 0, tzinfo=UTC)
    record = _record(captured_at=captured, captured_at_source="QuickTime com.apple.quicktime.creationdate",
                     filesystem_modified_at=captured - timedelta(days=2), device=Device(make="Apple"))
    flags = flags_for(record)
    assert [f.code for f in flags] == ["time_filesystem_mismatch"]
    assert "2 d 0 h" in flags[0].message


def test_ffmpeg_signs_and_null_island_and_editor() -> None:
    container = ContainerFacts("mov,mp4,m4a,3gp,3g2,mj2", major_brand="isom",
                               compatible_brands=("isom", "iso2", "avc1", "mp41"), encoder="Lavf58.76.100",
                               handler_names=("VideoHandler",))
    record = _record(media_type="video", container=container, gps=Gps(0.0, 0.0, None, "MP4 location"),
                     device=Device(software="Adobe Photoshop Lightroom"))
    codes = _codes(record)
    assert {"ffmpeg_written", "gps_null_island", "editing_software"} <= set(codes)
    message = next(f.message for f in flags_for(record) if f.code == "ffmpeg_written")
    assert "Lavf58.76.100" in message and "isomiso2avc1mp41" in message and "VideoHandler" in message


def test_upright_phone_video_without_rotation_is_baked_in() -> None:
    stream = StreamFacts(0, "video", codec="h264", coded_width_px=1080, coded_height_px=1920, rotation_cw_deg=0)
    record = _record(media_type="video", streams=(stream,), device=Device(make="Apple", model="iPhone 12"))
    assert "rotation_baked_in" in _codes(record)


def test_thumbnail_mismatch_flag() -> None:
    image = ImageFacts(100, 80, 1, 100, 80, 0, thumbnail_similarity=0.2, thumbnail_rotation_cw_deg=0)
    assert "thumbnail_mismatch" in _codes(_record(image=image, device=Device(make="x")))


def test_record_json_is_canonical_json_safe() -> None:
    record = _record(gps=Gps(float("nan"), 1.0, float("inf"), "EXIF GPS"),
                     captured_at=datetime(2019, 7, 24, 11, 25, 40, tzinfo=timezone(timedelta(hours=3))))
    data = record.to_json()
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    assert json.loads(text)["gps"]["latitude_deg"] is None
    assert data["captured_at_utc"] == "2019-07-24T08:25:40Z"
    expected_keys = {"path", "sha256", "media_type", "captured_at", "captured_at_utc", "captured_at_source",
                     "created_at", "created_at_source", "utc_offset", "gps", "device", "container", "streams",
                     "audio_track_count", "raw", "flags", "error"}
    assert expected_keys <= set(data)


def test_container_time_hours_away_from_the_phone_clock_is_flagged() -> None:
    captured = datetime(2020, 5, 1, 10, 0, tzinfo=timezone(timedelta(hours=3)))
    container = TimeClaim("container", "QuickTime mvhd creation time (UTC by spec)", "t",
                          datetime(2020, 5, 1, 12, 0, 5, tzinfo=UTC), None)
    record = _record(media_type="video", captured_at=captured, times=(container,), device=Device(make="Apple"),
                     captured_at_source="QuickTime com.apple.quicktime.creationdate",
                     container=ContainerFacts("mov,mp4,m4a,3gp,3g2,mj2", duration_s=5.0))
    (flag,) = flags_for(record)
    assert flag.code == "time_container_mismatch"
    assert "5 h 0 min" in flag.message and "local time" in flag.message


def test_the_first_xmp_packet_is_found_in_binary_data() -> None:
    packet = b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF/></x:xmpmeta>"
    noise = bytes(range(256)) * 40  # every byte value, newlines included, as in a GIF or PNG
    assert find_xmp_packet(noise + packet + noise + packet) == packet
    assert find_xmp_packet(b"</x:xmpmeta>\n" + noise + packet) == packet  # a stray closing tag first
    assert find_xmp_packet(noise + packet[:-5]) == packet[:-5]  # cut short: the rest of the file
    assert find_xmp_packet(noise) == b""
