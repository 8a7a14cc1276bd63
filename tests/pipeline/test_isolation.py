"""A reader that hangs, crashes or raises costs only its call; a worker never outlives its coordinator."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from forensics.errors import ParameterError
from forensics.pipeline.isolation import RESTART_CLOCK, Job, WorkerPool

# Readers for the workers: module-level, so a worker imports them from this file by name.

def yield_then_hang(seconds: float) -> Iterator[str]:
    yield "read before the hang"
    time.sleep(seconds)
    yield "never sent"


def slow_then_quick(seconds: float) -> Iterator[str]:
    time.sleep(seconds)  # "hashing": slow, but it says so by restarting the clock
    yield RESTART_CLOCK
    yield "done"


@pytest.fixture(scope="module")
def pool() -> Iterator[WorkerPool]:
    with WorkerPool(workers=2) as workers:
        yield workers


def test_a_hanging_reader_is_killed_at_the_time_limit(pool: WorkerPool) -> None:
    start = time.monotonic()
    outcome = pool.run(yield_then_hang, 60, timeout_s=3.0)  # generous: a loaded machine must still reach the yield
    assert outcome.status == "timeout"
    assert outcome.items == ("read before the hang",)  # what came before the hang is kept
    assert time.monotonic() - start < 10


def test_a_crashing_reader_costs_only_its_call(pool: WorkerPool) -> None:
    assert pool.run(os._exit, 7, timeout_s=5).status == "died"
    assert pool.run(int, "x", timeout_s=5).status == "raised"
    assert pool.run(int, "41", timeout_s=5).items == (41,)  # the pool replaced its worker


def test_one_hang_in_a_batch_does_not_hold_up_the_others(pool: WorkerPool) -> None:
    jobs = [Job("hang", 60), *(Job(n, 0.01) for n in range(6))]
    start = time.monotonic()
    outcomes = {o.key: o.status for o in pool.map_unordered(time.sleep, jobs, timeout_s=1.0)}
    assert outcomes == {"hang": "timeout", **dict.fromkeys(range(6), "done")}
    assert time.monotonic() - start < 10


def test_the_clock_restarts_after_the_slow_first_phase(pool: WorkerPool) -> None:
    outcome = pool.run(slow_then_quick, 1.2, timeout_s=0.8, first_timeout_s=5.0)
    assert (outcome.status, outcome.items) == ("done", ("done",))


def test_pool_arguments_are_checked() -> None:
    with pytest.raises(ParameterError):
        WorkerPool(workers=0)
    with WorkerPool(workers=1) as one, pytest.raises(ParameterError):
        one.run(int, "1", timeout_s=0)


def test_a_worker_blocked_in_a_call_ends_when_its_coordinator_is_killed(tmp_path) -> None:
    """A probe killed by `timeout` left a worker blocked on a read for ever (an orphan found hours later)."""
    import signal
    import subprocess
    import sys
    import time

    fifo = tmp_path / "never-written"
    os.mkfifo(fifo)
    coordinator = tmp_path / "coordinator.py"
    # The worker is made to block in a call: it opens a FIFO no one writes (the library never would).
    coordinator.write_text(
        "import os, pathlib\n"
        "from forensics.pipeline.isolation import WorkerPool\n"
        "pool = WorkerPool(workers=1)\n"
        "print(os.getpid(), flush=True)\n"
        f"pool.run(pathlib.Path.read_bytes, pathlib.Path({str(fifo)!r}), timeout_s=600)\n")
    process = subprocess.Popen([sys.executable, str(coordinator)], stdout=subprocess.PIPE, text=True)
    process.stdout.readline()
    deadline = time.monotonic() + 30
    workers: list[str] = []
    while time.monotonic() < deadline and not workers:
        found = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True,
                               check=False).stdout.split()
        workers = found
        time.sleep(0.2)
    assert workers, "no worker started"
    time.sleep(1.0)  # the worker is inside the call now
    process.send_signal(signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(os.path.exists(f"/proc/{pid}") for pid in workers):
        time.sleep(0.2)
    assert not any(os.path.exists(f"/proc/{pid}") and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
                   for pid in workers)
