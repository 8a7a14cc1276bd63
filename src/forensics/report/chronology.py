"""The chronology: every time an item claims or the case recorded, on one axis, with what each is worth.

A time whose zone is unknown (a camera's local clock) is drawn as the interval
every zone in use allows (UTC-12 to UTC+14), never as an instant. A clock's
zero (1904-01-01, the Unix and DOS epochs, the GPS epoch, year 1) or a time
before any such device could have written it is left out and listed with the
reason. Events of one same-footage group or one intercept match share a link
id, drawn as a mark connecting them. Same events in, same figure out, byte for
byte: every order has a tie-breaker and every number a fixed format.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from forensics.report.figure import (
    ACCENT,
    BAD,
    INK,
    LINE,
    LINK,
    MUTED,
    Circle,
    Figure,
    Line,
    Rect,
    Shape,
    Text,
    chars_per_line,
    figure_svg,
    shown_text,
    wrap,
)
from forensics.report.markup import counted

CAPTURE = "capture"
DIGITIZED = "digitized"
MODIFIED = "modified"
CONTAINER = "container"
TRACK = "track"
GPS_CLOCK = "GPS clock"
MESSAGE_SENT = "message sent"
CUSTODY_RECEIVED = "custody received"
TRANSMISSION = "transmission"
# Among events at one instant: what the file says first, then what was sent, then what custody recorded.
_KIND_ORDER = {k: n for n, k in enumerate((CAPTURE, DIGITIZED, GPS_CLOCK, TRANSMISSION, CONTAINER, TRACK, MODIFIED,
                                          MESSAGE_SENT, CUSTODY_RECEIVED))}

# A local time without a zone is some instant between these two offsets from it (the zones in use).
EARLIEST_OFFSET = timedelta(hours=14)  # UTC+14 (Line Islands): the instant is 14 h before the local time read as UTC
LATEST_OFFSET = timedelta(hours=12)  # UTC-12: 12 h after

# Days on which a clock that was never set, or a zero field, says it is.
CLOCK_ZEROS: Mapping[date, str] = {
    date(1, 1, 1): "year 1: an empty date field",
    date(1904, 1, 1): "1904-01-01 is the QuickTime and Mac clock's zero: a time that was never set",
    date(1970, 1, 1): "1970-01-01 is the Unix clock's zero: a time that was never set",
    date(1980, 1, 1): "1980-01-01 is the DOS and FAT clock's zero: a time that was never set",
    date(1980, 1, 6): "1980-01-06 is the GPS clock's zero: a receiver without a fix",
}
EARLIEST_PLAUSIBLE = datetime(1990, 1, 1, tzinfo=UTC)  # before any digital camera or phone wrote such a time
MAX_LINK_LANES = 12  # connecting marks side by side before they share a lane (at 380 px, 250 px stay for text)


@dataclass(frozen=True, slots=True)
class TimeEvent:
    """One time an item claims, or the case recorded about it."""

    item_id: str  # what tells items apart: the item's sha256 or exhibit number
    label: str  # the item's name as received (evidence text: escaped when drawn)
    kind: str  # CAPTURE, CONTAINER, GPS_CLOCK, MESSAGE_SENT, CUSTODY_RECEIVED, TRANSMISSION, ...
    time: datetime | None  # aware: an instant; naive: a local time of an unknown zone; None: no usable time
    source: str  # where it was read: the tag, the export, the log entry
    text: str  # the time as written there, verbatim
    uncertainty_s: float | None = None  # how far the instant may be off either way, when known
    uncertainty_reason: str = ""  # why it may be off (a clock not synchronised, a day-only date...)
    links: tuple[str, ...] = ()  # same-footage group and intercept match ids: events sharing one are connected


@dataclass(frozen=True, slots=True)
class PlacedEvent:
    """An event on the axis: where it is drawn, and the span of instants it may stand for."""

    event: TimeEvent
    at_utc: datetime  # the instant; for a zone unknown, the local time read as UTC
    earliest_utc: datetime
    latest_utc: datetime

    @property
    def zone_known(self) -> bool:
        return self.event.time is not None and self.event.time.tzinfo is not None


@dataclass(frozen=True, slots=True)
class LeftOut:
    event: TimeEvent
    reason: str


@dataclass(frozen=True, slots=True)
class Chronology:
    """The events in time order, and those left out with the reason."""

    placed: tuple[PlacedEvent, ...]
    left_out: tuple[LeftOut, ...]

    def item_order(self) -> list[str]:
        """Gives the item ids in the order of each item's earliest time on the axis, then those with none."""
        order: dict[str, None] = {}
        for placed in self.placed:
            order.setdefault(placed.event.item_id, None)
        for left in self.left_out:
            order.setdefault(left.event.item_id, None)
        return list(order)


def _sort_key(event: TimeEvent) -> tuple[object, ...]:
    return (_KIND_ORDER.get(event.kind, len(_KIND_ORDER)), event.kind, event.item_id, event.label, event.source,
            event.text, event.links)


def implausible_reason(value: datetime, *, earliest: datetime = EARLIEST_PLAUSIBLE,
                       latest: datetime | None = None) -> str | None:
    """Gives why a time cannot be placed (a clock's zero, earlier than any such device), or None."""
    day = value.date()
    for zero, reason in CLOCK_ZEROS.items():
        if abs((day - zero).days) <= 1:
            return reason
    as_utc = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if as_utc < earliest:
        return f"before {earliest.date().isoformat()}: earlier than any device that writes such a time, a clock not set"
    if latest is not None and as_utc > latest:
        return f"after {latest.isoformat().replace('+00:00', 'Z')}, when this was made: a clock set ahead"
    return None


def chronology(events: Iterable[TimeEvent], *, earliest_plausible: datetime = EARLIEST_PLAUSIBLE,
               latest_plausible: datetime | None = None) -> Chronology:
    """Gives the events ordered on one axis (in UTC), and those that cannot be placed with the reason."""
    placed: list[PlacedEvent] = []
    left: list[LeftOut] = []
    for event in sorted(events, key=_sort_key):
        if event.time is None:
            left.append(LeftOut(event, "not a usable date (a zero or unreadable field)"))
            continue
        reason = implausible_reason(event.time, earliest=earliest_plausible, latest=latest_plausible)
        if reason is not None:
            left.append(LeftOut(event, reason))
            continue
        if event.time.tzinfo is None:
            at = event.time.replace(tzinfo=UTC)
            earliest, latest = at - EARLIEST_OFFSET, at + LATEST_OFFSET
        else:
            at = event.time.astimezone(UTC)
            spread = timedelta(seconds=abs(event.uncertainty_s or 0.0))
            earliest, latest = at - spread, at + spread
        placed.append(PlacedEvent(event, at, earliest, latest))
    placed.sort(key=lambda p: (p.at_utc, *_sort_key(p.event)))
    return Chronology(tuple(placed), tuple(left))


def time_text(value: datetime) -> str:
    """Gives a time as the file states it, and in UTC beside it when its zone is known and is not UTC."""
    if value.tzinfo is None:
        return f"{value.isoformat(sep=' ')} (zone unknown)"
    stated = value.isoformat(sep=" ").replace("+00:00", "Z")
    utc = value.astimezone(UTC)
    if value.utcoffset() == timedelta(0):
        return stated
    return f"{stated} = {utc.isoformat(sep=' ').replace('+00:00', 'Z')}"


def _duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"


def _uncertainty(placed: PlacedEvent) -> str:
    event = placed.event
    if not placed.zone_known:
        low = placed.earliest_utc.isoformat(sep=" ").replace("+00:00", "Z")
        high = placed.latest_utc.isoformat(sep=" ").replace("+00:00", "Z")
        return f"zone unknown: any instant from {low} to {high} (UTC-12 to UTC+14)"
    parts = []
    if event.uncertainty_s:
        parts.append(f"± {event.uncertainty_s:g} s")
    if event.uncertainty_reason:
        parts.append(event.uncertainty_reason)
    return ", ".join(parts)


class _Axis:
    """Maps an instant to a height: through the rows' own instants, so order is kept and any interval spans
    exactly the rows it overlaps, however far apart the times."""

    def __init__(self, knots: list[tuple[datetime, float]], top: float, bottom: float) -> None:
        self.knots = knots
        self.top, self.bottom = top, bottom

    def y(self, value: datetime) -> float:
        knots = self.knots
        if value <= knots[0][0]:
            return knots[0][1] if value == knots[0][0] else self.top
        if value >= knots[-1][0]:
            return knots[-1][1] if value == knots[-1][0] else self.bottom
        for (t0, y0), (t1, y1) in itertools.pairwise(knots):
            if t0 <= value <= t1:
                share = (value - t0) / (t1 - t0)
                return y0 + share * (y1 - y0)
        return self.bottom  # not reached: the knots cover the span


def chronology_figure(chron: Chronology, *, width_px: float = 380.0, font_px: float = 10.0) -> Figure:
    """Gives the chronology drawn down one axis, a row per event, readable at a phone's width."""
    line_h = font_px * 1.3
    bar_lane: dict[int, int] = {}
    lane_end: list[datetime] = []
    for n, p in enumerate(chron.placed):  # intervals on lanes left of the axis, greedily, so none hides another
        if p.earliest_utc == p.latest_utc:
            continue
        lane = next((k for k, end in enumerate(lane_end) if end < p.earliest_utc), None)
        if lane is None:
            lane_end.append(p.latest_utc)
            lane = len(lane_end) - 1
        lane_end[lane] = p.latest_utc
        bar_lane[n] = min(lane, 5)
    axis_x = 10.0 + 5.0 * min(len(lane_end), 6)
    link_ids = sorted({link for p in chron.placed for link in p.event.links})
    # A lane per link, up to MAX_LINK_LANES; past that, lanes are shared (the legend still names each link).
    link_x = {link: axis_x + 10.0 + 6.0 * (n % MAX_LINK_LANES) for n, link in enumerate(link_ids)}
    label_x = axis_x + 14.0 + 6.0 * min(len(link_ids), MAX_LINK_LANES)
    text_chars = chars_per_line(width_px - label_x - 4.0, font_px)
    full_chars = chars_per_line(width_px - 8.0, font_px)

    shapes: list[Shape] = []
    y = 4.0
    heading = (f"Chronology: {counted(len(chron.placed), 'time')} of "
               f"{counted(len({p.event.item_id for p in chron.placed}), 'item')} "
               "on one axis, earliest first" if chron.placed else "Chronology: no time could be placed")
    for text in wrap(heading, full_chars):
        y += line_h
        shapes.append(Text(4.0, y, text, font_px, bold=True))
    y += 6.0
    top = y
    rows: list[float] = []  # each event's dot height
    for n, p in enumerate(chron.placed):
        if n and p.at_utc - chron.placed[n - 1].at_utc > timedelta(hours=1):
            y += line_h
            shapes.append(Text(label_x, y - 2.0, f"… {_duration(p.at_utc - chron.placed[n - 1].at_utc)} later",
                               font_px * 0.9, fill=MUTED))
        event = p.event
        lines = [(f"{time_text(event.time) if event.time else ''} · {event.kind}", True, INK)]
        lines += [(t, False, INK) for t in wrap(shown_text(event.label), text_chars)]
        lines += [(t, False, MUTED) for t in wrap(shown_text(f"from {event.source}"), text_chars)]
        detail = _uncertainty(p)
        lines += [(t, False, BAD if not p.zone_known else MUTED) for t in wrap(detail, text_chars)] if detail else []
        rows.append(y + line_h * 0.7)
        for text, bold, fill in lines:
            for piece in wrap(text, text_chars) if bold else [text]:
                y += line_h
                shapes.append(Text(label_x, y, piece, font_px, bold=bold, fill=fill))
        y += 5.0
    bottom = max(y, top + line_h)
    if chron.placed:
        knots: list[tuple[datetime, float]] = []
        for p, row in zip(chron.placed, rows):
            if knots and knots[-1][0] == p.at_utc:
                continue  # one instant, one height: the first of its rows
            knots.append((p.at_utc, row))
        axis = _Axis(knots, top, bottom)
        shapes.insert(0, Line(axis_x, top, axis_x, bottom, stroke=LINE, width=1.5))
        for n, (p, row) in enumerate(zip(chron.placed, rows)):
            if n in bar_lane:
                x = axis_x - 5.0 - 5.0 * bar_lane[n]
                y0, y1 = axis.y(p.earliest_utc), axis.y(p.latest_utc)
                colour = BAD if not p.zone_known else ACCENT
                shapes.append(Line(x, y0, x, y1, stroke=colour, width=2.0, dashed=not p.zone_known))
                shapes.append(Line(x, row, axis_x, row, stroke=colour, width=0.8))
            shapes.append(Line(axis_x, row, label_x - 2.0, row, stroke=LINE, width=0.5))
            shapes.append(Circle(axis_x, row, 3.2, fill=ACCENT if p.zone_known else None,
                                 stroke=ACCENT if p.zone_known else BAD))
        for link, x in link_x.items():
            member_rows = [row for p, row in zip(chron.placed, rows) if link in p.event.links]
            if len(member_rows) < 2:
                continue
            dashed = link.lower().startswith("intercept")
            shapes.append(Line(x, min(member_rows), x, max(member_rows), stroke=LINK, width=1.5, dashed=dashed))
            shapes.extend(Line(axis_x + 3.5, row, x, row, stroke=LINK, width=1.0) for row in member_rows)
            shapes.append(Text(x, min(member_rows) - 3.0, _link_mark(link_ids, link), font_px * 0.8, anchor="middle",
                               fill=LINK))
    y = bottom + 4.0
    notes = [("● a time with its zone (or UTC); ○ a local time of unknown zone, its dashed bar every instant "
             "the zones in use allow; a solid bar a stated uncertainty.")]
    notes += [f"{_link_mark(link_ids, link)}: {link} (connects its members' rows)" for link in link_ids]
    if chron.left_out:
        notes.append(f"Left out, not drawn ({len(chron.left_out)}):")
        notes += [f"- {left.event.label} · {left.event.kind} · {left.event.text!s} from {left.event.source}: "
                  f"left out because {left.reason}" for left in chron.left_out]
    for note in notes:
        for text in wrap(shown_text(note), full_chars):
            y += line_h
            shapes.append(Text(4.0, y, text, font_px, fill=MUTED))
    height = y + 6.0
    shapes.insert(0, Rect(0.5, 0.5, width_px - 1.0, height - 1.0, fill=None, stroke=LINE))
    title = (f"Chronology of {len(chron.placed)} times on one axis; {len(chron.left_out)} left out"
             if chron.placed or chron.left_out else "Chronology: no times")
    return Figure(width_px, height, title, tuple(shapes))


def _link_mark(link_ids: list[str], link: str) -> str:
    return f"L{link_ids.index(link) + 1}"


def chronology_svg(chron: Chronology, *, width_px: float = 380.0) -> str:
    """Gives the chronology figure as a self-contained SVG (no script, no outside reference)."""
    return figure_svg(chronology_figure(chron, width_px=width_px))
