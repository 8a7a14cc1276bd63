"""A case's times and positions, as the chronology and places take them, from the fixture incident."""

from __future__ import annotations

from case_builder import ReportCase, report_case  # noqa: F401
from forensics.custody.view import read_case
from forensics.report.case_claims import case_positions, case_time_events
from forensics.report.chronology import CONTAINER, CUSTODY_RECEIVED, chronology
from forensics.report.places import places


def test_every_receipt_and_claimed_time_is_an_event_and_clock_zeros_are_left_out(report_case: ReportCase):
    view = read_case(report_case.path)
    events = case_time_events(view)
    received = [e for e in events if e.kind == CUSTODY_RECEIVED]
    assert len(received) == sum(len(item.item.receipts) for item in view.items)
    chron = chronology(events)
    left = {(e.event.label, e.event.kind) for e in chron.left_out}
    assert ("video/strike_whatsapp.mp4", CONTAINER) in left  # its container says 1904-01-01
    assert all("1904" in e.reason for e in chron.left_out if e.event.kind == CONTAINER)
    original = report_case.sha256["video/strike_original.mp4"]
    linked = [e for e in events if e.item_id == original and e.links]
    assert len(linked) == 1  # one anchor per item carries its links
    assert any(link.startswith("same footage") for link in linked[0].links)
    assert any(link.startswith("intercept match") for link in linked[0].links)
    order = chron.item_order()
    assert order[0] == original and set(order) == {item.sha256 for item in view.items}


def test_positions_name_their_source_and_sit_together(report_case: ReportCase):
    view = read_case(report_case.path)
    found = places(case_positions(view, labels={report_case.sha256["photo/IMG_0001.jpg"]: "E8 photo"}))
    assert {p.label for p in found.positions} >= {"E8 photo", "video/strike_original.mp4"}
    assert {p.source for p in found.positions} >= {"EXIF GPS"}
    assert found.outliers == () and max(d.km for d in found.distances) < 1.0
