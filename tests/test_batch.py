"""Batch runs over incident folders: a case each, resumable after a kill, the same on Dask."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from conftest import FIXTURES, REPO, as_library_format_3, bag_valid
from forensics.batch import incident_folders, run_batch
from forensics.custody.case import open_case
from forensics.custody.verify import verify_case
from forensics.errors import ParameterError
from forensics.pipeline.runners import dask_runner, process_runner, thread_runner


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """Three incident folders made of the fixture files, one with a name a shell would choke on."""
    root = tmp_path / "incidents"
    shutil.copytree(FIXTURES / "incident", root / "strike-a")
    b = root / "strike b\nnight"
    (b / "clips").mkdir(parents=True)
    shutil.copy(FIXTURES / "incident/video/strike_excerpt.mp4", b / "clips")
    shutil.copy(FIXTURES / "incident/photo/IMG_0001.jpg", b)
    c = root / "strike-c"
    c.mkdir()
    shutil.copy(FIXTURES / "incident/video/strike_whatsapp.mp4", c)
    os.mkfifo(c / "a fifo")  # skipped with its reason, not read: a read would block for ever
    (root / ".hidden").mkdir()
    return root


def _incidents(summaries) -> list:
    """The incidents' summaries; the root's hidden folder is the last summary's, reported and not taken in."""
    *incidents, loose = list(summaries)
    assert loose.incident == "" and [p["name"] for p in loose.problems] == [".hidden"] and loose.error
    return incidents


def manifests(cases: Path) -> dict[str, dict]:
    """Every case's manifest, without what differs between runs: times, case ids, log positions."""
    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("time", "case_id", "entry_hash", "seq",
                                                                       "log_head", "received_at", "log_seq")}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value
    return {p.parent.parent.parent.name: strip(json.loads(p.read_bytes()))
            for p in sorted(cases.glob("*/custody/manifests/*.json"))}


def test_a_case_per_incident_then_nothing_new(root: Path, tmp_path: Path, alice) -> None:
    assert [f.name for f in incident_folders(root)] == ["strike b\nnight", "strike-a", "strike-c"]
    with process_runner(2) as runner:
        first = _incidents(run_batch(root, tmp_path / "cases", key=alice, runner=runner))
        again = _incidents(run_batch(root, tmp_path / "cases", key=alice, runner=runner))
    assert [s.counts.get("added") for s in first] == [2, 8, 1]
    assert first[2].counts["skipped"] == 1 and "not a regular file" in first[2].problems[0]["reason"]
    assert [s.analysed for s in first] == [{"metadata": 2, "frames": 1, "dedup": 2, "audio": 1},
                                           {"metadata": 7, "frames": 3, "dedup": 5, "audio": 5},
                                           {"metadata": 1, "frames": 1, "dedup": 1, "audio": 1}]
    assert all(s.counts.get("added", 0) == 0 and sum(s.analysed.values()) == 0 for s in again)
    for summary in first:
        case = Path(summary.case)
        assert case.parent == tmp_path / "cases" and "\n" not in case.name
        assert verify_case(case).intact
        bag_valid(case)
        log = [json.loads(line) for line in (case / "custody/log.jsonl").read_bytes().splitlines()]
        per_file = [e for e in log if e["action"] == "analysed" and e["details"]["kind"] != "near-duplicates"]
        pids = {e["details"]["performed_on"]["pid"] for e in per_file}
        assert pids and os.getpid() not in pids  # computed by the pool's workers, recorded here


def test_the_cases_folder_may_not_lie_inside_the_incidents(root: Path, alice) -> None:
    with pytest.raises(ParameterError, match="inside"):
        list(run_batch(root, root / "cases", key=alice))
    with pytest.raises(ParameterError, match="no incident folder"):
        list(run_batch(root / "strike-c", root.parent / "cases", key=alice))


def test_a_busy_case_is_reported_and_the_batch_goes_on(root: Path, tmp_path: Path, alice) -> None:
    cases = tmp_path / "cases"
    with open_case(cases / "strike-a", alice):  # another run holds this one
        summaries = _incidents(run_batch(root, cases, key=alice, runner=thread_runner(2)))
    assert [s.error is None for s in summaries] == [True, False, True]
    assert "being written by" in summaries[1].error
    assert summaries[2].counts.get("added") == 1


def test_killed_at_any_moment_the_same_command_finishes_without_duplicates(root: Path, tmp_path: Path) -> None:
    env = {"PYTHONPATH": f"{REPO / 'src'}:{REPO / 'cli'}", "FORENSICS_KEY_DIR": str(tmp_path / "keys"),
           "PATH": "/usr/bin:/bin", "FORENSICS_ACTOR": "alice"}

    def batch(cases: Path) -> list[str]:
        return [sys.executable, "-m", "forensics_cli.main", "batch", str(root), "--cases", str(cases), "--quiet",
                "--workers", "2"]

    clean = tmp_path / "clean"
    assert subprocess.run(batch(clean), env=env, capture_output=True,
                          check=False).returncode == 1  # .hidden: reported, left out
    killed = tmp_path / "killed"
    # Killed twice: once while copying the second incident, once while analysing the third.
    for moment in (lambda: (killed / "strike-a/data/originals").exists(),
                   lambda: (killed / "strike-c/data/derived").exists()):
        proc = subprocess.Popen(batch(killed), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline and not moment():
            time.sleep(0.001)
        os.killpg(proc.pid, signal.SIGKILL)  # the pool's workers too, as a power cut would
        assert proc.wait() == -signal.SIGKILL, "the batch ended before it could be killed"
    done = subprocess.run([*batch(killed), "--json"], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 1, done.stderr
    assert [i["incident"] for i in json.loads(done.stdout)["incidents"]] == ["strike-b-night", "strike-a", "strike-c", ""]
    assert manifests(killed) == manifests(clean)
    for case in sorted(killed.iterdir()):
        assert verify_case(case).intact, case
        bag_valid(case)
        log = [json.loads(line) for line in (case / "custody/log.jsonl").read_bytes().splitlines()]
        received = Counter(e["details"]["name"]["name"] for e in log if e["action"] == "received")
        analysed = Counter((e["objects"][0]["sha256"], e["details"]["kind"]) for e in log if e["action"] == "analysed")
        assert received and max(received.values()) == 1, case
        assert analysed and max(analysed.values()) == 1, case


def test_dask_local_gives_the_cases_a_process_pool_gives(root: Path, tmp_path: Path, alice) -> None:
    pytest.importorskip("distributed")
    with process_runner(2) as pool:
        local = _incidents(run_batch(root, tmp_path / "pool", key=alice, runner=pool))
    with dask_runner("local", 2) as dask:
        remote = _incidents(run_batch(root, tmp_path / "dask", key=alice, runner=dask))
    assert [s.analysed for s in remote] == [s.analysed for s in local]
    assert manifests(tmp_path / "dask") == manifests(tmp_path / "pool")
    for case in (tmp_path / "dask").iterdir():
        records = sorted(p.relative_to(case) for p in (case / "custody/records").rglob("*.json"))
        assert records == sorted(p.relative_to(tmp_path / "pool" / case.name)
                                 for p in (tmp_path / "pool" / case.name / "custody/records").rglob("*.json"))
        for rel in records:
            assert (case / rel).read_bytes() == (tmp_path / "pool" / case.name / rel).read_bytes()


def test_the_cross_case_index_names_footage_and_transmissions_other_incidents_hold(root: Path, tmp_path: Path,
                                                                                    alice) -> None:
    index = tmp_path / "index"
    with thread_runner(2) as runner:
        summaries = {s.incident: s for s in run_batch(root, tmp_path / "cases", key=alice, runner=runner,
                                                      index=index)}
    assert summaries["strike-b-night"].elsewhere == ()  # the first incident: the index was empty
    a = summaries["strike-a"].elsewhere
    footage = {(e["name"], e["other_incident"], e["other_name"], e["relation"]) for e in a if e["kind"] == "footage"}
    assert ("video/strike_excerpt.mp4", "strike-b-night", "clips/strike_excerpt.mp4", "same") in footage
    assert ("photo/IMG_0001.jpg", "strike-b-night", "IMG_0001.jpg", "same") in footage
    contains = next(e for e in a if e["name"] == "video/strike_original.mp4" and e["kind"] == "footage"
                    and e["other_name"] == "clips/strike_excerpt.mp4")
    assert contains["relation"] == "a_contains_b" and abs(contains["span_s"][0] - 4.0) < 0.3  # the excerpt's place
    c = summaries["strike-c"].elsewhere
    assert {(e["kind"], e["other_incident"], e["other_name"]) for e in c} >= {
        ("footage", "strike-a", "video/strike_whatsapp.mp4"), ("intercept", "strike-a", "video/strike_whatsapp.mp4")}
    assert {"hashes.sqlite", "intercepts.sqlite"} <= {p.name for p in index.iterdir()}
    # Run again: nothing new in the cases, the same findings from the index.
    with thread_runner(2) as runner:
        again = {s.incident: s for s in run_batch(root, tmp_path / "cases", key=alice, runner=runner, index=index)}
    assert {e["other_name"] for e in again["strike-c"].elsewhere} >= {"video/strike_whatsapp.mp4"}
    # An index whose intercept library an earlier version made (format 3, no peaks): built again from the
    # fingerprints the cases stored when the index is opened, the old library kept beside it.
    from forensics.audio.library import FORMAT, Library, stored_format
    from forensics.pipeline.crosscase import CrossCaseIndex

    made = tmp_path / "as-made.sqlite"
    shutil.copyfile(index / "intercepts.sqlite", made)
    as_library_format_3(index / "intercepts.sqlite")
    with CrossCaseIndex(index):
        pass
    assert stored_format(index / "intercepts.sqlite") == FORMAT
    assert stored_format(index / "intercepts.3.sqlite") == "forensics-audio-library/3"
    assert not [p.name for p in index.iterdir() if p.name.startswith(".")]
    with Library(made, create=False) as before, Library(index / "intercepts.sqlite", create=False) as after:
        assert before.references() == after.references() and len(before.references()) >= 4
        every = np.arange(1 << 19)
        a, b = before.lookup(every), after.lookup(every)
        assert all(np.array_equal(x, y) for x, y in zip((a.hashes, a.entries, a.frames), (b.hashes, b.entries, b.frames)))
        for ref in before.references():
            x, y = before.frame_features(ref.entry), after.frame_features(ref.entry)
            assert np.array_equal(x.peak_frames, y.peak_frames) and np.array_equal(x.bits, y.bits)
    # Without a readable cases.json the old library cannot be built again: refused, the index left as it is.
    as_library_format_3(index / "intercepts.sqlite")
    (index / "cases.json").write_text('{"strike-a": [')
    held = {p.name: p.read_bytes() for p in index.iterdir()}
    with pytest.raises(ParameterError, match=r"cases\.json cannot be read: the index was left as it is"):
        CrossCaseIndex(index)
    assert {p.name: p.read_bytes() for p in index.iterdir()} == held
    # Nor when the old library is damaged (a page that lost a reference's row): refused, nothing left beside it.
    (index / "cases.json").write_text(json.dumps({"strike-a": [str(tmp_path / "cases" / "strike-a")]}))
    import sqlite3

    with sqlite3.connect(index / "intercepts.sqlite") as db:
        root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'entries'").fetchone()[0]
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
    data = bytearray((index / "intercepts.sqlite").read_bytes())
    header = (root - 1) * page_size + (100 if root == 1 else 0)
    rows = int.from_bytes(data[header + 3:header + 5], "big")
    assert data[header] == 0x0D and rows >= 2
    data[header + 3:header + 5] = (rows - 1).to_bytes(2, "big")
    (index / "intercepts.sqlite").write_bytes(bytes(data))
    held = {p.name: p.read_bytes() for p in index.iterdir()}
    with pytest.raises(ParameterError, match="damaged intercept library"):
        CrossCaseIndex(index)
    assert {p.name: p.read_bytes() for p in index.iterdir()} == held


def test_a_photo_of_a_still_room_is_checked_across_incidents_on_their_stored_copies(tmp_path: Path, alice) -> None:
    # Incident A holds a photo of a room where nothing moves, B a photo of it at another hour (a thing added
    # since) and a copy of A's. The thumbnails cannot tell them; the check at full size, on the cases' stored
    # copies, does: B's copy is A's photo, B's other photo is not.
    import cv2
    import numpy as np

    sys.path.insert(0, str(REPO / "benchmarks"))
    import dedup_edits

    world = dedup_edits._texture(np.random.default_rng(97), 360, 640)
    root = tmp_path / "incidents"
    for name in ("strike-a", "strike-b"):
        (root / name).mkdir(parents=True)
    cv2.imwrite(str(root / "strike-a" / "room.png"), world)
    cv2.imwrite(str(root / "strike-b" / "room-copy.jpg"), world, [cv2.IMWRITE_JPEG_QUALITY, 85])
    later = world.copy()
    cv2.circle(later, (200, 150), 20, (40, 200, 220), -1)  # about 0.5% of the picture
    cv2.imwrite(str(root / "strike-b" / "room-later.png"), later)
    index = tmp_path / "index"
    with thread_runner(2) as runner:
        summaries = {s.incident: s for s in run_batch(root, tmp_path / "cases", key=alice, runner=runner,
                                                      index=index)}
    found = {(e["name"], e["other_name"]) for e in summaries["strike-b"].elsewhere if e["kind"] == "footage"}
    assert ("room-copy.jpg", "room.png") in found
    assert ("room-later.png", "room.png") not in found
    assert json.loads((index / "cases.json").read_bytes()).keys() == {"strike-a", "strike-b"}
    # A's case gone (the index reused elsewhere): the copy cannot be checked, so it is not claimed either.
    shutil.rmtree(tmp_path / "cases" / "strike-a")
    shutil.rmtree(tmp_path / "cases" / "strike-b")
    (root / "strike-a" / "room.png").unlink()
    (root / "strike-a" / "note.txt").write_text("the photo went elsewhere\n")
    with thread_runner(2) as runner:
        again = {s.incident: s for s in run_batch(root, tmp_path / "cases", key=alice, runner=runner, index=index)}
    assert not any(e["kind"] == "footage" and e["other_name"] == "room.png" for e in again["strike-b"].elsewhere)


def test_where_cases_are_is_kept_and_never_read_from_a_fifo_or_overwritten_when_damaged(tmp_path: Path) -> None:
    from forensics.pipeline.crosscase import CASES, CrossCaseIndex

    index = tmp_path / "index"
    with CrossCaseIndex(index) as cross:
        cross._note_case("strike-a", tmp_path / "root1" / "strike-a")
        cross._note_case("strike-a", tmp_path / "root2" / "strike-a")  # one incident name under two roots
        assert cross._cases() == {"strike-a": [str(tmp_path / "root1" / "strike-a"),
                                               str(tmp_path / "root2" / "strike-a")]}
        (index / CASES).write_text("{not json")
        cross._note_case("strike-b", tmp_path / "root1" / "strike-b")
        assert (index / CASES).read_text() == "{not json"  # left as it is, said so
        assert cross._cases() is None and cross._stored_copy(cross._cases() or {}, "strike-b", "0" * 64) is None
        (index / CASES).unlink()
        os.mkfifo(index / CASES)  # nobody writes to it: a read that waited would wait for ever
        started = time.monotonic()
        assert cross._cases() is None
        cross._note_case("strike-b", tmp_path / "root1" / "strike-b")
        assert time.monotonic() - started < 5 and (index / CASES).is_fifo()


def test_folders_whose_names_would_share_a_case_get_one_each_and_loose_files_are_reported(tmp_path: Path, alice) -> None:
    root = tmp_path / "incidents"
    for name in ("Kyiv strike", "Kyiv-strike", "kyiv strike"):
        (root / name).mkdir(parents=True)
        (root / name / f"{name}.txt").write_text(f"witness note of {name}\n")
    (root / "loose.txt").write_text("received outside any incident\n")
    os.symlink(root / "Kyiv strike", root / "linked")
    (root / ".trash").mkdir()
    summaries = list(run_batch(root, tmp_path / "cases", key=alice, analyse=False))
    *incidents, loose = summaries
    assert [s.error for s in incidents] == [None, None, None]
    assert len({s.case for s in incidents}) == 3 and all(s.counts["added"] == 1 for s in incidents)
    again = list(run_batch(root, tmp_path / "cases", key=alice, analyse=False))
    assert [s.case for s in again[:3]] == [s.case for s in incidents]  # the same names on every run
    # A folder named like another's name with digits takes digits of its own; the other keeps its case.
    lookalike = root / Path(incidents[0].case).name
    lookalike.mkdir()
    (lookalike / "other.txt").write_text("another incident\n")
    third = {s.source: s.case for s in run_batch(root, tmp_path / "cases", key=alice, analyse=False) if s.incident}
    assert third[incidents[0].source] == incidents[0].case and third[str(lookalike)] != incidents[0].case
    assert len(set(third.values())) == 4
    assert loose.incident == "" and loose.error and {p["name"] for p in loose.problems} == {"loose.txt", "linked", ".trash"}
