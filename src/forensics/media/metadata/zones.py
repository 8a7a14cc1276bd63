"""The time zone of a place, offline, to put a zone-less local clock on the same clock as UTC times.

An EXIF capture time often has no offset: it is the camera's wall clock. When the file also
gives a position, the zone in force there on that date (the IANA zone from the position's
boundaries, timezonefinder; its rules on that date, the tz database) says what UTC instant that
wall clock meant, if the clock was set to local time. The result names its source, so a reader
can weigh it: the camera's clock may have been set to another zone, which is what the GPS clock
check (flags.py) then shows.

No zone is taken from a position within POLE_MARGIN_DEG of either pole. There every meridian
meets, so a few metres of GPS error move a position through every zone, and the boundaries say
nothing of the clocks kept there: the tz data give the South Pole, and all of the polar plateau
past 88 degrees south, to Antarctica/McMurdo (New Zealand time, the convention of the US station
supplied from McMurdo), and the North Pole to no land zone at all (open sea). A camera near
either pole keeps its owner's clock, whichever that is; `no_zone_reason` says so for the record.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from forensics.media.metadata.location import is_null_island, is_valid_position

_SOURCE = "time zone of the GPS position (timezonefinder {version}, tz database {tzdata})"
# Past 88 degrees south the tz data hold one zone at every longitude (McMurdo's), past about 84 north none: no
# place's own zone is drawn there, only a convention, so none is taken from a position this close to a pole.
POLE_MARGIN_DEG = 2.0


@dataclass(frozen=True, slots=True)
class PlaceZone:
    """The zone a position was in at a local time, and the UTC offset it gives that time."""

    name: str  # IANA name, e.g. "Asia/Jerusalem"
    offset: timedelta  # local minus UTC at that time, daylight saving included
    source: str
    dst: timedelta = timedelta(0)  # the daylight-saving part of the offset
    ambiguous: bool = False  # the local time happened twice (clocks turned back) or never (turned forward)


def no_zone_reason(latitude_deg: float, longitude_deg: float) -> str | None:
    """Gives why no zone is taken from a position that has one on no map (near a pole), else None."""
    if not is_valid_position(latitude_deg, longitude_deg) or abs(latitude_deg) < 90.0 - POLE_MARGIN_DEG:
        return None
    pole = "North" if latitude_deg > 0 else "South"
    return (f"no zone is taken from a position within {POLE_MARGIN_DEG:g} degrees of the {pole} Pole: every meridian "
            "meets there, and the clock kept is its owner's, not the place's")


def zone_name_at(latitude_deg: float, longitude_deg: float) -> str | None:
    """Gives back the IANA zone of a position, None for an impossible position, null island, a position near a pole
    (no_zone_reason) or the open sea's nautical zones (Etc/GMT+n: a ship's clock, not a place's)."""
    if not is_valid_position(latitude_deg, longitude_deg) or is_null_island(latitude_deg, longitude_deg):
        return None
    if no_zone_reason(latitude_deg, longitude_deg) is not None:
        return None
    name = _finder().timezone_at(lng=longitude_deg, lat=latitude_deg)
    return None if not name or name.startswith("Etc/") else str(name)


def zone_at(latitude_deg: float, longitude_deg: float, local: datetime) -> PlaceZone | None:
    """Gives back the zone of a position and its offset at the wall-clock time `local` (naive), or None when the
    position has no land zone."""
    name = zone_name_at(latitude_deg, longitude_deg)
    if name is None:
        return None
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    naive = local.replace(tzinfo=None)
    first, second = naive.replace(tzinfo=zone, fold=0), naive.replace(tzinfo=zone, fold=1)
    offset = first.utcoffset()
    if offset is None:
        return None
    return PlaceZone(name, offset, _source(), first.dst() or timedelta(0),
                     ambiguous=first.utcoffset() != second.utcoffset())


@functools.cache
def _finder() -> Any:
    from timezonefinder import TimezoneFinder

    return TimezoneFinder(in_memory=False)


@functools.cache
def _source() -> str:
    from importlib.metadata import PackageNotFoundError, version

    def of(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "of the system"
    return _SOURCE.format(version=of("timezonefinder"), tzdata=of("tzdata"))
