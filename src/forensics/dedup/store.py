"""A SQLite file of MediaHashes shared across cases: "this video also appears in incident X".

One row per file, keyed by a label the caller picks (a case path and a sha256, say), with
the collection it came from. The search tables (index.py) are rebuilt from the rows when the
store is opened: sorting a million hashes takes a fraction of a second, and the file then
holds nothing that could disagree with the hashes themselves.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from forensics.dedup.groups import DedupResult, find_duplicates
from forensics.dedup.media_hashes import MediaHashes
from forensics.dedup.verify import Check, measure
from forensics.errors import ParameterError
from forensics.inputs import own_file, raise_system_error, sqlite_tables
from forensics.progress import ProgressCallback

_SCHEMA = """
CREATE TABLE IF NOT EXISTS media (
    key TEXT PRIMARY KEY,
    collection TEXT NOT NULL,
    kind TEXT NOT NULL,
    frames INTEGER NOT NULL,
    hashes BLOB NOT NULL
);
"""


class HashStore:
    """MediaHashes persisted in one SQLite file; use as a context manager."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.check(self.path)
        try:
            self._db = sqlite3.connect(str(self.path))
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as ex:
            raise_system_error(ex, self.path)
            raise ParameterError(f"{self.path}: not a dedup index that can be opened ({ex})") from ex

    @staticmethod
    def check(path: Path) -> None:
        """Raises ParameterError when `path` exists but is not a dedup index (opening it would turn it into one)."""
        path = Path(path)
        if not own_file(path, "--index"):
            return
        try:
            tables = sqlite_tables(path)
        except sqlite3.DatabaseError as ex:
            raise ParameterError(f"--index {path}: not a dedup index that can be opened ({ex})") from ex
        if tables is None:
            raise ParameterError(f"--index {path}: exists and is not a dedup index (SQLite); give a new path "
                                 "or an index made by `forensics dedup --index`")
        if not tables <= {"media"}:
            raise ParameterError(f"--index {path}: a SQLite file of something else (it has tables a dedup index "
                                 "does not); give a new path or an index made by `forensics dedup --index`")

    def __enter__(self) -> HashStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def put(self, media: MediaHashes, *, collection: str) -> None:
        """Stores (or replaces) one file's hashes under its key."""
        with self._db:
            self._db.execute("INSERT OR REPLACE INTO media (key, collection, kind, frames, hashes) "
                             "VALUES (?, ?, ?, ?, ?)",
                             (media.key, collection, media.kind, media.frame_count, media.to_bytes()))

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM media").fetchone()[0])

    def items(self) -> Iterator[tuple[str, MediaHashes]]:
        """Yields (collection, hashes) of every stored file, in key order."""
        for collection, blob in self._db.execute("SELECT collection, hashes FROM media ORDER BY key"):
            yield collection, MediaHashes.from_bytes(blob)


def find_and_store(media: Sequence[MediaHashes], store: HashStore | None, *, collection: str,
                   max_distance_bits: int = 10, files: Callable[[str], Path | None] | None = None,
                   measured: Callable[[Sequence[Check]], Sequence[float | None]] = measure,
                   progress: ProgressCallback | None = None) -> tuple[DedupResult, dict[str, str]]:
    """Gives the duplicates among `media` and the files `store` holds, and the collection of each stored file
    compared; then puts `media` in the store under `collection`. The keywords are find_duplicates'.

    The store names files by the absolute path of their key, so a later run from elsewhere finds
    them; a file given again is compared afresh, not with its own earlier entry. Without a store,
    `media` are compared among themselves.
    """
    stored_keys = {m.key: str(Path(m.key).resolve()) for m in media}
    known: list[MediaHashes] = []
    collections: dict[str, str] = {}
    if store is not None:
        fresh = set(stored_keys.values())
        for name, item in store.items():
            if item.key not in fresh:
                known.append(item)
                collections[item.key] = name
    result = find_duplicates(media, known=known, max_distance_bits=max_distance_bits, files=files, measured=measured,
                             progress=progress)
    if store is not None:
        for item in media:
            store.put(dataclasses.replace(item, key=stored_keys[item.key]), collection=collection)
    return result, collections
