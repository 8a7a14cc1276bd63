"""One read of a file gives its copy, its SHA-256 and its SHA-512 together."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import mmap
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
        self.chunks: queue.SimpleQueue[memoryview | None] = queue.SimpleQueue()
        self.hashed = 0
        self.progress = threading.Condition()
        self.thread = threading.Thread(target=self._run, name=f"hash-{name}", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (chunk := self.chunks.get()) is not None:
            self.hash.update(chunk)
            with self.progress:
                self.hashed += 1
                self.progress.notify_all()

    def wait_until_hashed(self, count: int) -> None:
        with self.progress:
            self.progress.wait_for(lambda: self.hashed >= count)

    def finish(self) -> str:
        self.chunks.put(None)
        self.thread.join()
        return self.hash.hexdigest()


# Chunk buffers are reused across files: allocating a fresh 4 MiB buffer per chunk, freed on
# another thread, fragments the allocator's arenas so that memory grew with the number of
# files read (124 MB at 250 MB, 179 MB at 1 GB). A ring of RING buffers per read does not.
# They are anonymous maps, so page-aligned, as direct writes need.
RING = 4
_spare_buffers: queue.SimpleQueue[mmap.mmap] = queue.SimpleQueue()


def _take_buffers(chunk_bytes: int) -> list[mmap.mmap]:
    ring: list[mmap.mmap] = []
    while len(ring) < RING:
        try:
            buffer = _spare_buffers.get_nowait()
        except queue.Empty:
            buffer = mmap.mmap(-1, chunk_bytes)
        if len(buffer) == chunk_bytes:
            ring.append(buffer)
    return ring


def _read_into(fd: int, buffer: mmap.mmap) -> int:
    # A named seam: tests replace it to change a file while it is being read.
    return os.readv(fd, [buffer])


def copy_and_hash(src_fd: int, dst_fd: int | None, *, chunk_bytes: int = CHUNK_BYTES) -> tuple[Digests, bytes]:
    """Reads `src_fd` to its end once, writing to `dst_fd` when given; returns the digests and the head.

    The head is the first HEAD_BYTES of the file (of its first chunk, if shorter), for sniffing its type without
    a second read. Memory stays bounded: RING reused buffers per call.
    """
    ring = _take_buffers(chunk_bytes)
    try:
        first = _read_into(src_fd, ring[0])
        head = bytes(ring[0][:min(first, HEAD_BYTES)])
        filled = [first]
        if 0 < first < chunk_bytes:
            filled.append(_read_into(src_fd, ring[1]))  # a short read is the end, almost always
            if filled[1] == 0:
                # Small files: threads would cost more than they save.
                data = memoryview(ring[0])[:first]
                if dst_fd is not None:
                    _CopyWriter(dst_fd, direct=first >= DIRECT_MIN_BYTES).write(data)
                return Digests(first, hashlib.sha256(data).hexdigest(), hashlib.sha512(data).hexdigest()), head
        return _copy_large(src_fd, dst_fd, ring, filled), head
    finally:
        for buffer in ring:
            _spare_buffers.put(buffer)


def _copy_large(src_fd: int, dst_fd: int | None, ring: list[mmap.mmap], filled: list[int]) -> Digests:
    """Copies and hashes through the ring; `filled` holds the lengths already read into its first buffers."""
    workers = (_HashThread("sha256"), _HashThread("sha512"))
    writer = None if dst_fd is None else _CopyWriter(dst_fd, direct=True)
    size = n = 0
    try:
        while True:
            if n < len(filled):
                got = filled[n]
            else:
                if n >= RING:  # the buffer about to be refilled must have been hashed by both
                    for worker in workers:
                        worker.wait_until_hashed(n - RING + 1)
                got = _read_into(src_fd, ring[n % RING])
            if not got:
                break
            view = memoryview(ring[n % RING])[:got]
            for worker in workers:
                worker.chunks.put(view)
            if writer is not None:
                writer.write(view)
            size += got
            n += 1
    finally:
        digests = [worker.finish() for worker in workers]
    return Digests(size, digests[0], digests[1])


# Copies of at least this size are written past the page cache (O_DIRECT): a buffered write
# costs the kernel a fresh page and a copy per 4 KiB, and was most of ingest's CPU time
# (1 GB: 4.1 s of system time buffered, 1.3 s direct). The copy is not needed in memory
# afterwards, and the source's pages stay cached for whoever reads next.
DIRECT_MIN_BYTES = 1 << 20
DIRECT_ALIGN = 4096  # a direct write's length, file offset and buffer address are multiples of this
_O_DIRECT = getattr(os, "O_DIRECT", 0)


class _CopyWriter:
    """Writes a copy's chunks in order: whole blocks directly where the file system allows, the rest buffered.

    A file system without direct I/O (tmpfs, some network ones) refuses the flag or the first
    write with EINVAL; the copy then goes on through the page cache from where it was. The
    last partial block always does, so a copy is never padded.
    """

    def __init__(self, fd: int, *, direct: bool) -> None:
        self.fd = fd
        self.direct = direct and _O_DIRECT != 0 and _set_flag(fd, _O_DIRECT, True)

    def write(self, data: memoryview) -> None:
        view = data
        while view:
            if self.direct and len(view) % DIRECT_ALIGN:
                self._buffered()
            try:
                view = view[os.write(self.fd, view):]
            except OSError as ex:
                if not (self.direct and ex.errno == errno.EINVAL):
                    raise
                self._buffered()  # nothing was written: a direct write is refused whole

    def _buffered(self) -> None:
        self.direct = False
        _set_flag(self.fd, _O_DIRECT, False)


def _set_flag(fd: int, flag: int, on: bool) -> bool:
    """Turns a file status flag on or off; gives back False where the file refuses it."""
    try:
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, flags | flag if on else flags & ~flag)
    except OSError as ex:
        if ex.errno == errno.EINVAL:
            return False
        raise
    return True


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
