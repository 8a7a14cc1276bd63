"""One read of a file gives its copy, its SHA-256 and its SHA-512 together."""

from __future__ import annotations

import hashlib
import os
import queue
import threading
from dataclasses import dataclass
from pathlib import Path

CHUNK_BYTES = 4 << 20  # larger chunks measured no faster; smaller cost more hand-offs
HEAD_BYTES = 64 << 10  # what media-type sniffing gets to look at


@dataclass(frozen=True, slots=True)
class Digests:
    """A file's size and both digests, hex."""

    size: int
    sha256: str
    sha512: str


class _HashThread:
    """Feeds chunks to one hash on its own thread; hashlib drops the GIL, so two use two cores."""

    def __init__(self, name: str) -> None:
        self.hash = hashlib.new(name)
        self.chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=8)
        self.thread = threading.Thread(target=self._run, name=f"hash-{name}", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (chunk := self.chunks.get()) is not None:
            self.hash.update(chunk)

    def finish(self) -> str:
        self.chunks.put(None)
        self.thread.join()
        return self.hash.hexdigest()


def _read_chunk(fd: int, size: int) -> bytes:
    # A named seam: tests replace it to change a file while it is being read.
    return os.read(fd, size)


def copy_and_hash(src_fd: int, dst_fd: int | None, *, chunk_bytes: int = CHUNK_BYTES) -> tuple[Digests, bytes]:
    """Reads `src_fd` to its end once, writing to `dst_fd` when given; returns the digests and the head.

    The head is the first HEAD_BYTES of the file, for sniffing its type without
    a second read. Memory stays bounded: at most a few chunks are in flight.
    """
    first = _read_chunk(src_fd, chunk_bytes)
    head = first[:HEAD_BYTES]
    if len(first) < chunk_bytes:
        # Small files: threads would cost more than they save.
        if dst_fd is not None:
            _write_all(dst_fd, first)
        return Digests(len(first), hashlib.sha256(first).hexdigest(), hashlib.sha512(first).hexdigest()), head
    workers = (_HashThread("sha256"), _HashThread("sha512"))
    size = 0
    chunk = first
    try:
        while chunk:
            for worker in workers:
                worker.chunks.put(chunk)
            if dst_fd is not None:
                _write_all(dst_fd, chunk)
            size += len(chunk)
            chunk = _read_chunk(src_fd, chunk_bytes)
    finally:
        digests = [worker.finish() for worker in workers]
    return Digests(size, digests[0], digests[1]), head


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def open_for_reading(path: Path | bytes) -> int:
    """Opens a file to read without following a final symlink, without blocking on a FIFO, and
    without touching its access time where the system lets us."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    noatime = getattr(os, "O_NOATIME", 0)
    if noatime:
        try:
            return os.open(path, flags | noatime)
        except PermissionError:
            pass  # O_NOATIME needs ownership of the file; fall back to a plain read
    return os.open(path, flags)


def hash_file(path: Path) -> Digests:
    """Returns the size and both digests of the file at `path`."""
    fd = open_for_reading(path)
    try:
        return copy_and_hash(fd, None)[0]
    finally:
        os.close(fd)
