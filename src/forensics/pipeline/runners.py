"""Where per-file analysis runs: threads of this process, a process pool, or a Dask cluster.

All three take a module-level function and a picklable argument (analyse_file and
a FileJob, for ingest) and give back a concurrent.futures Future, so the coordinator
that records results (forensics.pipeline.analyses) does not know or care where the work ran.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import BrokenExecutor, CancelledError, Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any, Self, TypeVar

from forensics.errors import ParameterError
from forensics.limits import exit_without, limit_memory, worker_memory_bytes

T = TypeVar("T")

log = logging.getLogger(__name__)


class Runner:
    """Runs calls on workers; `lost` tells a lost worker from a call that raised."""

    name = "threads"

    def __init__(self, executor: Executor, workers: int) -> None:
        self._executor = executor
        self.workers = workers
        self._gate = threading.Condition()
        self._pending = 0  # calls submitted and not done, every caller's
        self._alone = False  # a call waits to run, or runs, with no other beside it

    def submit(self, func: Callable[[Any], T], arg: Any, *, alone: bool = False,
               wait: bool = True) -> Future[T] | None:
        """Submits `func(arg)`.

        With `alone`, waits until no call of any caller is in flight, and keeps the workers to this
        one call until it is done: when a lost worker took several calls with it, only a call that
        ran alone can be blamed, and the incidents of a batch share their workers. While such a
        call waits or runs, other calls wait for it, or with `wait` False are not submitted (None):
        a caller with calls in flight must not wait, for it may have to stop their workers.
        """
        with self._gate:
            if alone:
                self._gate.wait_for(lambda: not self._alone)
                self._alone = True
                self._gate.wait_for(lambda: self._pending == 0)
            elif self._alone:
                if not wait:
                    return None
                self._gate.wait_for(lambda: not self._alone)
            self._pending += 1
        try:
            try:
                future = self._executor.submit(func, arg)
            except BrokenExecutor:  # another caller's loss broke the pool, and that caller has not replaced it yet
                self.restart()
                future = self._executor.submit(func, arg)
        except BaseException:
            self._done(alone)
            raise
        future.add_done_callback(lambda _: self._done(alone))
        return future

    def _done(self, alone: bool) -> None:
        with self._gate:
            self._pending -= 1
            if alone:
                self._alone = False
            self._gate.notify_all()

    def lost(self, ex: BaseException) -> bool:
        """Whether `ex`, raised by a future, means the worker was lost (and the job may be retried)."""
        return isinstance(ex, BrokenExecutor)

    def restart(self) -> None:
        """Replaces workers after one was lost; jobs in flight must be submitted again."""

    def stop_workers(self) -> bool:
        """Kills the workers, as when a decoder hangs: their calls then count as lost. False where it cannot
        (threads cannot be killed; Dask's own nanny restarts stuck workers)."""
        return False

    def describe(self) -> dict[str, Any]:
        return {"runner": self.name, "workers": self.workers}

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def thread_runner(workers: int = 2) -> Runner:
    """Threads of this process: no start-up cost; decoders release the GIL, probes run in subprocesses."""
    return Runner(ThreadPoolExecutor(max_workers=workers, thread_name_prefix="analyse"), workers)


class ProcessRunner(Runner):
    """A pool of worker processes; a worker killed by a hostile file is replaced."""

    name = "processes"

    def __init__(self, workers: int) -> None:
        # forkserver: workers start from a clean, single-threaded process, never a fork of a
        # coordinator that holds locks in its copy threads.
        self._context = multiprocessing.get_context("forkserver")
        self._restart_lock = threading.Lock()
        super().__init__(self._new(workers), workers)

    def _new(self, workers: int) -> ProcessPoolExecutor:
        # No max_tasks_per_child: on Python 3.11 a pool that replaces a retiring worker can stop
        # handing out work for good (a batch over ../shared/data waited with no worker left).
        return ProcessPoolExecutor(max_workers=workers, mp_context=self._context, initializer=_quiet_worker,
                                   initargs=(os.getpid(), worker_memory_bytes(workers)))

    def restart(self) -> None:
        # Two incidents of a batch share the pool: the second to see it broken finds it replaced.
        with self._restart_lock:
            if getattr(self._executor, "_broken", True):
                self._executor.shutdown(wait=False, cancel_futures=True)
                self._executor = self._new(self.workers)

    def lost(self, ex: BaseException) -> bool:
        # A call of another incident's, cancelled when that incident's loss replaced the pool, is lost too.
        return isinstance(ex, (BrokenExecutor, CancelledError))

    def stop_workers(self) -> bool:
        # The pool has no call to kill its workers: its process table is the one way in. A
        # killed worker breaks the pool, which then fails every call in flight.
        processes = getattr(self._executor, "_processes", None) or {}
        for process in list(processes.values()):
            process.kill()
        return bool(processes)


def process_runner(workers: int | None = None) -> Runner:
    workers = workers or os.cpu_count() or 1
    if workers < 1:
        raise ParameterError(f"workers must be at least 1, not {workers}")
    return ProcessRunner(workers)


class DaskRunner(Runner):
    """Tasks on a Dask distributed cluster; Dask itself retries tasks whose worker died."""

    name = "dask"

    def __init__(self, address: str, workers: int | None) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError as ex:
            raise ParameterError("--dask needs the 'distributed' package: pip install 'forensics[dask]'") from ex
        self._cluster = None
        if address == "local":
            n = workers or os.cpu_count() or 1
            # Processes, not threads, so the per-file work uses every core as the process pool does.
            self._cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                         dashboard_address=None, silence_logs=logging.ERROR)
            self._client = Client(self._cluster)
        else:
            try:
                self._client = Client(address, timeout="30s")
            except OSError as ex:
                raise ParameterError(f"cannot reach the Dask scheduler at {address}: {ex}") from ex
        total = sum(w.get("nthreads", 1) for w in self._client.scheduler_info()["workers"].values())
        super().__init__(self._client.get_executor(pure=False), max(total, 1))

    def lost(self, ex: BaseException) -> bool:
        return type(ex).__name__ == "KilledWorker"  # Dask gave up after retrying on other workers

    def describe(self) -> dict[str, Any]:
        return {"runner": self.name, "workers": self.workers, "scheduler": self._client.scheduler.address}

    def close(self) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()


def dask_runner(address: str, workers: int | None = None) -> Runner:
    return DaskRunner(address, workers)


def _quiet_worker(coordinator_pid: int, memory_bytes: int) -> None:
    # A worker has no terminal of its own: Ctrl-C goes to the coordinator, which stops the pool.
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    limit_memory(memory_bytes)  # a file needing more fails alone (forensics.limits)
    threading.Thread(target=exit_without, args=(coordinator_pid,), name="coordinator-watch", daemon=True).start()
