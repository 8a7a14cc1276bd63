"""The custody commands as a script or a person uses them: --help, --json, exit codes, messages."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from forensics_cli.main import cli


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("command", [[], ["ingest"], ["verify"], ["seal"], ["key"], ["key", "new"]])
def test_every_command_has_help(command):
    code, out, _ = run(*command, "--help")
    assert code == 0 and "Usage: " in out


def test_key_new_then_ingest_and_verify_with_json(tmp_path):
    code, out, _ = run("key", "new", "--actor", "Amina K.", "--out", str(tmp_path / "amina.key"), "--json")
    key = json.loads(out)
    assert code == 0 and key["key_id"].startswith("ed25519:") and os.stat(tmp_path / "amina.key").st_mode & 0o777 == 0o600
    src = tmp_path / "raw"
    src.mkdir()
    (src / "clip.mp4").write_bytes(b"footage")
    (src / "pipe").symlink_to("/nonexistent")
    code, out, _ = run("ingest", str(src), "--case", str(tmp_path / "case"), "--key", str(tmp_path / "amina.key"),
                       "--incident", "strike-01", "--org", "Syrian Archive", "--json")
    summary = json.loads(out)
    assert code == 1  # the link was not taken in: a problem the exit code reports (README: exit codes)
    assert summary["counts"]["added"] == 1 and summary["counts"]["skipped"] == 1 and summary["incident"] == "strike-01"
    assert "Source-Organization: Syrian Archive" in (tmp_path / "case/bag-info.txt").read_text()
    code, out, _ = run("verify", str(tmp_path / "case"), "--json", "--trust", key["key_id"])
    result = json.loads(out)
    assert code == 0 and result["intact"] and result["signers"][0]["actor"] == "Amina K."


def test_verify_exits_1_and_names_what_was_altered(tmp_path):
    src = tmp_path / "raw"
    src.mkdir()
    (src / "clip.mp4").write_bytes(b"footage")
    assert run("ingest", str(src), "--case", str(tmp_path / "case"), "--quiet")[0] == 0
    stored = next((tmp_path / "case/data/originals").rglob("*.mp4"))
    stored.chmod(0o644)
    stored.write_bytes(b"f00tage")
    code, out, _ = run("verify", str(tmp_path / "case"))
    assert code == 1
    assert f"payload-modified {stored.relative_to(tmp_path / 'case').as_posix()}" in out


def test_ingest_exits_1_when_a_file_could_not_be_taken_in(tmp_path, monkeypatch):
    src = tmp_path / "raw"
    src.mkdir()
    (src / "ok.mp4").write_bytes(b"fine")
    (src / "bad.mp4").write_bytes(b"unreadable")
    from forensics.custody import case as case_module

    real = case_module.open_for_reading
    monkeypatch.setattr(case_module, "open_for_reading",
                        lambda p: (_ for _ in ()).throw(PermissionError(13, "Permission denied"))
                        if os.fsencode(p).endswith(b"bad.mp4") else real(p))
    code, out, _ = run("ingest", str(src), "--case", str(tmp_path / "case"))
    assert code == 1
    assert "'bad.mp4': unreadable: Permission denied" in out


def test_ingest_of_sources_with_no_file_says_so_and_exits_1(tmp_path):
    empty = tmp_path / "raw"
    (empty / "inside").mkdir(parents=True)
    code, out, _ = run("ingest", str(empty), "--case", str(tmp_path / "case"))
    assert code == 1 and "nothing to take in: the sources hold no file" in out
    (empty / "inside" / "a.txt").write_bytes(b"a file")
    assert run("ingest", str(empty), "--case", str(tmp_path / "case"), "-q")[0] == 0
    code, out, _ = run("ingest", str(empty), "--case", str(tmp_path / "case"))  # again: nothing new, not nothing
    assert code == 0 and "nothing new: all 1 files are already in case" in out


def test_clear_errors_for_bad_arguments(tmp_path):
    (tmp_path / "not-a-case").mkdir()
    (tmp_path / "not-a-case" / "x").write_text("x")
    code, _, err = run("ingest", str(tmp_path), "--case", str(tmp_path / "not-a-case"))
    assert code == 3 and "not a case" in err
    code, _, err = run("ingest", str(tmp_path), "--case", str(tmp_path / "c"), "--incident", "../escape")
    assert code == 2 and "incident id" in err
    code, _, err = run("verify", str(tmp_path / "not-a-case"))
    assert code == 3 and "not a case folder" in err
    code, _, err = run("ingest", str(tmp_path), "--case", str(tmp_path / "c2"), "--key", str(tmp_path / "missing.key"))
    assert code == 2 and "forensics key new" in err  # a key that is not there is a bad argument


def test_the_reference_bagit_validator_accepts_the_case_after_every_command(tmp_path):
    import shutil
    import subprocess
    import sys

    bagit_script = shutil.which("bagit.py") or str(Path(sys.executable).parent / "bagit.py")
    src = tmp_path / "raw"
    src.mkdir()
    (src / "clip.mp4").write_bytes(b"footage")
    case = tmp_path / "case"
    for step in (["ingest", str(src), "--case", str(case), "--quiet"],
                 ["key", "new", "--actor", "bob", "--out", str(tmp_path / "bob.key")],
                 ["ingest", str(src), "--case", str(case), "--quiet", "--key", str(tmp_path / "bob.key")],
                 ["verify", str(case)]):
        assert run(*step)[0] == 0
        checked = subprocess.run([sys.executable, bagit_script, "--validate", str(case)], capture_output=True,
                                 text=True, check=False)
        assert checked.returncode == 0 and "is valid" in checked.stderr, checked.stderr


def test_verify_quiet_prints_nothing_for_an_intact_case_and_the_findings_otherwise(tmp_path):
    src = tmp_path / "raw"
    src.mkdir()
    (src / "clip.mp4").write_bytes(b"footage")
    assert run("ingest", str(src), "--case", str(tmp_path / "case"), "--quiet", "--custody-only")[0] == 0
    code, out, _ = run("verify", str(tmp_path / "case"), "-q")
    assert code == 0 and out == ""
    stored = next((tmp_path / "case/data/originals").rglob("*.mp4"))
    stored.chmod(0o644)
    stored.write_bytes(b"altered")
    code, out, _ = run("verify", str(tmp_path / "case"), "-q")
    assert code == 1 and "intact" not in out and stored.name in out


def test_a_key_that_exists_is_kept_and_the_message_names_force(tmp_path):
    key = tmp_path / "a.key"
    assert run("key", "new", "--actor", "A", "--out", str(key))[0] == 0
    before = key.read_bytes()
    code, _, err = run("key", "new", "--actor", "A", "--out", str(key))
    assert code == 2 and "--force" in err and key.read_bytes() == before


def test_a_full_disk_is_one_line_exit_3_and_a_json_error_object(tmp_path, monkeypatch):
    import errno

    import forensics_cli.ingest

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "case" / "data"))

    monkeypatch.setattr(forensics_cli.ingest, "ingest", no_space)
    src = tmp_path / "raw"
    src.mkdir()
    (src / "clip.mp4").write_bytes(b"footage")
    code, out, err = run("ingest", str(src), "--case", str(tmp_path / "case"), "--json", "-q")
    assert code == 3 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    error = json.loads(out)["error"]
    assert error["errno"] == "ENOSPC" and error["exit_code"] == 3 and error["kind"] == "could-not-run"


def test_bad_arguments_under_json_are_a_json_error_object_too(tmp_path):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "forensics_cli.main", "verify", str(tmp_path / "none"), "--json"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 2 and "does not exist" in done.stderr
    assert json.loads(done.stdout)["error"]["kind"] == "bad-argument"


def test_the_progress_bar_names_each_stage_and_escapes_labels(monkeypatch):
    import io

    from rich.console import Console

    from forensics.progress import Progress
    from forensics_cli import console

    screen = io.StringIO()
    monkeypatch.setattr(console, "stderr", Console(file=screen, force_terminal=True, width=150))
    with console.progress_bar(True, "ingest") as callback:
        callback(Progress(3, 15, "clip.mp4", "files taken in"))
        callback(Progress(15, 15, "", "files taken in"))
        callback(Progress(2, 15, "bad\x1b[31mname.mp4", "analyses"))
    drawn = screen.getvalue()
    assert "ingest: files taken in" in drawn and "ingest: analyses" in drawn
    assert "\x1b[31mname" not in drawn and "\\x1b[31mname" in drawn
