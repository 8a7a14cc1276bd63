"""Date and time text as EXIF, XMP, QuickTime and ffmpeg write it, parsed into `datetime`.

Every parser returns None rather than raising: a bad date is a fact about the file
(flagged elsewhere from the verbatim text), not a reason to stop reading it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

# 2014:09:16 14:05:12, 2014-09-16T14:05:12.133+03:00, 2019-07-24T11:25:40+0300, ...Z
_DATETIME = re.compile(
    r"^\s*(?P<y>\d{4})[:\-/.](?P<mo>\d{1,2})[:\-/.](?P<d>\d{1,2})"
    r"(?:[T ]\s*(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<frac>\d+))?)?)?"
    r"\s*(?P<tz>Z|UTC|[+\-]\d{2}:?\d{2}|[+\-]\d{2})?\s*$"
)
_OFFSET = re.compile(r"^\s*(?P<sign>[+\-])(?P<h>\d{2}):?(?P<m>\d{2})?\s*$")

# The QuickTime epoch: a 0 in a creation-time field reads as this date.
QUICKTIME_EPOCH = datetime(1904, 1, 1, tzinfo=UTC)


def parse_datetime(text: str | None, *, subsec: str | None = None, offset: str | None = None,
                   assume_utc: bool = False, date_only: bool = False) -> datetime | None:
    """Parses a date-time; aware when the text or `offset` gives a zone, or `assume_utc`.

    `subsec` is EXIF SubSecTime* ("133" -> .133 s); `offset` is EXIF OffsetTime* ("+03:00").
    A date with no time of day gives None, unless `date_only` (then it reads as midnight):
    a day is not a capture instant. Zero dates ("0000:00:00") give None.
    """
    if not text:
        return None
    m = _DATETIME.match(text.replace("\x00", ""))
    if not m or (m["h"] is None and not date_only):
        return None
    try:
        value = datetime(int(m["y"]), int(m["mo"]), int(m["d"]), int(m["h"] or 0), int(m["mi"] or 0),
                         int(m["s"] or 0))
    except ValueError:
        return None
    frac = m["frac"] or (subsec.strip() if subsec and subsec.strip().isdigit() else None)
    if frac:
        value = value.replace(microsecond=int(frac[:6].ljust(6, "0")))
    zone = _zone(m["tz"]) if m["tz"] else None
    if zone is None and offset:
        zone = parse_offset(offset)
    if zone is None and assume_utc:
        zone = UTC
    return value.replace(tzinfo=zone) if zone is not None else value


def parse_offset(text: str | None) -> timezone | None:
    """'+03:00', '-0500', '+05' as a fixed zone; None when absent or not plausible (over 14 h)."""
    if not text:
        return None
    m = _OFFSET.match(text.replace("\x00", ""))
    if not m:
        return None
    minutes = int(m["h"]) * 60 + int(m["m"] or 0)
    if minutes > 14 * 60:
        return None
    return timezone(timedelta(minutes=-minutes if m["sign"] == "-" else minutes))


def _zone(text: str) -> timezone | None:
    if text in ("Z", "UTC"):
        return UTC
    return parse_offset(text)


def is_zero_date(text: str | None) -> bool:
    """True for the all-zero dates cameras and muxers write when their clock was never set."""
    if not text:
        return False
    digits = re.sub(r"\D", "", text)
    return bool(digits) and set(digits[:8]) <= {"0"}


def is_epoch_date(value: datetime | None) -> bool:
    """True for the QuickTime (1904-01-01) and Unix (1970-01-01) epochs: a zero counter, not a date."""
    if value is None:
        return False
    return value.date() in (QUICKTIME_EPOCH.date(), datetime(1970, 1, 1).date())


def iptc_datetime(date_text: str | None, time_text: str | None) -> str | None:
    """IPTC DateCreated ('20061029') and TimeCreated ('062751-0500') joined as EXIF time text."""
    d = re.fullmatch(r"\s*(\d{4})(\d\d)(\d\d)\s*", date_text or "")
    t = re.fullmatch(r"\s*(\d\d)(\d\d)(\d\d)([+\-]\d\d\d\d)?\s*", time_text or "")
    if not d or not t:
        return None
    zone = f"{t[4][:3]}:{t[4][3:]}" if t[4] else ""
    return f"{d[1]}:{d[2]}:{d[3]} {t[1]}:{t[2]}:{t[3]}{zone}"


def gps_datetime(date_text: str | None, time_values: list[float] | None) -> datetime | None:
    """EXIF GPSDateStamp ('2014:09:16') + GPSTimeStamp ([h, m, s]) as a UTC datetime."""
    if not date_text or not time_values or len(time_values) != 3:
        return None
    day = parse_datetime(date_text, date_only=True)
    if day is None:
        return None
    h, mi, s = time_values
    if not (0 <= h < 24 and 0 <= mi < 60 and 0 <= s < 61):
        return None
    try:
        return day.replace(tzinfo=UTC) + timedelta(hours=h, minutes=mi, seconds=s)
    except OverflowError:
        return None
