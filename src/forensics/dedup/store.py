"""A SQLite file of MediaHashes shared across cases: "this video also appears in incident X".

One row per file, keyed by a label the caller picks (a case path and a sha256, say), with
the collection it came from. The search tables (index.py) are rebuilt from the rows when the
store is opened: sorting a million hashes takes a fraction of a second, and the file then
holds nothing that could disagree with the hashes themselves.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import stat
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Self

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
    hashes BLOB NOT NULL,
    identity TEXT
);
"""
# `identity`: what told the file at `key` as it was hashed (device, inode, size, modification time, type; JSON),
# so a later run checks a match in doubt on it only while it is unchanged. Indexes made before it have none:
# the column is added when they are opened, and their files are not checked (their matches in doubt are weak).


class HashStore:
    """MediaHashes persisted in one SQLite file; use as a context manager."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.check(self.path)
        try:
            self._db = sqlite3.connect(str(self.path))
            self._db.executescript(_SCHEMA)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(media)")}
            if "identity" not in columns:
                with self._db:
                    self._db.execute("ALTER TABLE media ADD COLUMN identity TEXT")
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

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def put(self, media: MediaHashes, *, collection: str, identity: Sequence[int] | None = None) -> None:
        """Stores (or replaces) one file's hashes under its key, with what told the file as it was hashed."""
        with self._db:
            self._db.execute("INSERT OR REPLACE INTO media (key, collection, kind, frames, hashes, identity) "
                             "VALUES (?, ?, ?, ?, ?, ?)",
                             (media.key, collection, media.kind, media.frame_count, media.to_bytes(),
                              None if identity is None else json.dumps([int(v) for v in identity])))

    def identity(self, key: str) -> tuple[int, ...] | None:
        """Gives what told the file at `key` as it was hashed, or None (not recorded)."""
        row = self._db.execute("SELECT identity FROM media WHERE key = ?", (key,)).fetchone()
        try:
            found = json.loads(row[0]) if row and row[0] else None
        except ValueError:
            return None
        return tuple(int(v) for v in found) if isinstance(found, list) else None

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM media").fetchone()[0])

    def items(self) -> Iterator[tuple[str, MediaHashes]]:
        """Yields (collection, hashes) of every stored file, in key order."""
        for collection, blob in self._db.execute("SELECT collection, hashes FROM media ORDER BY key"):
            yield collection, MediaHashes.from_bytes(blob)


def find_and_store(media: Sequence[MediaHashes], store: HashStore | None, *, collection: str,
                   max_distance_bits: int = 10, files: Callable[[str], Path | None] | None = None,
                   measured: Callable[[Sequence[Check]], Sequence[float | None]] = measure,
                   identities: Mapping[str, Sequence[int]] | None = None,
                   progress: ProgressCallback | None = None) -> tuple[DedupResult, dict[str, str]]:
    """Gives the duplicates among `media` and the files `store` holds, and the collection of each stored file
    compared; then puts `media` in the store under `collection`. The keywords are find_duplicates'.

    The store names files by the absolute path of their key, so a later run from elsewhere finds
    them; a file given again is compared afresh, not with its own earlier entry. Without a store,
    `media` are compared among themselves. `identities` (key -> what told the file as it was
    hashed: file_identity) are stored with them: a later run checks a match in doubt on a stored
    file while it is still so, and a stored file that changed while it was checked leaves its
    matches weak.
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
    asked: dict[str, tuple[int, ...] | None] = {}  # a stored file a check asked for -> its identity when hashed

    def at_hand(key: str) -> Path | None:
        if key not in collections:
            return files(key) if files is not None else None
        if key not in asked:
            asked[key] = store.identity(key) if store is not None else None
        return unchanged(Path(key), asked[key])

    result = find_duplicates(media, known=known, max_distance_bits=max_distance_bits, files=at_hand,
                             measured=measured, progress=progress)
    changed = {key for key, identity in asked.items() if unchanged(Path(key), identity) is None}
    result = result.unconfirmed(changed) if changed else result
    if store is not None:
        for item in media:
            store.put(dataclasses.replace(item, key=stored_keys[item.key]), collection=collection,
                      identity=(identities or {}).get(item.key))
    return result, collections


def file_identity(found: os.stat_result) -> tuple[int, ...]:
    """Gives what tells a file changed since it was hashed (from its lstat): device, inode, size, modification
    time, type."""
    return (found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns, stat.S_IFMT(found.st_mode))


def unchanged(path: Path, identity: Sequence[int] | None) -> Path | None:
    """Gives `path` when the file there is as it was hashed (`identity`, from file_identity), else None: gone,
    changed, or its identity never recorded."""
    if identity is None:
        return None
    try:
        return path if file_identity(os.lstat(path)) == tuple(identity) else None
    except OSError:
        return None
