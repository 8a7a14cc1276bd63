"""Local capture times made absolute by the zone of the GPS position, and the capture clock checked against the GPS clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image
from PIL.TiffImagePlugin import IFDRational

from conftest import SHARED_DATA
from forensics.media.content_type import PICTURE_AND_VIDEO_SUFFIXES
from forensics.media.metadata.probe import probe_many, probe_media
from forensics.media.metadata.zones import zone_at, zone_name_at


def _photo(path: Path, local: datetime, gps_utc: datetime, lat: float, lon: float, *, gps_date: bool = True) -> Path:
    """A camera JPEG: EXIF DateTimeOriginal `local` with no offset tag, a GPS position and a GPS clock."""
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "samsung", "SM-A525F"
    ifd = exif.get_ifd(0x8769)
    ifd[0x9003] = ifd[0x9004] = local.strftime("%Y:%m:%d %H:%M:%S")
    gps = exif.get_ifd(0x8825)

    def dms(v: float) -> tuple[IFDRational, IFDRational, IFDRational]:
        d = int(abs(v))
        m = int((abs(v) - d) * 60)
        return IFDRational(d, 1), IFDRational(m, 1), IFDRational(round((abs(v) - d - m / 60) * 3600 * 100), 100)
    gps[0x0001], gps[0x0002] = ("N" if lat >= 0 else "S"), dms(lat)
    gps[0x0003], gps[0x0004] = ("E" if lon >= 0 else "W"), dms(lon)
    gps[0x0007] = (IFDRational(gps_utc.hour, 1), IFDRational(gps_utc.minute, 1), IFDRational(gps_utc.second, 1))
    if gps_date:
        gps[0x001D] = gps_utc.strftime("%Y:%m:%d")
    Image.new("RGB", (64, 48), (120, 110, 90)).save(path, "JPEG", exif=exif)
    return path


JERUSALEM = (31.7767, 35.2345)
TAKEN = datetime(2024, 3, 14, 12, 26, 58)  # local, UTC+02:00 in Jerusalem on that date (summer time from 29 March)


def _gps_flag(path: Path) -> str | None:
    return next((f.message for f in probe_media(path).flags if f.code == "time_gps_mismatch"), None)


def test_the_zone_of_the_place_makes_a_zoneless_capture_time_absolute(tmp_path):
    photo = _photo(tmp_path / "a.jpg", TAKEN, datetime(2024, 3, 14, 10, 26, 40, tzinfo=UTC), *JERUSALEM)
    record = probe_media(photo)
    assert record.captured_at == TAKEN and record.utc_offset is None  # as the file says: no zone
    assert record.capture_zone is not None and record.capture_zone.name == "Asia/Jerusalem"
    assert record.captured_at_utc == datetime(2024, 3, 14, 10, 26, 58, tzinfo=UTC)
    assert record.to_json()["capture_zone"]["offset"] == "+02:00"
    assert record.to_json()["captured_at_utc"] == "2024-03-14T10:26:58Z"
    assert _gps_flag(photo) is None  # 18 s after the fix: the phone's last fix, as phones stamp it


def test_a_capture_time_moved_2_h_17_min_from_its_gps_clock_is_flagged(tmp_path):
    fix = datetime(2024, 3, 14, 10, 26, 40, tzinfo=UTC)
    moved = _photo(tmp_path / "moved.jpg", TAKEN + timedelta(hours=2, minutes=17), fix, *JERUSALEM)
    message = _gps_flag(moved)
    assert message is not None
    assert "(Asia/Jerusalem, +02:00 on that date), is 2 h 17 min after the GPS time (2024-03-14 10:26:40 UTC)" \
        in message
    assert "no time-zone offset explains it" in message
    # Moved by 47 s only: within the clocks' error, not a lead.
    assert _gps_flag(_photo(tmp_path / "close.jpg", TAKEN - timedelta(seconds=47), fix, *JERUSALEM)) is None


def test_a_camera_clock_on_another_zone_is_flagged_with_the_zone_that_explains_it(tmp_path):
    fix = datetime(2024, 3, 14, 10, 26, 40, tzinfo=UTC)
    utc_clock = _photo(tmp_path / "utc.jpg", datetime(2024, 3, 14, 10, 27, 5), fix, *JERUSALEM)
    message = _gps_flag(utc_clock)
    assert message is not None and "is 1 h 59 min before the GPS time" in message
    assert "a clock set to +00:00 would explain it" in message


def test_a_clock_left_on_standard_time_in_summer_says_so(tmp_path):
    # Kyiv in July is UTC+03:00 (summer time); a camera left on +02:00 is an hour behind.
    fix = datetime(2023, 7, 2, 9, 0, 0, tzinfo=UTC)
    photo = _photo(tmp_path / "kyiv.jpg", datetime(2023, 7, 2, 11, 0, 30), fix, 50.45, 30.52)
    message = _gps_flag(photo)
    assert message is not None and "(Europe/Kyiv, +03:00 on that date)" in message
    assert "the clock was on standard time (+02:00), not summer time" in message


def test_no_zone_at_sea_or_null_island_and_the_old_rule_stands():
    assert zone_name_at(0.0, 0.0) is None
    assert zone_name_at(-40.0, -140.0) is None  # the South Pacific: a ship's nautical zone, not a place's
    assert zone_name_at(95.0, 10.0) is None
    zone = zone_at(48.8566, 2.3522, datetime(2021, 10, 31, 2, 30))  # Paris, the hour that happened twice
    assert zone is not None and zone.name == "Europe/Paris" and zone.ambiguous


def test_the_gps_clock_flag_on_the_untouched_camera_files_of_the_shared_data():
    if not SHARED_DATA.is_dir():
        pytest.skip(f"the shared real media are not here ({SHARED_DATA.resolve()}); see ../shared/data/README.md")
    files = [p for p in SHARED_DATA.rglob("*") if p.is_file() and not p.is_symlink()
             and p.suffix.lower() in PICTURE_AND_VIDEO_SUFFIXES]
    records = list(probe_many(files))
    with_gps_clock = [r for r in records if any(t.kind == "gps" and t.value for t in r.times)]
    assert len(with_gps_clock) >= 20
    flagged = {Path(r.path).relative_to(SHARED_DATA).as_posix(): next(f.message for f in r.flags
                                                                     if f.code == "time_gps_mismatch")
               for r in records if "time_gps_mismatch" in [f.code for f in r.flags]}
    # The Coolpix files of exif-py (rescaled with GIMP, not originals) state a GPS date a day after capture.
    coolpix = {k for k in flagged if k.startswith("exif-py/tests/resources/jpg/gps/DSCN")}
    assert len(coolpix) == 9 and all("23 h 5" in flagged[k] for k in coolpix)
    # A Ricoh whose clock was not moved to summer time: a true lead, and the message says which.
    assert "the clock was on standard time (+01:00), not summer time" in flagged.pop("exiftool/t/images/Ricoh2.jpg")
    assert set(flagged) == coolpix  # no other file: phones' last fix lagging capture by 1-2 minutes is no lead


def test_the_second_of_an_hour_that_happened_twice_is_no_lead(tmp_path):
    # Berlin, 27 October 2024: 02:30 happened at 00:30Z (summer time) and again at 01:30Z (standard time).
    second = _photo(tmp_path / "second.jpg", datetime(2024, 10, 27, 2, 30, 10), datetime(2024, 10, 27, 1, 30, 0,
                                                                                         tzinfo=UTC), 52.52, 13.40)
    assert probe_media(second).capture_zone.ambiguous
    assert _gps_flag(second) is None
    first = _photo(tmp_path / "first.jpg", datetime(2024, 10, 27, 2, 30, 10), datetime(2024, 10, 27, 0, 30, 0,
                                                                                       tzinfo=UTC), 52.52, 13.40)
    assert _gps_flag(first) is None


def test_without_a_gps_date_the_time_of_day_is_compared_and_that_is_said(tmp_path):
    fix = datetime(2024, 3, 14, 10, 26, 40, tzinfo=UTC)
    moved = _photo(tmp_path / "moved.jpg", TAKEN + timedelta(hours=2, minutes=17), fix, *JERUSALEM, gps_date=False)
    message = _gps_flag(moved)
    assert message is not None and "is 2 h 17 min after the GPS clock's time of day (10:26:40 UTC)" in message
    assert "the GPS date cannot be read" in message
    assert _gps_flag(_photo(tmp_path / "ok.jpg", TAKEN, fix, *JERUSALEM, gps_date=False)) is None
