"""Bringing an intercept library of an older format to this version's: built again from its recordings
(no older format holds the reference peaks this one compares); the new library is made beside the old
one and takes its place in one rename, so a kill at any moment leaves the old library or the new one, whole.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from forensics.atomic import fsync_path, place_staged
from forensics.audio.library import (
    FORMAT,
    OLD_FORMATS,
    REFERENCES_SELECT,
    Library,
    Reference,
    damaged_library,
    stored_format,
    translated_errors,
)
from forensics.audio.search import fingerprint_file, sha256_of
from forensics.errors import MediaUnreadable, ParameterError, SourceError
from forensics.inputs import sqlite_read_only
from forensics.progress import ProgressCallback, tell


@dataclass(frozen=True, slots=True)
class UpgradeReport:
    """What bringing a library to this version's format did."""

    old_format: str  # library.FORMAT when it was of this version already, and left as it was
    references: int  # the tracks it holds
    read_again: int = 0  # recordings read again


def upgrade_library(path: Path, *, progress: ProgressCallback | None = None) -> UpgradeReport:
    """Gives back what bringing the library at `path` to this version's format did, in place.

    No older format holds the reference peaks (format 1 not even the harmonic bits), so the library is built
    again from its recordings, each read from where it was indexed and checked against its SHA-256. Raises
    SourceError naming every recording missing or changed, and ParameterError for a file that is not a
    library; either way the file is left as it was (see `upgrading`).
    """
    if stored_format(path) == FORMAT:
        with Library(path, create=False) as held:
            return UpgradeReport(FORMAT, int(held.stats()["references"]))
    with upgrading(path) as upgrade:
        return UpgradeReport(upgrade.old_format, len(upgrade.old), _index_again(upgrade, progress))


def _index_again(upgrade: Upgrade, progress: ProgressCallback | None) -> int:
    """Adds an old library's recordings to the new one, read again; gives back how many files were read.

    Every file is checked before any is analysed: all those missing or changed are named at once, before
    what can be hours of decoding.
    """
    files: dict[tuple[str, str], list[Reference]] = {}
    for old in upgrade.old:
        files.setdefault((old.path, old.sha256), []).append(old)
    problems = []
    for path, sha256 in files:
        try:
            if sha256_of(Path(path)) != sha256:
                problems.append(f"{path} (changed since it was indexed: its SHA-256 is another)")
        except (MediaUnreadable, OSError) as ex:
            problems.append(f"{path} ({ex})")
    if problems:
        raise SourceError(f"{upgrade.path}: a library of format {upgrade.old_format!r} is built again from its "
                          f"recordings, read where they were indexed (a relative path from the current folder), and "
                          f"{len(problems)} of {len(files)} cannot be: {'; '.join(problems)}. The library was left as "
                          "it is; put them back and run the upgrade again")
    for done, ((path, sha256), olds) in enumerate(files.items()):
        tell(progress, done, len(files), path)
        printed = fingerprint_file(Path(path), sha256=sha256)
        tracks = dict(zip((t.stream_index for t in printed.audio.tracks), printed.features)) if printed.audio else {}
        for old in olds:
            if old.stream_index not in tracks:
                raise SourceError(f"{upgrade.path}: {path}: track {old.stream_index} cannot be read again "
                                  f"({printed.error or 'the file has no such track'}); the library was left as it is")
            upgrade.new.add(sha256, old.stream_index, old.path, tracks[old.stream_index], added_utc=old.added_utc)
    tell(progress, len(files), len(files), "")
    return len(files)


@dataclass(frozen=True, slots=True)
class Upgrade:
    """A library being brought to this version's format: the old one read-only, the new one filled beside it."""

    path: Path  # the old library's, where the new one goes
    old_format: str
    old: list[Reference]  # the old library's references, in the order they were added
    new: Library
    _old_db: sqlite3.Connection


@contextlib.contextmanager
def upgrading(path: Path) -> Iterator[Upgrade]:
    """Yields a library of an older format and a new, empty library beside it to fill; when the block ends
    without an error, the new one takes the old one's place in one rename (made durable), else it is removed.

    The old file is only read, and held open for reading all along, so no writer changes it meanwhile:
    a kill at any moment leaves the old library or the new one, whole. Raises ParameterError for a file
    that is not a library of an older format.
    """
    path = Path(path)
    old_format = stored_format(path)
    if old_format not in OLD_FORMATS:
        raise ParameterError(f"{path}: an intercept library of format {old_format!r}, which this version does not "
                             "upgrade; it was left as it is")
    with contextlib.closing(sqlite_read_only(path)) as old:
        with translated_errors(path):
            old.execute("BEGIN")  # its shared lock keeps writers out until the new library is in place
            # Every check SQLite has, indexes against their tables included: a damaged page can drop rows from
            # the list of references, and the new library would then hold fewer without a word.
            problem = old.execute("PRAGMA integrity_check(1)").fetchone()[0]
            if problem != "ok":
                raise damaged_library(path, problem)
            references = [Reference(*row) for row in old.execute(f"{REFERENCES_SELECT} ORDER BY id")]
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".upgrade")
        os.close(fd)
        new_path = Path(name)
        try:
            with Library(new_path) as new:
                yield Upgrade(path, old_format, references, new, old)
            os.chmod(new_path, stat.S_IMODE(os.lstat(path).st_mode))
            fsync_path(new_path)
        except BaseException:
            new_path.unlink(missing_ok=True)
            raise
        place_staged(new_path, path)
