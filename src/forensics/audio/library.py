"""The intercept library: landmark hashes and per-frame features of reference tracks, in one SQLite file.

One file, journal in rollback mode (no -wal beside it), so a copy of the file is the whole
library; each reference is added in one transaction, so a crash leaves it in or out, never
half. Adding is incremental: a track already held (same SHA-256 and stream) is not added again.
Hashes live in a WITHOUT ROWID table keyed (hash, entry, frame): one B-tree, about 20 bytes
a landmark, looked up by hash prefix.
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
from forensics.audio.spectrum import HOP, N_FFT, Features
from forensics.errors import ParameterError

FORMAT = "forensics-audio-library/2"
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


class Library:
    """An intercept library file, open for reading and adding; use as a context manager."""

    def __init__(self, path: Path, *, create: bool = True) -> None:
        path = Path(path)
        if not create and not path.is_file():
            raise ParameterError(f"{path}: no such library; make one with `forensics audio index`")
        try:
            self._db = sqlite3.connect(str(path), isolation_level=None)
            self._db.execute("PRAGMA journal_mode=DELETE")
            self._setup()
        except sqlite3.DatabaseError as ex:
            raise ParameterError(f"{path}: not an intercept library ({ex})") from ex
        self.path = path
        self._frames: dict[int, tuple[NDArray[np.uint16], NDArray[np.uint16], NDArray[np.uint8]]] = {}

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def _setup(self) -> None:
        db = self._db
        db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        row = db.execute("SELECT value FROM meta WHERE key='format'").fetchone()
        if row is not None and row[0] != FORMAT:
            raise sqlite3.DatabaseError(f"format {row[0]!r}, this version reads {FORMAT!r}")
        db.executescript(f"""
            BEGIN;
            INSERT OR IGNORE INTO meta VALUES ('format', '{FORMAT}'), ('frame', 'n_fft={N_FFT},hop={HOP}');
            CREATE TABLE IF NOT EXISTS entries (
                id INTEGER PRIMARY KEY, sha256 TEXT NOT NULL, stream_index INTEGER NOT NULL, path TEXT NOT NULL,
                sample_rate_hz INTEGER NOT NULL, duration_s REAL NOT NULL, n_frames INTEGER NOT NULL,
                added_utc TEXT NOT NULL, bits BLOB NOT NULL, harmonics BLOB NOT NULL, level BLOB NOT NULL, UNIQUE (sha256, stream_index));
            CREATE TABLE IF NOT EXISTS hashes (
                hash INTEGER NOT NULL, entry INTEGER NOT NULL, frame INTEGER NOT NULL,
                PRIMARY KEY (hash, entry, frame)) WITHOUT ROWID;
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
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            duration_s = features.n_frames * HOP / features.sample_rate_hz
            cur = db.execute(
                "INSERT INTO entries (sha256, stream_index, path, sample_rate_hz, duration_s, n_frames, added_utc,"
                " bits, harmonics, level) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (sha256, stream_index, path, features.sample_rate_hz, duration_s, features.n_frames,
                 datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                 zlib.compress(features.bits.astype("<u2").tobytes(), 6),
                 zlib.compress(features.harmonics.astype("<u2").tobytes(), 6),
                 zlib.compress(features.level.tobytes(), 6)))
            entry = int(cur.lastrowid)
            frames = np.rint(anchors).astype(np.int64)
            order = np.lexsort((frames, hashes))
            db.executemany("INSERT OR IGNORE INTO hashes VALUES (?,?,?)",
                           ((int(h), entry, int(f)) for h, f in zip(hashes[order], frames[order])))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return entry

    def references(self) -> Iterator[Reference]:
        for row in self._db.execute("SELECT id, sha256, stream_index, path, duration_s, n_frames FROM entries"):
            yield Reference(*row)

    def reference(self, entry: int) -> Reference:
        row = self._db.execute("SELECT id, sha256, stream_index, path, duration_s, n_frames FROM entries"
                               " WHERE id=?", (entry,)).fetchone()
        if row is None:
            raise ParameterError(f"{self.path}: no reference number {entry}")
        return Reference(*row)

    def frame_features(self, entry: int) -> tuple[NDArray[np.uint16], NDArray[np.uint16], NDArray[np.uint8]]:
        """Gives back the (band bits, harmonic bits, level) of every frame of one reference."""
        if entry not in self._frames:
            row = self._db.execute("SELECT bits, harmonics, level FROM entries WHERE id=?", (entry,)).fetchone()
            bits, harmonics, level = (zlib.decompress(blob) for blob in row)
            self._frames[entry] = (np.frombuffer(bits, "<u2").astype(np.uint16),
                                   np.frombuffer(harmonics, "<u2").astype(np.uint16), np.frombuffer(level, np.uint8))
        return self._frames[entry]

    def lookup(self, hashes: Iterable[int]) -> Postings:
        """Gives back every landmark of the library that has one of `hashes`."""
        wanted = sorted({int(h) for h in hashes})
        rows: list[tuple[int, int, int]] = []
        for start in range(0, len(wanted), _LOOKUP_BATCH):
            batch = wanted[start:start + _LOOKUP_BATCH]
            marks = ",".join("?" * len(batch))
            rows.extend(self._db.execute(f"SELECT hash, entry, frame FROM hashes WHERE hash IN ({marks})", batch))
        if not rows:
            empty = np.zeros(0, np.int64)
            return Postings(empty, empty, empty)
        table = np.array(rows, dtype=np.int64)
        return Postings(table[:, 0], table[:, 1], table[:, 2])

    def stats(self) -> dict[str, float]:
        """Gives back the number of references, their hours, landmarks and the file's size in bytes."""
        n, seconds = self._db.execute("SELECT count(*), coalesce(sum(duration_s), 0) FROM entries").fetchone()
        landmarks = self._db.execute("SELECT count(*) FROM hashes").fetchone()[0]
        return {"references": n, "audio_s": seconds, "landmarks": landmarks,
                "file_bytes": self.path.stat().st_size if self.path.exists() else 0}
