"""The files a command is given: one rule for which of them are opened.

A FIFO blocks its reader for ever, a device streams without end, and a link may lead
anywhere (`/`, a loop, a file outside the folder given, a device). So a file is opened only
when it is itself a regular file. Links are never followed, whether named or found inside a
folder; links, FIFOs, devices and sockets are listed like any other file and each gets its
own error (`regular_file`) from the step that would have read it, so a run reports them and
goes on with the rest. Ingest applies the same rule to what it takes in (custody/sources.py).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from forensics.errors import MediaUnreadable, ParameterError

if TYPE_CHECKING:
    import sqlite3


def why_not_read(info: os.stat_result) -> str | None:
    """Gives why a file with this lstat() is not opened, or None for a regular file."""
    mode = info.st_mode
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISLNK(mode):
        return "a symbolic link, not followed: give the file it points to"
    if stat.S_ISDIR(mode):
        return "a folder where a file was expected"
    kind = ("a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file")
    return f"{kind}, not opened: reading it could block or never end"


def regular_file(path: Path) -> os.stat_result:
    """Gives the lstat() of `path`; raises MediaUnreadable naming why when it is not a regular file.

    Call it before opening a file a user gave. (A file swapped for a FIFO between this check and
    the open is not caught here; readers that must be sure open with O_NOFOLLOW | O_NONBLOCK and
    check fstat, as custody does.)
    """
    path = Path(path)
    try:
        info = os.lstat(path)
    except FileNotFoundError as ex:
        raise MediaUnreadable(f"{path.name}: no such file") from ex
    except OSError as ex:
        raise MediaUnreadable(f"{path.name}: cannot be read ({ex.strerror or ex})") from ex
    reason = why_not_read(info)
    if reason is not None:
        raise MediaUnreadable(f"{path.name}: {reason}")
    return info


EMPTY_FOLDER = "a folder with no files in it"


def empty_folders(paths: Iterable[Path], files: list[Path]) -> list[Path]:
    """Gives the folders among `paths` that hold no file at any depth (`files`: media_files' answer for them),
    each its own error for a command that reads files, so that an empty folder is not taken for files without
    sound or without a match."""
    return [Path(p) for p in paths if Path(p).is_dir() and not Path(p).is_symlink()
            and not any(Path(p) in f.parents for f in files)]


def media_files(paths: Iterable[Path]) -> list[Path]:
    """Gives the paths named, and every entry inside the folders named (recursively, hidden ones too, as
    ingest takes them; sorted within each folder), without following a link. A path that does not exist
    is listed as it is too, so that it is its own error ("no such file", from `regular_file` or the reader)
    and the other files are read.

    Only a folder that is itself a folder is entered. A link (to a folder or anything else), a FIFO or a
    device, named or found inside, is listed as it is, for `regular_file` to refuse with a reason; so is a
    folder that cannot be listed (no permission, a path longer than the system allows), so nothing inside
    the folders named is left out without a word.
    """
    out: list[Path] = []

    def unlisted(ex: OSError) -> None:  # os.walk could not list this folder: it is an entry of its own
        out.append(Path(ex.filename))

    for path in paths:
        path = Path(path)
        try:
            info = os.lstat(path)
        except OSError:
            out.append(path)  # gone, or not to be looked at: the reader says why, for this file alone
            continue
        if not stat.S_ISDIR(info.st_mode):
            out.append(path)
            continue
        for root, dirs, files in os.walk(path, followlinks=False, onerror=unlisted):
            here = Path(root)
            # os.walk lists a link to a folder among the folders and never enters it: list it as an entry.
            linked = [d for d in dirs if os.path.islink(here / d)]
            dirs[:] = sorted(d for d in dirs if d not in linked)
            out += [here / f for f in sorted([*files, *linked])]
    return out


def own_file(path: Path, what: str) -> bool:
    """Whether a file this program keeps (an index, a library) exists at `path`; raises ParameterError when
    `path` is a link (never followed, nor created through when dangling) or something other than a file."""
    path = Path(path)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return False
    except OSError as ex:
        raise ParameterError(f"{what} {path}: cannot be looked at ({ex.strerror or ex})") from ex
    reason = why_not_read(info)
    if reason is not None:
        raise ParameterError(f"{what} {path}: {reason}; give the file itself")
    return True


def raise_system_error(ex: Exception, path: Path) -> None:
    """Raises the OSError behind an SQLite error that is the system's (a full disk, an I/O error, a read-only
    disk), so it is reported as the command being unable to run, not as a file that is not ours; else returns."""
    import errno
    import sqlite3

    code = getattr(ex, "sqlite_errorcode", None)
    reasons = {sqlite3.SQLITE_FULL: errno.ENOSPC, sqlite3.SQLITE_IOERR: errno.EIO, sqlite3.SQLITE_READONLY: errno.EROFS}
    if isinstance(code, int) and (code & 0xFF) in reasons:
        number = reasons[code & 0xFF]
        raise OSError(number, os.strerror(number), str(path)) from ex


_SQLITE_MAGIC = b"SQLite format 3\x00"


def sqlite_tables(path: Path) -> frozenset[str] | None:
    """Gives the tables of an SQLite file, read through `sqlite_read_only` (which writes only to roll back a
    write a kill cut short, as any SQLite program opening it would); None when its first bytes are not
    SQLite's. Raises sqlite3.DatabaseError for an SQLite file that cannot be read, OSError as open() does."""
    import contextlib

    with open(path, "rb") as fh:
        if fh.read(len(_SQLITE_MAGIC)) != _SQLITE_MAGIC:
            return None
    with contextlib.closing(sqlite_read_only(path)) as db:
        return frozenset(row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"))


def sqlite_read_only(path: Path) -> sqlite3.Connection:
    """Gives a connection to an SQLite file that cannot write to it; raises sqlite3.DatabaseError for a file
    SQLite cannot read.

    A write that a kill cut short (a hot journal beside the file) is rolled back first, as the next
    read-write open of any SQLite program does: a read-only connection cannot, and would refuse the file.
    """
    import contextlib
    import sqlite3
    import urllib.parse

    uri = f"file:{urllib.parse.quote(os.fsencode(os.path.abspath(path)))}?mode=ro"  # a name may hold ? or #
    db = sqlite3.connect(uri, uri=True)
    try:
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return db
    except sqlite3.DatabaseError as ex:
        db.close()
        if getattr(ex, "sqlite_errorcode", None) != sqlite3.SQLITE_READONLY_ROLLBACK:
            raise
    with contextlib.closing(sqlite3.connect(os.fspath(path))) as recovering:
        recovering.execute("SELECT count(*) FROM sqlite_master").fetchone()
    return sqlite3.connect(uri, uri=True)
