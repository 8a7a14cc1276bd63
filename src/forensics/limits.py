"""What bounds a worker process: the memory it may use, and its life, which ends with its coordinator's.

Memory: a hostile file fails alone instead of taking the machine down.

Analysis and probe workers read untrusted media. A file whose header lies (a 16 KB WAV claiming 1 Hz
once reached 5.9 GB) or a decoder bug can ask for more memory than the machine has; the kernel's OOM
killer then picks a victim, which may be the coordinator writing a case. Each worker's address space
is capped, so such a file gets MemoryError (or a decoder's out-of-memory error), recorded as that
file's error, and the batch goes on.
"""

from __future__ import annotations

import os
import resource
import time

from forensics.errors import ParameterError

_GIB = 1 << 30
MIN_WORKER_BYTES = 2 * _GIB  # decoders reserve far more address space than they touch (thread arenas)
MAX_WORKER_BYTES = 8 * _GIB
ENV = "FORENSICS_WORKER_MEMORY_GB"  # set to give each worker another budget


def worker_memory_bytes(workers: int) -> int:
    """Gives each of `workers` worker processes its address-space budget: 80% of the memory, shared out,
    between MIN_WORKER_BYTES and MAX_WORKER_BYTES; $FORENSICS_WORKER_MEMORY_GB overrides it."""
    chosen = os.environ.get(ENV)
    if chosen:
        try:
            gib = float(chosen)
        except ValueError:
            gib = float("nan")
        # Below 1 GiB a worker cannot even load its decoders: every file would fail as if damaged.
        if not 1.0 <= gib < float("inf"):
            raise ParameterError(f"{ENV}={chosen!r}: give each worker's memory in GiB, 1 or more (e.g. 4)")
        return int(gib * _GIB)
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (OSError, ValueError):
        return MAX_WORKER_BYTES
    return int(min(MAX_WORKER_BYTES, max(MIN_WORKER_BYTES, 0.8 * total / max(1, workers))))


def limit_memory(limit_bytes: int) -> None:
    """Caps this process's address space at `limit_bytes` (never raises a limit already lower)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY and soft <= limit_bytes:
        return
    if hard != resource.RLIM_INFINITY:
        limit_bytes = min(limit_bytes, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, hard))


def exit_without(coordinator_pid: int, every_s: float = 1.0) -> None:
    """Ends this worker once the process that started the pool is gone.

    A coordinator killed outright (SIGKILL, the OOM killer) cannot stop its pool, and a
    worker waiting for calls would wait for ever: each holds both ends of the call
    queue, so it never reads an end of file. Its own reader processes follow it.
    """
    while True:
        time.sleep(every_s)
        try:
            os.kill(coordinator_pid, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:
            pass  # alive, under another user: only a recycled pid, long after, looks like this
