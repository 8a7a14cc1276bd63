"""`forensics audio segments|index|match|upgrade`: the issue's JSON shape, exit codes, errors per file, the library file."""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import FIXTURES, as_library_format_3, kill_while_writing_a_library
from forensics.audio.landmarks import landmark_hashes
from forensics.audio.library import FORMAT, Library
from forensics.audio.search import fingerprint_file
from forensics_cli.audio import command

AUDIO = FIXTURES / "incident" / "audio"
# fixtures/make_fixtures.py: intercept_clip is intercept_full[7.00 s, 11.00 s) with noise, as AAC; strike_excerpt
# is strike_original from 4.00 s, whose sound has intercept_full[9.60 s, 13.20 s) from 2.00 s.
CLIP_FROM_S, EXCERPT_FROM_S = 7.0, 9.60 + 4.00 - 2.00


def test_index_then_match_prints_the_offset_of_the_clip_and_an_empty_list_for_the_rest(tmp_path: Path):
    library = tmp_path / "intercepts.sqlite"
    runner = CliRunner()
    indexed = runner.invoke(command, ["index", "--library", str(library), str(AUDIO / "intercept_full.wav"),
                                      "--json", "-q"])
    assert indexed.exit_code == 0, indexed.output
    assert json.loads(indexed.stdout)["library"]["references"] == 1
    silence = tmp_path / "photo.jpg"
    silence.write_bytes((FIXTURES / "incident" / "photo" / "IMG_0001.jpg").read_bytes())
    matched = runner.invoke(command, ["match", "--library", str(library), str(AUDIO / "intercept_clip.m4a"),
                                      str(FIXTURES / "incident" / "video" / "strike_excerpt.mp4"), "--json", "-q"])
    assert matched.exit_code == 0, matched.output
    clip, excerpt = json.loads(matched.stdout)["results"]
    [found] = clip["matches"]
    assert found["reference"] == str(AUDIO / "intercept_full.wav") and abs(found["offset_s"] - CLIP_FROM_S) < 0.010
    assert {"reference", "reference_sha256", "offset_s", "speed", "score", "confidence", "query_start_s",
            "query_end_s", "reference_start_s", "reference_end_s"} <= set(found)
    assert found["confidence"] in ("strong", "likely")
    [heard] = excerpt["matches"]  # the video's 1.6 s of the radio, behind street noise
    assert abs(heard["offset_s"] - EXCERPT_FROM_S) < 0.010 and heard["query_end_s"] < 1.7
    every = runner.invoke(command, ["match", "--library", str(library), str(AUDIO / "intercept_clip.m4a"),
                                    str(FIXTURES / "incident" / "video" / "strike_excerpt.mp4"), "--json", "-q", "--all"])
    with_weak = [r["matches"] for r in json.loads(every.stdout)["results"]]
    assert [[m for m in ms if m["confidence"] != "weak"] for ms in with_weak] == [clip["matches"], excerpt["matches"]]
    refused = runner.invoke(command, ["match", "--library", str(library), str(silence), "--json", "-q"])
    shown = json.loads(refused.stdout)
    assert refused.exit_code == 1 and shown["results"] == [] and shown["errors"][0]["path"] == str(silence)
    missing = runner.invoke(command, ["match", "--library", str(tmp_path / "none.sqlite"), str(silence)])
    assert missing.exit_code == 2 and "no such library" in missing.output


def test_index_lists_the_files_in_the_order_given_whether_added_or_held_already(tmp_path: Path):
    library = tmp_path / "intercepts.sqlite"
    _index(library, AUDIO / "intercept_full.wav")
    given = [AUDIO / "intercept_clip.m4a", AUDIO / "intercept_full.wav",
             FIXTURES / "incident" / "video" / "strike_original.mp4"]
    result = CliRunner().invoke(command, ["index", "--library", str(library), *map(str, given), "--json", "-q"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["results"]
    assert [(r["path"], r["added"]) for r in rows] == [(str(given[0]), True), (str(given[1]), False),
                                                       (str(given[2]), True)]


def test_a_recording_whose_name_is_not_utf8_is_indexed_and_matched_under_its_name_escaped(tmp_path: Path):
    import os

    folder = tmp_path / "in"
    folder.mkdir()
    odd = os.fsdecode(bytes(folder) + b"/b_bad\xff_full.wav")
    shutil.copyfile(AUDIO / "intercept_full.wav", odd)
    shutil.copyfile(AUDIO / "intercept_clip.m4a", folder / "c_ok.m4a")
    library = tmp_path / "intercepts.sqlite"
    result = CliRunner().invoke(command, ["index", "--library", str(library), odd, str(folder / "c_ok.m4a"),
                                          "--json", "-q"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["library"]["references"] == 2  # the file after it indexed too
    with Library(library, create=False) as lib:
        assert [r.path for r in lib.references()] == [str(folder) + "/b_bad\\xff_full.wav", str(folder / "c_ok.m4a")]
    code, found = _matches(library)
    assert code == 0 and abs(_offset_of_full(found) - CLIP_FROM_S) < 0.010


def test_segments_lists_each_transmission(tmp_path: Path):
    result = CliRunner().invoke(command, ["segments", str(AUDIO / "intercept_full.wav"), "--json", "-q"])
    assert result.exit_code == 0, result.output
    [track] = json.loads(result.stdout)["results"][0]["tracks"]
    speech = [s for s in track["segments"] if s["kind"] == "speech"]
    # fixtures/make_fixtures.py BURSTS: key-up at 1.0, 5.2, 10.0, 14.6 s.
    assert [round(s["start_s"]) for s in speech] == [1, 5, 10, 15]
    assert sum(s["kind"] == "squelch_tail" for s in track["segments"]) == 4


def test_index_makes_the_librarys_folder_when_missing(tmp_path: Path):
    library = tmp_path / "libs" / "new" / "intercepts.sqlite"
    result = CliRunner().invoke(command, ["index", "--library", str(library), str(AUDIO / "intercept_clip.m4a"),
                                          "--json", "-q"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["library"]["references"] == 1 and library.is_file()


def test_a_file_that_runs_out_of_memory_is_its_own_error_and_the_rest_go_on(tmp_path: Path, monkeypatch):
    import forensics_cli.audio
    from forensics.audio.decode import decode_audio

    def greedy(path, **kwargs):
        if Path(path).name == "intercept_full.wav":
            raise MemoryError
        return decode_audio(path, **kwargs)

    monkeypatch.setattr(forensics_cli.audio, "decode_audio", greedy)
    result = CliRunner().invoke(command, ["segments", str(AUDIO / "intercept_full.wav"), str(AUDIO / "intercept_clip.m4a"),
                                          "--json", "-q"])
    assert result.exit_code == 1, result.output
    shown = json.loads(result.stdout)
    [error], [result] = shown["errors"], shown["results"]
    assert "more memory than this process may use" in error["error"] and result["tracks"]


def test_a_library_given_as_a_link_or_not_a_library_is_refused_and_left_as_it_is(tmp_path: Path):
    runner = CliRunner()
    real = tmp_path / "real.sqlite"
    assert runner.invoke(command, ["index", "--library", str(real), str(AUDIO / "intercept_full.wav"), "-q"]).exit_code == 0
    (tmp_path / "link.sqlite").symlink_to(real)
    (tmp_path / "dangling.sqlite").symlink_to(tmp_path / "nowhere.sqlite")
    for name in ("link.sqlite", "dangling.sqlite"):
        for verb in ("index", "match"):
            result = runner.invoke(command, [verb, "--library", str(tmp_path / name), str(AUDIO / "intercept_clip.m4a")])
            assert result.exit_code == 2 and "symbolic link" in result.output, (name, verb, result.output)
    assert not (tmp_path / "nowhere.sqlite").exists()
    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")
    result = runner.invoke(command, ["match", "--library", str(empty), str(AUDIO / "intercept_clip.m4a")])
    assert result.exit_code == 2 and "not an intercept library" in result.output and empty.read_bytes() == b""


def test_a_full_disk_under_a_library_is_the_systems_error_not_a_bad_library():
    import errno
    import sqlite3

    import pytest

    from forensics.inputs import raise_system_error

    full = sqlite3.OperationalError("database or disk is full")
    full.sqlite_errorcode = sqlite3.SQLITE_FULL
    with pytest.raises(OSError) as raised:
        raise_system_error(full, Path("lib.sqlite"))
    assert raised.value.errno == errno.ENOSPC
    other = sqlite3.DatabaseError("file is not a database")
    other.sqlite_errorcode = sqlite3.SQLITE_NOTADB
    assert raise_system_error(other, Path("lib.sqlite")) is None


# The library file: refusing what is not one, a missing query, a full disk, damage, and upgrading old formats.

VIDEO = FIXTURES / "incident" / "video"


def _index(library: Path, *paths: Path) -> None:
    result = CliRunner().invoke(command, ["index", "--library", str(library), *map(str, paths), "-q"])
    assert result.exit_code == 0, result.output


def _matches(library: Path) -> tuple[int, dict]:
    """Gives the exit code and --json of `audio match` of the clip and the excerpt (which holds part of it)."""
    result = CliRunner().invoke(command, ["match", "--library", str(library), str(AUDIO / "intercept_clip.m4a"),
                                          str(VIDEO / "strike_excerpt.mp4"), "--json", "-q"])
    return result.exit_code, json.loads(result.stdout)


def _offset_of_full(found: dict) -> float:
    [match] = [m for m in found["results"][0]["matches"] if Path(m["reference"]).name.endswith("full.wav")]
    return match["offset_s"]


def test_index_refuses_a_file_that_is_not_a_library_and_leaves_it_byte_for_byte(tmp_path: Path):
    other = tmp_path / "other.sqlite"
    with contextlib.closing(sqlite3.connect(other)) as db, db:
        db.execute("CREATE TABLE foo (x)")
        db.execute("INSERT INTO foo VALUES (1)")
    text = tmp_path / "notes.sqlite"
    text.write_text("not a database\n")
    for path in (other, text):
        before = path.read_bytes()
        result = CliRunner().invoke(command, ["index", "--library", str(path), str(AUDIO / "intercept_clip.m4a"), "-q"])
        assert result.exit_code == 2 and "not an intercept library" in result.output, result.output
        assert path.read_bytes() == before
    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")
    _index(empty, AUDIO / "intercept_full.wav")  # an empty file may become a library
    code, found = _matches(empty)
    assert code == 0 and abs(_offset_of_full(found) - CLIP_FROM_S) < 0.010


@pytest.mark.parametrize("kind", ["missing", "empty folder"])
def test_a_path_that_is_no_file_is_its_own_error_and_the_others_are_read(tmp_path: Path, kind: str):
    library = tmp_path / "lib.sqlite"
    if kind == "missing":
        bad, error = tmp_path / "nonexistent.wav", "nonexistent.wav: no such file"
    else:  # not to be taken for files without sound or without a match
        bad, error = tmp_path / "nothing", "a folder with no files in it"
        (bad / "inside").mkdir(parents=True)  # folders, but no file at any depth
    indexed = CliRunner().invoke(command, ["index", "--library", str(library), str(bad),
                                           str(AUDIO / "intercept_full.wav"), "--json", "-q"])
    assert indexed.exit_code == 1, indexed.output
    shown = json.loads(indexed.stdout)
    assert shown["errors"] == [{"path": str(bad), "error": error}]
    assert shown["library"]["references"] == 1
    for args in (["match", "--library", str(library)], ["segments"]):
        result = CliRunner().invoke(command, [*args, str(AUDIO / "intercept_clip.m4a"), str(bad), "--json", "-q"])
        assert result.exit_code == 1, result.output
        shown = json.loads(result.stdout)
        assert shown["errors"] == [{"path": str(bad), "error": error}]
        assert [r["path"] for r in shown["results"]] == [str(AUDIO / "intercept_clip.m4a")]
        if args[0] == "match":
            assert abs(_offset_of_full(shown) - CLIP_FROM_S) < 0.010
    said = CliRunner().invoke(command, ["match", "--library", str(library), str(bad), "-q"])
    assert said.exit_code == 1 and error in said.stdout


def test_a_full_disk_while_adding_is_enospc_and_the_library_keeps_what_it_held(tmp_path: Path, monkeypatch):
    """SQLite's own 'database or disk is full' (its page limit standing for the disk): it rolls the add back
    itself, and the ROLLBACK after it must not stand in for that error."""
    library = tmp_path / "lib.sqlite"
    _index(library, AUDIO / "intercept_full.wav")
    before = library.read_bytes()
    connect = sqlite3.connect

    def full_disk(*args, **kwargs):  # room for one page more than the library holds
        db = connect(*args, **kwargs)
        db.execute(f"PRAGMA max_page_count={db.execute('PRAGMA page_count').fetchone()[0] + 1}")
        return db

    monkeypatch.setattr(sqlite3, "connect", full_disk)
    result = CliRunner().invoke(command, ["index", "--library", str(library), str(VIDEO / "strike_original.mp4"),
                                          "--json", "-q"])
    monkeypatch.undo()
    assert result.exit_code == 3, result.output
    error = json.loads(result.stdout)["error"]
    assert error["errno"] == "ENOSPC" and error["kind"] == "could-not-run"
    assert "No space left on device" in error["message"] and "intercept library" in error["message"]
    assert "A case" not in error["message"] and "rollback" not in error["message"]
    assert library.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["lib.sqlite"]
    code, found = _matches(library)
    assert code == 0 and abs(_offset_of_full(found) - CLIP_FROM_S) < 0.010


def _flipped(path: Path, at: int, length: int) -> None:
    data = bytearray(path.read_bytes())
    data[at:at + length] = bytes(b ^ 0x5A for b in data[at:at + length])
    path.write_bytes(bytes(data))


def test_a_damaged_library_is_said_to_be_damaged_and_left_as_it_is(tmp_path: Path):
    library = tmp_path / "lib.sqlite"
    _index(library, AUDIO / "intercept_full.wav")
    with contextlib.closing(sqlite3.connect(f"file:{library}?mode=ro", uri=True)) as db:
        [page] = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'postings'").fetchone()
        [bits] = db.execute("SELECT bits FROM frames").fetchone()
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
    pages, blobs = tmp_path / "pages.sqlite", tmp_path / "blobs.sqlite"
    shutil.copyfile(library, pages)
    _flipped(pages, (page - 1) * page_size, 8)  # the posting lists' B-tree page header: SQLite's own check
    shutil.copyfile(library, blobs)
    _flipped(blobs, library.read_bytes().index(bits[:64]) + 16, 32)  # inside a row: only its reader sees it
    for damaged in (pages, blobs):
        before = damaged.read_bytes()
        code, found = _matches(damaged)
        assert code == 2, found
        assert found["error"]["kind"] == "bad-argument" and "damaged intercept library" in found["error"]["message"]
        assert damaged.read_bytes() == before


def test_a_library_with_a_damaged_page_takes_no_new_recording_and_a_mislabelled_one_is_not_upgraded(tmp_path: Path):
    library = tmp_path / "lib.sqlite"
    _index(library, AUDIO / "intercept_full.wav")
    with contextlib.closing(sqlite3.connect(f"file:{library}?mode=ro", uri=True)) as db:
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
    pages = library.stat().st_size // page_size
    # A page deep in the file (not the first, which every open reads) filled with 0xFF, as a bad sector reads.
    damaged = tmp_path / "damaged.sqlite"
    data = bytearray(library.read_bytes())
    data[(pages // 2) * page_size:(pages // 2 + 1) * page_size] = b"\xff" * page_size
    damaged.write_bytes(bytes(data))
    added = CliRunner().invoke(command, ["index", "--library", str(damaged), str(AUDIO / "intercept_clip.m4a"),
                                         "--json", "-q"])
    assert added.exit_code == 2 and "damaged intercept library" in json.loads(added.stdout)["error"]["message"]
    assert damaged.read_bytes() == bytes(data)
    # A current library whose label says format 2 has none of format 2's tables: damaged, not "could not run".
    relabelled = tmp_path / "relabelled.sqlite"
    shutil.copyfile(library, relabelled)
    with contextlib.closing(sqlite3.connect(relabelled)) as db, db:
        db.execute("UPDATE meta SET value = 'forensics-audio-library/2' WHERE key = 'format'")
    before = relabelled.read_bytes()
    upgraded = CliRunner().invoke(command, ["upgrade", "--library", str(relabelled), "--json", "-q"])
    assert upgraded.exit_code == 2 and "damaged intercept library" in json.loads(upgraded.stdout)["error"]["message"]
    assert relabelled.read_bytes() == before and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def _old_library(path: Path, version: int, recordings: list[Path]) -> None:
    """Writes an intercept library of format 1, 2 or 3 as those versions did (`git show 6b45624^`, `8e47ea1^`
    and 0c3696c of src/forensics/audio/library.py), from the recordings' real features: format 3 is this
    format without the peaks (its frames table has no peak columns); format 2 kept bits, harmonics and level
    of every frame and a row per landmark; format 1 had no harmonics."""
    if version == 3:
        with Library(path) as made:
            for entry, recording in enumerate(recordings, start=1):
                printed = fingerprint_file(recording)
                made.add(printed.sha256, printed.audio.tracks[0].stream_index, str(recording), printed.features[0],
                         added_utc=f"2026-11-0{entry}T12:00:00Z")
        as_library_format_3(path)
        return
    harmonics = "harmonics BLOB NOT NULL, " if version == 2 else ""
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.executescript(f"""
            CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            INSERT INTO meta VALUES ('format', 'forensics-audio-library/{version}'), ('frame', 'n_fft=256,hop=128');
            CREATE TABLE entries (
                id INTEGER PRIMARY KEY, sha256 TEXT NOT NULL, stream_index INTEGER NOT NULL, path TEXT NOT NULL,
                sample_rate_hz INTEGER NOT NULL, duration_s REAL NOT NULL, n_frames INTEGER NOT NULL,
                added_utc TEXT NOT NULL, bits BLOB NOT NULL, {harmonics}level BLOB NOT NULL,
                UNIQUE (sha256, stream_index));
            CREATE TABLE hashes (hash INTEGER NOT NULL, entry INTEGER NOT NULL, frame INTEGER NOT NULL,
                PRIMARY KEY (hash, entry, frame)) WITHOUT ROWID;""")
        for entry, recording in enumerate(recordings, start=1):
            printed = fingerprint_file(recording)
            [track], [f] = printed.audio.tracks, printed.features
            arrays = [f.bits.astype("<u2"), *([f.harmonics.astype("<u2")] if version == 2 else []), f.level]
            db.execute(f"INSERT INTO entries VALUES ({','.join('?' * (8 + len(arrays)))})",
                       (entry, printed.sha256, track.stream_index, str(recording), f.sample_rate_hz,
                        f.n_frames * 128 / f.sample_rate_hz, f.n_frames, f"2026-11-0{entry}T12:00:00Z",
                        *(zlib.compress(a.tobytes(), 6) for a in arrays)))
            hashes, anchors, _ = landmark_hashes(f.peak_frames, f.peak_bins, f.sample_rate_hz)
            db.executemany("INSERT OR IGNORE INTO hashes VALUES (?,?,?)",
                           ((h, entry, a) for h, a in zip(hashes.tolist(), np.rint(anchors).astype(np.int64).tolist())))


def _upgrade(library: Path) -> tuple[int, dict]:
    result = CliRunner().invoke(command, ["upgrade", "--library", str(library), "--json", "-q"])
    return result.exit_code, json.loads(result.stdout)


@pytest.mark.parametrize("version", [2, 3])
def test_a_library_of_format_2_or_3_is_upgraded_in_place_into_the_library_a_fresh_index_makes(tmp_path: Path,
                                                                                               version: int):
    recordings = [AUDIO / "intercept_full.wav", VIDEO / "strike_original.mp4"]  # their landmarks share hashes
    old, fresh = tmp_path / "old" / "lib.sqlite", tmp_path / "fresh.sqlite"
    old.parent.mkdir()
    _old_library(old, version, recordings)
    old.chmod(0o640)
    refused = CliRunner().invoke(command, ["match", "--library", str(old), str(AUDIO / "intercept_clip.m4a")])
    assert refused.exit_code == 2 and f"forensics audio upgrade --library {old}" in refused.output
    code, done = _upgrade(old)
    # No older format holds the peaks: the recordings are read again, each checked against its digest.
    assert code == 0 and done == {"library": str(old), "format": FORMAT,
                                  "old_format": f"forensics-audio-library/{version}",
                                  "upgraded": True, "references": 2, "read_again": 2}
    assert [p.name for p in old.parent.iterdir()] == ["lib.sqlite"] and old.stat().st_mode & 0o777 == 0o640
    _index(fresh, *recordings)
    with Library(old, create=False) as upgraded, Library(fresh, create=False) as made:
        assert [r.added_utc for r in upgraded.references()] == ["2026-11-01T12:00:00Z", "2026-11-02T12:00:00Z"]
        assert [replace(r, added_utc="") for r in upgraded.references()] == [replace(r, added_utc="")
                                                                            for r in made.references()]
        assert upgraded.stats()["landmarks"] == made.stats()["landmarks"] > 1000
        every = np.arange(1 << 19)
        a, b = upgraded.lookup(every), made.lookup(every)
        assert all(np.array_equal(x, y) for x, y in zip((a.hashes, a.entries, a.frames), (b.hashes, b.entries, b.frames)))
        for entry in (1, 2):
            x, y = upgraded.frame_features(entry), made.frame_features(entry)
            assert np.array_equal(x.bits, y.bits) and np.array_equal(x.harmonics, y.harmonics)
            assert np.array_equal(x.sound, y.sound)
            assert np.array_equal(x.peak_frames, y.peak_frames) and np.array_equal(x.peak_bins, y.peak_bins)
            assert x.peak_frames.size > 100
    code, found = _matches(old)
    assert code == 0 and (code, found) == _matches(fresh)
    assert abs(_offset_of_full(found) - CLIP_FROM_S) < 0.010
    before = old.read_bytes()
    code, again = _upgrade(old)  # of this format already: left as it is
    assert code == 0 and not again["upgraded"] and old.read_bytes() == before


def test_a_format_1_library_is_built_again_from_its_recordings_or_left_as_it_was(tmp_path: Path):
    recording = tmp_path / "spotter" / "full.wav"
    recording.parent.mkdir()
    shutil.copyfile(AUDIO / "intercept_full.wav", recording)
    old = tmp_path / "lib.sqlite"
    _old_library(old, 1, [recording, VIDEO / "strike_original.mp4"])
    before = old.read_bytes()
    recording.rename(tmp_path / "moved.wav")
    code, out = _upgrade(old)
    assert code == 3 and str(recording) in out["error"]["message"] and "no such file" in out["error"]["message"]
    shutil.copyfile(AUDIO / "intercept_clip.m4a", recording)  # another recording under its name
    code, out = _upgrade(old)
    assert code == 3 and str(recording) in out["error"]["message"] and "changed" in out["error"]["message"]
    assert old.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["lib.sqlite", "moved.wav",
                                                                                          "spotter"]
    (tmp_path / "moved.wav").replace(recording)
    code, done = _upgrade(old)
    assert code == 0 and done["upgraded"] and done["references"] == 2 and done["read_again"] == 2
    with Library(old, create=False) as upgraded:
        assert [r.added_utc for r in upgraded.references()] == ["2026-11-01T12:00:00Z", "2026-11-02T12:00:00Z"]
    code, found = _matches(old)
    assert code == 0 and abs(_offset_of_full(found) - CLIP_FROM_S) < 0.010


def test_an_old_library_whose_pages_lost_a_reference_is_refused_not_upgraded_without_it(tmp_path: Path):
    old = tmp_path / "lib.sqlite"
    _old_library(old, 3, [AUDIO / "intercept_full.wav", VIDEO / "strike_original.mp4"])
    with contextlib.closing(sqlite3.connect(old)) as db:
        root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'entries'").fetchone()[0]
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
    data = bytearray(old.read_bytes())
    header = (root - 1) * page_size + (100 if root == 1 else 0)
    assert data[header] == 0x0D and int.from_bytes(data[header + 3:header + 5], "big") == 2  # a leaf of two rows
    data[header + 3:header + 5] = (1).to_bytes(2, "big")  # the page now says one: a row lost, its index entry kept
    old.write_bytes(bytes(data))
    before = old.read_bytes()
    code, out = _upgrade(old)
    assert code == 2 and "damaged intercept library" in out["error"]["message"] and old.read_bytes() == before


_STOPPED_UPGRADE = """
from forensics.audio.upgrade import upgrade_library
upgrade_library(sys.argv[1])
"""


@pytest.mark.parametrize("version", [1, 3])
def test_an_upgrade_killed_while_it_writes_leaves_the_old_library_whole(tmp_path: Path, version: int):
    old = tmp_path / "lib.sqlite"
    _old_library(old, version, [AUDIO / "intercept_full.wav", VIDEO / "strike_original.mp4"])
    before = old.read_bytes()
    kill_while_writing_a_library(_STOPPED_UPGRADE, str(old))
    assert old.read_bytes() == before
    code, done = _upgrade(old)  # what the kill left beside it stands in no one's way
    assert code == 0 and done["upgraded"]
    code, found = _matches(old)
    assert code == 0 and abs(_offset_of_full(found) - CLIP_FROM_S) < 0.010
