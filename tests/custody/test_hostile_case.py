"""A damaged or hostile case: every writing command refuses it, touches nothing inside or outside it, and verify
names the damage, in bounded time and memory.

Each attack here is one an adversarial review found to destroy evidence, write outside the case, or pass verify.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO
from forensics.custody import bag
from forensics.custody.case import LOG, open_case
from forensics.custody.verify import verify_case
from forensics.errors import CaseDamaged
from forensics.incident import ingest
from forensics.report.export import write_export
from forensics.report.html import write_report

CLI = [sys.executable, "-m", "forensics_cli.main"]


def run_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), str(REPO / "cli"), env.get("PYTHONPATH", "")])
    return env


def tree(folder: Path) -> dict[str, tuple]:
    """Every entry under `folder` as (kind, bytes or link target), links and FIFOs never followed or opened.

    The note of who last held the write lock (`.forensics/holder`, outside the bag) is left out.
    """
    found: dict[str, tuple] = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(root) / name
            st = path.lstat()
            rel = path.relative_to(folder).as_posix()
            if rel == ".forensics/holder":
                continue
            if stat.S_ISLNK(st.st_mode):
                found[rel] = ("link", os.readlink(path))
            elif stat.S_ISREG(st.st_mode) and st.st_size > 64 << 20:  # a planted giant: its inode says enough
                found[rel] = ("file", st.st_size, st.st_mtime_ns, st.st_ino, stat.S_IMODE(st.st_mode))
            elif stat.S_ISREG(st.st_mode):
                found[rel] = ("file", path.read_bytes(), stat.S_IMODE(st.st_mode))
            elif stat.S_ISDIR(st.st_mode):
                found[rel] = ("dir",)
            else:
                found[rel] = ("special", stat.S_IFMT(st.st_mode))
    return found


@pytest.fixture
def case(tmp_path, alice) -> Path:
    src = tmp_path / "raw"
    src.mkdir()
    for i in range(8):
        (src / f"clip-{i}.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(5_000 + i))
    (src / "notes.txt").write_text("heard jets at 14:02")
    path = Path(ingest([src], tmp_path / "case", key=alice, incident="strike", analyse=False).case)
    with open_case(path, alice) as c:
        item = next(iter(c.state.items))
        c.add_derived(item, b"\x89PNG fake frame", name="frame-000.png", operation="frames.keyframes",
                      parameters={"pts_s": 0.0})
        c.add_record(item, "metadata", {"path": "clip-0.mp4", "media_type": "video",
                                        "captured_at": "2024-03-14T12:26:54+03:00"})
    assert verify_case(path).intact
    return path


@pytest.fixture
def more(tmp_path) -> Path:
    src = tmp_path / "more"
    src.mkdir()
    (src / "late.mp4").write_bytes(os.urandom(3_000))
    return src


def writers(case: Path, alice, more: Path, tmp_path: Path):
    """Every writing command, as library calls: (name, call)."""
    return [("ingest", lambda: ingest([more], case, key=alice, incident="strike", analyse=False)),
            ("export", lambda: write_export(case, alice, fmt="csv", out_path=tmp_path / "x.csv")),
            ("report", lambda: write_report(case, alice, out_dir=tmp_path / "report"))]


def refused_by_all(case: Path, alice, more: Path, tmp_path: Path, outside: Path | None = None) -> str:
    """Runs every writer; each must raise CaseDamaged and leave the case (and `outside`) as it was."""
    before, beside = tree(case), tree(outside) if outside else None
    messages = []
    for name, call in writers(case, alice, more, tmp_path):
        with pytest.raises(CaseDamaged) as caught:
            call()
        messages.append(str(caught.value))
        assert tree(case) == before, f"{name} changed the damaged case"
        if outside is not None:
            assert tree(outside) == beside, f"{name} changed files outside the case"
    assert not (tmp_path / "x.csv").exists() and not (tmp_path / "report").exists()
    return messages[0]


def codes(case: Path) -> set[str]:
    return {f.code for f in verify_case(case).findings}


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], env=run_env(), capture_output=True, text=True, timeout=timeout, check=False)


# -- a shortened log ---------------------------------------------------------------------------------
def test_a_log_cut_back_is_refused_by_every_writer_and_no_original_is_deleted(case, alice, more, tmp_path):
    lines = (case / LOG).read_bytes().splitlines(keepends=True)
    (case / LOG).write_bytes(b"".join(lines[:3]))
    originals = {p.read_bytes() for p in (case / "data/originals").rglob("*") if p.is_file()}
    assert len(originals) == 9
    assert "log-truncated" in codes(case)
    message = refused_by_all(case, alice, more, tmp_path)
    assert "log-truncated" in message and "forensics verify" in message
    done = cli("export", str(case), "--format", "csv", "--out", str(tmp_path / "x.csv"), "--key", str(alice.path))
    assert done.returncode == 1 and "log-truncated" in done.stderr and "Traceback" not in done.stderr
    assert {p.read_bytes() for p in (case / "data/originals").rglob("*") if p.is_file()} == originals
    assert "log-truncated" in codes(case)  # still said, never "repaired" into an intact case


def test_a_log_cut_back_and_its_head_deleted_is_refused(case, alice, more, tmp_path):
    lines = (case / LOG).read_bytes().splitlines(keepends=True)
    (case / LOG).write_bytes(lines[0])
    (case / "custody/head.json").unlink()
    refused_by_all(case, alice, more, tmp_path)
    assert {"head-unreadable", "payload-added"} <= codes(case)


def test_an_entry_rewritten_and_the_head_re_signed_by_another_key_is_refused(case, alice, mallory, more, tmp_path):
    from forensics.custody.log import parse_line
    from forensics.custody.projections import signed_head

    lines = (case / LOG).read_bytes().splitlines(keepends=True)
    del lines[4]  # a receipt gone; the head then signed by mallory's key, which the log never introduced
    (case / LOG).write_bytes(b"".join(lines))
    last = parse_line(lines[-1].rstrip(b"\n"))
    (case / "custody/head.json").write_bytes(signed_head(mallory, json.loads(lines[0])["details"]["case_id"], last))
    refused_by_all(case, alice, more, tmp_path)
    assert {"log-sequence", "log-chain-broken", "head-signature-invalid"} <= codes(case)


# -- links out of the case -----------------------------------------------------------------------------
def test_seals_linked_to_another_folder_is_refused_and_that_folder_untouched(case, alice, more, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "precious.txt").write_text("not part of any case")
    (case / "custody/seals").symlink_to(outside, target_is_directory=True)
    refused_by_all(case, alice, more, tmp_path, outside=outside)
    found = {(f.code, f.subject) for f in verify_case(case).findings}
    assert ("not-a-regular-file", "custody/seals") in found


def test_a_lock_linked_to_a_file_outside_is_refused_and_never_written_through(case, alice, more, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "target.txt").write_text("keep me")
    lock = case / ".forensics/lock"
    lock.unlink()
    lock.symlink_to(outside / "target.txt")
    refused_by_all(case, alice, more, tmp_path, outside=outside)
    assert ("not-a-regular-file", ".forensics/lock") in {(f.code, f.subject) for f in verify_case(case).findings}


def test_a_work_folder_linked_outside_is_refused(case, alice, more, tmp_path):
    outside = tmp_path / "elsewhere"
    (outside / "tmp").mkdir(parents=True)
    (outside / "tmp/keep.bin").write_bytes(b"keep")
    shutil.rmtree(case / ".forensics")
    (case / ".forensics").symlink_to(outside, target_is_directory=True)
    refused_by_all(case, alice, more, tmp_path, outside=outside)


def test_an_original_replaced_by_a_link_is_never_read_through(case, alice, more, tmp_path):
    original = next(p for p in (case / "data/originals").rglob("*") if p.is_file())
    original.unlink()
    original.symlink_to("/dev/zero")
    refused_by_all(case, alice, more, tmp_path)
    found = {(f.code, f.subject) for f in verify_case(case).findings}
    assert ("not-a-regular-file", original.relative_to(case).as_posix()) in found


# -- tag files nothing bound -------------------------------------------------------------------------
def rewrite_tag_manifests(case: Path) -> None:
    """What anyone can do: recompute the unsigned tag manifests over the tag files as they now are."""
    files = sorted(p for p in case.rglob("*") if p.is_file() and p.relative_to(case).parts[0] not in ("data", ".forensics")
                   and not p.name.startswith("tagmanifest-"))
    for algorithm in bag.ALGORITHMS:
        text = bag.manifest_text((p.relative_to(case).as_posix(), hashlib.new(algorithm, p.read_bytes()).hexdigest())
                                 for p in files)
        (case / f"tagmanifest-{algorithm}.txt").write_bytes(text)


def test_bag_info_edited_and_tag_manifests_recomputed_is_caught_field_by_field(case, alice, more, tmp_path):
    path = case / "bag-info.txt"
    path.write_text(path.read_text().replace("Incident-Identifier: strike", "Incident-Identifier: other")
                    + "Source-Organization: Someone Else\n")
    rewrite_tag_manifests(case)
    findings = [f for f in verify_case(case).findings if f.code == "bag-info"]
    messages = " ".join(f.message for f in findings)
    assert "Incident-Identifier is 'other', the log says 'strike'" in messages
    assert "Source-Organization is 'Someone Else', the log says missing" in messages
    # No crash edits a projection while the log is at its head: every writer refuses, leaving it as it is.
    refused_by_all(case, alice, more, tmp_path)


def test_a_file_added_under_records_with_tag_manifests_recomputed_is_caught(case, alice, more, tmp_path):
    planted = case / "custody/records/ab/notes.json"
    planted.parent.mkdir(parents=True)
    planted.write_text('{"verdict": "staged"}')
    rewrite_tag_manifests(case)
    assert ("tag-file-added", "custody/records/ab/notes.json") in {(f.code, f.subject)
                                                                   for f in verify_case(case).findings}
    refused_by_all(case, alice, more, tmp_path)


def test_a_replaced_schema_is_caught(case):
    schema = case / "custody/schemas/manifest-1.0.schema.json"
    schema.write_text('{"$schema": "https://json-schema.org/draft/2020-12/schema"}')
    rewrite_tag_manifests(case)
    assert "schema-modified" in codes(case)


def test_a_file_added_anywhere_outside_data_is_caught(case):
    (case / "README-evidence.txt").write_text("trust me")
    (case / "custody/keys/extra.pub").write_bytes(b"-----BEGIN PUBLIC KEY-----\n")
    rewrite_tag_manifests(case)
    found = {(f.code, f.subject) for f in verify_case(case).findings}
    assert {("tag-file-added", "README-evidence.txt"), ("key-file-unknown", "custody/keys/extra.pub")} <= found


def test_findings_name_the_item_by_its_name_as_received(case):
    original = next(p for p in (case / "data/originals").rglob("*.mp4"))
    original.chmod(0o644)
    data = bytearray(original.read_bytes())
    data[-1] ^= 1
    original.write_bytes(bytes(data))
    finding = next(f for f in verify_case(case).findings if f.code == "payload-modified")
    assert finding.received_as and finding.received_as[0].startswith("clip-")
    assert repr(finding.received_as[0]) in finding.message


# -- verify on hostile cases: bounded time and memory ---------------------------------------------------
# Runs a command as the only child of a fresh process, which then tells that child's peak memory on stderr.
_MEASURED = ("import resource, subprocess, sys\n"
             "code = subprocess.run(sys.argv[1:]).returncode\n"
             "sys.stderr.write(f'\\npeak-kb {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}\\n')\n"
             "sys.exit(code)")


def verify_bounded(case: Path) -> tuple[int, dict, float, float]:
    """Runs `forensics verify --json` in a child; gives its exit code, result, seconds and peak MB."""
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", _MEASURED, *CLI, "verify", str(case), "--json"], env=run_env(),
                          capture_output=True, text=True, timeout=30, check=False)
    elapsed = time.monotonic() - started
    stderr, _, peak = done.stderr.rpartition("\npeak-kb ")
    assert "Traceback" not in stderr, stderr
    return done.returncode, json.loads(done.stdout), elapsed, int(peak) / 1024


def hostile(case: Path, kind: str) -> str:
    if kind == "device-in-data":
        target = case / "data/originals/zz"
        target.mkdir()
        try:
            os.mknod(target / "tty", stat.S_IFCHR | 0o600, os.makedev(5, 0))  # /dev/tty: reading it would hang
        except PermissionError:
            (target / "tty").symlink_to("/dev/tty")
        return "data/originals/zz/tty"
    if kind == "log-fifo":
        (case / LOG).unlink()
        os.mkfifo(case / LOG)
        return LOG
    if kind == "head-to-dev-zero":
        (case / "custody/head.json").unlink()
        (case / "custody/head.json").symlink_to("/dev/zero")
        return "custody/head.json"
    if kind == "link-among-tag-files":
        (case / "custody/manifests/other.json").symlink_to("/etc/passwd")
        return "custody/manifests/other.json"
    if kind.startswith("huge-sparse-"):  # 4 GB that cost nothing on disk, and 18 s to read
        rel = {"huge-sparse-head": "custody/head.json", "huge-sparse-log": LOG,
               "huge-sparse-manifest": "custody/manifests/strike.json"}[kind]
        with open(case / rel, "r+b") as f:
            f.seek(0, os.SEEK_END)
            f.truncate(4 << 30)
        # The log's zeros make one "line" longer than any entry, after its real lines: named as that entry.
        if rel == LOG:
            with open(case / LOG, "rb") as f:
                return f"log entry {f.read(1 << 20).count(bytes([10])) + 1}"
        return rel
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["device-in-data", "log-fifo", "head-to-dev-zero", "link-among-tag-files",
                                  "huge-sparse-head", "huge-sparse-log", "huge-sparse-manifest"])
def test_verify_reports_a_hostile_case_in_bounded_time_and_memory(case, kind):
    subject = hostile(case, kind)
    code, result, elapsed, peak_mb = verify_bounded(case)
    assert code == 1 and not result["intact"]
    assert subject in {f["subject"] for f in result["findings"]}
    assert elapsed < 10 and peak_mb < 500, (elapsed, peak_mb)  # the issue asks 30 s; it takes under 1 s


def test_ingest_into_a_hostile_case_exits_1_with_the_damage_named(case, alice, more):
    hostile(case, "log-fifo")
    before = tree(case)
    done = cli("ingest", str(more), "--case", str(case), "--key", str(alice.path), "--custody-only", timeout=30)
    assert done.returncode == 1 and "not-a-regular-file" in done.stderr and "Traceback" not in done.stderr
    assert tree(case) == before


def test_signatures_swapped_between_entries_are_refused_by_writers_too(case, alice, more, tmp_path):
    """Writers leave entries up to the signed head to the chain and the head: a swap still breaks both."""
    lines = (case / LOG).read_bytes().splitlines(keepends=True)
    a, b = json.loads(lines[2]), json.loads(lines[3])
    a["signature"], b["signature"] = b["signature"], a["signature"]
    from forensics.custody.canonical import canonical_json

    lines[2], lines[3] = canonical_json(a) + b"\n", canonical_json(b) + b"\n"
    (case / LOG).write_bytes(b"".join(lines))
    message = refused_by_all(case, alice, more, tmp_path)
    assert "log-chain-broken" in message


def test_the_signed_part_cut_from_a_line_is_the_signed_message(case):
    from forensics.custody.log import parse_line, signed_part

    for line in (case / LOG).read_bytes().splitlines():
        entry = parse_line(line)
        assert signed_part(line, entry.signature) == entry.signed_message()


def test_seal_refuses_a_damaged_case_before_asking_any_time_stamp_authority(case, alice):
    from forensics.custody.seal import seal_case

    lines = (case / LOG).read_bytes().splitlines(keepends=True)
    (case / LOG).write_bytes(b"".join(lines[:-2]))
    before = tree(case)
    with pytest.raises(CaseDamaged, match="log-truncated"):
        # Nothing listens there: had the case been accepted, the request would fail with another error.
        seal_case(case, alice, tsa_url="http://127.0.0.1:9/tsa", chain_pem=b"")
    assert tree(case) == before


def test_batch_reports_a_damaged_case_goes_on_with_the_others_and_exits_1(tmp_path, alice):
    root, cases = tmp_path / "incidents", tmp_path / "cases"
    for name in ("strike-a", "strike-b"):
        (root / name).mkdir(parents=True)
        (root / name / "clip.mp4").write_bytes(os.urandom(4_000))
    args = ("batch", str(root), "--cases", str(cases), "--custody-only", "--key", str(alice.path), "--json")
    assert cli(*args).returncode == 0
    damaged = cases / "strike-a"
    lines = (damaged / LOG).read_bytes().splitlines(keepends=True)
    (damaged / LOG).write_bytes(b"".join(lines[:2]))
    (root / "strike-a" / "new.mp4").write_bytes(os.urandom(1_000))
    (root / "strike-b" / "new.mp4").write_bytes(os.urandom(1_000))
    before = tree(damaged)
    done = cli(*args)
    assert done.returncode == 1, done.stderr
    by_incident = {s["incident"]: s for s in json.loads(done.stdout)["incidents"]}
    assert "log-truncated" in by_incident["strike-a"]["error"]
    assert by_incident["strike-b"]["error"] is None and by_incident["strike-b"]["counts"]["added"] == 1
    assert tree(damaged) == before


def test_the_case_own_folder_is_not_taken_in_as_evidence(case, alice, tmp_path):
    from forensics.errors import ParameterError

    before = tree(case)
    link = tmp_path / "looks-elsewhere"
    link.symlink_to(case / "data", target_is_directory=True)
    for source in (case / "data", link):
        with pytest.raises(ParameterError, match="inside the case"):
            ingest([source], case, key=alice, analyse=False)
    with pytest.raises(ParameterError, match="inside the case"):
        write_export(case, alice, fmt="csv", out_path=link / "x.csv")
    assert tree(case) == before


# -- found by the adversarial pass ---------------------------------------------------------------------
def next_label(case: Path) -> str:
    return f"{json.loads((case / 'custody/head.json').read_bytes())['seq'] + 1:08d}"


def test_recovery_never_writes_through_a_planted_link_in_quarantine(case, alice, more, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("PRECIOUS")
    with open(case / LOG, "ab") as f:
        f.write(b'{"action":"rec')
    planted = case / "data/quarantine" / next_label(case) / "custody/.tmp-torn-tail"
    planted.parent.mkdir(parents=True)
    os.link(outside / "precious.txt", planted)
    refused_by_all(case, alice, more, tmp_path, outside=outside)  # not a name this program gives a file


def test_a_log_hard_linked_elsewhere_is_copied_before_it_is_written(case, alice, more, tmp_path):
    """A backup made with hard links (cp -al), or a link planted to a file outside, never sees a write."""
    backup = tmp_path / "backup-log.jsonl"
    os.link(case / LOG, backup)
    before = backup.read_bytes()
    with open(case / LOG, "ab") as f:  # a torn line too, so the log is cut as well as appended to
        f.write(b'{"action":"rec')
    before = backup.read_bytes()
    ingest([more], case, key=alice, incident="strike", analyse=False)
    assert backup.read_bytes() == before
    assert os.stat(case / LOG).st_nlink == 1
    assert verify_case(case).intact


def test_a_recovery_killed_before_it_logged_is_completed_and_says_where_files_came_from(case, alice, more):
    with open(case / LOG, "ab") as f:
        f.write(b'{"action":"rec')
    label = next_label(case)
    half = case / "data/quarantine" / label / "custody/.tmp-0a1b2c3d-log.jsonl.torn"  # killed mid-copy
    half.parent.mkdir(parents=True)
    half.write_bytes(b'{"act')
    content = b"copied, then set aside by the killed recovery"
    sha = hashlib.sha256(content).hexdigest()
    moved = case / "data/quarantine" / label / "data/originals" / sha[:2] / f"{sha}.mp4"
    moved.parent.mkdir(parents=True)
    moved.write_bytes(content)
    ingest([more], case, key=alice, incident="strike", analyse=False)
    report = verify_case(case)
    assert report.intact, report.findings
    from forensics.custody.log import read_entries

    recovered = [e for e in read_entries(case / LOG) if e.action == "recovered"][-1]
    came_from = {o["path"]: o.get("from") for o in recovered.objects}
    assert came_from[moved.relative_to(case).as_posix()] == f"data/originals/{sha[:2]}/{sha}.mp4"
    assert all(came_from.values())


@pytest.mark.parametrize("edit", ["extra-field", "bom", "whitespace"])
def test_a_head_edited_but_still_validly_signed_is_caught_and_refused(case, alice, more, tmp_path, edit):
    head = case / "custody/head.json"
    data = head.read_bytes()
    head.write_bytes({"extra-field": b'{"smuggled":"x",' + data[1:], "bom": "\ufeff".encode() + data,
                      "whitespace": data + b"\n"}[edit])
    rewrite_tag_manifests(case)
    assert "head-not-canonical" in codes(case)
    refused_by_all(case, alice, more, tmp_path)


def planted_hex() -> str:
    return "ab" * 32


@pytest.mark.parametrize("planted", [
    f"data/originals/ab/{'ab' * 32}.mp4",  # named as content it does not hold
    f"data/originals/cd/{'ab' * 32}.mp4",  # under another prefix folder
    f"data/derived/ab/{'ab' * 32}/evil.sh",  # derived from nothing the log knows
    f"custody/records/ab/{'ab' * 32}/evil.json",
    "data/quarantine/00000001/x",  # a quarantine older than the signed head
    "custody/.tmp-whatever",  # not a name this program gives a temp file
])
def test_files_that_only_look_like_a_killed_run_leftovers_are_refused(case, alice, more, tmp_path, planted):
    (case / planted).parent.mkdir(parents=True, exist_ok=True)
    (case / planted).write_bytes(b"planted")
    refused_by_all(case, alice, more, tmp_path)


def test_export_refuses_to_set_anything_aside_in_a_case_whose_content_is_damaged(case, alice, tmp_path):
    derived = next(p for p in (case / "data/derived").rglob("*") if p.is_file())
    derived.unlink()
    with open(case / LOG, "ab") as f:
        f.write(b'{"action":"rec')
    before = tree(case)
    for call in (lambda: write_export(case, alice, fmt="csv", out_path=tmp_path / "x.csv"),
                 lambda: write_report(case, alice, out_dir=tmp_path / "report")):
        with pytest.raises(CaseDamaged, match="payload-missing"):
            call()
        assert tree(case) == before


@pytest.mark.parametrize("name", ["bagit.txt", "bag-info.txt", "manifest-sha256.txt", "tagmanifest-sha512.txt",
                                  "custody/manifests/strike.json", "custody/head.json"])
def test_a_folder_where_a_file_belongs_is_refused_before_anything_is_logged(case, alice, more, tmp_path, name):
    (case / name).unlink()
    (case / name).mkdir()
    refused_by_all(case, alice, more, tmp_path)
    assert ("not-a-regular-file", name) in {(f.code, f.subject) for f in verify_case(case).findings}


def test_a_case_stuffed_with_files_is_counted_not_held(case, alice, more, tmp_path):
    from forensics.custody.inspection import MAX_UNKNOWN_KEPT

    junk = case / "data/junk"
    junk.mkdir()
    for i in range(MAX_UNKNOWN_KEPT + 500):
        (junk / f"{i:06d}").touch()
    found = verify_case(case).findings
    added = [f for f in found if f.code == "payload-added"]
    assert len(added) == 201 and added[-1].subject == "…"
    assert f"{MAX_UNKNOWN_KEPT + 500 - 200:,} more findings" in added[-1].message
    refused_by_all(case, alice, more, tmp_path)


def test_odd_paths_print_as_escapes_and_json_stays_json(tmp_path, alice):
    src = tmp_path / "raw"
    src.mkdir()
    (src / "clip.mp4").write_bytes(b"footage")
    case = Path(os.fsdecode(os.fsencode(str(tmp_path)) + b"/case-\xff"))
    assert cli("ingest", str(src), "--case", str(case), "--key", str(alice.path), "--custody-only",
               "--quiet").returncode == 0
    (case / "data/zz\x1b[1A\x1b[2K\nintact: ok").write_text("planted")
    text = cli("verify", str(case))
    assert text.returncode == 1
    assert "\x1b" not in text.stdout and "\nintact" not in text.stdout and "\\x1b" in text.stdout
    as_json = cli("verify", str(case), "--json")
    result = json.loads(as_json.stdout.encode("utf-8", "surrogateescape"))
    assert result["case"].endswith("case-\\xff") and not result["intact"]


def test_files_named_on_the_command_line_that_are_not_regular_files_are_refused_quickly(case, alice, tmp_path):
    started = time.monotonic()
    assert cli("export", str(case), "--format", "csv", "--out", "/dev/null", "--key", str(alice.path)).returncode == 2
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert cli("ingest", str(tmp_path), "--case", str(case), "--key", "/dev/zero").returncode == 2
    done = cli("seal", str(case), "--tsa", "http://127.0.0.1:9/", "--tsa-chain", "/dev/zero", "--key", str(alice.path))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert cli("verify", str(case), "--expect-head", "nonsense").returncode == 2
    assert time.monotonic() - started < 30


def test_a_system_error_is_one_line_and_exit_3(case, alice, more, monkeypatch):
    import errno

    from click.testing import CliRunner

    from forensics.custody import case as case_module
    from forensics_cli.main import cli as main

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(case_module.Case, "copy_in", full)
    result = CliRunner().invoke(main, ["ingest", str(more), "--case", str(case), "--key", str(alice.path),
                                       "--custody-only", "--quiet"])
    assert result.exit_code == 3 and "No space left on device" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert verify_case(case).findings == () or all(f.code == "head-behind" for f in verify_case(case).findings)


def test_a_folder_of_thousands_of_subfolders_holds_no_descriptor_for_each(case):
    import resource

    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for i in range(min(soft, 4096) + 100):
        (case / f"data/many/{i:05d}").mkdir(parents=True)
    (case / "data/many/00007/planted.bin").write_bytes(b"x")
    assert ("payload-added", "data/many/00007/planted.bin") in {(f.code, f.subject)
                                                                for f in verify_case(case).findings}


# -- found by the second adversarial pass ------------------------------------------------------------------
@pytest.mark.parametrize("where", [LOG, "custody/head.json", "custody/manifests/strike.json"])
def test_json_nested_beyond_any_parser_is_a_finding_not_a_traceback(case, alice, more, tmp_path, where):
    path = case / where
    if where == LOG:
        with open(path, "ab") as f:
            f.write(b"[" * 100_000 + b"\n")
    else:
        path.write_bytes(b"[" * 60_000)
    code, result, _elapsed, _peak = verify_bounded(case)
    assert code == 1 and result["findings"]
    refused_by_all(case, alice, more, tmp_path)


def test_a_log_of_millions_of_empty_lines_is_not_read_to_its_end(case):
    with open(case / LOG, "ab") as f:
        f.write(b"\n" * 5_000_000)
    code, result, elapsed, peak_mb = verify_bounded(case)
    assert code == 1 and any("not read past it" in f["message"] for f in result["findings"])
    assert elapsed < 10 and peak_mb < 200, (elapsed, peak_mb)


@pytest.mark.parametrize("name", ["bag-info.txt", "custody/manifests/strike.json"])
def test_a_sparse_giant_at_a_projection_is_refused_never_hashed_or_signed(case, alice, more, tmp_path, name):
    with open(case / name, "r+b") as f:
        f.seek(0, os.SEEK_END)
        f.truncate(20 << 30)
    started = time.monotonic()
    refused_by_all(case, alice, more, tmp_path)
    assert time.monotonic() - started < 10
    assert "tag-file-oversized" in codes(case)


def test_an_oversized_key_file_is_refused_not_replaced(case, alice, more, tmp_path):
    key = next((case / "custody/keys").iterdir())
    key.write_bytes(key.read_bytes() + b"A" * 2_000_000)
    refused_by_all(case, alice, more, tmp_path)
    assert key.stat().st_size > 2_000_000


def test_a_failed_log_append_is_never_written_twice(case, alice, more, monkeypatch):
    import errno

    from forensics.custody import log as log_module

    real = log_module.append_lines
    calls = []

    def fsync_fails_once(fd: int, lines: bytes) -> None:
        calls.append(lines)
        if len(calls) == 1:
            os.write(fd, lines)  # written, then the disk reports an error: what reached it is unknown
            raise OSError(errno.EIO, "Input/output error")
        real(fd, lines)

    monkeypatch.setattr(log_module, "append_lines", fsync_fails_once)
    with pytest.raises(OSError):
        ingest([more], case, key=alice, incident="strike", analyse=False)
    monkeypatch.setattr(log_module, "append_lines", real)
    seqs = [json.loads(line)["seq"] for line in (case / LOG).read_bytes().splitlines()]
    assert len(seqs) == len(set(seqs)) == seqs[-1]  # once each, in order
    ingest([more], case, key=alice, incident="strike", analyse=False)  # the next run completes it
    assert verify_case(case).intact


def test_writers_print_planted_names_as_escapes(case, alice, more):
    (case / "data/x\x1b[1A\x1b[2K\r\x07intact").write_bytes(b"x")
    done = cli("ingest", str(more), "--case", str(case), "--key", str(alice.path), "--custody-only")
    assert done.returncode == 1 and "\x1b" not in done.stderr and "\r" not in done.stderr
    assert "\\x1b" in done.stderr


def test_arguments_that_are_not_text_are_bad_arguments_and_paths_that_are_not_are_kept(case, alice, more, tmp_path):
    note = os.fsdecode(b"n\xff")
    done = cli("ingest", str(more), "--case", str(case), "--key", str(alice.path), "--custody-only", "--note", note)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    done = cli("ingest", str(more), "--case", str(case), "--custody-only", "--actor", "a\nb")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    out = Path(os.fsdecode(os.fsencode(str(tmp_path)) + b"/x\xff.json"))
    done = cli("export", str(case), "--format", "json", "--out", str(out), "--key", str(alice.path), "--quiet")
    assert done.returncode == 0, done.stderr
    from forensics.custody.log import read_entries

    exported = [e for e in read_entries(case / LOG) if e.action == "exported"][-1]
    import base64

    assert base64.b64decode(exported.objects[0]["path_b64"]) == os.fsencode(str(out)) and out.exists()


def test_output_that_cannot_be_written_is_one_line_and_an_export_is_then_not_logged(case, alice):
    with open("/dev/full", "w") as full:
        done = subprocess.run([*CLI, "verify", str(case), "--json"], env=run_env(), stdout=full, stderr=subprocess.PIPE,
                              text=True, timeout=60, check=False)
        assert done.returncode == 3 and "Traceback" not in done.stderr
        before = (case / LOG).read_bytes()
        done = subprocess.run([*CLI, "export", str(case), "--format", "json", "--key", str(alice.path)],
                              env=run_env(), stdout=full, stderr=subprocess.PIPE, text=True, timeout=60, check=False)
    assert done.returncode == 3 and "Traceback" not in done.stderr
    assert (case / LOG).read_bytes() == before


def test_an_export_or_report_that_cannot_be_logged_is_not_left_behind(case, alice, tmp_path, monkeypatch):
    import errno

    from forensics.report import export as export_module, html as html_module

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(export_module, "log_export", read_only)
    monkeypatch.setattr(html_module, "log_export", read_only)
    with pytest.raises(OSError):
        write_export(case, alice, fmt="csv", out_path=tmp_path / "out" / "x.csv")
    with pytest.raises(OSError):
        write_report(case, alice, out_dir=tmp_path / "out" / "report")
    assert list((tmp_path / "out").iterdir()) == []


def test_bad_seal_arguments_are_bad_arguments(case, alice, tmp_path):
    garbage = tmp_path / "chain.pem"
    garbage.write_bytes(b"not a certificate")
    assert cli("seal", str(case), "--tsa", "notaurl", "--tsa-chain", str(garbage),
               "--key", str(alice.path)).returncode == 2
    done = cli("seal", str(case), "--tsa", "http://127.0.0.1:9/", "--tsa-chain", str(garbage), "--key", str(alice.path))
    assert done.returncode == 2 and "certificate" in done.stderr


def test_leftovers_a_kill_cannot_leave_even_beside_a_known_object_are_refused(case, alice, more, tmp_path):
    sha = next(iter(p.name.split(".")[0] for p in (case / "data/originals").rglob("*") if p.is_file()))
    record = case / f"custody/records/{sha[:2]}/{sha}/zzz.json"
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_bytes(b"not json")  # every record is canonical JSON
    refused_by_all(case, alice, more, tmp_path)
    record.write_bytes(b'{"a":1}')
    derived = case / f"data/derived/{sha[:2]}/{sha}/evil.sh"
    derived.parent.mkdir(parents=True, exist_ok=True)
    derived.write_bytes(b"evil")  # a kill leaves one unlogged derived file or record, never two
    refused_by_all(case, alice, more, tmp_path)
    record.unlink()
    derived.unlink()
    (case / "custody/seals").mkdir(exist_ok=True)
    (case / "custody/seals/00000003.tsr").write_bytes(b"token")  # a seal stamps the log's last entry
    refused_by_all(case, alice, more, tmp_path)


@pytest.mark.parametrize("odd", ["holder-folder", "lock-folder", "tmp-file", "data-file"])
def test_odd_things_in_the_case_layout_are_findings_and_writers_refuse(case, alice, more, tmp_path, odd):
    if odd == "holder-folder":
        (case / ".forensics/holder").unlink(missing_ok=True)
        (case / ".forensics/holder").mkdir()
        subject = ".forensics/holder"
    elif odd == "lock-folder":
        (case / ".forensics/lock").unlink()
        (case / ".forensics/lock").mkdir()
        subject = ".forensics/lock"
    elif odd == "tmp-file":
        (case / ".forensics/tmp").write_bytes(b"x")
        subject = ".forensics/tmp"
    else:
        shutil.rmtree(case / "data")
        (case / "data").write_bytes(b"x")
        subject = "data"
    assert ("not-a-regular-file", subject) in {(f.code, f.subject) for f in verify_case(case).findings}
    refused_by_all(case, alice, more, tmp_path)


def test_verify_writes_nothing_in_the_case(case):
    shutil.rmtree(case / ".forensics")
    before = tree(case)
    assert verify_case(case).intact
    assert tree(case) == before and not (case / ".forensics").exists()
