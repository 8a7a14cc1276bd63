"""Long-lived worker processes that run one reader call per file under a time limit.

Readers are third-party C and Python code fed hostile files: exifread raises on some,
libavformat could crash or spin on others. Each call runs in a worker process; a call
that overruns its limit gets its worker killed, a worker that dies is replaced, and
either way only that one call is lost. Workers live across calls, so a batch pays the
interpreter start-up (about 0.3 s) once per core and once per lost worker, not per file.

Workers are plain subprocesses of `sys.executable`, not multiprocessing children: they
do not re-import the caller's main module, and they can be started from inside daemonic
processes (a Dask or multiprocessing worker), where multiprocessing refuses to.

A call is a module-level function and one picklable argument. It may return a value or
yield several; every yielded value reaches the parent as it comes, so what was read
before a hang is kept. Yielding RESTART_CLOCK starts the time limit afresh (after
hashing a large file, say, which is slow but not stuck).
"""

from __future__ import annotations

import atexit
import logging
import os
import pickle
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any, Self

from forensics.errors import ParameterError
from forensics.limits import exit_without, limit_memory, worker_memory_bytes

log = logging.getLogger(__name__)

RESTART_CLOCK = "restart-clock"
_STARTUP_TIMEOUT_S = 60.0  # interpreter start and imports, on a loaded machine


@dataclass(frozen=True, slots=True)
class Job:
    """One call to make: `func(arg)`; `first_timeout_s` bounds the time until RESTART_CLOCK."""

    key: Any  # returned with the outcome, to match it to its input
    arg: Any
    first_timeout_s: float | None = None  # None: the pool's timeout_s


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one call ended and what it yielded before."""

    key: Any
    items: tuple[Any, ...]  # values the call returned or yielded, in order
    status: str  # "done", "raised", "timeout" or "died"
    detail: str | None = None  # exception text, or how the worker was lost
    elapsed_s: float = 0.0


@dataclass(slots=True)
class _Worker:
    process: subprocess.Popen[bytes]
    to_child: Connection
    from_child: Connection
    ready: bool = False
    calls: int = 0


@dataclass(slots=True)
class _Slot:
    worker: _Worker | None = None
    job: Job | None = None
    started: float = 0.0
    deadline: float = 0.0
    first_timeout_s: float = 0.0
    items: list[Any] = field(default_factory=list)


class WorkerPool:
    """A fixed number of worker processes; see the module docstring."""

    def __init__(self, *, workers: int | None = None, preload: tuple[str, ...] = (),
                 silence_stderr: bool = True, max_calls_per_worker: int = 1000) -> None:
        if workers is None:
            workers = os.cpu_count() or 1
        if workers < 1:
            raise ParameterError(f"workers must be at least 1, not {workers}")
        self._slots = [_Slot() for _ in range(workers)]
        self._preload = preload
        self._silence_stderr = silence_stderr
        self._max_calls = max_calls_per_worker
        self._memory_bytes = worker_memory_bytes(workers)
        self._lock = threading.Lock()
        self._closed = False

    @property
    def workers(self) -> int:
        return len(self._slots)

    def run(self, func: Callable[[Any], Any], arg: Any, *, timeout_s: float,
            first_timeout_s: float | None = None) -> Outcome:
        """Makes one isolated call and waits for its outcome."""
        outcomes = self.map_unordered(func, [Job(None, arg, first_timeout_s)], timeout_s=timeout_s)
        try:
            return next(outcomes)
        finally:
            outcomes.close()  # releases the pool now, not when the generator is collected

    def map_unordered(self, func: Callable[[Any], Any], jobs: Iterable[Job], *,
                      timeout_s: float) -> Generator[Outcome, None, None]:
        """Runs `func` on every job across the workers; yields outcomes as calls end.

        Holds the pool for the whole iteration: do not call the same pool from inside the loop.
        """
        if timeout_s <= 0:
            raise ParameterError(f"timeout_s must be positive, not {timeout_s}")
        with self._lock:
            if self._closed:
                raise ParameterError("the worker pool is closed")
            pending = iter(jobs)
            exhausted = False
            try:
                while True:
                    for slot in self._slots:
                        if exhausted or slot.job is not None:
                            continue
                        job = next(pending, None)
                        if job is None:
                            exhausted = True
                            break
                        self._start(slot, func, job, timeout_s)
                    busy = [s for s in self._slots if s.job is not None]
                    if not busy:
                        return
                    yield from self._collect(busy, timeout_s)
            finally:
                # Calls still running when the consumer stops would later answer for the
                # wrong job: end their workers.
                for slot in self._slots:
                    if slot.job is not None:
                        self._kill(slot)

    def close(self) -> None:
        """Stops every worker; the pool cannot be used afterwards."""
        with self._lock:
            self._closed = True
            for slot in self._slots:
                self._stop(slot)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self, slot: _Slot, func: Callable[[Any], Any], job: Job, timeout_s: float) -> None:
        if slot.worker is not None and (slot.worker.calls >= self._max_calls or slot.worker.process.poll() is not None):
            self._stop(slot)  # the call cap bounds what a leaky C library can accumulate
        if slot.worker is None:
            slot.worker = self._spawn()
        now = time.monotonic()
        slot.job, slot.items, slot.started = job, [], now
        slot.first_timeout_s = job.first_timeout_s if job.first_timeout_s is not None else timeout_s
        # A starting worker gets its start-up time on top; "ready" resets the clock.
        slot.deadline = now + slot.first_timeout_s + (0 if slot.worker.ready else _STARTUP_TIMEOUT_S)
        slot.worker.calls += 1
        slot.worker.to_child.send((func, job.arg))

    def _collect(self, busy: list[_Slot], timeout_s: float) -> Iterator[Outcome]:
        """Waits until a call sends something or a deadline passes; yields the calls that ended."""
        wait_s = max(0.0, min(s.deadline for s in busy) - time.monotonic())
        ready = set(wait([s.worker.from_child for s in busy if s.worker], timeout=wait_s))
        for slot in busy:
            outcome = None
            if slot.worker is not None and slot.worker.from_child in ready:
                outcome = self._drain(slot, timeout_s)
            if outcome is None and slot.job is not None and time.monotonic() >= slot.deadline:
                outcome = self._finish(slot, "timeout", "no answer within the time limit; worker killed")
                self._kill(slot)
            if outcome is not None:
                yield outcome

    def _drain(self, slot: _Slot, timeout_s: float) -> Outcome | None:
        worker = slot.worker
        assert worker is not None
        try:
            while worker.from_child.poll():
                kind, payload = worker.from_child.recv()
                if kind == "ready":
                    worker.ready = True
                    slot.deadline = time.monotonic() + slot.first_timeout_s
                elif kind == "item":
                    slot.items.append(payload)
                elif kind == "clock":
                    slot.deadline = time.monotonic() + timeout_s
                elif kind == "done":
                    return self._finish(slot, "done", None)
                elif kind == "raised":
                    return self._finish(slot, "raised", payload)
        except (EOFError, OSError):
            # The worker's end of the pipe closed: it died (a crash, os._exit, the OOM killer).
            try:
                code = worker.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                code = None
            outcome = self._finish(slot, "died", f"worker process ended with exit code {code}")
            self._kill(slot)
            return outcome
        return None

    def _finish(self, slot: _Slot, status: str, detail: str | None) -> Outcome:
        assert slot.job is not None
        outcome = Outcome(slot.job.key, tuple(slot.items), status, detail,
                          round(time.monotonic() - slot.started, 6))
        slot.job, slot.items = None, []
        return outcome

    def _spawn(self) -> _Worker:
        job_read, job_write = os.pipe()
        result_read, result_write = os.pipe()
        # The worker gets sys.path as the parent has it, so it imports the same code.
        bootstrap = (f"import sys; sys.path[:0] = {[p for p in sys.path if p]!r}; "
                     f"from forensics.pipeline.isolation import serve; serve({job_read}, {result_write}, "
                     f"{self._silence_stderr!r}, {list(self._preload)!r}, {self._memory_bytes!r})")
        try:
            process = subprocess.Popen(
                [sys.executable, "-c", bootstrap], pass_fds=(job_read, result_write),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL if self._silence_stderr else None)
        finally:
            os.close(job_read)
            os.close(result_write)
        return _Worker(process, Connection(job_write, readable=False), Connection(result_read, writable=False))

    def _kill(self, slot: _Slot) -> None:
        worker = slot.worker
        slot.worker, slot.job, slot.items = None, None, []
        if worker is None:
            return
        worker.process.kill()
        try:
            worker.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            log.warning("worker process %d did not end after SIGKILL", worker.process.pid)
        worker.to_child.close()
        worker.from_child.close()

    def _stop(self, slot: _Slot) -> None:
        worker = slot.worker
        if worker is None:
            return
        try:
            worker.to_child.send(None)
            worker.process.wait(timeout=2)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            pass
        self._kill(slot)


def serve(job_fd: int, result_fd: int, silence_stderr: bool, preload: list[str],
          memory_bytes: int | None = None) -> None:
    """The loop of one worker process: receive a call, send back what it yields."""
    import importlib

    if memory_bytes is not None:
        limit_memory(memory_bytes)  # a file needing more fails alone (forensics.limits)
    # A worker blocked inside a call never sees its coordinator's pipe close: it ends with it instead.
    threading.Thread(target=exit_without, args=(os.getppid(),), name="coordinator-watch", daemon=True).start()

    # Without a handler, Python prints warnings of exifread & co. to stderr as a last resort.
    logging.getLogger().addHandler(logging.NullHandler())
    jobs = Connection(job_fd, writable=False)
    results = Connection(result_fd, readable=False)
    for module in preload:
        importlib.import_module(module)
    results.send(("ready", None))
    while True:
        try:
            message = jobs.recv_bytes()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        try:
            call = pickle.loads(message)  # here, so a function that cannot be imported is a "raised"
            if call is None:
                return
            func, arg = call
            result = func(arg)
            if isinstance(result, Iterator):
                for item in result:
                    is_clock = isinstance(item, str) and item == RESTART_CLOCK
                    results.send(("clock", None) if is_clock else ("item", item))
            else:
                results.send(("item", result))
            results.send(("done", None))
        except Exception as ex:  # noqa: BLE001 - the parent decides what a failure means
            try:
                results.send(("raised", f"{type(ex).__name__}: {ex}"[:1000]))
            except (OSError, ValueError):
                return


_shared: WorkerPool | None = None
_shared_lock = threading.Lock()


def shared_pool(*, preload: tuple[str, ...] = ()) -> WorkerPool:
    """A process-wide pool (one worker per core), started on first use and stopped at exit."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = WorkerPool(preload=preload)
            atexit.register(_shared.close)
        return _shared
