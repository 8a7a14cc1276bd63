"""Walking source folders without following links out of them, opening devices or trusting names."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

_KINDS = ((stat.S_ISREG, "file"), (stat.S_ISLNK, "symlink"), (stat.S_ISFIFO, "fifo"),
          (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"),
          (stat.S_ISDIR, "directory"))


def kind_of(st: os.stat_result) -> str:
    for test, name in _KINDS:
        if test(st.st_mode):
            return name
    return "unknown file type"


@dataclass(frozen=True, slots=True)
class SourceEntry:
    """One thing found in a source folder, seen through lstat (links are not followed)."""

    root: bytes  # the source folder as given, absolute
    rel: bytes  # path below root, "/"-separated; any bytes at all
    kind: str  # "file", "symlink", "fifo", "socket", ..., or "unreadable directory"
    stat: os.stat_result | None
    error: str | None = None  # why the entry could not be looked at
    link_target: bytes | None = None  # for symlinks, what the link says
    link_inside: bool | None = None  # for symlinks, whether the target stays inside root

    @property
    def path(self) -> bytes:
        return os.path.join(self.root, self.rel)


def _top(source: Path) -> tuple[bytes, list[bytes]]:
    """Returns (root, first names) for a source argument: a folder is its own root, a file's root is its folder."""
    path = os.path.abspath(os.fsencode(source))
    if os.path.isdir(path):
        return path, [b""]
    return os.path.dirname(path), [os.path.basename(path)]


def walk_sources(sources: Sequence[Path], *, exclude: Sequence[Path] = ()) -> Iterator[SourceEntry]:
    """Yields every entry under the sources, in a stable order, one directory listing in memory at a time.

    Folders in `exclude` (the case being written, when it sits inside a
    source) are passed over. Nothing is opened but directories.
    """
    excluded = set()
    for folder in exclude:
        try:
            st = os.stat(folder)
            excluded.add((st.st_dev, st.st_ino))
        except OSError:
            pass
    for source in sources:
        root, firsts = _top(source)
        stack = [*reversed(firsts)]
        while stack:
            rel = stack.pop()
            path = os.path.join(root, rel) if rel else root
            try:
                st = os.lstat(path)
            except OSError as ex:
                yield SourceEntry(root, rel or os.path.basename(root), "missing", None, _reason(ex))
                continue
            kind = kind_of(st)
            if kind != "directory":
                yield _entry(root, rel, kind, st)
                continue
            if (st.st_dev, st.st_ino) in excluded:
                continue
            try:
                names = sorted(e.name for e in os.scandir(path))
            except OSError as ex:
                yield SourceEntry(root, rel or b".", "unreadable directory", st, _reason(ex))
                continue
            stack.extend(reversed([os.path.join(rel, n) if rel else n for n in names]))


def _entry(root: bytes, rel: bytes, kind: str, st: os.stat_result) -> SourceEntry:
    if kind != "symlink":
        return SourceEntry(root, rel, kind, st)
    path = os.path.join(root, rel)
    try:
        target = os.readlink(path)
    except OSError as ex:
        return SourceEntry(root, rel, kind, st, _reason(ex))
    resolved = os.path.realpath(path)
    real_root = os.path.realpath(root)
    inside = resolved == real_root or resolved.startswith(real_root.rstrip(b"/") + b"/")
    return SourceEntry(root, rel, kind, st, link_target=target, link_inside=inside)


def count_sources(sources: Sequence[Path], *, exclude: Sequence[Path] = ()) -> int:
    """Returns how many entries walk_sources will yield (for a progress total)."""
    return sum(1 for _ in walk_sources(sources, exclude=exclude))


def _reason(ex: OSError) -> str:
    if isinstance(ex, FileNotFoundError):
        return "vanished before it could be read"
    return ex.strerror or str(ex)
