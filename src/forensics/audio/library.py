"""The intercept library: landmark hashes and per-frame features of reference tracks, in one SQLite file.

One file, journal in rollback mode (no -wal beside it), so a copy of the file is the whole
library; each reference is added in one transaction, so a crash leaves it in or out, never
half. Adding is incremental: a track already held (same SHA-256 and stream) is not added again.
Landmarks are held as one posting list per hash (`postings.py`: varint pairs of entry and
frame, which a new reference extends by appending): a look-up reads one row per hash
whatever the library's size, and a landmark costs about 4 bytes in a big library. The
frames' bits are kept where the reference has sound only, the one place the aligned-audio
check compares them.
"""

from __future__ import annotations

import sqlite3
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from forensics.audio.landmarks import landmark_hashes
from forensics.audio.postings import decode_pairs, encode_pairs
from forensics.audio.spectrum import HOP, N_FFT, Features, sound_frames
from forensics.errors import ParameterError
from forensics.inputs import own_file, raise_system_error, sqlite_tables

FORMAT = "forensics-audio-library/3"
_LOOKUP_BATCH = 900  # below SQLite's oldest limit on bound parameters


@dataclass(frozen=True, slots=True)
class Reference:
    """One reference track held in the library."""

    entry: int  # the library's own number for it
    sha256: str  # hex digest of the file it came from
    stream_index: int
    path: str  # where it was read from when added
    duration_s: float
    n_frames: int


@dataclass(frozen=True, slots=True)
class Postings:
    """The library's landmarks for a set of hashes, as parallel arrays."""

    hashes: NDArray[np.int64]  # (m,) sorted
    entries: NDArray[np.int64]  # (m,)
    frames: NDArray[np.int64]  # (m,) anchor frame in the reference


@dataclass(frozen=True, slots=True)
class FrameFeatures:
    """What the aligned-audio check compares, frame by frame, of one reference."""

    bits: NDArray[np.uint16]  # (n_frames,) band bits; 0 where there is no sound
    harmonics: NDArray[np.uint16]  # (n_frames,) harmonic bits; 0 where there is no sound
    sound: NDArray[np.bool_]  # (n_frames,) the frames that hold sound (spectrum.sound_frames)


def _is_library(path: Path) -> bool:
    """Whether `path` is an SQLite file holding a library's meta table (read without writing to it)."""
    try:
        return "meta" in (sqlite_tables(path) or ())
    except (OSError, sqlite3.DatabaseError):
        return False


class Library:
    """An intercept library file, open for reading and adding; use as a context manager."""

    def __init__(self, path: Path, *, create: bool = True) -> None:
        path = Path(path)
        exists = own_file(path, "library")
        if not create and not exists:
            raise ParameterError(f"{path}: no such library; make one with `forensics audio index`")
        if not create and not _is_library(path):
            raise ParameterError(f"{path}: not an intercept library (made by `forensics audio index`); "
                                 "it was left as it is")
        try:
            if create:
                path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), isolation_level=None)
            self._db.execute("PRAGMA journal_mode=DELETE")
            self._setup(path)
        except sqlite3.DatabaseError as ex:
            raise_system_error(ex, path)
            raise ParameterError(f"{path}: not an intercept library ({ex})") from ex
        self.path = path
        self._frames: dict[int, FrameFeatures] = {}

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def _setup(self, path: Path) -> None:
        db = self._db
        db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        row = db.execute("SELECT value FROM meta WHERE key='format'").fetchone()
        if row is not None and row[0] != FORMAT:
            db.close()
            raise ParameterError(f"{path}: an intercept library of format {row[0]!r}; this version reads {FORMAT!r}"
                                 " only: index the same recordings into a new one (`forensics audio index`;"
                                 " for a cross-case index, a new `batch --index` folder)")
        db.executescript(f"""
            BEGIN;
            INSERT OR IGNORE INTO meta VALUES ('format', '{FORMAT}'), ('frame', 'n_fft={N_FFT},hop={HOP}');
            CREATE TABLE IF NOT EXISTS entries (
                id INTEGER PRIMARY KEY, sha256 TEXT NOT NULL, stream_index INTEGER NOT NULL, path TEXT NOT NULL,
                sample_rate_hz INTEGER NOT NULL, duration_s REAL NOT NULL, n_frames INTEGER NOT NULL,
                added_utc TEXT NOT NULL, landmarks INTEGER NOT NULL, UNIQUE (sha256, stream_index));
            CREATE TABLE IF NOT EXISTS frames (
                entry INTEGER PRIMARY KEY, bits BLOB NOT NULL, harmonics BLOB NOT NULL, sound BLOB NOT NULL);
            CREATE TABLE IF NOT EXISTS postings (hash INTEGER PRIMARY KEY, n INTEGER NOT NULL, data BLOB NOT NULL);
            COMMIT;""")

    def has(self, sha256: str, stream_index: int) -> bool:
        row = self._db.execute("SELECT 1 FROM entries WHERE sha256=? AND stream_index=?",
                               (sha256, stream_index)).fetchone()
        return row is not None

    def has_file(self, sha256: str) -> bool:
        return self._db.execute("SELECT 1 FROM entries WHERE sha256=?", (sha256,)).fetchone() is not None

    def add(self, sha256: str, stream_index: int, path: str, features: Features, *, fanout: int = 3) -> int | None:
        """Adds one track's fingerprint; gives back its entry number, None when the library already held it."""
        if self.has(sha256, stream_index):
            return None
        hashes, anchors, _ = landmark_hashes(features.peak_frames, features.peak_bins, features.sample_rate_hz,
                                             fanout=fanout)
        sound = sound_frames(features.level)
        frames = FrameFeatures(np.where(sound, features.bits, 0).astype(np.uint16),
                               np.where(sound, features.harmonics, 0).astype(np.uint16), sound)
        return self.add_landmarks(sha256, stream_index, path, features.sample_rate_hz, hashes,
                                  np.rint(anchors).astype(np.int64), frames)

    def add_landmarks(self, sha256: str, stream_index: int, path: str, sample_rate_hz: int,
                      hashes: NDArray[np.int64], frames: NDArray[np.int64], features: FrameFeatures) -> int | None:
        """Adds one track given its landmarks (hash, anchor frame) and frame features; see `add`."""
        if self.has(sha256, stream_index):
            return None
        # Sorted by hash, then frame; a landmark found twice is held once.
        order = np.lexsort((frames, hashes))
        hashes, frames = np.asarray(hashes, np.int64)[order], np.asarray(frames, np.int64)[order]
        if frames.size and frames.min() < 0:
            raise ParameterError(f"{path}: landmarks before the track's first frame")
        fresh = np.ones(hashes.size, bool)
        fresh[1:] = (hashes[1:] != hashes[:-1]) | (frames[1:] != frames[:-1])
        hashes, frames = hashes[fresh], frames[fresh]
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            n_frames = int(features.sound.size)
            cur = db.execute(
                "INSERT INTO entries (sha256, stream_index, path, sample_rate_hz, duration_s, n_frames, added_utc,"
                " landmarks) VALUES (?,?,?,?,?,?,?,?)",
                (sha256, stream_index, path, sample_rate_hz, n_frames * HOP / sample_rate_hz, n_frames,
                 datetime.now(UTC).isoformat().replace("+00:00", "Z"), int(hashes.size)))
            entry = int(cur.lastrowid)
            db.execute("INSERT INTO frames VALUES (?,?,?,?)",
                       (entry, zlib.compress(features.bits.astype("<u2").tobytes(), 6),
                        zlib.compress(features.harmonics.astype("<u2").tobytes(), 6),
                        zlib.compress(np.packbits(features.sound).tobytes(), 6)))
            self._extend_postings(entry, hashes, frames)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return entry

    def _extend_postings(self, entry: int, hashes: NDArray[np.int64], frames: NDArray[np.int64]) -> None:
        """Appends one entry's landmarks, sorted by hash, to the posting lists of their hashes."""
        if hashes.size == 0:
            return
        data, ends = encode_pairs(np.full(hashes.size, entry, np.int64), frames)
        first = np.flatnonzero(np.concatenate([[True], hashes[1:] != hashes[:-1]]))
        last = np.append(first[1:], hashes.size) - 1
        byte_end = ends[last]
        byte_start = np.concatenate([[0], byte_end[:-1]])
        self._db.executemany(
            "INSERT INTO postings (hash, n, data) VALUES (?,?,?) ON CONFLICT (hash) DO UPDATE"
            " SET n = n + excluded.n, data = CAST(data || excluded.data AS BLOB)",
            ((h, k, data[a:b]) for h, k, a, b in zip(hashes[first].tolist(), (last - first + 1).tolist(),
                                                     byte_start.tolist(), byte_end.tolist())))

    def references(self) -> Iterator[Reference]:
        for row in self._db.execute("SELECT id, sha256, stream_index, path, duration_s, n_frames FROM entries"):
            yield Reference(*row)

    def reference(self, entry: int) -> Reference:
        row = self._db.execute("SELECT id, sha256, stream_index, path, duration_s, n_frames FROM entries"
                               " WHERE id=?", (entry,)).fetchone()
        if row is None:
            raise ParameterError(f"{self.path}: no reference number {entry}")
        return Reference(*row)

    def frame_features(self, entry: int) -> FrameFeatures:
        """Gives back the band bits, harmonic bits and sound of every frame of one reference."""
        if entry not in self._frames:
            row = self._db.execute("SELECT f.bits, f.harmonics, f.sound, e.n_frames FROM frames f"
                                   " JOIN entries e ON e.id = f.entry WHERE f.entry=?", (entry,)).fetchone()
            if row is None:
                raise ParameterError(f"{self.path}: no reference number {entry}")
            bits, harmonics, sound = (zlib.decompress(blob) for blob in row[:3])
            self._frames[entry] = FrameFeatures(
                np.frombuffer(bits, "<u2").astype(np.uint16), np.frombuffer(harmonics, "<u2").astype(np.uint16),
                np.unpackbits(np.frombuffer(sound, np.uint8), count=row[3]).astype(bool))
        return self._frames[entry]

    def posting_counts(self, hashes: NDArray[np.int64]) -> NDArray[np.int64]:
        """Gives back how many landmarks of the library have each of `hashes` (0 for those it has none of)."""
        hashes = np.asarray(hashes, np.int64)
        found = np.array(self._rows("SELECT hash, n FROM postings", hashes), np.int64).reshape(-1, 2)
        found = found[np.argsort(found[:, 0])]
        at = np.minimum(np.searchsorted(found[:, 0], hashes), max(0, len(found) - 1))
        return np.where(found[at, 0] == hashes, found[at, 1], 0) if len(found) else np.zeros(hashes.size, np.int64)

    def lookup(self, hashes: Iterable[int]) -> Postings:
        """Gives back every landmark of the library that has one of `hashes`."""
        rows = self._rows("SELECT hash, n, data FROM postings", np.fromiter((int(h) for h in hashes), np.int64))
        if not rows:
            empty = np.zeros(0, np.int64)
            return Postings(empty, empty, empty)
        rows.sort()
        keys, counts, blobs = zip(*rows)
        entries, frames = decode_pairs(b"".join(blobs))
        return Postings(np.repeat(np.array(keys, np.int64), counts), entries, frames)

    def _rows(self, select: str, hashes: NDArray[np.int64]) -> list[tuple]:
        wanted = np.unique(hashes).tolist()
        rows: list[tuple] = []
        for start in range(0, len(wanted), _LOOKUP_BATCH):
            batch = wanted[start:start + _LOOKUP_BATCH]
            rows.extend(self._db.execute(f"{select} WHERE hash IN ({','.join('?' * len(batch))})", batch))
        return rows

    def stats(self) -> dict[str, float]:
        """Gives back the number of references, their hours, landmarks and the file's size in bytes."""
        n, seconds, landmarks = self._db.execute(
            "SELECT count(*), coalesce(sum(duration_s), 0), coalesce(sum(landmarks), 0) FROM entries").fetchone()
        return {"references": n, "audio_s": seconds, "landmarks": landmarks,
                "file_bytes": self.path.stat().st_size if self.path.exists() else 0}
