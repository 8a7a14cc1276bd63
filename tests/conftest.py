"""Fixtures every test folder shares: a key folder of its own, signing keys, the shared real media."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import pytest

from forensics.custody.signing import SigningKey, new_key

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
FIXTURES = REPO / "fixtures"
# The fixture scripts (make_fixtures, make_exports) are importable by every test.
sys.path.insert(0, str(FIXTURES))


@pytest.fixture(autouse=True)
def _private_key_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keeps every test's keys out of the user's ~/.config."""
    key_dir = tmp_path_factory.mktemp("keys")
    monkeypatch.setenv("FORENSICS_KEY_DIR", str(key_dir))
    monkeypatch.setenv("FORENSICS_ACTOR", "tester")
    return key_dir


@pytest.fixture
def alice(tmp_path_factory: pytest.TempPathFactory) -> SigningKey:
    return new_key("alice", tmp_path_factory.mktemp("alice") / "alice.key")


@pytest.fixture
def mallory(tmp_path_factory: pytest.TempPathFactory) -> SigningKey:
    return new_key("mallory", tmp_path_factory.mktemp("mallory") / "mallory.key")


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"the shared real media are not here ({SHARED_DATA}); see ../shared/data/README.md")
    return SHARED_DATA


def snapshot(folder: Path) -> dict[bytes, tuple[str, int, int]]:
    """Returns {path: (sha256, size, mtime_ns)} of every regular file under folder, names as bytes."""
    result = {}
    for root, _dirs, files in os.walk(os.fsencode(folder)):
        for name in files:
            path = os.path.join(root, name)
            st = os.lstat(path)
            if not os.path.islink(path) and os.path.isfile(path):
                with open(path, "rb") as fh:
                    result[path] = (hashlib.sha256(fh.read()).hexdigest(), st.st_size, st.st_mtime_ns)
    return result


def bag_valid(case: Path) -> None:
    """Validates the case with the reference BagIt implementation, raising on any problem."""
    import bagit

    bagit.Bag(str(case)).validate()


_STALLED_LIBRARY_WRITE = """
import sys, time
from forensics.audio.library import Library
extend = Library._extend_postings
def stalled(self, *args):
    extend(self, *args)
    print("writing", flush=True)
    time.sleep(60)
Library._extend_postings = stalled
"""


def as_library_format_3(path: Path) -> None:
    """Turns an intercept library of this format into one of format 3, as 0c3696c wrote them: the same tables, but
    the frames table without the peaks' columns."""
    import contextlib
    import sqlite3

    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.executescript("""
            CREATE TABLE old_frames (entry INTEGER PRIMARY KEY, bits BLOB NOT NULL, harmonics BLOB NOT NULL,
                                     sound BLOB NOT NULL);
            INSERT INTO old_frames SELECT entry, bits, harmonics, sound FROM frames;
            DROP TABLE frames;
            ALTER TABLE old_frames RENAME TO frames;
            UPDATE meta SET value = 'forensics-audio-library/3' WHERE key = 'format';""")


def kill_while_writing_a_library(script: str, *args: str) -> None:
    """Runs `script` (Python, given `args` as sys.argv[1:]) in a child whose intercept library stalls once it
    has written landmarks, and kills it there with SIGKILL: a library write cut short at its worst moment."""
    import signal
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", _STALLED_LIBRARY_WRITE + script, *args], stdout=subprocess.PIPE)
    try:
        assert child.stdout is not None and child.stdout.readline() == b"writing\n"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()


@pytest.fixture(scope="session")
def export_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The messenger and platform exports of fixtures/make_exports.py, written once per session."""
    import make_exports

    out = tmp_path_factory.mktemp("exports")
    make_exports.generate(out)
    return out


@pytest.fixture(scope="session")
def scan(export_tree: Path):  # -> forensics.messages.ExportScan
    from forensics.messages import scan_exports

    return scan_exports(export_tree)
