"""Where items claim to be, relative to each other: distances, outliers, and a figure that needs no map.

Positions are projected azimuthally (equidistant) around their median, so each
point's distance and bearing from the median are true on the figure whatever
the spread, and a scale bar gives kilometres; there are no map tiles, so the
figure is made offline and shows only what the files claim. Distances between
items are great circles on a sphere of the Earth's mean radius (off by at most
0.5% from the ellipsoid). A position far from all the others is named as an
outlier; a null island (0, 0), a latitude or longitude outside its range or not
a number, is an unset or broken GPS field: left out and listed, and so are GPS
tags that hold no number at all (a rational with a zero denominator), which the
caller finds in the raw tags and passes as `unreadable`.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import combinations, pairwise

from forensics.report.figure import (
    ACCENT,
    BAD,
    INK,
    LINE,
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

EARTH_RADIUS_KM = 6371.0088  # the mean radius (IUGG)
# A position farther than this from every position of the main place (the group of positions chained
# within this distance of each other that holds most of them), or without one from every other, is named
# as an outlier.
OUTLIER_KM = 50.0
FAR_APART_KM = 1000.0  # positions spread wider than this cannot all be one incident's place
MAX_DISTANCES = 300  # pairs a report lists under the places figure; more are counted, not listed


@dataclass(frozen=True, slots=True)
class Position:
    """A position an item claims."""

    item_id: str
    label: str  # the item's name as received (evidence text)
    latitude_deg: float
    longitude_deg: float
    source: str  # the tag it came from
    written: str = ""  # the tags as the file writes them, for a position whose numbers cannot be read

    def coordinates_text(self) -> str:
        """Gives the coordinates as a left-out list shows them: as written when they hold no number."""
        return self.written or f"{self.latitude_deg!r}, {self.longitude_deg!r}"


@dataclass(frozen=True, slots=True)
class Distance:
    a: str  # item ids, a before b in the order given
    b: str
    km: float


@dataclass(frozen=True, slots=True)
class Places:
    """The positions that hold, their centre, their distances, and what stands out."""

    positions: tuple[Position, ...]
    left_out: tuple[tuple[Position, str], ...]  # with the reason
    centre: tuple[float, float] | None  # median latitude and longitude, degrees
    distances: tuple[Distance, ...]  # every pair once
    outliers: tuple[tuple[Position, float], ...]  # with the km to the nearest position of the main place
    remarks: tuple[str, ...]  # sentences for the reader: spread, outliers
    outlier_km: float

    def from_centre_km(self, position: Position) -> float:
        return 0.0 if self.centre is None else great_circle_km(self.centre, (position.latitude_deg,
                                                                                position.longitude_deg))


def great_circle_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Gives the great-circle distance between two (latitude, longitude) points in degrees (haversine), in km."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def _invalid(position: Position) -> str | None:
    lat, lon = position.latitude_deg, position.longitude_deg
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return "not a number"
    if not -90.0 <= lat <= 90.0 or not -180.0 <= lon <= 180.0:
        return f"outside the Earth's range (latitude {lat:g}, longitude {lon:g})"
    if abs(lat) < 1e-6 and abs(lon) < 1e-6:
        return "0, 0 ('null island', in the Gulf of Guinea): a GPS field never filled"
    return None


def _median(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Gives the median latitude and longitude; longitudes are taken around the circle, cut at their widest gap,
    so that positions either side of the 180th meridian (Fiji, Chukotka) have their median beside them, not at 0."""
    longitudes = sorted(p[1] for p in points)
    gaps = [b - a for a, b in pairwise(longitudes)] + [longitudes[0] + 360.0 - longitudes[-1]]
    widest = max(range(len(gaps)), key=gaps.__getitem__)
    cut = longitudes[(widest + 1) % len(longitudes)]  # the first longitude after the widest gap
    unwrapped = [lon if lon >= cut else lon + 360.0 for lon in longitudes]
    middle = statistics.median(unwrapped)
    return statistics.median(p[0] for p in points), middle - 360.0 if middle > 180.0 else middle


def places(positions: Iterable[Position], *, outlier_km: float = OUTLIER_KM,
           unreadable: Iterable[tuple[Position, str]] = ()) -> Places:
    """Gives the valid positions, their median, pairwise great-circle distances and the outliers, named.

    `unreadable` are GPS tags that give no position at all, with why: they are listed as left out, after the
    positions that are out of range.
    """
    kept: list[Position] = []
    left: list[tuple[Position, str]] = []
    for position in positions:
        reason = _invalid(position)
        if reason is None:
            kept.append(position)
        else:
            left.append((position, reason))
    left += unreadable
    points = [(p.latitude_deg, p.longitude_deg) for p in kept]
    centre = _median(points) if points else None
    distances = tuple(Distance(kept[i].item_id, kept[j].item_id, great_circle_km(points[i], points[j]))
                      for i in range(len(kept)) for j in range(i + 1, len(kept)))
    outliers, remarks = _outliers(kept, points, outlier_km)
    spread = max((d.km for d in distances), default=0.0)
    if spread > FAR_APART_KM:
        remarks.insert(0, f"The positions claimed lie up to {spread:,.0f} km apart: they cannot all be where one "
                       "incident happened. Some name another place (an upload, a device set elsewhere) or are false.")
    remarks += [f"{shown_text(p.label)} claims a position {km:,.0f} km from the nearest of the others "
                f"({p.latitude_deg:.5f}, {p.longitude_deg:.5f}, from {shown_text(p.source)})." for p, km in outliers]
    return Places(tuple(kept), tuple(left), centre, distances, tuple(outliers), tuple(remarks), outlier_km)


def _outliers(kept: list[Position], points: list[tuple[float, float]],
              outlier_km: float) -> tuple[list[tuple[Position, float]], list[str]]:
    """Gives the positions outside the main place (the largest group chained within `outlier_km`), with the km to
    its nearest member, and what to say when there is no one main place."""
    parent = list(range(len(kept)))

    def root(n: int) -> int:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    near: dict[tuple[int, int], float] = {}
    for a in range(len(kept)):
        for b in range(a + 1, len(kept)):
            near[(a, b)] = near[(b, a)] = km = great_circle_km(points[a], points[b])
            if km <= outlier_km:
                parent[root(a)] = root(b)
    groups: dict[int, list[int]] = {}
    for n in range(len(kept)):
        groups.setdefault(root(n), []).append(n)
    sizes = sorted((len(g) for g in groups.values()), reverse=True)
    remarks: list[str] = []
    if len(kept) < 2:
        return [], remarks
    if len(sizes) > 1:
        remarks.append(_places_sentence(sizes, outlier_km))
    if _has_main_place(sizes):
        main = next(g for g in groups.values() if len(g) == sizes[0])
        outside = [n for n in range(len(kept)) if n not in main]
        return [(kept[n], min(near[(n, m)] for m in main)) for n in outside], remarks
    alone = [n for g in groups.values() if len(g) == 1 for n in g]
    return [(kept[n], min(near[(n, m)] for m in range(len(kept)) if m != n)) for n in alone], remarks


def _has_main_place(sizes: list[int]) -> bool:
    """Whether the largest place (`sizes` largest first) holds most of the positions: only then are the others
    outliers of it (two positions of five in one town, three scattered, name no incident's place)."""
    return sizes[0] >= 2 and 2 * sizes[0] > sum(sizes)


def _places_sentence(sizes: list[int], outlier_km: float) -> str:
    """Gives how many places the positions form and how many positions each holds, every place counted.

    `sizes` are the positions of each place (a group chained within `outlier_km`), largest first, at least two.
    """
    # Every place is counted, the lone positions too: "10 groups of 8" alone hid 60 more places.
    total, places_n = sum(sizes), len(sizes)
    if sizes[0] == 1:
        return (f"The {total} positions are {places_n} places: no two lie within {outlier_km:g} km of each other, "
                "so each is an outlier.")
    by_size = sorted(Counter(sizes).items(), reverse=True)
    parts = [f"{count} of {size} positions" + (" each" if count > 1 else "") if size > 1 else
             f"{count} of one position" for size, count in by_size]
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    if not _has_main_place(sizes):
        ending = ("no one place holds most of them, so which is the incident's place cannot be told from them; "
                  "each position far from all the others is named.")
    else:
        ending = f"the place of {sizes[0]} positions is taken as the main place; the others are outliers."
    return (f"The {total} positions are {places_n} places more than {outlier_km:g} km apart ({listed}): "
            + ending)


@dataclass(frozen=True, slots=True)
class DistanceRows:
    """The distances a report lists under the places figure, the same in the HTML and the PDF."""

    rows: tuple[tuple[Position, Position, str], ...]  # the two positions and the great circle as shown
    not_listed: int  # pairs past the rows

    @property
    def more_text(self) -> str:
        return f"... {counted(self.not_listed, 'more pair')}, not listed." if self.not_listed else ""


def distance_rows(found: Places, *, max_rows: int = MAX_DISTANCES) -> DistanceRows:
    """Gives the first `max_rows` pairs of positions, each with its distance to the metre, and how many are left."""
    # `distances` holds every pair once, in the order combinations() gives them: zipped, each row has its pair.
    rows = tuple((a, b, f"{d.km:,.3f} km") for (a, b), d in zip(combinations(found.positions, 2),
                                                                 found.distances[:max_rows]))
    return DistanceRows(rows, max(0, len(found.distances) - max_rows))


def _project(centre: tuple[float, float], point: tuple[float, float]) -> tuple[float, float]:
    """Gives (east, north) km of `point` on the azimuthal equidistant projection around `centre`."""
    lat0, lon0, lat, lon = map(math.radians, (centre[0], centre[1], point[0], point[1]))
    cos_c = math.sin(lat0) * math.sin(lat) + math.cos(lat0) * math.cos(lat) * math.cos(lon - lon0)
    c = math.acos(max(-1.0, min(1.0, cos_c)))
    if c < 1e-12:
        return 0.0, 0.0
    k = c / math.sin(c) if math.sin(c) > 1e-12 else 0.0  # the antipode has no direction: drawn at the centre
    east = k * math.cos(lat) * math.sin(lon - lon0)
    north = k * (math.cos(lat0) * math.sin(lat) - math.sin(lat0) * math.cos(lat) * math.cos(lon - lon0))
    return east * EARTH_RADIUS_KM, north * EARTH_RADIUS_KM


def _nice_km(span_km: float) -> float:
    """Gives a round length (1, 2 or 5 times a power of ten) of about a quarter of `span_km`."""
    target = max(span_km / 4.0, 0.001)
    power = 10.0 ** math.floor(math.log10(target))
    return next(f * power for f in (5.0, 2.0, 1.0) if f * power <= target)


def _km(value: float) -> str:
    return f"{value:,.0f} km" if value >= 10 else f"{value:.2f} km" if value >= 0.1 else f"{value * 1000:.0f} m"


def places_figure(found: Places, *, width_px: float = 380.0, font_px: float = 10.0) -> Figure:
    """Gives the positions drawn around their median, numbered, with a scale bar and a numbered list."""
    line_h = font_px * 1.3
    full_chars = chars_per_line(width_px - 8.0, font_px)
    shapes: list[Shape] = []
    y = 4.0
    where = "at" if len(found.positions) == 1 else "around their median"
    heading = (f"Places: {counted(len(found.positions), 'position')} claimed, {where} "
               f"({found.centre[0]:.4f}, {found.centre[1]:.4f})" if found.centre else "Places: no position claimed")
    for text in wrap(heading, full_chars):
        y += line_h
        shapes.append(Text(4.0, y, text, font_px, bold=True))
    y += 6.0
    if found.centre is not None:
        centre = found.centre
        xy = [_project(centre, (p.latitude_deg, p.longitude_deg)) for p in found.positions]
        reach = max((max(abs(e), abs(n)) for e, n in xy), default=0.0)
        reach = max(reach, 0.05)  # one spot: a plot of 100 m around it
        side = width_px - 40.0
        scale = (side / 2.0 - 12.0) / reach  # px per km
        cx, cy = width_px / 2.0, y + side / 2.0
        shapes.append(Rect(20.0, y, side, side, fill=None, stroke=LINE))
        shapes.append(Line(cx - 6, cy, cx + 6, cy, stroke=MUTED))
        shapes.append(Line(cx, cy - 6, cx, cy + 6, stroke=MUTED))
        shapes.append(Text(cx + 2, y + 12.0, "N ↑", font_px * 0.9, fill=MUTED))
        outlying = {id(p) for p, _km in found.outliers}
        drawn: list[tuple[float, float]] = []
        for n, (position, (east, north)) in enumerate(zip(found.positions, xy), start=1):
            px, py = cx + east * scale, cy - north * scale
            colour = BAD if id(position) in outlying else ACCENT
            shapes.append(Circle(px, py, 4.0, fill=colour, stroke=colour))
            # Numbers of points drawn on one spot go one under the other, so none hides another.
            under = sum(1 for x, y_ in drawn if abs(x - px) < 14.0 and abs(y_ - py) < 10.0)
            drawn.append((px, py))
            shapes.append(Text(px + 6.0, py - 4.0 + under * font_px, str(n), font_px, fill=colour, bold=True))
        bar_km = _nice_km(reach * 2.0)
        bar_px = bar_km * scale
        base = y + side - 10.0
        shapes.append(Line(28.0, base, 28.0 + bar_px, base, stroke=INK, width=2.0))
        shapes.append(Line(28.0, base - 4, 28.0, base + 2, stroke=INK))
        shapes.append(Line(28.0 + bar_px, base - 4, 28.0 + bar_px, base + 2, stroke=INK))
        shapes.append(Text(28.0, base - 6.0, _km(bar_km), font_px * 0.9))
        y += side + 4.0
        for n, position in enumerate(found.positions, start=1):
            line = (f"{n}. {shown_text(position.label)}: {position.latitude_deg:.5f}, {position.longitude_deg:.5f} "
                    f"from {shown_text(position.source)}; {_km(found.from_centre_km(position))} from the median")
            colour = BAD if id(position) in outlying else INK
            for text in wrap(line, full_chars):
                y += line_h
                shapes.append(Text(4.0, y, text, font_px, fill=colour))
    notes = list(found.remarks)
    notes.append(f"Outlier: a position more than {found.outlier_km:g} km from every position of the main place "
                 "(the group within that distance of each other that holds most positions), or, without one, from "
                 "every other position. Azimuthal "
                 "equidistant projection around the median: distances from it are true; no map, only the claims.")
    if found.left_out:
        notes.append(f"Left out, not drawn ({len(found.left_out)}):")
        notes += [f"- {shown_text(p.label)}: {shown_text(p.coordinates_text())} from {shown_text(p.source)}: "
                  f"left out because {reason}" for p, reason in found.left_out]
    for note in notes:
        y += 2.0
        for text in wrap(note, full_chars):
            y += line_h
            shapes.append(Text(4.0, y, text, font_px, fill=MUTED))
    height = y + 6.0
    shapes.insert(0, Rect(0.5, 0.5, width_px - 1.0, height - 1.0, fill=None, stroke=LINE))
    return Figure(width_px, height, f"Places: {counted(len(found.positions), 'position')} claimed, "
                                    f"{counted(len(found.outliers), 'outlier')}, {len(found.left_out)} left out",
                  tuple(shapes))


def places_svg(found: Places, *, width_px: float = 380.0) -> str:
    """Gives the places figure as a self-contained SVG (no script, no map tiles, no outside reference)."""
    return figure_svg(places_figure(found, width_px=width_px))
