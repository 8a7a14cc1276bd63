"""The runners' contract: the same results from threads, processes and Dask; lost workers told apart."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import BrokenExecutor, Future
from pathlib import Path

import pytest

from conftest import FIXTURES
from forensics.pipeline.analyses import _results_in_order
from forensics.pipeline.file_analysis import FileJob, FileResults, analyse_file
from forensics.pipeline.runners import Runner, dask_runner, process_runner, thread_runner
from forensics.record_kinds import FRAMES, METADATA

_FILES = {"video/strike_excerpt.mp4": "video", "photo/IMG_0001.jpg": "image", "audio/intercept_clip.m4a": "audio",
          "notes.txt": "other"}


def _jobs() -> list[FileJob]:
    jobs = []
    for name, kind in _FILES.items():
        steps = (METADATA, FRAMES) if kind == "video" else (METADATA,) if kind != "other" else ()
        jobs.append(FileJob(path=str(FIXTURES / "incident" / name), sha256="0" * 64, name=name, sniffed_type=kind,
                            fs_mtime_utc="2024-03-14T09:26:00Z", steps=steps))
    return jobs


def _comparable(results: FileResults) -> list:
    return [(r.step, r.record.to_json(), [(d.name, d.data, d.operation, d.parameters) for d in r.derived])
            for r in results.results]


_MAKERS = {"threads": thread_runner, "processes": process_runner, "dask": lambda workers: dask_runner("local", workers)}


def _runner(kind: str) -> Runner:
    if kind == "dask":
        pytest.importorskip("distributed")
    return _MAKERS[kind](workers=2)


@pytest.fixture(scope="module", params=["threads", "processes", "dask"])
def runner(request: pytest.FixtureRequest) -> Iterator[Runner]:
    with _runner(request.param) as made:  # one of each for the module: a LocalCluster takes seconds to start
        yield made


def test_every_runner_gives_the_results_of_this_process(runner: Runner) -> None:
    jobs = _jobs()
    here = [analyse_file(job) for job in jobs]
    there = [runner.submit(analyse_file, job).result(timeout=300) for job in jobs]
    assert [_comparable(r) for r in there] == [_comparable(r) for r in here]
    video = _comparable(there[0])
    assert [step for step, *_ in video] == [METADATA, FRAMES] and len(video[1][2]) >= 3  # frames, sheet, thumbnail
    assert _comparable(there[3]) == []  # no step for a text file
    assert all(r.host and r.pid for r in there)
    if runner.name != "threads":
        assert {r.pid for r in there} != {os.getpid()}


@pytest.mark.parametrize("runner", ["processes", "dask"], indirect=True)  # a lost thread: a lost test process
def test_a_lost_worker_is_told_from_a_failed_call_and_the_runner_goes_on(runner: Runner) -> None:
    with pytest.raises(Exception) as lost:
        runner.submit(os._exit, 3).result(timeout=300)  # the worker process dies mid-call
    assert runner.lost(lost.value)
    runner.restart()
    with pytest.raises(ZeroDivisionError) as failed:
        runner.submit(_divide_by_zero, 1).result(timeout=60)
    assert not runner.lost(failed.value)
    assert _comparable(runner.submit(analyse_file, _jobs()[1]).result(timeout=300))[0][0] == METADATA


def _divide_by_zero(n: int) -> float:
    return n / 0


class _FlakyRunner(Runner):
    """Fails every call in flight while `poison` is among them, as a process pool does when one file kills it."""

    name = "flaky"

    def __init__(self, poison: str) -> None:
        self.workers, self.poison, self.calls, self.pending = 2, poison, [], []

    def submit(self, func, arg, **_):
        self.calls.append(arg.name)
        future: Future = Future()
        self.pending.append((arg, future))
        if arg.name == self.poison or any(a.name == self.poison for a, _ in self.pending):
            for _a, f in self.pending:
                if not f.done():
                    f.set_exception(BrokenExecutor("a worker died"))
        else:
            future.set_result(FileResults(arg.sha256, (), "host", 1))
        return future

    def restart(self) -> None:
        self.pending = []

    def close(self) -> None:
        pass


def test_only_the_file_that_kills_workers_alone_is_recorded_as_lost() -> None:
    jobs = [FileJob(path=f"/x/{n}", sha256=f"{n:064x}", name=str(n), sniffed_type="video", fs_mtime_utc=None,
                    steps=(METADATA,)) for n in range(8)]
    flaky = _FlakyRunner(poison="5")
    results = list(_results_in_order(flaky, jobs))
    assert [r.sha256 for r in results] == [j.sha256 for j in jobs]  # every file, in order
    failed = [j.name for j, r in zip(jobs, results) if r.results]
    assert failed == ["5"]
    assert "lost twice" in results[5].results[0].record.to_json()["error"]


def _die_on(job: FileJob) -> FileResults:
    """A stand-in for a decoder that kills its process on one file, while another file is still being read."""
    import time
    if job.name == "kills":
        time.sleep(0.3)
        os._exit(1)
    time.sleep(0.6)
    return FileResults(job.sha256, (), "host", os.getpid())


def test_two_incidents_sharing_workers_blame_only_the_file_that_kills_them(tmp_path: Path) -> None:
    # A batch ingests two incidents at once on one pool. After a loss each sends its first job
    # again alone; were both to run at once, the second loss would be blamed on both files.
    from concurrent.futures import ThreadPoolExecutor

    def jobs(names: list[str]) -> list[FileJob]:
        for name in names:
            (tmp_path / name).write_bytes(b"x")
        return [FileJob(path=str(tmp_path / name), sha256=f"{abs(hash(name)):064x}", name=name, sniffed_type="video",
                        fs_mtime_utc=None, steps=(METADATA,)) for name in names]

    first, second = jobs(["kills", "a1", "a2"]), jobs([f"b{n}" for n in range(8)])
    with process_runner(2) as runner, ThreadPoolExecutor(2) as incidents:
        done = list(incidents.map(lambda js: list(_results_in_order(runner, js, func=_die_on)), (first, second)))
    assert [[bool(r.results) for r in results] for results in done] == [[True, False, False], [False] * 8]
    assert "lost twice" in done[0][0].results[0].record.to_json()["error"]


def test_a_process_pool_keeps_its_workers_over_thousands_of_calls_from_two_threads() -> None:
    # Python 3.11's pool, told to retire workers after N calls, could end with none left and
    # wait for ever (seen on a batch over ../shared/data); ours never retires them.
    from concurrent.futures import ThreadPoolExecutor

    with process_runner(2) as runner:
        def calls(offset: int) -> list[int]:
            return [runner.submit(abs, -(offset + i)).result(timeout=60) for i in range(600)]

        with ThreadPoolExecutor(2) as users:
            first, second = users.map(calls, (0, 1000))
    assert first == list(range(600)) and second == list(range(1000, 1600))


def _hang_on(job: FileJob) -> FileResults:
    """A stand-in for a decoder that never returns on one file (module level: sent to worker processes)."""
    if job.name == "hangs":
        import time
        time.sleep(3600)
    return FileResults(job.sha256, (), "host", os.getpid())


def test_a_file_that_hangs_its_decoder_is_recorded_and_the_others_go_on(tmp_path: Path) -> None:
    jobs = []
    for n, name in enumerate(["a", "b", "hangs", "c", "d"]):
        (tmp_path / name).write_bytes(b"x")
        jobs.append(FileJob(path=str(tmp_path / name), sha256=f"{n:064x}", name=name, sniffed_type="video",
                            fs_mtime_utc=None, steps=(METADATA,)))
    with process_runner(2) as runner:
        results = list(_results_in_order(runner, jobs, func=_hang_on, stuck_after_s=2.0))
        assert runner.submit(abs, -4).result(timeout=60) == 4  # the pool was replaced and works
    assert [r.sha256 for r in results] == [j.sha256 for j in jobs]
    assert [bool(r.results) for r in results] == [False, False, True, False, False]
    error = results[2].results[0].record.to_json()["error"]
    assert "took longer than 2 s" in error and "hangs a decoder" in error


def test_threads_cannot_be_stopped_so_a_slow_file_is_waited_for(tmp_path: Path) -> None:
    (tmp_path / "slow").write_bytes(b"x")
    job = FileJob(path=str(tmp_path / "slow"), sha256="0" * 64, name="slow", sniffed_type="video",
                  fs_mtime_utc=None, steps=(METADATA,))
    with thread_runner(1) as runner:
        results = list(_results_in_order(runner, [job], func=_sleep_then_answer, stuck_after_s=0.2))
    assert results[0].pid == os.getpid() and not results[0].results


def _sleep_then_answer(job: FileJob) -> FileResults:
    import time
    time.sleep(1.0)
    return FileResults(job.sha256, (), "host", os.getpid())


_COORDINATOR = """
import os, sys, time
from forensics.pipeline.runners import process_runner
def _pid(n):
    time.sleep(0.05)
    return os.getpid()
if __name__ == "__main__":
    runner = process_runner(2)
    pids = set(runner.submit(_pid, n).result(timeout=120) for n in range(8))
    print(" ".join(map(str, pids)), flush=True)
    time.sleep(600)
"""


def test_workers_end_when_their_coordinator_is_killed(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "coordinator.py"
    script.write_text(_COORDINATOR)
    coordinator = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        pids = [int(p) for p in coordinator.stdout.readline().split()]
        assert pids and all(_alive(p) for p in pids)
    finally:
        coordinator.send_signal(signal.SIGKILL)
        coordinator.wait()
    deadline = time.monotonic() + 20
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(p) for p in pids), "workers outlived their killed coordinator"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"  # a zombie has ended; its parent has not reaped it yet
    except (FileNotFoundError, IndexError):
        return False


def _allocate(gib: float) -> int:
    return len(bytearray(int(gib * (1 << 30))))


def test_a_worker_that_asks_for_more_memory_than_its_budget_fails_alone(monkeypatch):
    monkeypatch.setenv("FORENSICS_WORKER_MEMORY_GB", "1.5")
    with process_runner(1) as runner:
        with pytest.raises(MemoryError):
            runner.submit(_allocate, 3.0).result(timeout=120)
        assert runner.submit(_allocate, 0.1).result(timeout=120) == int(0.1 * (1 << 30))  # the same pool goes on


def test_the_memory_budget_shares_out_the_machine_within_bounds(monkeypatch):
    from forensics.limits import MAX_WORKER_BYTES, MIN_WORKER_BYTES, worker_memory_bytes

    monkeypatch.delenv("FORENSICS_WORKER_MEMORY_GB", raising=False)
    assert MIN_WORKER_BYTES <= worker_memory_bytes(64) <= worker_memory_bytes(2) <= MAX_WORKER_BYTES


@pytest.mark.parametrize("value", ["0.05", "0", "nan", "inf", "lots"])
def test_a_worker_memory_setting_no_worker_could_start_under_is_refused(monkeypatch, value):
    from forensics.errors import ParameterError
    from forensics.limits import worker_memory_bytes

    monkeypatch.setenv("FORENSICS_WORKER_MEMORY_GB", value)
    with pytest.raises(ParameterError, match="FORENSICS_WORKER_MEMORY_GB"):
        worker_memory_bytes(2)


def test_commands_that_decode_in_their_own_process_get_a_workers_memory_budget():
    import subprocess
    import sys

    probe = ("import resource, sys\n"
             "sys.argv = ['forensics', sys.argv[1], '--help']\n"
             "from forensics_cli.main import main\n"
             "try:\n    main()\nexcept SystemExit:\n    pass\n"
             "print(resource.getrlimit(resource.RLIMIT_AS)[0], file=sys.stderr)")
    env = {**os.environ, "FORENSICS_WORKER_MEMORY_GB": "3"}
    for command, bounded in (("dedup", True), ("frames", True), ("audio", True), ("verify", False)):
        done = subprocess.run([sys.executable, "-c", probe, command], capture_output=True, text=True, env=env, check=False)
        limit = int(done.stderr.strip().splitlines()[-1])
        assert (limit == 3 << 30) == bounded, (command, limit)
