"""Every command that reads user files, given the same hostile files beside a good one.

Each runs as its own process under a memory limit and a time limit: a FIFO, a link to a
device, to `/` and to itself, a WAV whose header says 1 Hz, an empty file, random bytes named
as media, and a name that is not UTF-8 and carries a terminal escape. Each hostile file must get
its own error in valid JSON, the good file its result, the exit code 1, no traceback, and no
escape sequence may reach the terminal.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import FIXTURES

MEMORY_BYTES = 3 << 30  # address space of each command's process; 1 Hz audio once took 5.9 GB
TIME_S = 60.0

BAD_NAME = os.fsdecode(b"bad\xffname\x1b[31m.jpg")  # not UTF-8, with a colour escape


def _wav_1hz(path: Path, size: int) -> None:
    data = bytes(range(256)) * (size // 256)
    header = (b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt "
              + struct.pack("<IHHIIHH", 16, 1, 1, 1, 2, 2, 16) + b"data" + struct.pack("<I", len(data)))
    path.write_bytes(header + data)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("hostile")
    made = {"fifo": folder / "fifo.mp4", "device_link": folder / "dev.wav", "loop_link": folder / "loop.mp4",
            "root_link": folder / "root.mp4", "wav_1hz": folder / "onehz.wav", "empty": folder / "empty.mp4",
            "random_jpg": folder / "random.jpg", "random_mp4": folder / "random.mp4",
            "bad_name": folder / BAD_NAME}
    os.mkfifo(made["fifo"])
    os.symlink("/dev/zero", made["device_link"])
    os.symlink(made["loop_link"], made["loop_link"])
    os.symlink("/", made["root_link"])
    _wav_1hz(made["wav_1hz"], 64 * 1024)
    made["empty"].write_bytes(b"")
    seeded = bytes((n * 7919 + 13) % 251 for n in range(8192))
    made["random_jpg"].write_bytes(seeded[:4096])
    made["random_mp4"].write_bytes(seeded)
    shutil.copyfile(FIXTURES / "incident" / "photo" / "IMG_0001.jpg", made["bad_name"])
    return made


def _json_name(path: Path) -> str:
    """The file name as --json writes it: bytes that are not UTF-8 as \\xNN."""
    return os.fsencode(path.name).decode("utf-8", "backslashreplace")


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))


def _run(args: list[str | Path], cwd: Path) -> tuple[int, object, bytes, float]:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "forensics_cli.main", *map(os.fsencode, args)],
                          capture_output=True, timeout=TIME_S, cwd=cwd, preexec_fn=_limits, check=False)
    elapsed = time.monotonic() - started
    assert b"Traceback" not in done.stderr, done.stderr.decode(errors="replace")
    assert b"\x1b[" not in done.stdout + done.stderr, "an escape sequence from a file name reached the terminal"
    return done.returncode, json.loads(done.stdout), done.stderr, elapsed


def _errors_by_name(out: dict) -> dict[str, str]:
    """Gives each file's error from a command's --json (one shape: {"results": [...], "errors": [...]}), by name."""
    return {Path(e["path"]).name: e["error"] for e in out["errors"]}


VIDEO_GOOD = FIXTURES / "incident" / "video" / "strike_excerpt.mp4"
AUDIO_GOOD = FIXTURES / "incident" / "audio" / "intercept_clip.m4a"
COMMANDS = {
    "probe": (["probe", "--json", "-q"], VIDEO_GOOD),
    "frames": (["frames", "--json", "-q", "--max", "2", "--out", "frames"], VIDEO_GOOD),
    "dedup": (["dedup", "--json", "-q"], VIDEO_GOOD),
    "segments": (["audio", "segments", "--json", "-q"], AUDIO_GOOD),
    "index": (["audio", "index", "--json", "-q", "--library", "lib.sqlite"], AUDIO_GOOD),
    "match": (["audio", "match", "--json", "-q", "--library", "lib.sqlite"], AUDIO_GOOD),
}
# Files a command may take without error: probe makes a record of any regular file it is given (a WAV header
# is a recording), and a good picture is a good input where pictures are read.
TAKEN = {"probe": {"wav_1hz", "bad_name"}, "dedup": {"bad_name"},
         "frames": {"bad_name"}}
NEVER_OPENED = ("fifo", "device_link", "loop_link", "root_link")


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_each_hostile_file_gets_its_own_error_and_the_good_file_is_still_read(
        command: str, hostile: dict[str, Path], tmp_path: Path):
    args, good = COMMANDS[command]
    if command == "match":
        _run(["audio", "index", "--json", "-q", "--library", "lib.sqlite", FIXTURES / "incident" / "audio" / "intercept_full.wav"],
             tmp_path)
    code, out, stderr, elapsed = _run([*args, good, *hostile.values()], tmp_path)
    assert elapsed < TIME_S
    assert code == 1, stderr.decode(errors="replace")
    errors = _errors_by_name(out)
    for kind, path in hostile.items():
        if kind in TAKEN.get(command, set()):
            continue
        assert _json_name(path) in errors, f"{command}: no error of its own for the {kind} file: {errors}"
    for kind in NEVER_OPENED:
        error = errors[hostile[kind].name]
        assert "not followed" in error or "not opened" in error, f"{command}, {kind}: {error}"
    assert good.name not in errors, errors[good.name]


def test_a_folder_holding_a_link_to_root_is_listed_not_walked_through_the_link(hostile: dict[str, Path], tmp_path: Path):
    code, out, _, elapsed = _run(["probe", "--json", "-q", hostile["root_link"].parent], tmp_path)
    assert code == 1
    names = [Path(r["path"]).name for r in out["results"]]
    assert sorted(names) == sorted(_json_name(p) for p in hostile.values())  # nothing from under /
    assert elapsed < TIME_S


def test_audio_whose_header_says_1_hz_is_refused_with_the_reason(hostile: dict[str, Path], tmp_path: Path):
    code, out, _, _ = _run(["audio", "segments", "--json", "-q", hostile["wav_1hz"]], tmp_path)
    assert code == 1
    assert "header says 1 samples a second" in out["errors"][0]["error"]


def test_json_carries_invisible_and_control_characters_of_names_escaped_and_exact(tmp_path: Path):
    name = "c1\u009b31mred\u0085\u202eexe.jpg\u2028\u200b\U000e0041.jpg"
    shutil.copyfile(FIXTURES / "incident" / "photo" / "IMG_0001.jpg", tmp_path / name)
    done = subprocess.run([sys.executable, "-m", "forensics_cli.main", "probe", "--json", "-q", str(tmp_path / name)],
                          capture_output=True, check=False)
    text = done.stdout.decode("utf-8")
    assert not any(ch in text for ch in "\u009b\u0085\u202e\u2028\u200b\U000e0041")
    assert Path(json.loads(text)["results"][0]["path"]).name == name  # the same name to a JSON reader


def test_ingest_takes_in_the_folder_of_hostile_files_and_names_each_it_left_out(hostile: dict[str, Path], tmp_path: Path):
    """The same files through ingest: links and FIFOs are recorded as left out, every regular file is taken in
    (evidence is kept whatever it holds) and its analysis fails or succeeds on its own."""
    code, out, _, elapsed = _run(["ingest", hostile["fifo"].parent, "--case", tmp_path / "case", "--json", "-q"],
                                 tmp_path)
    assert code == 1 and elapsed < TIME_S
    left_out = {p["name"].rsplit("/", 1)[-1]: p["reason"] for p in out["problems"] if p["result"] == "skipped"}
    assert set(left_out) == {hostile[k].name for k in NEVER_OPENED}
    taken = out["counts"]["added"] + out["counts"]["duplicate"]
    assert taken == len(hostile) - len(NEVER_OPENED)
    code, out, _, _ = _run(["verify", tmp_path / "case", "--json"], tmp_path)
    assert code == 0 and out["intact"]
