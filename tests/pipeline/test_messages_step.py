"""Ingest of a folder holding messenger and platform exports: each item gets the messages that carried it."""

from __future__ import annotations

import json
from pathlib import Path

import make_exports  # fixtures/, on the path tests/conftest.py gives

from conftest import FIXTURES, bag_valid
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


def test_half_a_utf16_pair_in_an_export_is_kept_as_its_escape_and_ingest_goes_on(tmp_path, alice):
    """A yt-dlp title cut inside an emoji, a Telegram name with a lone surrogate: no UTF-8 text can hold either,
    and writing them once crashed every later ingest of the case."""
    tree = tmp_path / "received"
    (tree / "yt").mkdir(parents=True)
    (tree / "yt" / "v.info.json").write_text('{"id":"v","title":"t\\ud83d","uploader":"U","webpage_url":'
                                             '"https://e.org/v","extractor":"generic","ext":"jpg",'
                                             '"timestamp":1796457600}')
    (tree / "yt" / "v.jpg").write_bytes((FIXTURES / "incident" / "photo" / "IMG_0001.jpg").read_bytes())
    (tree / "tg").mkdir()
    (tree / "tg" / "result.json").write_text('{"name":"c\\udcff","type":"personal_chat","id":1,"messages":[{"id":1,'
                                             '"type":"message","date":"2026-12-05T10:00:00","date_unixtime":'
                                             '"1796457600","from":"A","photo":"photos/x\\udcff.jpg","text":"t"}]}')
    case = tmp_path / "case"
    ingest([tree], case, key=alice, incident="strike")
    items = _items(case, "strike")
    carried = record_from_json("messages", json.loads((case / items["yt/v.jpg"]["records"]["messages"]["path"])
                                                      .read_bytes()))
    assert carried.carriers[0].message.title == "t\\ud83d"
    export = record_from_json("export", json.loads((case / items["tg/result.json"]["records"]["export"]["path"])
                                                   .read_bytes()))
    assert export.export.chat == "c\\udcff" and [a.named for a in export.absent] == ["photos/x\\udcff.jpg"]
    assert any("half of a UTF-16 pair" in u.note for u in export.export.unparsed)
    ingest([FIXTURES / "incident"], case, key=alice, incident="later")  # the case takes more in
    assert verify_case(case).intact


def test_an_export_that_cannot_be_read_says_why_on_its_item(tmp_path, alice):
    tree = tmp_path / "received"
    tree.mkdir()
    (tree / "result.json").write_text('{"name": "c", "type": "personal_chat", "id": 1, "messages": [{"id": 1, "ty')
    case = tmp_path / "case"
    ingest([tree], case, key=alice, incident="strike")
    item = _items(case, "strike")["result.json"]
    record = json.loads((case / item["records"]["export"]["path"]).read_bytes())
    assert "cut short or damaged" in record["error"]
    report = verify_case(case)
    assert report.intact, report.to_json()


def test_the_same_bytes_under_the_same_name_in_two_folders_keep_both_contexts(tmp_path, alice):
    """Two exports, each beside its own copy of photos/a.jpg (the same bytes, size and time): each copy is a
    receipt of its own, read and hashed, and the item is carried by both chats."""
    import os
    import shutil

    photo = FIXTURES / "incident" / "photo" / "IMG_0001.jpg"
    for folder, sender, chat in (("A", "Alice", "chatA"), ("B", "Bob", "chatB")):
        root = tmp_path / folder
        (root / "photos").mkdir(parents=True)
        shutil.copy2(photo, root / "photos" / "a.jpg")
        os.utime(root / "photos" / "a.jpg", ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
        (root / "result.json").write_text(json.dumps(
            {"name": chat, "type": "personal_chat", "id": 1, "messages": [
                {"id": 1, "type": "message", "date": "2026-12-05T10:00:00", "date_unixtime": "1796457600",
                 "from": sender, "photo": "photos/a.jpg", "text": "t"}]}))
    case = tmp_path / "case"
    ingest([tmp_path / "A", tmp_path / "B"], case, key=alice, incident="strike")
    item = _items(case, "strike")["photos/a.jpg"]
    assert {r["source_root"] for r in item["received"]} == {str(tmp_path / "A"), str(tmp_path / "B")}
    record = record_from_json("messages", json.loads((case / item["records"]["messages"]["path"]).read_bytes()))
    assert {c.message.sender for c in record.carriers} == {"Alice", "Bob"}
    # Run again: nothing new, from either folder.
    again = ingest([tmp_path / "A", tmp_path / "B"], case, key=alice, incident="strike")
    assert again.counts.get("added", 0) == 0 and again.counts.get("duplicate", 0) == 0
