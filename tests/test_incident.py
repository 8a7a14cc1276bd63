"""Ingest of the demo incident: custody plus metadata records and frames, resumable after a kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from conftest import FIXTURES, REPO, bag_valid
from forensics.custody.verify import verify_case
from forensics.incident import ingest


def items_by_name(case: Path) -> dict[str, dict]:
    manifest = json.loads((case / "custody/manifests/incident.json").read_bytes())
    return {r["name"]: item for item in manifest["items"] for r in item["received"]}


def record(case: Path, item: dict, kind: str) -> dict:
    return json.loads((case / item["records"][kind]["path"]).read_bytes())


def test_ingest_stores_metadata_records_and_frames_as_logged_derived_files(tmp_path, alice):
    result = ingest([FIXTURES / "incident"], tmp_path / "case", key=alice)
    case = Path(result.case)
    assert result.analysed == {"metadata": 7, "frames": 3, "dedup": 5, "audio": 5}
    items = items_by_name(case)
    assert "metadata" not in items["notes.txt"]["records"]
    photo = record(case, items["photo/IMG_0001.jpg"], "metadata")
    assert photo["path"] == "photo/IMG_0001.jpg" and photo["sha256"].endswith(items["photo/IMG_0001.jpg"]["sha256"])
    assert round(photo["gps"]["latitude_deg"], 5) == 36.20213 and photo["device"]["make"] == "samsung"
    edited = record(case, items["photo/IMG_0001_edited.jpg"], "metadata")
    assert {"editing_software", "datetime_modified"} <= {f["code"] for f in edited["flags"]}
    video = items["video/strike_original.mp4"]
    frames = record(case, video, "frames")
    assert [s["start_s"] for s in frames["shots"]] == [0.0, 3.0, 5.6]  # the fixture's cuts
    assert {f["pts_s"] for f in frames["frames"] if f["key_frame"]} == {0.0, 2.0, 4.0, 6.0}
    derived = {d["path"]: d for d in video["derived"]}
    for frame in frames["frames"]:
        entry = derived[frame["path"]]
        assert entry["source_sha256"] == video["sha256"] and entry["operation"] == "frames.keyframes+scenes"
        assert entry["parameters"]["pts_s"] == frame["pts_s"] and entry["parameters"]["time_base"] == "1/12800"
        assert (case / frame["path"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (case / frames["contact_sheet"]).exists() and (case / frames["thumbnail"]).exists()
    assert verify_case(case).intact
    bag_valid(case)
    # The decoders ran in worker processes, so a file that crashes one costs only that file.
    log = [json.loads(line) for line in (case / "custody/log.jsonl").read_bytes().splitlines()]
    workers = {e["details"]["performed_on"]["pid"] for e in log if e["action"] == "analysed"
               and e["details"]["kind"] in ("frames", "dedup")}
    assert workers and os.getpid() not in workers
    again = ingest([FIXTURES / "incident"], case, key=alice)
    assert again.added_nothing and again.analysed == {"metadata": 0, "frames": 0, "dedup": 0, "audio": 0}


def test_ingest_records_hashes_and_the_near_duplicates_of_each_item(tmp_path, alice):
    result = ingest([FIXTURES / "incident"], tmp_path / "case", key=alice)
    case = Path(result.case)
    items = items_by_name(case)
    key = {name: f"sha256:{item['sha256']}" for name, item in items.items()}
    hashes = record(case, items["video/strike_original.mp4"], "dedup")
    assert hashes["kind"] == "video" and hashes["key"] == key["video/strike_original.mp4"]
    assert "dedup" not in items["notes.txt"]["records"] and "dedup" not in items["audio/intercept_full.wav"]["records"]
    original = record(case, items["video/strike_original.mp4"], "near-duplicates")
    assert original["group"] == sorted([key["video/strike_original.mp4"], key["video/strike_whatsapp.mp4"]])
    by_other = {(m["b"] if m["a"] == key["video/strike_original.mp4"] else m["a"]): m for m in original["matches"]}
    excerpt = by_other[key["video/strike_excerpt.mp4"]]
    assert excerpt["relation"] == ("b_contains_a" if excerpt["a"] == key["video/strike_excerpt.mp4"] else "a_contains_b")
    start = excerpt["b_start_s"] if excerpt["b"] == key["video/strike_original.mp4"] else excerpt["a_start_s"]
    assert abs(start - 4.0) < 0.3  # the fixture's excerpt is the original's [4, 7)
    photos = record(case, items["photo/IMG_0001.jpg"], "near-duplicates")
    assert key["photo/IMG_0001_edited.jpg"] in photos["group"]
    assert verify_case(case).intact


def test_a_kill_during_analysis_is_completed_by_the_next_ingest_without_duplicates(tmp_path):
    case = tmp_path / "case"
    env = {"PYTHONPATH": f"{REPO / 'src'}:{REPO / 'cli'}", "FORENSICS_KEY_DIR": str(tmp_path / "keys"),
           "PATH": "/usr/bin:/bin"}
    args = [sys.executable, "-m", "forensics_cli.main", "ingest", str(FIXTURES / "incident"), "--case", str(case),
            "--quiet", "--actor", "alice"]
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline and not (case / "data/derived").exists():
        time.sleep(0.001)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL, "the ingest ended before the analysis could be interrupted"
    assert subprocess.run(args, env=env, capture_output=True, check=False).returncode == 0
    assert verify_case(case).intact
    bag_valid(case)
    log = [json.loads(line) for line in (case / "custody/log.jsonl").read_bytes().splitlines()]
    derived = Counter(e["objects"][1]["sha256"] for e in log if e["action"] == "derived")
    analysed = Counter((e["objects"][0]["sha256"], e["details"]["kind"]) for e in log if e["action"] == "analysed")
    assert derived and max(derived.values()) == 1
    # 7 metadata, 3 frames, 5 dedup hashes, 5 near-duplicates records (every photo and video has a match), 5 audio
    assert len(analysed) == 25 and max(analysed.values()) == 1


def test_a_record_this_program_cannot_read_is_left_as_it_is_by_a_later_ingest(tmp_path, alice):
    """A logged record another version wrote, or one tampered with and logged again by someone holding the key: the
    next ingest neither stops on it nor writes over it; verify reports it."""
    from forensics.custody.case import open_case

    case = Path(ingest([FIXTURES / "incident"], tmp_path / "case", key=alice).case)
    items = items_by_name(case)
    original, other = items["video/strike_original.mp4"], items["photo/IMG_0001.jpg"]
    with open_case(case, alice) as c:
        c.add_record(original["sha256"], "near-duplicates",
                     {"record_version": 2, "group": [], "matches": [{"confidence": "certain"}], "scene_matches": []})
        c.add_record(other["sha256"], "metadata", {"record_version": 99, "path": "x"})
    before = {name: (case / item["records"][kind]["path"]).read_bytes()
              for name, item, kind in (("o", items_by_name(case)["video/strike_original.mp4"], "near-duplicates"),
                                       ("p", items_by_name(case)["photo/IMG_0001.jpg"], "metadata"))}
    again = ingest([FIXTURES / "incident"], case, key=alice)
    assert again.counts.get("added", 0) == 0
    after = items_by_name(case)
    assert (case / after["video/strike_original.mp4"]["records"]["near-duplicates"]["path"]).read_bytes() == before["o"]
    assert (case / after["photo/IMG_0001.jpg"]["records"]["metadata"]["path"]).read_bytes() == before["p"]
    findings = {f.code for f in verify_case(case).findings}
    assert "record-schema" in findings


def test_a_record_with_a_date_or_duration_past_any_clock_is_reported_not_a_crash(tmp_path, alice):
    from forensics.custody.case import open_case
    from forensics.custody.view import read_case
    from forensics.report.document import exported_case
    from forensics.report.export import csv_bytes
    from forensics.report.html import render_report

    case = Path(ingest([FIXTURES / "incident"], tmp_path / "case", key=alice).case)
    item = items_by_name(case)["video/strike_original.mp4"]
    data = record(case, item, "metadata")
    data["container"]["duration_s"] = 1e300
    data["captured_at"] = data["captured_at_utc"] = "9999-12-31T23:59:59Z"
    with open_case(case, alice) as c:
        c.add_record(item["sha256"], "metadata", data)
    view = read_case(case)
    verification = verify_case(case)
    assert "index.html" in render_report(view, verification).files
    assert b"strike_original.mp4" in csv_bytes(exported_case(view, verification))


def test_records_swapped_between_two_items_are_found(tmp_path, alice):
    from forensics.custody.case import open_case

    case = Path(ingest([FIXTURES / "incident"], tmp_path / "case", key=alice).case)
    items = items_by_name(case)
    a, b = items["video/strike_original.mp4"], items["video/strike_whatsapp.mp4"]
    a_record, b_record = record(case, a, "metadata"), record(case, b, "metadata")
    with open_case(case, alice) as c:  # someone holding the key files each item's record under the other
        c.add_record(a["sha256"], "metadata", b_record)
        c.add_record(b["sha256"], "metadata", a_record)
    messages = [f.message for f in verify_case(case).findings if f.code == "record-schema"]
    assert len(messages) == 2 and all("not the file it is filed under" in m for m in messages)
