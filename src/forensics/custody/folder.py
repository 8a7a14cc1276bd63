"""A case folder reached only through folder descriptors: no link inside a case is ever followed.

A case may come from someone else, so every path in it is untrusted: each
component is opened relative to its parent with O_NOFOLLOW, and a file is
looked at (lstat) before it is opened, so a symbolic link, FIFO, device or
socket is never read, written, deleted or followed, only named (`NotRegular`).
Paths are relative, "/"-separated, and may not climb out (`..`) or be absolute:
a path named by a (possibly forged) log entry cannot reach outside the case.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Self

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
_KINDS = ((stat.S_ISREG, "file"), (stat.S_ISDIR, "folder"), (stat.S_ISLNK, "symbolic link"),
          (stat.S_ISFIFO, "FIFO"), (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "character device"),
          (stat.S_ISBLK, "block device"))
MAX_DEPTH = 24  # the deepest a case's own layout goes is 5 (data/derived/ab/<sha256>/name)


def kind_of_mode(mode: int) -> str:
    """Names a file type for a person: "file", "folder", "symbolic link", "FIFO", ..."""
    for test, name in _KINDS:
        if test(mode):
            return name
    return "file of unknown type"


class NotRegular(OSError):
    """A path inside a case is (or passes through) something other than a regular file or folder."""

    def __init__(self, rel: str, kind: str) -> None:
        super().__init__(errno.ELOOP if kind == "symbolic link" else errno.EINVAL, f"{rel} is a {kind}")
        self.rel = rel
        self.kind = kind


class TooLarge(OSError):
    """A file inside a case is larger than the reader allows for what it should be."""

    def __init__(self, rel: str, size: int, limit: int) -> None:
        super().__init__(errno.EFBIG, f"{rel} holds {size:,} bytes, more than the {limit:,} it may")
        self.rel = rel
        self.size = size


@dataclass(frozen=True, slots=True)
class Entry:
    """One thing found by `CaseFolder.walk`, seen through lstat."""

    rel: str  # "/"-separated path in the case, as the file system names it (undecodable bytes surrogate-escaped)
    kind: str  # kind_of_mode(): "file", "folder", "symbolic link", ...
    size: int
    nlink: int


def parts_of(rel: str) -> list[str]:
    """Splits a case-relative path; raises ValueError for one that is absolute, empty or climbs out."""
    parts = rel.split("/")
    if not rel or rel.startswith("/") or any(p in ("", ".", "..") or "\x00" in p for p in parts):
        raise ValueError(f"{rel!r} is not a path inside the case")
    return parts


class CaseFolder:
    """The case's top folder, held open; every access below it goes through folder descriptors."""

    def __init__(self, path: Path) -> None:
        self.path = Path(os.path.abspath(path))
        # The top folder itself is the one the user named: following a link to it is their choice.
        self.fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        self._lock = threading.Lock()
        self._cached: dict[str, int] = {}

    def close(self) -> None:
        with self._lock:
            for fd in self._cached.values():
                os.close(fd)
            self._cached.clear()
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- folders ------------------------------------------------------------------------------------
    def open_dir(self, rel: str, *, create: bool = False) -> int:
        """Opens the folder `rel` ("" for the top) without following links; the caller closes the descriptor.

        With `create`, missing folders on the way are made. Raises NotRegular when a
        component is anything but a folder, FileNotFoundError when one is missing.
        """
        parts = parts_of(rel) if rel else []
        fd = os.dup(self.fd)
        for n, part in enumerate(parts, 1):
            fd = self._step(fd, part, "/".join(parts[:n]), create)  # closes the parent, even when it raises
        return fd

    def _step(self, parent: int, name: str, rel: str, create: bool) -> int:
        """Opens folder `name` in `parent` (closing `parent`); gives the new descriptor."""
        try:
            try:
                return os.open(name, _DIR_FLAGS, dir_fd=parent)
            except FileNotFoundError:
                if not create:
                    raise
                with contextlib.suppress(FileExistsError):
                    os.mkdir(name, 0o755, dir_fd=parent)
                return os.open(name, _DIR_FLAGS, dir_fd=parent)
            except OSError as ex:
                if ex.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise NotRegular(rel, self._kind_at(parent, name)) from None
                raise
        finally:
            os.close(parent)

    @staticmethod
    def _kind_at(parent: int, name: str) -> str:
        try:
            return kind_of_mode(os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode)
        except OSError:
            return "file of unknown type"

    @contextlib.contextmanager
    def dir(self, rel: str, *, create: bool = False) -> Iterator[int]:
        """Holds the folder `rel` open for the block."""
        fd = self.open_dir(rel, create=create)
        try:
            yield fd
        finally:
            os.close(fd)

    def cached_dir(self, rel: str) -> int:
        """A descriptor of folder `rel` (made when missing) kept open until `close`: for folders written often."""
        with self._lock:
            fd = self._cached.get(rel)
            if fd is None:
                fd = self._cached[rel] = self.open_dir(rel, create=True)
            return fd

    @staticmethod
    def split(rel: str) -> tuple[str, str]:
        """(parent folder, name) of a case path."""
        parts = parts_of(rel)
        return "/".join(parts[:-1]), parts[-1]

    # -- looking and reading --------------------------------------------------------------------------
    def lstat(self, rel: str) -> os.stat_result | None:
        """The lstat of `rel`, or None when it (or a folder on the way) is missing.

        Raises NotRegular when a folder on the way is not a folder.
        """
        parent, name = self.split(rel)
        try:
            with self.dir(parent) as fd:
                return os.stat(name, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            return None

    def open_file(self, rel: str) -> int:
        """Opens the regular file `rel` for reading; raises NotRegular for anything else, FileNotFoundError when missing."""
        parent, name = self.split(rel)
        with self.dir(parent) as dir_fd:
            return self.open_file_in(dir_fd, name, rel)

    @staticmethod
    def open_file_in(dir_fd: int, name: str, rel: str) -> int:
        """Opens regular file `name` of an open folder for reading; never opens a FIFO or device, never follows a link."""
        before = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        if not stat.S_ISREG(before.st_mode):
            raise NotRegular(rel, kind_of_mode(before.st_mode))
        try:
            fd = os.open(name, _READ_FLAGS, dir_fd=dir_fd)
        except OSError as ex:
            if ex.errno == errno.ELOOP:
                raise NotRegular(rel, "symbolic link") from None
            raise
        after = os.fstat(fd)
        if not stat.S_ISREG(after.st_mode) or (after.st_dev, after.st_ino) != (before.st_dev, before.st_ino):
            os.close(fd)
            raise NotRegular(rel, kind_of_mode(after.st_mode) + " (swapped while opened)")
        return fd

    def read(self, rel: str, *, max_bytes: int) -> bytes:
        """The bytes of regular file `rel`; raises TooLarge beyond `max_bytes`, NotRegular, FileNotFoundError."""
        fd = self.open_file(rel)
        try:
            return read_bounded(fd, rel, max_bytes)
        finally:
            os.close(fd)

    def walk(self, rel: str = "", *, skip: frozenset[str] = frozenset()) -> Iterator[Entry]:
        """Yields every entry below folder `rel` but folders, each folder's files before its subfolders'.

        Links are yielded, never followed; only real folders are entered, at most
        MAX_DEPTH deep (deeper folders are yielded as entries of kind "folder"
        and not entered). `skip` names top-level entries (relative to the case) to leave out.
        A missing `rel` yields nothing; one that is not a folder raises NotRegular.
        """
        try:
            os.close(self.open_dir(rel))
        except FileNotFoundError:
            return
        # Folders still to enter, by path: each is opened (component by component, no link followed) when
        # its turn comes, so a folder of a hundred thousand subfolders holds no descriptor for each.
        stack: list[tuple[str, int]] = [(rel, 0)]
        while stack:
            here, depth = stack.pop()
            try:
                fd = self.open_dir(here)
            except NotRegular as ex:  # swapped for a link since it was looked at
                yield Entry(ex.rel, ex.kind, 0, 1)
                continue
            except FileNotFoundError:
                continue
            except OSError:
                yield Entry(here, "folder that cannot be read", 0, 1)
                continue
            try:
                subfolders = []
                # One entry at a time, in the folder's own order: a folder of a million names is never
                # held whole. Only the subfolders' names are kept, to enter them after.
                with os.scandir(fd) as listing:
                    for found in listing:
                        name = found.name
                        child = f"{here}/{name}" if here else name
                        if child in skip:
                            continue
                        try:
                            st = found.stat(follow_symlinks=False)
                        except FileNotFoundError:
                            continue
                        entry = Entry(child, kind_of_mode(st.st_mode), st.st_size, st.st_nlink)
                        if entry.kind == "folder" and depth < MAX_DEPTH:
                            subfolders.append(child)
                        else:
                            yield entry
            finally:
                os.close(fd)
            subfolders.sort(reverse=True)
            stack.extend((child, depth + 1) for child in subfolders)

    # -- writing ----------------------------------------------------------------------------------
    def write_atomic(self, rel: str, data: bytes, *, mode: int = 0o644, durable: bool = True) -> None:
        """Replaces `rel` with `data` through a temp file and a rename in its folder (made when missing).

        A reader sees the old file or the new one, never half; a link at `rel` is
        replaced, never written through. With `durable`, the file and its folder
        entry are on disk when this returns.
        """
        parent, name = self.split(rel)
        with self.dir(parent, create=True) as dir_fd:
            write_atomic_in(dir_fd, name, data, mode=mode, durable=durable)

    def rename(self, src: str, dst: str) -> None:
        """Moves `src` to `dst` (its folders made when missing); never replaces an existing `dst`."""
        src_parent, src_name = self.split(src)
        dst_parent, dst_name = self.split(dst)
        with self.dir(src_parent) as src_fd, self.dir(dst_parent, create=True) as dst_fd:
            try:
                os.stat(dst_name, dir_fd=dst_fd, follow_symlinks=False)
            except FileNotFoundError:
                pass
            else:
                raise FileExistsError(errno.EEXIST, f"{dst} exists already")
            os.rename(src_name, dst_name, src_dir_fd=src_fd, dst_dir_fd=dst_fd)
            os.fsync(dst_fd)
            if src_fd != dst_fd:
                os.fsync(src_fd)

    def unlink(self, rel: str) -> None:
        """Removes the file entry `rel` (a link itself, never its target); missing is fine."""
        parent, name = self.split(rel)
        try:
            with self.dir(parent) as fd:
                os.unlink(name, dir_fd=fd)
        except FileNotFoundError:
            pass


def inside(path: Path, folder: Path) -> bool:
    """Whether `path` is `folder` or lies below it, as named or once links are resolved."""
    pairs = ((Path(os.path.abspath(path)), Path(os.path.abspath(folder))),
             (Path(os.path.realpath(path)), Path(os.path.realpath(folder))))
    return any(p == f or f in p.parents for p, f in pairs)


def read_named_file(path: Path, *, max_bytes: int) -> bytes:
    """The bytes of a small file the user named (a key, a certificate chain): a regular file only, bounded.

    Links are followed (the user named the path), but a FIFO, device or socket
    is never opened: raises NotRegular, TooLarge, or OSError.
    """
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise NotRegular(str(path), kind_of_mode(st.st_mode))
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotRegular(str(path), kind_of_mode(os.fstat(fd).st_mode))
        return read_bounded(fd, str(path), max_bytes)
    finally:
        os.close(fd)


def read_bounded(fd: int, rel: str, max_bytes: int) -> bytes:
    """Reads an open file to its end, refusing (TooLarge) to hold more than `max_bytes`."""
    size = os.fstat(fd).st_size
    if size > max_bytes:
        raise TooLarge(rel, size, max_bytes)
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = os.read(fd, min(1 << 20, max_bytes + 1 - total))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
        if total > max_bytes:  # it grew since the fstat
            raise TooLarge(rel, total, max_bytes)


def write_atomic_in(dir_fd: int, name: str, data: bytes, *, mode: int = 0o644, durable: bool = True) -> None:
    """Replaces `name` in an open folder with `data` (temp file, fsync, rename, fsync of the folder)."""
    tmp = f".tmp-{secrets.token_hex(4)}-{name[:40]}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=dir_fd)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            if durable:
                os.fsync(fd)
            os.fchmod(fd, mode)
        finally:
            os.close(fd)
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dir_fd)
        raise
    if durable:
        os.fsync(dir_fd)
