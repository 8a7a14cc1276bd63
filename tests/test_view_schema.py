"""A record that verify rejects by its schema is unusable everywhere: never a fact of the report or the exports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import FIXTURES
from forensics.custody.canonical import loads_json
from forensics.custody.verify import verify_case
from forensics.custody.view import read_case
from forensics.incident import ingest
from forensics.record_kinds import METADATA
from forensics.records import record_from_json
from forensics.report.document import exported_case
from forensics.report.export import document_bytes
from forensics.report.html import render_report

FORGED = "Forged Editor 9.9"


def _relog_metadata(case: Path, key, name: str, change) -> str:
    """Logs again, with `key`, the metadata record of the item received as `name`, changed by `change`."""
    from forensics.custody.case import open_case

    view = read_case(case)
    item = view.item_named(name)
    data = loads_json((case / item.item.records[METADATA].path).read_bytes())
    change(data)
    with open_case(case, key, create=False) as opened:
        opened.add_record(item.sha256, METADATA, data)
    return item.sha256


@pytest.fixture
def case(tmp_path, alice) -> Path:
    return Path(ingest([FIXTURES / "incident" / "photo"], tmp_path / "case", key=alice).case)


def _shown(case: Path) -> dict[str, str]:
    """Everything the report and the three exports show of the case, by format."""
    view = read_case(case)
    verification = verify_case(case)
    exported = exported_case(view, verification)
    shown = {fmt: document_bytes(exported, fmt).decode("utf-8-sig") for fmt in ("json", "csv", "case-uco")}
    shown["html"] = render_report(view, verification).files["index.html"].decode()
    return shown


def test_a_record_the_reader_takes_but_its_schema_rejects_is_listed_unusable_and_shown_nowhere(case, alice):
    def forge(data):
        data["device"]["software"] = FORGED
        data["edited_by"] = "someone"  # a field no version of the record has: the schema refuses it

    sha256 = _relog_metadata(case, alice, "IMG_0001.jpg", forge)
    view = read_case(case)
    item = view.item(sha256)
    forged = loads_json((case / item.item.records[METADATA].path).read_bytes())
    assert record_from_json(METADATA, forged).device.software == FORGED  # the reader alone would show it

    findings = [f for f in verify_case(case).findings if f.code == "record-schema"]
    assert [f.subject for f in findings] == [item.item.records[METADATA].path]
    assert item.metadata is None and METADATA not in item.records
    [unusable] = view.unusable_records
    assert (unusable["kind"], unusable["path"]) == (METADATA, item.item.records[METADATA].path)
    assert unusable["reason"].startswith("does not follow its schema") and "edited_by" in unusable["reason"]
    assert unusable["reason"] in findings[0].message  # the report's words are verify's
    for fmt, text in _shown(case).items():
        assert FORGED not in text, fmt
    document = json.loads(_shown(case)["json"])
    assert document["unusable_records"] == [unusable]
    assert next(i for i in document["items"] if i["sha256"] == sha256)["device"] is None
    # The other photo's record is untouched and shown.
    other = view.item_named("IMG_0001_edited.jpg")
    assert other.metadata is not None and other.metadata.device.software == "Adobe Photoshop 25.0 (Windows)"


def test_a_record_about_another_file_is_unusable_as_verify_finds_it(case, alice):
    view = read_case(case)
    other = view.item_named("IMG_0001_edited.jpg").sha256
    _relog_metadata(case, alice, "IMG_0001.jpg", lambda data: data.update(sha256="sha256:" + other))
    assert any(f.code == "record-schema" and "not the file it is filed under" in f.message
               for f in verify_case(case).findings)
    [unusable] = read_case(case).unusable_records
    assert "not the file it is filed under" in unusable["reason"]


def test_records_that_follow_their_schema_are_all_used(case):
    view = read_case(case)
    assert view.unusable_records == () and verify_case(case).intact
    assert all(item.metadata is not None for item in view.items)
