"""A kill at any moment leaves a case that the next ingest completes, with nothing lost or logged twice."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from conftest import REPO, bag_valid
from forensics.custody.case import LOG, open_case
from forensics.custody.log import parse_line
from forensics.custody.names import name_bytes
from forensics.custody.verify import verify_case
from forensics.incident import ingest

CLI = [sys.executable, "-m", "forensics_cli.main"]


def run_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), str(REPO / "cli"), env.get("PYTHONPATH", "")])
    return env


def make_folder(root: Path, files: int) -> Path:
    src = root / "raw"
    for i in range(files):
        folder = src / f"d{i % 7}"
        folder.mkdir(parents=True, exist_ok=True)
        size = 2_500_000 if i % 50 == 0 else 20_000 + i
        (folder / f"clip-{i:03d}.mp4").write_bytes(os.urandom(size))
    (src / "dup.mp4").write_bytes((src / "d0" / "clip-000.mp4").read_bytes())
    return src


def received_names(case: Path) -> Counter[bytes]:
    found: Counter[bytes] = Counter()
    for line in (case / LOG).read_bytes().splitlines():
        entry = parse_line(line)
        if entry.action == "received" and entry.result == "ok":
            found[name_bytes(entry.details["name"])] += 1
    return found


def stored_copies(case: Path) -> int:
    originals = case / "data" / "originals"
    try:
        return sum(len(os.listdir(originals / d)) for d in os.listdir(originals))
    except OSError:
        return 0


def log_entries(case: Path) -> int:
    try:
        return (case / LOG).read_bytes().count(b"\n")
    except OSError:
        return 0


# Points in an ingest of 300 files: while the case is made, after N copies are stored (before
# and after the first group commit of the log), and while the bag files are rewritten at the end.
KILL_POINTS = [("case being made", lambda c: (c / "bagit.txt").exists()),
               ("5 copies stored", lambda c: stored_copies(c) >= 5),
               ("100 copies stored", lambda c: stored_copies(c) >= 100),
               ("200 log entries", lambda c: log_entries(c) >= 200),
               ("finishing the bag", lambda c: (c / "custody/manifests").exists())]


@pytest.mark.parametrize("point", KILL_POINTS, ids=[name for name, _ in KILL_POINTS])
def test_sigkill_during_ingest_then_ingest_again_completes_the_case(tmp_path, point):
    name, reached = point
    src = make_folder(tmp_path, 300)
    case = tmp_path / "case"
    args = [*CLI, "ingest", str(src), "--case", str(case), "--quiet", "--actor", "alice"]
    proc = subprocess.Popen(args, env=run_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not reached(case) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.001)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL, f"the ingest ended before it could be killed at '{name}'"
    again = subprocess.run(args, env=run_env(), capture_output=True, timeout=120, check=False)
    assert again.returncode == 0, again.stderr.decode()
    report = verify_case(case)
    assert report.intact, report.findings
    bag_valid(case)
    names = received_names(case)
    expected = {os.fsencode(p.relative_to(src)) for p in src.rglob("*") if p.is_file()}
    assert set(names) == expected  # nothing lost
    assert max(names.values()) == 1  # nothing logged twice
    for path in src.rglob("*"):
        if path.is_file():  # and every stored copy holds the bytes of its source
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            assert next((case / "data/originals" / digest[:2]).glob(digest + "*")).read_bytes() == path.read_bytes()


def test_recovery_sets_aside_a_torn_log_line_and_what_was_never_logged(tmp_path, alice):
    src = make_folder(tmp_path, 5)
    case = Path(ingest([src], tmp_path / "case", key=alice).case)
    torn = b'{"action":"received","actor":"ali'  # a kill in the middle of an append
    with open(case / LOG, "ab") as log:
        log.write(torn)
    content = b"copied but never logged"
    orphan = case / "data/originals" / hashlib.sha256(content).hexdigest()[:2] / (hashlib.sha256(content).hexdigest() + ".mp4")
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(content)
    (case / ".forensics/tmp").mkdir(parents=True, exist_ok=True)
    (case / ".forensics/tmp/in-half").write_bytes(b"half a copy")
    (case / "custody/manifests/.tmp-k3j9x2ab-raw.json").write_bytes(b"{")
    before = {p.read_bytes() for p in (case / "data").rglob("*") if p.is_file()}
    assert not verify_case(case).intact
    with open_case(case, alice) as c:
        recovered = c.log.head
    assert recovered.action == "recovered"
    moved = {o["from"]: o for o in recovered.objects}
    assert set(moved) == {"custody/log.jsonl", orphan.relative_to(case).as_posix(),
                          "custody/manifests/.tmp-k3j9x2ab-raw.json"}
    for obj in moved.values():  # each set aside under data/quarantine, with its digests, never deleted
        kept = case / obj["path"]
        assert obj["path"].startswith("data/quarantine/") and kept.is_file()
        assert hashlib.sha256(kept.read_bytes()).hexdigest() == obj["sha256"]
    assert (case / moved["custody/log.jsonl"]["path"]).read_bytes() == torn
    assert (case / moved[orphan.relative_to(case).as_posix()]["path"]).read_bytes() == content
    assert not orphan.exists() and not (case / ".forensics/tmp").exists()
    assert not (case / "custody/manifests/.tmp-k3j9x2ab-raw.json").exists()
    assert not (case / LOG).read_bytes().endswith(torn)
    after = {p.read_bytes() for p in (case / "data").rglob("*") if p.is_file()}
    assert before <= after  # nothing in the payload was lost
    assert verify_case(case).intact
    bag_valid(case)


def test_a_second_ingest_into_a_busy_case_is_refused_with_a_clear_message(tmp_path):
    from forensics.custody.case import case_lock

    src = make_folder(tmp_path, 3)
    case = tmp_path / "case"
    args = [*CLI, "ingest", str(src), "--case", str(case), "--actor", "alice"]
    assert subprocess.run(args, env=run_env(), capture_output=True, check=False).returncode == 0
    with case_lock(case, exclusive=True):
        busy = subprocess.run(args, env=run_env(), capture_output=True, text=True, check=False)
    assert busy.returncode == 75
    assert "is being written by pid" in busy.stderr and "run the command again" in busy.stderr


def test_two_ingests_racing_into_one_case_never_corrupt_it(tmp_path):
    src_a, src_b = make_folder(tmp_path / "a", 60), make_folder(tmp_path / "b", 60)
    case = tmp_path / "case"
    subprocess.run([*CLI, "ingest", str(src_a), "--case", str(case), "--actor", "alice", "--quiet"],
                   env=run_env(), check=True, capture_output=True)
    procs = [subprocess.Popen([*CLI, "ingest", str(s), "--case", str(case), "--actor", "alice", "--quiet",
                               "--incident", name], env=run_env(), stderr=subprocess.PIPE)
             for s, name in ((src_a, "a"), (src_b, "b"))]
    codes = sorted(p.wait(timeout=120) for p in procs)
    assert codes in ([0, 0], [0, 75])
    assert verify_case(case).intact
    bag_valid(case)
