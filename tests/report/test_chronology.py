"""The chronology: one axis in time order, clock zeros left out with the reason, hostile text escaped, same bytes."""

from __future__ import annotations

import random
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta, timezone

from forensics.report.chronology import (
    CAPTURE,
    CONTAINER,
    CUSTODY_RECEIVED,
    GPS_CLOCK,
    MESSAGE_SENT,
    TRANSMISSION,
    TimeEvent,
    chronology,
    chronology_svg,
)

KYIV = timezone(timedelta(hours=3))
SVG = "{http://www.w3.org/2000/svg}"


def events() -> list[TimeEvent]:
    return [
        TimeEvent("a", "strike.mp4", CAPTURE, datetime(2024, 3, 1, 11, 25, 40, tzinfo=KYIV), "QuickTime creationdate",
                  "2024-03-01T11:25:40+0300", links=("same footage 1",)),
        TimeEvent("a", "strike.mp4", CONTAINER, datetime(1904, 1, 1, tzinfo=UTC), "mvhd creation_time",
                  "1904-01-01T00:00:00Z"),
        TimeEvent("b", "copy.mp4", CAPTURE, datetime(2024, 3, 1, 10, 0, 0), "EXIF DateTimeOriginal",
                  "2024:03:01 10:00:00", links=("same footage 1",)),
        TimeEvent("b", "copy.mp4", GPS_CLOCK, datetime(1970, 1, 1, 0, 0, 5, tzinfo=UTC), "EXIF GPSDateStamp",
                  "1970:01:01"),
        TimeEvent("c", "radio.wav", TRANSMISSION, datetime(2024, 3, 1, 8, 26, tzinfo=UTC), "audio segments",
                  "08:26:00Z", uncertainty_s=600, uncertainty_reason="the scanner's clock is not synchronised",
                  links=("intercept match 1",)),
        TimeEvent("d", "phone.mp4", MESSAGE_SENT, datetime(2024, 3, 1, 9, 1, tzinfo=UTC), "Telegram result.json",
                  "1709283660", links=("intercept match 1",)),
        TimeEvent("a", "strike.mp4", CUSTODY_RECEIVED, datetime(2024, 3, 5, 9, 0, tzinfo=UTC), "custody log entry 3",
                  "2024-03-05T09:00:00Z"),
        TimeEvent("e", "empty.jpg", CAPTURE, None, "EXIF DateTimeOriginal", "0000:00:00 00:00:00"),
    ]


def test_events_are_ordered_on_one_axis_in_utc_and_items_by_their_first_time():
    chron = chronology(events())
    placed = [(p.event.item_id, p.event.kind) for p in chron.placed]
    # 08:25:40Z (11:25:40+03:00), 08:26Z, 09:01Z, 10:00 of an unknown zone (read as UTC), then the receipt days later
    assert placed == [("a", CAPTURE), ("c", TRANSMISSION), ("d", MESSAGE_SENT), ("b", CAPTURE),
                      ("a", CUSTODY_RECEIVED)]
    assert chron.placed[0].at_utc == datetime(2024, 3, 1, 8, 25, 40, tzinfo=UTC)
    assert chron.item_order() == ["a", "c", "d", "b", "e"]
    unknown = chron.placed[3]
    assert not unknown.zone_known
    assert unknown.earliest_utc == datetime(2024, 2, 29, 20, 0, tzinfo=UTC)  # as if in UTC+14
    assert unknown.latest_utc == datetime(2024, 3, 1, 22, 0, tzinfo=UTC)  # as if in UTC-12
    radio = chron.placed[1]
    assert radio.latest_utc - radio.earliest_utc == timedelta(minutes=20)


def test_clock_zeros_and_unusable_times_are_left_out_with_the_reason():
    chron = chronology(events())
    reasons = {(left.event.item_id, left.event.kind): left.reason for left in chron.left_out}
    assert set(reasons) == {("a", CONTAINER), ("b", GPS_CLOCK), ("e", CAPTURE)}
    assert "1904-01-01" in reasons[("a", CONTAINER)] and "QuickTime" in reasons[("a", CONTAINER)]
    assert "Unix" in reasons[("b", GPS_CLOCK)]
    assert "not a usable date" in reasons[("e", CAPTURE)]
    early = chronology([TimeEvent("x", "old.jpg", CAPTURE, datetime(1985, 6, 1, tzinfo=UTC), "EXIF", "1985")])
    assert not early.placed and "before 1990-01-01" in early.left_out[0].reason
    svg = chronology_svg(chronology(events()))
    assert "left out because 1904-01-01 is the QuickTime" in svg
    assert "zone unknown" in svg and "= 2024-03-01 08:25:40Z" in svg  # the zone the file gives, and UTC


def test_hostile_names_are_escaped_and_the_svg_is_self_contained():
    hostile = "<script>alert(1)</script>\nsecond line\u202egpj.exe \udcff\udcfe.mp4"
    chron = chronology([TimeEvent("h", hostile, CAPTURE, datetime(2024, 3, 1, 8, tzinfo=UTC), 'tag "<b>" &', "x",
                                  links=("same footage <i>1</i>",)),
                        TimeEvent("g", "other.mp4", CAPTURE, datetime(2024, 3, 1, 9, tzinfo=UTC), "EXIF", "y",
                                  links=("same footage <i>1</i>",))])
    svg = chronology_svg(chron)
    svg.encode("utf-8")  # no lone surrogate survives
    root = ET.fromstring(svg)  # well-formed XML
    assert root.tag == f"{SVG}svg"
    names = {element.tag.removeprefix(SVG) for element in root.iter()}
    assert names <= {"svg", "title", "rect", "line", "circle", "text"}
    for element in root.iter():
        for attribute, value in element.attrib.items():
            assert not attribute.startswith("on") and "href" not in attribute
            assert "url(" not in value and "http" not in value.replace("http://www.w3.org/2000/svg", "")
    text = " ".join("".join(t.itertext()) for t in root.iter(f"{SVG}text"))
    assert "<script>alert(1)</script>\\nsecond line\\u202egpj.exe \\xff\\xfe.mp4" in text.replace("  ", " ")
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "\u202e" not in svg and "\n" not in svg


def test_the_figure_is_the_same_bytes_whatever_the_order_given_and_fits_a_phone():
    given = events()
    first = chronology_svg(chronology(given))
    for seed in range(5):
        shuffled = given[:]
        random.Random(seed).shuffle(shuffled)
        assert chronology_svg(chronology(shuffled)) == first
    root = ET.fromstring(first)
    assert root.attrib["width"] == "100%" and root.attrib["viewBox"].startswith("0 0 380 ")
    for element in root.iter():
        for name in ("x", "x1", "x2", "cx"):
            if name in element.attrib:
                assert 0 <= float(element.attrib[name]) <= 380, (element.tag, element.attrib)
    # a wrapped line never runs past the right edge at the widest letters assumed (0.6 em)
    for element in root.iter(f"{SVG}text"):
        size = float(element.attrib["font-size"])
        assert float(element.attrib["x"]) + len(element.text or "") * size * 0.6 <= 380 + 1e-6, element.text


def test_links_connect_their_members_and_are_named():
    svg = chronology_svg(chronology(events()))
    assert "L1: intercept match 1" in svg and "L2: same footage 1" in svg
    assert 'stroke="#7a3e9d"' in svg  # the connecting marks


def test_no_events():
    chron = chronology([])
    assert chron.placed == () and chron.left_out == ()
    ET.fromstring(chronology_svg(chron))
