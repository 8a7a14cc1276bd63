"""The library file: posting lists that grow by appending, frame features kept where there is sound,
files of an older format refused with a message that says what to do, opening one writes nothing,
and a write cut short by a kill is rolled back."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from conftest import FIXTURES, kill_while_writing_a_library
from forensics.audio.landmarks import landmark_hashes
from forensics.audio.library import FORMAT, Library
from forensics.audio.postings import (
    decode_pairs,
    decode_varints,
    encode_pairs,
    encode_varints,
)
from forensics.audio.search import fingerprint_file, index_paths, match_paths
from forensics.audio.spectrum import sound_frames
from forensics.errors import ParameterError
from intercept_media import Intercepts, intercepts  # noqa: F401 - intercepts is a fixture


def test_varints_round_trip_small_and_huge_numbers():
    values = np.array([0, 1, 127, 128, 16383, 16384, 2**21 - 1, 2**21, 2**28 - 1, 2**28, 5_000_000_000,
                       2**63 - 1], np.int64)
    data, ends = encode_varints(values)
    assert list(np.diff(ends, prepend=0)) == [1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 9]
    assert np.array_equal(decode_varints(data), values)
    # The 32-bit path (no number longer than four bytes) and the 64-bit one agree.
    small = np.random.default_rng(3).integers(0, 2**28, 1000)
    assert np.array_equal(decode_varints(encode_varints(small)[0]), small)
    assert decode_varints(b"").size == 0


def test_pairs_concatenate_and_a_cut_list_is_refused():
    a, _ = encode_pairs(np.array([1, 1]), np.array([5, 70_000]))
    b, _ = encode_pairs(np.array([300]), np.array([2]))
    entries, frames = decode_pairs(a + b)
    assert entries.tolist() == [1, 1, 300] and frames.tolist() == [5, 70_000, 2]
    with pytest.raises(ValueError, match="inside a number"):
        decode_varints((a + b)[:-1] + b"\x80")
    with pytest.raises(ValueError, match="without its frame"):
        decode_pairs(a + b"\x01")
    with pytest.raises(ValueError, match="negative"):
        encode_pairs(np.array([1]), np.array([-1]))


def _landmarks(path: Path) -> set[tuple[int, int]]:
    [features] = fingerprint_file(path).features
    hashes, anchors, _ = landmark_hashes(features.peak_frames, features.peak_bins, features.sample_rate_hz)
    return set(zip(hashes.tolist(), np.rint(anchors).astype(np.int64).tolist()))


def test_every_landmark_of_every_reference_is_looked_up_after_incremental_adds(intercepts: Intercepts,
                                                                                tmp_path: Path, shared_data: Path):
    phone = shared_data / "metadata-extractor-images" / "m4a" / "Issue 337 (dotnet).m4a"
    paths = [intercepts.recording, intercepts.other, phone]
    with Library(tmp_path / "lib.sqlite") as lib:
        for path in paths:  # one add each: every later add appends to lists the earlier ones began
            printed = fingerprint_file(path)
            lib.add(printed.sha256, 0, str(path), printed.features[0])
        expected = {entry: _landmarks(path) for entry, path in enumerate(paths, start=1)}
        assert all(len(marks) > 200 for marks in expected.values())
        wanted = sorted({h for marks in expected.values() for h, _ in marks})
        post = lib.lookup(wanted)
        assert lib.stats()["landmarks"] == post.hashes.size == sum(len(m) for m in expected.values())
        assert np.all(np.diff(post.hashes) >= 0)
        got: dict[int, set[tuple[int, int]]] = {}
        for h, e, f in zip(post.hashes.tolist(), post.entries.tolist(), post.frames.tolist()):
            got.setdefault(e, set()).add((h, f))
        assert got == expected
        shared = set(post.hashes[post.entries == 1].tolist()) & set(post.hashes[post.entries == 2].tolist())
        assert len(shared) > 20  # lists that the second add appended to, not only began
        counts = lib.posting_counts(np.array([*wanted[:50], wanted[-1] + 1]))
        assert counts[-1] == 0 and counts[:50].tolist() == [int((post.hashes == h).sum()) for h in wanted[:50]]


def test_frame_bits_are_kept_where_the_reference_has_sound(shared_data: Path, tmp_path: Path):
    phone = shared_data / "metadata-extractor-images" / "m4a" / "Issue 337 (dotnet).m4a"
    printed = fingerprint_file(phone)
    [features] = printed.features
    with Library(tmp_path / "lib.sqlite") as lib:
        entry = lib.add(printed.sha256, 0, str(phone), features)
        kept = lib.frame_features(entry)
    sound = sound_frames(features.level)
    assert 0.5 < sound.mean() < 0.95  # a real recording has quiet frames as well as sound
    assert np.array_equal(kept.sound, sound)
    assert np.array_equal(kept.bits[sound], features.bits[sound])
    assert np.array_equal(kept.harmonics[sound], features.harmonics[sound])
    assert not kept.bits[~sound].any() and not kept.harmonics[~sound].any()
    # Its peaks, rounded to a frame and a bin, in the order of time: what the aligned-audio check compares.
    assert kept.peak_frames.size == features.peak_frames.size > 100
    assert np.array_equal(kept.peak_frames, np.sort(np.rint(features.peak_frames).astype(np.int64)))
    order = np.argsort(np.rint(features.peak_frames), kind="stable")
    assert np.array_equal(kept.peak_bins, np.rint(features.peak_bins[order]).astype(np.uint8))
    repeated = kept.repeated(3 * kept.sound.size + 7)
    assert repeated.peak_frames.size == 3 * kept.peak_frames.size + int((kept.peak_frames < 7).sum())
    assert np.all(np.diff(repeated.peak_frames) >= 0) and repeated.peak_frames[-1] < repeated.sound.size


def test_a_library_of_an_older_format_is_refused_with_what_to_do(tmp_path: Path):
    old = tmp_path / "old.sqlite"
    with sqlite3.connect(old) as db:
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute("INSERT INTO meta VALUES ('format', 'forensics-audio-library/2')")
        db.execute("CREATE TABLE entries (id INTEGER PRIMARY KEY)")  # format 2's tables, empty
        db.execute("CREATE TABLE hashes (hash INTEGER, entry INTEGER, frame INTEGER)")
    before = old.read_bytes()
    for create in (True, False):
        with pytest.raises(ParameterError, match=r"format 'forensics-audio-library/2'.*forensics audio upgrade --library"):
            Library(old, create=create)
    assert old.read_bytes() == before
    assert FORMAT != "forensics-audio-library/2"


def test_opening_a_library_to_read_it_or_add_what_it_holds_writes_nothing(intercepts: Intercepts, tmp_path: Path):
    library = tmp_path / "lib.sqlite"
    library.write_bytes(intercepts.library.read_bytes())
    before = (library.read_bytes(), library.stat().st_mtime_ns)
    with Library(library, create=False) as lib:
        [result] = match_paths(lib, [intercepts.recording])
    with Library(library) as lib:
        assert index_paths(lib, [intercepts.recording]).already == (str(intercepts.recording),)
    assert result.matches and (library.read_bytes(), library.stat().st_mtime_ns) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lib.sqlite"]


_STOPPED_ADD = """
import sqlite3
from pathlib import Path
from forensics.audio.search import index_paths
connect = sqlite3.connect
def small_cache(*args, **kwargs):  # an add bigger than the cache writes pages before it commits
    db = connect(*args, **kwargs)
    db.execute("PRAGMA cache_size=1")
    return db
sqlite3.connect = small_cache
with Library(Path(sys.argv[1])) as lib:
    index_paths(lib, [Path(sys.argv[2])])
"""


def test_an_add_killed_while_it_writes_is_rolled_back_and_the_library_is_read(intercepts: Intercepts, tmp_path: Path):
    library = tmp_path / "lib.sqlite"
    library.write_bytes(intercepts.library.read_bytes())
    held = library.read_bytes()
    kill_while_writing_a_library(_STOPPED_ADD, str(library),
                                 str(FIXTURES / "incident" / "video" / "strike_original.mp4"))
    assert library.read_bytes() != held and (tmp_path / "lib.sqlite-journal").exists()  # a write cut short
    with Library(library, create=False) as lib:  # a reader rolls it back, as SQLite does: not "not a library"
        assert [r.path for r in lib.references()] == [str(intercepts.recording)]
        [result] = match_paths(lib, [intercepts.recording])
    assert result.matches and library.read_bytes() == held and sorted(p.name for p in tmp_path.iterdir()) == ["lib.sqlite"]
