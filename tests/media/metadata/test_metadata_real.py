"""Pinned values of probe on real files from ../shared/data (see its README for the measured facts)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from conftest import SHARED_DATA
from forensics.media.metadata.probe import probe_many
from forensics.media.metadata.record import MediaRecord

MEI = "metadata-extractor-images"
FILES = {
    "iphone_mov": f"{MEI}/mov/with-gps.mov",
    "android_mp4": f"{MEI}/mp4/with-gps.mp4",
    "null_island_mp4": f"{MEI}/mp4/ftyp3gp5.mp4",
    "vfr_mp4": f"{MEI}/mp4/FLIR Thermal.mp4",
    "after_effects_mov": f"{MEI}/mov/xmp480qt.mov",
    "heic": f"{MEI}/heic/IMG_1034.heic",
    "turned_heic": f"{MEI}/heic/IMG_2927.HEIC",
    "nokia_heif": "exif-py/tests/resources/heic/mobile/HMD_Nokia_8.3_5G.heif",
    "iphone_jpg": f"{MEI}/jpg/Apple iPhone 6.jpg",
    "lightroom_jpg": f"{MEI}/jpg/Canon EOS-1D Mark III (via Adobe Lightroom).jpg",
    "null_island_jpg": f"{MEI}/jpg/Samsung GT-I9000 (Galaxy S).jpg",
    "webp": f"{MEI}/webp/HTC Desire.webp",
    "avif": f"{MEI}/avif/Issue 649.avif",
    "replaced_jpg": "exif-py/tests/resources/jpg/tests/35-empty.jpg",
    "gps_skew_jpg": "exif-py/tests/resources/jpg/gps/DSCN0010.jpg",
    "ffmpeg_mp4": "footage/bottle-detection.mp4",
    "m4a": f"{MEI}/m4a/Issue 337 (dotnet).m4a",
    "mkv": "footage/asl_gestures/learn.mkv",
}


@pytest.fixture(scope="module")
def records() -> dict[str, MediaRecord]:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"the shared real media are not here ({SHARED_DATA.resolve()}); see ../shared/data/README.md")
    by_path = {str(SHARED_DATA / rel): name for name, rel in FILES.items()}
    return {by_path[r.path]: r for r in probe_many([SHARED_DATA / rel for rel in FILES.values()])}


def codes(record: MediaRecord) -> list[str]:
    return [f.code for f in record.flags]


def test_every_file_read_without_error(records: dict[str, MediaRecord]) -> None:
    assert {name: r.error for name, r in records.items() if r.error} == {}


def test_iphone_video(records: dict[str, MediaRecord]) -> None:
    r = records["iphone_mov"]
    assert r.media_type == "video"
    assert r.sha256 == "sha256:385b236e314933a9fd37881b75571ea8bcfaae4e86fc1e708fff526897dfa55c"
    assert r.captured_at == datetime(2019, 7, 24, 11, 25, 40, tzinfo=timezone(timedelta(hours=3)))
    assert r.captured_at_utc == datetime(2019, 7, 24, 8, 25, 40, tzinfo=UTC)
    assert r.captured_at_source == "QuickTime com.apple.quicktime.creationdate"
    assert r.utc_offset == "+03:00"
    assert r.created_at == datetime(2019, 7, 24, 8, 25, 57, tzinfo=UTC)  # written 17 s after capture
    assert r.gps is not None
    assert (r.gps.latitude_deg, r.gps.longitude_deg, r.gps.altitude_m) == (32.0929, 34.862, 28.516)
    assert r.gps.source == "QuickTime com.apple.quicktime.location.ISO6709"
    assert (r.device.make, r.device.model, r.device.software) == ("Apple", "iPhone 6", "12.3")
    video = next(s for s in r.streams if s.kind == "video")
    assert (video.codec, video.coded_width_px, video.coded_height_px) == ("h264", 568, 320)
    assert (video.rotation_cw_deg, video.display_width_px, video.display_height_px) == (90, 320, 568)
    assert video.frame_count == 120 and video.variable_frame_rate is False
    audio = next(s for s in r.streams if s.kind == "audio")
    assert (audio.codec, audio.channels, audio.sample_rate_hz) == ("aac", 1, 44100)
    assert r.audio_track_count == 1
    assert codes(r) == []  # 17 s between capture and container time is how iPhones write


def test_android_video(records: dict[str, MediaRecord]) -> None:
    r = records["android_mp4"]
    assert r.gps is not None and (r.gps.latitude_deg, r.gps.longitude_deg) == (51.4169, -0.0806)
    assert r.gps.source.startswith("MP4 location")
    assert dict(r.device.vendor_tags) == {"com.android.version": "6.0.1"}
    assert r.captured_at == datetime(2017, 2, 22, 8, 20, 28, tzinfo=UTC)  # only the container says when
    assert r.captured_at_source == "QuickTime mvhd creation time (UTC by spec)"
    assert r.container is not None and r.container.handler_names == ("VideoHandle", "SoundHandle")
    video = r.streams[0]
    assert (video.coded_width_px, video.coded_height_px, video.rotation_cw_deg) == (1920, 1080, 0)
    assert (r.streams[1].channels, r.streams[1].sample_rate_hz) == (2, 48000)
    assert codes(r) == []  # "VideoHandle" is Android's, not ffmpeg's "VideoHandler"


def test_null_island_video(records: dict[str, MediaRecord]) -> None:
    r = records["null_island_mp4"]
    assert r.gps is not None and (r.gps.latitude_deg, r.gps.longitude_deg) == (0.0, 0.0)
    assert codes(r) == ["gps_null_island"]
    assert r.streams[0].rotation_cw_deg == 90 and r.streams[0].display_width_px == 720


def test_variable_frame_rate_video(records: dict[str, MediaRecord]) -> None:
    video = next(s for s in records["vfr_mp4"].streams if s.kind == "video")
    assert video.variable_frame_rate is True
    assert video.frame_rate_avg_fps == pytest.approx(7.3987, abs=1e-4)
    assert video.frame_count == 84


def test_after_effects_export(records: dict[str, MediaRecord]) -> None:
    r = records["after_effects_mov"]
    assert r.raw["xmp"]["xmp:CreatorTool"] == "Adobe After Effects 2020 (Macintosh)"
    assert codes(r) == ["editing_software"]


def test_heic_from_an_iphone(records: dict[str, MediaRecord]) -> None:
    r = records["heic"]
    assert r.media_type == "image" and r.detected_format == "image/heif"
    assert r.captured_at == datetime(2018, 2, 5, 15, 11, 44, 277000)  # EXIF gives no zone: naive
    # The zone comes from the GPS position (Guangzhou): China Standard Time, named as the source.
    assert r.capture_zone is not None and r.capture_zone.name == "Asia/Shanghai"
    assert r.captured_at_utc == datetime(2018, 2, 5, 7, 11, 44, 277000, tzinfo=UTC)
    assert r.to_json()["capture_zone"]["offset"] == "+08:00"
    assert r.to_json()["capture_zone"]["source"].startswith("time zone of the GPS position (timezonefinder")
    assert (r.device.make, r.device.model, r.device.lens) == ("Apple", "iPhone 8", "iPhone 8 back camera 3.99mm f/1.8")
    assert r.gps is not None
    assert (round(r.gps.latitude_deg, 6), round(r.gps.longitude_deg, 6)) == (23.177917, 113.394317)
    assert r.gps.time_utc == datetime(2018, 2, 5, 7, 11, 43, 70000, tzinfo=UTC)
    assert r.image is not None and (r.image.width_px, r.image.height_px) == (4032, 3024)
    assert codes(r) == []  # 8 h between local and GPS time: China's zone, not an inconsistency


def test_a_heif_grid_has_the_size_of_its_primary_item_not_of_a_tile(records: dict[str, MediaRecord]) -> None:
    # libavformat lists the 512x512 tiles; the grid item's ispe is the picture (exiftool: 4608x3456).
    r = records["nokia_heif"]
    assert r.image is not None and (r.image.width_px, r.image.height_px) == (4608, 3456)
    # An iPhone photo whose grid is upright (3024x4032, no irot, Orientation 1) while EXIF still says
    # 4032x3024: its pixels were turned after capture.
    turned = records["turned_heic"]
    assert turned.image is not None and (turned.image.width_px, turned.image.height_px) == (3024, 4032)
    assert "rotation_baked_in" in codes(turned)


def test_iphone_photo(records: dict[str, MediaRecord]) -> None:
    r = records["iphone_jpg"]
    assert r.captured_at == datetime(2014, 9, 16, 14, 5, 12, 133000)
    assert r.gps is not None
    assert (round(r.gps.latitude_deg, 6), round(r.gps.longitude_deg, 6)) == (51.762408, -0.317892)
    assert r.gps.altitude_m == pytest.approx(111.261, abs=1e-3)
    assert r.image is not None and r.image.thumbnail_similarity is not None and r.image.thumbnail_similarity > 0.9
    assert r.image.thumbnail_coverage == "rows sampled across the picture"  # restart markers at each MCU row
    assert r.raw["exif"]["GPS GPSDate"] == "2014:09:259"  # kept verbatim, malformed as it is
    assert codes(r) == []


def test_photo_edited_in_lightroom(records: dict[str, MediaRecord]) -> None:
    r = records["lightroom_jpg"]
    assert (r.device.make, r.device.model) == ("Canon", "Canon EOS-1D Mark III")
    assert r.device.software == "Adobe Photoshop Lightroom"
    assert codes(r) == ["editing_software", "datetime_modified"]


def test_null_island_photo(records: dict[str, MediaRecord]) -> None:
    r = records["null_island_jpg"]
    assert codes(r) == ["gps_null_island"]
    assert r.image is not None and (r.image.orientation, r.image.display_width_px) == (6, 480)


def test_exif_found_where_exifread_alone_fails(records: dict[str, MediaRecord]) -> None:
    webp, avif = records["webp"], records["avif"]
    assert (webp.device.model, webp.captured_at) == ("HTC Desire", datetime(2011, 5, 6, 9, 59, 48))
    assert (avif.device.model, avif.captured_at) == ("Canon EOS 70D", datetime(2015, 10, 11, 14, 41, 44))


def test_thumbnail_that_shows_another_picture(records: dict[str, MediaRecord]) -> None:
    r = records["replaced_jpg"]
    assert codes(r) == ["thumbnail_mismatch"]
    # 1 MB without restart markers: the decode budget reaches the top 26% (0.436 over the whole picture)
    assert r.image is not None and r.image.thumbnail_similarity == pytest.approx(0.382, abs=0.02)
    assert r.image.thumbnail_coverage == "top 26% of the picture"
    assert "compared with the top 26% of the picture" in r.flags[0].message


def test_gps_clock_a_day_off(records: dict[str, MediaRecord]) -> None:
    r = records["gps_skew_jpg"]
    assert "time_gps_mismatch" in codes(r)
    # On the clock of Rome (+02:00 in October 2008), a day and two minutes before the GPS clock: no zone explains it.
    message = next(f.message for f in r.flags if f.code == "time_gps_mismatch")
    assert "(Europe/Rome, +02:00 on that date), is 23 h 58 min before the GPS time" in message
    assert "no time-zone offset explains it" in message


def test_ffmpeg_written_video_and_audio(records: dict[str, MediaRecord]) -> None:
    video, audio = records["ffmpeg_mp4"], records["m4a"]
    assert {"date_epoch", "ffmpeg_written"} <= set(codes(video))
    assert video.created_at == datetime(1904, 1, 1, tzinfo=UTC) and video.captured_at is None
    assert audio.media_type == "audio" and audio.streams[0].codec == "alac"
    assert "ffmpeg_written" in codes(audio)


def test_matroska_without_tags(records: dict[str, MediaRecord]) -> None:
    r = records["mkv"]
    # ffmpeg re-muxed it from an MP4: Matroska's upper-case ENCODER, HANDLER_NAME and stream ENCODER say so.
    assert r.media_type == "video" and codes(r) == ["no_metadata", "ffmpeg_written"]
    assert r.container is not None and r.container.handler_names == ("VideoHandler",)
    assert (r.streams[0].coded_width_px, r.streams[0].frame_rate_avg_fps) == (640, 30.0)
