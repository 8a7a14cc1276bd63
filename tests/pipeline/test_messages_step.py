"""Ingest of a folder holding messenger and platform exports: each item gets the messages that carried it."""

from __future__ import annotations

import json
from pathlib import Path

import make_exports  # fixtures/, on the path tests/conftest.py gives

from conftest import bag_valid
from forensics.custody.verify import verify_case
from forensics.incident import ingest
from forensics.messages import scan_exports
from forensics.records import record_from_json


def _items(case: Path, incident: str) -> dict[str, dict]:
    manifest = json.loads((case / f"custody/manifests/{incident}.json").read_bytes())
    return {r["name"]: item for item in manifest["items"] for r in item["received"]}


def test_each_received_item_gets_the_messages_that_carried_it_and_each_export_its_reading(tmp_path, alice):
    tree = tmp_path / "received"
    make_exports.generate(tree)
    scan = scan_exports(tree)  # what the folder's exports say, read in place
    result = ingest([tree], tmp_path / "case", key=alice, incident="strike")
    case = Path(result.case)
    items = _items(case, "strike")
    carried = {f.path: {(c.message.export, c.message.where) for c in f.carriers} for f in scan.files if f.carriers}
    assert carried
    for name, expected in carried.items():
        item = items[name]
        record = record_from_json("messages", json.loads((case / item["records"]["messages"]["path"]).read_bytes()))
        got = {(c.message.export, c.message.where) for c in record.carriers}
        assert expected <= got, name  # a copy of the same bytes received under another name adds its messages
    for export in scan.exports:
        record = record_from_json("export", json.loads((case / items[export.path]["records"]["export"]["path"])
                                                       .read_bytes()))
        assert record.export.form == export.form and record.message_count == len(export.messages)
        assert [a.named for a in record.absent] == [a.named for a in scan.absent if a.export == export.path]
    report = verify_case(case)
    assert report.intact, report.to_json()
    bag_valid(case)
    # A second run over the same folder rewrites nothing.
    lines = (case / "custody/log.jsonl").read_bytes().count(b"\n")
    ingest([tree], case, key=alice, incident="strike")
    later = (case / "custody/log.jsonl").read_bytes().splitlines()[lines:]
    assert later and not any(b'"kind":"messages"' in line or b'"kind":"export"' in line for line in later)
