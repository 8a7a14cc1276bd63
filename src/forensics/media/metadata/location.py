"""Positions as EXIF, XMP and QuickTime/MP4 (ISO 6709) write them, in decimal degrees.

Parsers return None for text they cannot read; they do not judge plausibility (null
island, out-of-range values): that is a flag, and the verifier should see the value.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from fractions import Fraction

# ISO 6709 as phones write it: +32.0929+034.8620+028.516/ ; also the DDMM and DDMMSS forms.
_ISO6709 = re.compile(
    r"^\s*(?P<lat>[+\-]\d+(?:\.\d*)?)(?P<lon>[+\-]\d+(?:\.\d*)?)(?P<alt>[+\-]\d+(?:\.\d*)?)?"
    r"(?:CRS[^/]*)?/?\s*$"
)
# XMP exif:GPSLatitude: "54,59.38N" or "54,59,22.8N"
_XMP_COORD = re.compile(r"^\s*(\d+(?:\.\d+)?),(\d+(?:\.\d+)?)(?:,(\d+(?:\.\d+)?))?\s*([NSEW])\s*$", re.IGNORECASE)


def parse_iso6709(text: str | None) -> tuple[float, float, float | None] | None:
    """(latitude, longitude, altitude) from ISO 6709 text; None when it does not parse."""
    if not text:
        return None
    m = _ISO6709.match(text)
    if not m:
        return None
    lat = _iso6709_angle(m["lat"], degree_digits=2)
    lon = _iso6709_angle(m["lon"], degree_digits=3)
    if lat is None or lon is None:
        return None
    return lat, lon, (float(m["alt"]) if m["alt"] else None)


def _iso6709_angle(text: str, *, degree_digits: int) -> float | None:
    # The number of integer digits says the form: DD(D), DD(D)MM, or DD(D)MMSS.
    sign = -1.0 if text[0] == "-" else 1.0
    whole, _, frac = text[1:].partition(".")
    fraction = float("0." + frac) if frac else 0.0
    n = len(whole)
    if n <= degree_digits:
        return sign * (int(whole) + fraction)
    if n == degree_digits + 2:
        return sign * (int(whole[:-2]) + (int(whole[-2:]) + fraction) / 60)
    if n == degree_digits + 4:
        return sign * (int(whole[:-4]) + int(whole[-4:-2]) / 60 + (int(whole[-2:]) + fraction) / 3600)
    return None


def dms_to_degrees(values: Sequence[Fraction | float | int] | None, ref: str | None) -> float | None:
    """EXIF [degrees, minutes, seconds] rationals and an N/S/E/W ref as signed degrees."""
    if not values or len(values) > 3:
        return None
    try:
        parts = [float(v) for v in values]
    except (ZeroDivisionError, ValueError, TypeError, OverflowError):
        return None
    parts += [0.0] * (3 - len(parts))
    degrees = parts[0] + parts[1] / 60 + parts[2] / 3600
    ref = (ref or "").strip().upper()[:1]
    if ref in ("S", "W"):
        degrees = -degrees
    return degrees


def parse_xmp_coordinate(text: str | None) -> float | None:
    """XMP 'DDD,MM.mmk' or 'DDD,MM,SSk' (k = N/S/E/W) as signed degrees; plain decimals too."""
    if not text:
        return None
    m = _XMP_COORD.match(text)
    if m:
        value = float(m[1]) + float(m[2]) / 60 + (float(m[3]) / 3600 if m[3] else 0.0)
        return -value if m[4].upper() in "SW" else value
    try:
        return float(text)
    except ValueError:
        return None


def is_null_island(latitude_deg: float, longitude_deg: float, *, tolerance_deg: float = 1e-6) -> bool:
    """True at 0, 0: the default a GPS chip or an app writes when it has no fix."""
    return abs(latitude_deg) <= tolerance_deg and abs(longitude_deg) <= tolerance_deg


def is_valid_position(latitude_deg: float, longitude_deg: float) -> bool:
    """True when the angles are finite and within -90..90 and -180..180."""
    return (-90.0 <= latitude_deg <= 90.0) and (-180.0 <= longitude_deg <= 180.0)
