"""The intercept library: landmark hashes and per-frame features of reference tracks, in one SQLite file.

One file, journal in rollback mode (no -wal beside it), so a copy of the file is the whole
library; each reference is added in one transaction, so a crash leaves it in or out, never
half. Adding is incremental: a track already held (same SHA-256 and stream) is not added again.
Landmarks are held as one posting list per hash (`postings.py`: varint pairs of entry and
frame, which a new reference extends by appending): a look-up reads one row per hash
whatever the library's size, and a landmark costs about 4 bytes in a big library. The
frames' bits are kept where the reference has sound only, the one place the aligned-audio
check compares them, and its spectral peaks (frame and bin, rounded), which that check
compares with the query's where noise has drowned the bits.

Opening a library writes nothing to it (but for rolling back a write a kill cut short, as any SQLite
program opening it does); a file that is not one is refused and left as it is.
A library of an older format is refused too, naming the command of `upgrade.py`, which builds
the new library beside the old one and puts it in the old one's place in one rename.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shlex
import sqlite3
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self, TypeVar, cast

import numpy as np
from numpy.typing import NDArray

from forensics.audio.landmarks import landmark_hashes
from forensics.audio.postings import decode_pairs, decode_varints, encode_pairs, encode_varints
from forensics.audio.spectrum import HOP, N_FFT, Features, sound_frames
from forensics.errors import ParameterError
from forensics.inputs import own_file, raise_system_error, sqlite_read_only, sqlite_tables

FORMAT = "forensics-audio-library/4"
# Formats 1 to 3 hold no reference peaks (and format 1 no harmonic bits): their recordings are read again.
FORMAT_3, FORMAT_2, FORMAT_1 = "forensics-audio-library/3", "forensics-audio-library/2", "forensics-audio-library/1"
OLD_FORMATS = (FORMAT_1, FORMAT_2, FORMAT_3)
_TABLES = frozenset({"meta", "entries", "frames", "postings"})
_SCHEMA = f"""
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    INSERT INTO meta VALUES ('format', '{FORMAT}'), ('frame', 'n_fft={N_FFT},hop={HOP}');
    CREATE TABLE entries (
        id INTEGER PRIMARY KEY, sha256 TEXT NOT NULL, stream_index INTEGER NOT NULL, path TEXT NOT NULL,
        sample_rate_hz INTEGER NOT NULL, duration_s REAL NOT NULL, n_frames INTEGER NOT NULL,
        added_utc TEXT NOT NULL, landmarks INTEGER NOT NULL, UNIQUE (sha256, stream_index));
    CREATE TABLE frames (entry INTEGER PRIMARY KEY, bits BLOB NOT NULL, harmonics BLOB NOT NULL, sound BLOB NOT NULL,
                         peak_frames BLOB NOT NULL, peak_bins BLOB NOT NULL);
    CREATE TABLE postings (hash INTEGER PRIMARY KEY, n INTEGER NOT NULL, data BLOB NOT NULL);"""
_LOOKUP_BATCH = 900  # below SQLite's oldest limit on bound parameters
_Method = TypeVar("_Method", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class Reference:
    """One reference track held in the library."""

    entry: int  # the library's own number for it
    sha256: str  # hex digest of the file it came from
    stream_index: int
    path: str  # where it was read from when added
    duration_s: float
    n_frames: int
    added_utc: str  # when it was first added, ISO 8601


REFERENCES_SELECT = "SELECT id, sha256, stream_index, path, duration_s, n_frames, added_utc FROM entries"


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
    peak_frames: NDArray[np.int64]  # (p,) the spectral peaks' frames, rounded, ascending
    peak_bins: NDArray[np.uint8]  # (p,) their FFT bins, rounded

    @staticmethod
    def kept(features: Features) -> FrameFeatures:
        """Gives back what the library keeps of a track's features: bits and harmonics where it has sound, its peaks."""
        sound = sound_frames(features.level)
        frames = np.rint(features.peak_frames).astype(np.int64)
        bins = np.clip(np.rint(features.peak_bins), 0, 255).astype(np.uint8)  # the voice band ends below bin 220
        order = np.argsort(frames, kind="stable")
        return FrameFeatures(np.where(sound, features.bits, 0).astype(np.uint16),
                             np.where(sound, features.harmonics, 0).astype(np.uint16), sound, frames[order], bins[order])


    def repeated(self, n_frames: int) -> FrameFeatures:
        """Gives back these features repeated end to end over `n_frames` frames (hours of filler, for timing)."""
        times = -(-n_frames // max(1, self.sound.size))
        shifts = np.repeat(np.arange(times, dtype=np.int64) * self.sound.size, self.peak_frames.size)
        frames = np.tile(self.peak_frames, times) + shifts
        inside = frames < n_frames
        return FrameFeatures(np.resize(self.bits, n_frames), np.resize(self.harmonics, n_frames),
                             np.resize(self.sound, n_frames), frames[inside], np.tile(self.peak_bins, times)[inside])


def _as_text(path: str) -> str:
    """Gives a path as UTF-8 text: bytes that were not UTF-8 (surrogate escapes) written \\xff."""
    try:
        return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate that stands for no byte
        return path.encode("utf-8", "backslashreplace").decode("utf-8")


_OLD_TABLES = frozenset({"meta", "entries", "hashes"})
_TABLES_OF = {FORMAT: _TABLES, FORMAT_3: _TABLES, FORMAT_2: _OLD_TABLES, FORMAT_1: _OLD_TABLES}


def stored_format(path: Path) -> str:
    """Gives back the format an intercept library file says it is of, read through `sqlite_read_only`.

    Raises ParameterError for no such file, a file that is not a library, or a damaged one (both left as
    they are), OSError for one that cannot be read.
    """
    path = Path(path)
    if not own_file(path, "library"):
        raise ParameterError(f"{path}: no such library; make one with `forensics audio index`")
    with translated_errors(path):
        tables = sqlite_tables(path)
        if tables is None or "meta" not in tables:
            raise ParameterError(f"{path}: not an intercept library; it was left as it is: give a new path, or a "
                                 "library made by `forensics audio index`")
        with contextlib.closing(sqlite_read_only(path)) as db:
            row = db.execute("SELECT value FROM meta WHERE key='format'").fetchone()
    if row is None or not _TABLES_OF.get(row[0], frozenset()) <= tables:
        raise damaged_library(path, "its tables are not all there")
    return str(row[0])


def damaged_library(path: Path, why: object) -> ParameterError:
    return ParameterError(f"{path}: a damaged intercept library ({why}); it was left as it is: restore it from a "
                          "copy, or index the recordings into a new one")


@contextlib.contextmanager
def translated_errors(path: Path) -> Iterator[None]:
    """Raises what an SQLite error in the block, on the library at `path`, is: the system's (a full disk, an I/O
    error) as OSError, a damaged file as ParameterError; any other (a lock held too long) as it is."""
    try:
        yield
    except sqlite3.DatabaseError as ex:
        raise_system_error(ex, path)
        if (getattr(ex, "sqlite_errorcode", 0) & 0xFF) in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
            raise damaged_library(path, ex) from ex
        raise


def _translating(method: _Method) -> _Method:
    """`method` of Library, raising the error SQLite's errors stand for (`translated_errors`)."""
    @functools.wraps(method)
    def translated(self: Library, *args: Any, **kwargs: Any) -> Any:
        with translated_errors(self.path):
            return method(self, *args, **kwargs)
    return cast(_Method, translated)


class Library:
    """An intercept library file, open for reading and adding; use as a context manager."""

    def __init__(self, path: Path, *, create: bool = True) -> None:
        self.path = path = Path(path)
        exists = own_file(path, "library")
        new = create and (not exists or os.lstat(path).st_size == 0)  # an empty file may become a library
        if not new:
            found = stored_format(path)
            if found != FORMAT:
                raise ParameterError(
                    f"{path}: an intercept library of format {found!r}; this version reads {FORMAT!r}"
                    + (f": upgrade it with `forensics audio upgrade --library {shlex.quote(str(path))}`" if found in OLD_FORMATS
                       else " (a newer version made it?)") + "; it was left as it is")
        with translated_errors(path):
            if create:
                path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), isolation_level=None)
            self._db.execute("PRAGMA journal_mode=DELETE")
            if new:
                self._db.executescript(f"BEGIN IMMEDIATE; {_SCHEMA}; COMMIT;")
            else:
                # A damaged page is found before it is read or written to (0.4 s for 100 h of library),
                # not left to give another answer or to take a new recording.
                problem = self._db.execute("PRAGMA quick_check(1)").fetchone()[0]
                if problem != "ok":
                    self._db.close()
                    raise damaged_library(path, problem)
        self._frames: dict[int, FrameFeatures] = {}

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    @_translating
    def has(self, sha256: str, stream_index: int) -> bool:
        row = self._db.execute("SELECT 1 FROM entries WHERE sha256=? AND stream_index=?",
                               (sha256, stream_index)).fetchone()
        return row is not None

    @_translating
    def has_file(self, sha256: str) -> bool:
        return self._db.execute("SELECT 1 FROM entries WHERE sha256=?", (sha256,)).fetchone() is not None

    def add(self, sha256: str, stream_index: int, path: str, features: Features, *, fanout: int = 3,
            added_utc: str | None = None) -> int | None:
        """Adds one track's fingerprint; gives back its entry number, None when the library already held it.

        `added_utc` (ISO 8601) is when it was first added, for a track carried over from an older library.
        """
        if self.has(sha256, stream_index):
            return None
        hashes, anchors, _ = landmark_hashes(features.peak_frames, features.peak_bins, features.sample_rate_hz,
                                             fanout=fanout)
        return self.add_landmarks(sha256, stream_index, path, features.sample_rate_hz, hashes,
                                  np.rint(anchors).astype(np.int64),
                                  FrameFeatures.kept(features),
                                  added_utc=added_utc)

    @_translating
    def add_landmarks(self, sha256: str, stream_index: int, path: str, sample_rate_hz: int,
                      hashes: NDArray[np.int64], frames: NDArray[np.int64], features: FrameFeatures, *,
                      added_utc: str | None = None) -> int | None:
        """Adds one track given its landmarks (hash, anchor frame) and frame features; see `add`.

        A path whose bytes are not UTF-8 (carried as surrogate escapes) is kept with those bytes written
        \xff, as received names are shown everywhere (custody.names): SQLite text is UTF-8.
        """
        if self.has(sha256, stream_index):
            return None
        path = _as_text(path)
        # Sorted by hash, then frame; a landmark found twice is held once.
        order = np.lexsort((frames, hashes))
        hashes, frames = np.asarray(hashes, np.int64)[order], np.asarray(frames, np.int64)[order]
        if frames.size and frames.min() < 0:
            raise ParameterError(f"{path}: landmarks before the track's first frame")
        fresh = np.ones(hashes.size, bool)
        fresh[1:] = (hashes[1:] != hashes[:-1]) | (frames[1:] != frames[:-1])
        hashes, frames = hashes[fresh], frames[fresh]
        with self._transaction():
            entry = self._insert(None, sha256, stream_index, path, sample_rate_hz, features, int(hashes.size),
                                 added_utc or datetime.now(UTC).isoformat().replace("+00:00", "Z"))
            self._extend_postings(np.full(hashes.size, entry, np.int64), hashes, frames)
        return entry

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield
            db.execute("COMMIT")
        except BaseException:
            # After some errors (a full disk) SQLite has rolled the transaction back itself: a ROLLBACK
            # then fails, and its error must not stand in for the one that ended the transaction.
            if db.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
            raise

    def _insert(self, entry: int | None, sha256: str, stream_index: int, path: str, sample_rate_hz: int,
                features: FrameFeatures, landmarks: int, added_utc: str) -> int:
        """Adds one reference's row and frame features (in the caller's transaction); gives back its entry number."""
        n_frames = int(features.sound.size)
        cur = self._db.execute(
            "INSERT INTO entries (id, sha256, stream_index, path, sample_rate_hz, duration_s, n_frames, added_utc,"
            " landmarks) VALUES (?,?,?,?,?,?,?,?,?)",
            (entry, sha256, stream_index, path, sample_rate_hz, n_frames * HOP / sample_rate_hz, n_frames, added_utc,
             landmarks))
        entry = int(cast(int, cur.lastrowid))  # sqlite3 sets it after every INSERT that succeeds
        steps = np.diff(features.peak_frames, prepend=0)  # ascending: small steps, one varint byte each mostly
        self._db.execute("INSERT INTO frames VALUES (?,?,?,?,?,?)",
                         (entry, zlib.compress(features.bits.astype("<u2").tobytes(), 6),
                          zlib.compress(features.harmonics.astype("<u2").tobytes(), 6),
                          zlib.compress(np.packbits(features.sound).tobytes(), 6),
                          zlib.compress(encode_varints(steps)[0], 6), zlib.compress(features.peak_bins.tobytes(), 6)))
        return entry

    def _extend_postings(self, entries: NDArray[np.int64], hashes: NDArray[np.int64], frames: NDArray[np.int64]) -> None:
        """Appends landmarks (entry, hash, frame), sorted by hash, to the posting lists of their hashes."""
        if hashes.size == 0:
            return
        data, ends = encode_pairs(entries, frames)
        first = np.flatnonzero(np.concatenate([[True], hashes[1:] != hashes[:-1]]))
        last = np.append(first[1:], hashes.size) - 1
        byte_end = ends[last]
        byte_start = np.concatenate([[0], byte_end[:-1]])
        self._db.executemany(
            "INSERT INTO postings (hash, n, data) VALUES (?,?,?) ON CONFLICT (hash) DO UPDATE"
            " SET n = n + excluded.n, data = CAST(data || excluded.data AS BLOB)",
            ((h, k, data[a:b]) for h, k, a, b in zip(hashes[first].tolist(), (last - first + 1).tolist(),
                                                     byte_start.tolist(), byte_end.tolist())))

    @_translating
    def references(self) -> list[Reference]:
        """Gives back every reference the library holds, in the order they were added."""
        return [Reference(*row) for row in self._db.execute(f"{REFERENCES_SELECT} ORDER BY id")]

    @_translating
    def reference(self, entry: int) -> Reference:
        row = self._db.execute(f"{REFERENCES_SELECT} WHERE id=?", (entry,)).fetchone()
        if row is None:
            raise damaged_library(self.path, f"no reference number {entry}")  # its landmarks name one it does not hold
        return Reference(*row)

    @_translating
    def frame_features(self, entry: int) -> FrameFeatures:
        """Gives back the band bits, harmonic bits and sound of every frame of one reference."""
        if entry not in self._frames:
            row = self._db.execute("SELECT f.bits, f.harmonics, f.sound, f.peak_frames, f.peak_bins, e.n_frames"
                                   " FROM frames f JOIN entries e ON e.id = f.entry WHERE f.entry=?", (entry,)).fetchone()
            if row is None:
                raise damaged_library(self.path, f"no reference number {entry}")  # its landmarks name one it does not hold
            try:  # SQLite checks its pages, not what a row holds: bytes changed on the disk show here
                bits, harmonics, sound, steps, bins = (zlib.decompress(blob) for blob in row[:5])
                n_frames = row[5]
                kept = FrameFeatures(
                    np.frombuffer(bits, "<u2").astype(np.uint16), np.frombuffer(harmonics, "<u2").astype(np.uint16),
                    np.unpackbits(np.frombuffer(sound, np.uint8), count=n_frames).astype(bool),
                    np.cumsum(decode_varints(steps)), np.frombuffer(bins, np.uint8).copy())
            except (zlib.error, ValueError) as ex:
                raise damaged_library(self.path, f"the frames of reference {entry}: {ex}") from ex
            if not kept.bits.size == kept.harmonics.size == n_frames:
                raise damaged_library(self.path, f"the frames of reference {entry} are not {n_frames}")
            if kept.peak_frames.size != kept.peak_bins.size:
                raise damaged_library(self.path, f"the peaks of reference {entry} have not one bin each")
            self._frames[entry] = kept
        return self._frames[entry]

    @_translating
    def posting_counts(self, hashes: NDArray[np.int64]) -> NDArray[np.int64]:
        """Gives back how many landmarks of the library have each of `hashes` (0 for those it has none of)."""
        hashes = np.asarray(hashes, np.int64)
        found = np.array(self._rows("SELECT hash, n FROM postings", hashes), np.int64).reshape(-1, 2)
        found = found[np.argsort(found[:, 0])]
        at = np.minimum(np.searchsorted(found[:, 0], hashes), max(0, len(found) - 1))
        return np.where(found[at, 0] == hashes, found[at, 1], 0) if len(found) else np.zeros(hashes.size, np.int64)

    @_translating
    def lookup(self, hashes: Iterable[int]) -> Postings:
        """Gives back every landmark of the library that has one of `hashes`."""
        rows = self._rows("SELECT hash, n, data FROM postings", np.fromiter((int(h) for h in hashes), np.int64))
        if not rows:
            empty = np.zeros(0, np.int64)
            return Postings(empty, empty, empty)
        rows.sort()
        keys, counts, blobs = zip(*rows)
        try:
            entries, frames = decode_pairs(b"".join(blobs))
        except ValueError as ex:  # a list cut inside a number: bytes changed on the disk
            raise damaged_library(self.path, f"its landmarks: {ex}") from ex
        if entries.size != sum(counts):
            raise damaged_library(self.path, "its landmarks are not as many as it counts")
        return Postings(np.repeat(np.array(keys, np.int64), counts), entries, frames)

    def _rows(self, select: str, hashes: NDArray[np.int64]) -> list[tuple]:
        wanted = np.unique(hashes).tolist()
        rows: list[tuple] = []
        for start in range(0, len(wanted), _LOOKUP_BATCH):
            batch = wanted[start:start + _LOOKUP_BATCH]
            rows.extend(self._db.execute(f"{select} WHERE hash IN ({','.join('?' * len(batch))})", batch))
        return rows

    @_translating
    def stats(self) -> dict[str, float]:
        """Gives back the number of references, their hours, landmarks and the file's size in bytes."""
        n, seconds, landmarks = self._db.execute(
            "SELECT count(*), coalesce(sum(duration_s), 0), coalesce(sum(landmarks), 0) FROM entries").fetchone()
        return {"references": n, "audio_s": seconds, "landmarks": landmarks,
                "file_bytes": self.path.stat().st_size if self.path.exists() else 0}
