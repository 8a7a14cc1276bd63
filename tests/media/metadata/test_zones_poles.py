"""No capture zone from a position near either pole: one rule for both, said with its reason."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from test_zones import _photo

from forensics.media.metadata.probe import probe_media
from forensics.media.metadata.zones import POLE_MARGIN_DEG, no_zone_reason, zone_at, zone_name_at

WINTER = datetime(2024, 1, 10, 12, 0, 0)


@pytest.mark.parametrize("latitude_deg", [90.0, -90.0, 89.999, -89.999, 88.5, -88.5, 90.0 - POLE_MARGIN_DEG,
                                          -(90.0 - POLE_MARGIN_DEG)])
@pytest.mark.parametrize("longitude_deg", [0.0, 45.0, 166.67, -179.9])
def test_no_zone_near_either_pole_and_the_reason_names_it(latitude_deg, longitude_deg):
    # The tz data give the South Pole Antarctica/McMurdo and the North Pole none: the same rule now for both.
    assert zone_name_at(latitude_deg, longitude_deg) is None
    assert zone_at(latitude_deg, longitude_deg, WINTER) is None
    reason = no_zone_reason(latitude_deg, longitude_deg)
    pole = "North" if latitude_deg > 0 else "South"
    assert reason == (f"no zone is taken from a position within 2 degrees of the {pole} Pole: every meridian meets "
                      "there, and the clock kept is its owner's, not the place's")


def test_zones_past_the_margin_are_kept():
    assert no_zone_reason(-77.85, 166.67) is None
    assert zone_name_at(-77.85, 166.67) == "Antarctica/McMurdo"  # McMurdo Station itself: a place with its zone
    assert zone_name_at(78.22, 15.65) == "Arctic/Longyearbyen"  # Svalbard
    assert no_zone_reason(95.0, 10.0) is None and zone_name_at(95.0, 10.0) is None  # impossible: another reason


def test_a_photo_at_the_south_pole_gets_no_capture_zone_as_one_at_the_north_pole(tmp_path):
    fix = datetime(2024, 1, 10, 0, 0, 5, tzinfo=UTC)
    south = probe_media(_photo(tmp_path / "south.jpg", WINTER, fix, -89.9978, 139.27))
    north = probe_media(_photo(tmp_path / "north.jpg", WINTER, fix, 89.9978, 139.27))
    assert south.gps is not None and south.gps.latitude_deg < -89.99
    assert south.capture_zone is None and north.capture_zone is None
    assert south.captured_at_utc is None and north.captured_at_utc is None  # a wall clock of no known zone


def test_the_record_says_why_a_photo_near_a_pole_has_no_capture_zone(tmp_path):
    fix = datetime(2024, 1, 10, 0, 0, 5, tzinfo=UTC)
    for name, latitude_deg, pole in (("south", -89.9978, "South"), ("north", 89.9978, "North")):
        record = probe_media(_photo(tmp_path / f"{name}.jpg", WINTER, fix, latitude_deg, 139.27))
        assert record.capture_zone is None and record.captured_at_utc is None
        [flag] = [f for f in record.flags if f.code == "capture_zone_polar"]
        assert flag.message == (
            "EXIF DateTimeOriginal (2024-01-10 12:00:00) states no zone, and no zone is taken from a position within "
            f"2 degrees of the {pole} Pole: every meridian meets there, and the clock kept is its owner's, not the "
            "place's; the capture time is not put on UTC.")
        assert flag.message in [f["message"] for f in record.to_json()["flags"]]  # kept in the record as stored
    # Past the margin the zone is taken: nothing to explain.
    mcmurdo = probe_media(_photo(tmp_path / "mcmurdo.jpg", WINTER, fix, -77.85, 166.67))
    assert mcmurdo.capture_zone is not None and "capture_zone_polar" not in [f.code for f in mcmurdo.flags]
