"""The read-only view: reads a case as the custody package does, and never writes to it."""

from __future__ import annotations

import pytest

from conftest import FIXTURES, snapshot
from forensics.custody.log import read_entries
from forensics.custody.view import read_case
from forensics.errors import CaseInvalid
from forensics.incident import ingest


def test_reading_a_case_with_a_torn_last_line_changes_nothing_and_leaves_the_line_out(tmp_path, alice):
    case = tmp_path / "case"
    ingest([FIXTURES / "incident" / "photo"], case, key=alice, incident="photos", analyse=False)
    log = case / "custody/log.jsonl"
    complete = list(read_entries(log))
    with open(log, "ab") as f:
        f.write(b'{"action":"received","actor":"half a li')  # a run killed while appending
    before = snapshot(case / "custody")
    view = read_case(case)
    assert snapshot(case / "custody") == before
    assert [e.line_hash for e in view.entries] == [e.line_hash for e in complete]
    assert sorted(v.display_name for v in view.items) == ["IMG_0001.jpg", "IMG_0001_edited.jpg"]
    photo = view.item_named("IMG_0001.jpg")
    assert photo.display_name == "IMG_0001.jpg" and view.item_named(photo.item.stored.path) is photo
    assert view.item_named("sha256:" + view.items[0].sha256) is view.items[0]


def test_a_damaged_log_line_is_an_error_that_says_to_run_verify(tmp_path, alice):
    case = tmp_path / "case"
    ingest([FIXTURES / "incident" / "photo"], case, key=alice, analyse=False)
    log = case / "custody/log.jsonl"
    lines = log.read_bytes().split(b"\n")
    lines[1] = lines[1].replace(b'"received"', b'"receivedX"', 1) + b" "
    log.write_bytes(b"\n".join(lines))
    with pytest.raises(CaseInvalid, match="forensics verify"):
        read_case(case)
    with pytest.raises(CaseInvalid, match="not a case folder"):
        read_case(tmp_path)
