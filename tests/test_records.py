"""Every kind of analysis record: read back as written, held to its schema, and read from earlier versions.

A field renamed in a record's to_json breaks these tests (its schema has every field, and no other),
and a report or export that stops showing it breaks the last ones.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from conftest import FIXTURES
from forensics.custody.canonical import loads_json
from forensics.custody.verify import verify_case
from forensics.custody.view import read_case
from forensics.incident import ingest
from forensics.record_kinds import AUDIO, DEDUP, FRAMES, METADATA, NEAR_DUPLICATES
from forensics.records import KINDS, record_from_json, schema_problems
from forensics.report.document import exported_case
from forensics.report.export import csv_bytes
from forensics.report.html import render_report
from forensics.step_failure import StepFailure

OLD = Path(__file__).parent / "data" / "old_records"


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory, export_tree: Path) -> Path:
    """The demo incident and, as a second source, the messenger exports of fixtures/make_exports.py: every kind."""
    from forensics.custody.signing import new_key

    root = tmp_path_factory.mktemp("records")
    return Path(ingest([FIXTURES / "incident", export_tree], root / "case",
                       key=new_key("Ines", root / "ines.key")).case)


def _records(case: Path) -> list[tuple[str, dict]]:
    view = read_case(case)
    return [(kind, loads_json((case / record.path).read_bytes()))
            for item in view.items for kind, record in sorted(item.item.records.items())]


def test_every_record_an_ingest_writes_follows_its_schema_and_reads_back_as_written(case):
    records = _records(case)
    assert {kind for kind, _ in records} == set(KINDS)
    for kind, data in records:
        assert schema_problems(kind, data) == [], kind
        assert record_from_json(kind, data).to_json() == data, kind


def test_a_renamed_or_missing_field_breaks_the_schema(case):
    for kind, data in _records(case):
        if kind == METADATA:
            renamed = {**data, "device": {**data["device"], "software_name": data["device"]["software"]}}
            del renamed["device"]["software"]
            assert any("software" in p for p in schema_problems(kind, renamed))
        field = max(k for k in data if k not in ("record_version", "format_version"))  # one every record has
        assert schema_problems(kind, {k: v for k, v in data.items() if k != field}), (kind, field)
        assert schema_problems(kind, {**data, "new_field": 1}), kind


@pytest.mark.parametrize("path", sorted(OLD.glob("*/*.json")), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_records_of_earlier_versions_follow_their_schema_and_are_read(path):
    kind = path.name.split(".")[-2]
    data = json.loads(path.read_bytes())
    assert data.get("record_version") == {"before-peaks": 2, "before-range": 3, "before-pitch": 4}.get(path.parent.name)
    assert schema_problems(kind, data) == []
    record = record_from_json(kind, data)
    if path.parent.name == "before-peaks":
        assert record.links and all(m.peaks_z is None and m.pitched_z is not None for m in record.links)
    if path.parent.name == "before-range":
        assert record.links and all(m.query_range_db is None and m.peaks_z is not None for m in record.links)
    if path.parent.name == "before-pitch":
        assert record.links and all(m.peaks_pitch is None and m.peaks_pitch_gain is None
                                    and m.query_range_db is not None for m in record.links)
    if kind == FRAMES:
        assert record.parameters.rotation_cw_deg == 0 and record.thumbnail.startswith("data/derived/")
    if kind == NEAR_DUPLICATES:
        assert record.graded == (path.parent.name != "before-confidence") and record.matches
    if kind == AUDIO and record.links:
        assert (record.links[0].confidence is None) == (path.parent.name == "before-confidence")
    if kind == DEDUP:
        assert record.frame_count > 0


def test_a_failed_step_reads_as_its_failure():
    assert record_from_json(FRAMES, {"error": "no frames"}) == StepFailure(FRAMES, "no frames")
    assert record_from_json(AUDIO, {"error": None, "tracks": []}).to_json() == {"error": None, "tracks": []}
    assert schema_problems(FRAMES, {"error": "no frames"}) == []
    assert schema_problems(FRAMES, {"error": "no frames", "frames": []})


def test_verify_finds_a_record_that_does_not_follow_its_schema(tmp_path, alice):
    from forensics.custody.case import open_case

    path = Path(ingest([FIXTURES / "incident" / "photo"], tmp_path / "case", key=alice, analyse=False).case)
    with open_case(path, alice, create=False) as opened:
        item = next(iter(opened.state.items))
        opened.add_record(item, METADATA, {"record_version": 2, "path": "IMG_0001.jpg"})
    found = [f for f in verify_case(path).findings if f.code == "record-schema"]
    assert found and all(f.subject.endswith("/metadata.json") for f in found)
    view = read_case(path)  # a report leaves it out, and says so
    assert [r["kind"] for r in view.unusable_records] == [METADATA]


def test_the_device_and_software_a_record_names_show_in_the_report_and_the_exports(case):
    view = read_case(case)
    photo = view.item_named("photo/IMG_0001_edited.jpg")
    assert photo.metadata.device.software == "Adobe Photoshop 25.0 (Windows)"
    html = render_report(view, verify_case(case)).files["index.html"].decode()
    assert "<dt>software</dt><dd>Adobe Photoshop 25.0 (Windows)</dd>" in html
    assert "<dt>device</dt><dd>samsung SM-A525F</dd>" in html
    document = exported_case(view)
    # The json export's item, in its own keys: a renamed record field must break this, not blank the export.
    item = next(i for i in document.to_json()["items"] if i["sha256"] == photo.sha256)
    assert item["device"]["software"] == "Adobe Photoshop 25.0 (Windows)" and item["gps"]["latitude_deg"] == 36.20213
    rows = {r["sha256"]: r for r in csv.DictReader(io.StringIO(csv_bytes(document).decode("utf-8-sig")))}
    assert (rows[photo.sha256]["software"], rows[photo.sha256]["device_model"]) == \
        ("Adobe Photoshop 25.0 (Windows)", "SM-A525F")
    original = view.item_named("video/strike_original.mp4")
    assert original.frames.frames and original.audio.tracks and original.near_duplicates.group


def test_a_near_duplicates_record_in_an_earlier_versions_words_is_rewritten_only_when_it_says_less(tmp_path, alice):
    from forensics.custody.case import open_case
    from forensics.pipeline.analyses import record_near_duplicates

    path = Path(ingest([FIXTURES / "incident" / "photo"], tmp_path / "case", key=alice).case)

    def as_version_1(opened, *, drop_confidence: bool) -> dict[str, str]:
        written = {}
        for sha256, item in opened.state.items.items():
            if NEAR_DUPLICATES in item.records:
                data = loads_json((path / item.records[NEAR_DUPLICATES].path).read_bytes())
                data.pop("record_version", None)
                for match in data["matches"] if drop_confidence else ():
                    del match["confidence"]
                written[sha256] = opened.add_record(sha256, NEAR_DUPLICATES, data).sha256
        return written

    with open_case(path, alice, create=False) as opened:
        old = as_version_1(opened, drop_confidence=False)
        assert len(old) == 2 and record_near_duplicates(opened) == 2
        assert {s: opened.state.items[s].records[NEAR_DUPLICATES].sha256 for s in old} == old  # says the same
        old = as_version_1(opened, drop_confidence=True)
        record_near_duplicates(opened)
        assert all(opened.state.items[s].records[NEAR_DUPLICATES].sha256 != old[s] for s in old)
    assert verify_case(path).intact
