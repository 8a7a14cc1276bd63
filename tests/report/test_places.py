"""Places: great-circle distances, outliers named, null island and broken positions left out, a figure offline."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest

from forensics.report.figure import Text
from forensics.report.places import Position, distance_rows, great_circle_km, places, places_figure, places_svg

KYIV = (50.4501, 30.5234)
KHARKIV = (49.9935, 36.2304)
SVG = "{http://www.w3.org/2000/svg}"


def _unit(lat_deg: float, lon_deg: float) -> tuple[float, float, float]:
    lat, lon = math.radians(lat_deg), math.radians(lon_deg)
    return math.cos(lat) * math.cos(lon), math.cos(lat) * math.sin(lon), math.sin(lat)


def arc_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """The angle between the two points' unit vectors (atan2 of cross and dot), times the mean radius."""
    u, v = _unit(*a), _unit(*b)
    cross = (u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0])
    dot = sum(x * y for x, y in zip(u, v))
    return 6371.0088 * math.atan2(math.sqrt(sum(c * c for c in cross)), dot)


def test_kyiv_to_kharkiv_is_about_409_km():
    km = great_circle_km(KYIV, KHARKIV)
    assert km == pytest.approx(arc_km(KYIV, KHARKIV), abs=1e-6)
    assert 405 < km < 413
    found = places([Position("a", "kyiv.jpg", *KYIV, "EXIF GPS"), Position("b", "kharkiv.mp4", *KHARKIV, "QuickTime")])
    assert [(d.a, d.b) for d in found.distances] == [("a", "b")]
    assert found.distances[0].km == pytest.approx(arc_km(KYIV, KHARKIV), abs=1e-6)


def positions() -> list[Position]:
    return [Position("a", "kyiv.jpg", *KYIV, "EXIF GPS"),
            Position("b", "kyiv-2.jpg", 50.4512, 30.5301, "EXIF GPS"),
            Position("c", "kyiv-3.mp4", 50.4470, 30.5200, "QuickTime ISO6709"),
            Position("d", "new-york.jpg", 40.7128, -74.0060, "EXIF GPS"),
            Position("e", "sydney.jpg", -33.8688, 151.2093, "EXIF GPS"),
            Position("f", "unset.jpg", 0.0, 0.0, "EXIF GPS"),
            Position("g", "broken.jpg", 95.0, 10.0, "XMP"),
            Position("h", "nan.jpg", float("nan"), 10.0, "XMP")]


def test_outliers_on_other_continents_are_named_and_remarked_upon():
    found = places(positions())
    assert [p.item_id for p, _km in found.outliers] == ["d", "e"]
    km = {p.item_id: k for p, k in found.outliers}
    assert km["d"] == pytest.approx(min(arc_km((40.7128, -74.0060), (p.latitude_deg, p.longitude_deg))
                                        for p in positions()[:3]), abs=1e-6)
    assert any("cannot all be where one incident happened" in r for r in found.remarks)
    assert any(r.startswith("new-york.jpg claims a position 7,5") for r in found.remarks)
    assert len(found.distances) == 5 * 4 // 2


def test_three_places_far_apart_each_is_an_outlier():
    found = places([Position("a", "kyiv.jpg", *KYIV, "EXIF"), Position("d", "ny.jpg", 40.7128, -74.0060, "EXIF"),
                    Position("e", "sydney.jpg", -33.8688, 151.2093, "EXIF")])
    assert len(found.outliers) == 3
    assert "The 3 positions are 3 places: no two lie within 50 km of each other, so each is an outlier." \
        in found.remarks


def test_the_outlier_distance_is_a_parameter():
    near = [Position("a", "kyiv.jpg", *KYIV, "EXIF"), Position("b", "kyiv-2.jpg", 50.4512, 30.5301, "EXIF"),
            Position("c", "kharkiv.mp4", *KHARKIV, "QuickTime")]
    assert [p.item_id for p, _ in places(near).outliers] == ["c"]
    assert places(near, outlier_km=500).outliers == ()


def test_null_island_and_broken_positions_are_left_out_and_listed():
    found = places(positions())
    reasons = {p.item_id: reason for p, reason in found.left_out}
    assert set(reasons) == {"f", "g", "h"}
    assert "null island" in reasons["f"] and "outside" in reasons["g"] and "not a number" in reasons["h"]
    svg = places_svg(found)
    assert "unset.jpg" in svg and "left out because 0, 0" in svg


def test_the_figure_is_offline_escaped_and_the_same_bytes_each_time():
    hostile = Position("x", "<script>alert(1)</script>\n\udcff.jpg", 50.45, 30.52, 'XMP "<b>"')
    found = places([*positions(), hostile])
    svg = places_svg(found)
    assert svg == places_svg(places([*positions(), hostile]))
    root = ET.fromstring(svg)
    assert {e.tag.removeprefix(SVG) for e in root.iter()} <= {"svg", "title", "rect", "line", "circle", "text"}
    assert "<script>" not in svg and "\\xff.jpg" in svg and "\n" not in svg
    assert "href" not in svg and "http" not in svg.replace("http://www.w3.org/2000/svg", "")
    assert " km" in svg  # the scale bar
    for element in root.iter():
        for name in ("x", "x1", "x2", "cx"):
            if name in element.attrib:
                assert 0 <= float(element.attrib[name]) <= 380


def test_no_positions():
    found = places([])
    assert found.centre is None and found.outliers == () and found.distances == ()
    ET.fromstring(places_svg(found))


def _spread(clusters: int, per_cluster: int, singles: int) -> list[Position]:
    """Positions on a grid of cities over every continent, 600 km or more apart; a cluster's own are 1 km apart."""
    centres = [(lat, lon) for lat in range(-60, 70, 6) for lon in range(-170, 180, 8)]
    assert len(centres) >= clusters + singles
    found = []
    for c in range(clusters):
        lat, lon = centres[c]
        found += [Position(f"c{c}-{n}", f"c{c}-{n}.jpg", lat + n * 0.009, lon, "EXIF GPS") for n in range(per_cluster)]
    found += [Position(f"s{n}", f"s{n}.jpg", *centres[clusters + n], "EXIF GPS") for n in range(singles)]
    return found


def test_the_wording_counts_every_place_of_a_spread_out_case():
    # 10 places of 8 positions and 60 of one: 70 places. "10 groups of 8" alone hid the other 60.
    found = places(_spread(10, 8, 60))
    assert ("The 140 positions are 70 places more than 50 km apart (10 of 8 positions each and 60 of one "
            "position): no one place holds most of them, so which is the incident's place cannot be told from them; "
            "each position far from all the others is named.") in found.remarks
    assert len(found.outliers) == 60
    # One place larger than the rest but holding 9 of 63: no main place either (a minority names no incident's
    # place); the sentence still counts every place, and the lone positions are named.
    found = places([*_spread(3, 8, 38), Position("x", "x.jpg", -60.0 + 8 * 0.009, -170.0, "EXIF GPS")])
    sentence = next(r for r in found.remarks if " positions are " in r)
    assert sentence.startswith("The 63 positions are 41 places more than 50 km apart (1 of 9 positions, 2 of 8 "
                               "positions each and 38 of one position): no one place holds most of them")
    assert len(found.outliers) == 38
    # Two in one town and three scattered (a case of the shared data): not a main place of two, three outliers.
    found = places([*_spread(1, 2, 3)])
    assert "no one place holds most of them" in next(r for r in found.remarks if " positions are " in r)
    # A place that holds most of the positions is the main place; every other is an outlier of it.
    found = places(_spread(1, 30, 5))
    sentence = next(r for r in found.remarks if " positions are " in r)
    assert sentence == ("The 35 positions are 6 places more than 50 km apart (1 of 30 positions and 5 of one "
                        "position): the place of 30 positions is taken as the main place; the others are outliers.")
    assert len(found.outliers) == 5


def test_the_wording_for_two_positions_and_for_one_town():
    apart = places([Position("a", "kyiv.jpg", *KYIV, "EXIF"), Position("b", "ny.jpg", 40.7128, -74.0060, "EXIF")])
    assert apart.remarks[1] == "The 2 positions are 2 places: no two lie within 50 km of each other, so each is an outlier."
    town = places([Position(str(n), f"{n}.jpg", KYIV[0] + n * 0.001, KYIV[1], "EXIF") for n in range(70)])
    assert town.remarks == () and town.outliers == ()


def test_counts_of_one_are_said_in_the_singular():
    one = places([Position("a", "kyiv.jpg", *KYIV, "EXIF"), Position("g", "broken.jpg", 95.0, 10.0, "XMP")])
    figure = places_figure(one)
    texts = [s.text for s in figure.shapes if isinstance(s, Text)]
    assert texts[0] == "Places: 1 position claimed, at (50.4501, 30.5234)"
    assert figure.title == "Places: 1 position claimed, 0 outliers, 1 left out"
    two = places([Position("a", "kyiv.jpg", *KYIV, "EXIF"), Position("b", "kyiv-2.jpg", 50.4512, 30.5301, "EXIF"),
                  Position("c", "kharkiv.mp4", *KHARKIV, "QuickTime")])
    assert places_figure(two).title == "Places: 3 positions claimed, 1 outlier, 0 left out"
    assert distance_rows(two, max_rows=2).more_text == "... 1 more pair, not listed."
    assert distance_rows(two, max_rows=1).more_text == "... 2 more pairs, not listed."


def test_counts_in_headings_say_one_in_the_singular():
    from forensics.report.markup import counted

    assert [counted(n, "pair") for n in (0, 1, 2, 2415)] == ["0 pairs", "1 pair", "2 pairs", "2,415 pairs"]


def test_positions_either_side_of_the_180th_meridian_are_one_place_around_their_median():
    fiji = [Position(str(n), f"{n}.jpg", -17.7 + n * 0.0005, lon, "EXIF GPS")
            for n, lon in enumerate((179.999, -179.999, 179.998, -179.998))]
    found = places(fiji)
    assert found.centre is not None and abs(abs(found.centre[1]) - 180.0) < 0.01
    assert all(found.from_centre_km(p) < 1.0 for p in found.positions) and found.outliers == ()
    assert not any("apart" in r for r in found.remarks)
