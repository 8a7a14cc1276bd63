"""The analysis steps of an ingest: which items still need which step, and how results become records.

Workers compute (forensics.pipeline.file_analysis, anywhere a Runner puts them); this
module alone writes what they found into the case, in a fixed order, so the
custody log has one writer and a rerun gives the same records. Each step is
resumable: it runs only for items that lack its record, and what it derives is
deterministic, so a run killed half-way is completed by the next without a
second copy of anything.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import BrokenExecutor, Future, TimeoutError as FuturesTimeout
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard

from forensics.custody.canonical import loads_json
from forensics.custody.case import Case
from forensics.custody.state import Item
from forensics.digests import named_sha256
from forensics.errors import ParameterError
from forensics.pipeline.file_analysis import (
    STEPS,
    FileJob,
    FileResults,
    StepResult,
    analyse_file,
    applicable_steps,
)
from forensics.pipeline.grouping import hashes_covered, last_covered, log_grouped
from forensics.pipeline.runners import Runner, process_runner
from forensics.progress import ProgressCallback, tell
from forensics.record_kinds import AUDIO, DEDUP, EXPORT, FRAMES, MESSAGES, METADATA, NEAR_DUPLICATES
from forensics.records import record_from_json
from forensics.step_failure import StepFailure

if TYPE_CHECKING:
    from forensics.audio.record import AudioRecord
    from forensics.dedup.verify import Check
    from forensics.records import Record

log = logging.getLogger(__name__)

__all__ = ["AUDIO", "DEDUP", "FRAMES", "METADATA", "NEAR_DUPLICATES", "STEPS", "analyse_items", "items_of",
           "jobs_for", "record_audio_links", "record_near_duplicates"]

_MAX_STORED_BYTES = 1 << 30  # a derived file this program reads back (a fingerprint) is far smaller

def items_of(case: Case, incident: str) -> list[Item]:
    return [item for item in case.state.items.values() if any(r.incident == incident for r in item.receipts)]


def jobs_for(case: Case, items: Sequence[Item], *, trust_anchors_pem: str | None = None) -> list[FileJob]:
    """The jobs still to do for these items: each with the steps whose record it lacks."""
    jobs = []
    for item in items:
        probed = _probed_type(case, item)
        steps = tuple(s for s in applicable_steps(probed or item.media_type) if s not in item.records)
        if steps:
            receipt = item.receipts[0]
            jobs.append(FileJob(path=str(case.path / item.stored.path), sha256=item.stored.sha256,
                                name=receipt.name, sniffed_type=item.media_type,
                                fs_mtime_utc=_iso(receipt.stat.mtime_ns) if receipt.stat else None, steps=steps,
                                probed_type=probed, trust_anchors_pem=trust_anchors_pem))
    return jobs


def analyse_items(case: Case, items: Sequence[Item], *, runner: Runner | None = None,
                  audio_library: Path | None = None, progress: ProgressCallback | None = None,
                  trust_anchors_pem: str | None = None) -> dict[str, int]:
    """Runs every missing step on the items and records the results; gives back records made per step.

    `runner` says where the work runs (when None, worker processes on every core, so a
    file that crashes or hangs a decoder costs only that file). Results
    are recorded in the items' order whatever order they finish in, with at most a
    few jobs per worker in flight, so memory stays bounded on any folder. Then the
    steps that look across the case: near-duplicates, and the links between files
    that share a transmission (and their matches in `audio_library`, when given).
    """
    made: Counter[str] = Counter(dict.fromkeys(STEPS, 0))
    jobs = jobs_for(case, items, trust_anchors_pem=trust_anchors_pem)
    held: list[tuple[str, AudioRecord | StepFailure, dict[str, Any]]] = []  # audio records, written once linked
    if jobs:
        with nullcontext(runner) if runner is not None else process_runner() as run:
            for done, results in enumerate(_results_in_order(run, jobs)):
                tell(progress, done, len(jobs), jobs[done].name, unit="analyses")
                for result in results.results:
                    record = _with_derived(case, results, result)
                    if result.step == AUDIO and (_is_audio(record) or isinstance(record, StepFailure)):
                        held.append((results.sha256, record, _performed_on(results, result)))
                    else:
                        case.add_record(results.sha256, result.step, record.to_json(),
                                        performed_on=_performed_on(results, result))
                    made[result.step] += 1
            tell(progress, len(jobs), len(jobs), "", unit="analyses")
    # Worked out again whenever the hashes differ from those the last finished grouping covered (it is logged
    # after its last record), so a run killed after the hashing or during the grouping leaves nothing undone.
    hashed = sum(DEDUP in item.records for item in case.state.items.values())
    if hashed:
        covers = hashes_covered(case)
        if last_covered(case) != covers:
            record_near_duplicates(case)
            log_grouped(case, covers, items=hashed)
    if held:
        record_audio_links(case, held, library=audio_library)
    record_messages(case)
    return dict(made)


def record_messages(case: Case) -> int:
    """Reads the messenger and platform exports the case received (Telegram, WhatsApp, yt-dlp) over its stored
    copies, and records on each item the messages that carried it and on each export how it was read; returns how
    many items were carried.

    Worked out over the whole case on every run (an export received later names files received earlier); a
    record is rewritten only when what it says changes. Only items that are not media are read for exports.
    """
    from forensics.media.metadata.record import MediaRecord
    from forensics.messages.case_records import Received, carriers_records, export_records, scan_received

    received = [Received(receipt.source_root, receipt.name, str(case.path / item.stored.path),
                         named_sha256(item.stored.sha256), item.stored.size,
                         media=item.media_type in ("image", "video", "audio"))
                for item in case.state.items.values() for receipt in item.receipts]
    capture = {}
    if not any(not r.media for r in received):
        return 0
    scans = scan_received(received)
    if not any(scan.exports or scan.problems for scan in scans):
        return 0
    for item in case.state.items.values():
        metadata = _readable_record_of(case, item, METADATA)
        if isinstance(metadata, MediaRecord):
            capture[named_sha256(item.stored.sha256)] = metadata.captured_at_utc
    carried = carriers_records(scans, capture)
    for digest, record in carried.items():
        if not _unreadable(case, case.state.items[digest.removeprefix("sha256:")], MESSAGES):
            case.add_record(digest.removeprefix("sha256:"), MESSAGES, record.to_json())
    digest_of = {(r.source_root, r.name): r.sha256 for r in received}
    for digest, export in export_records(scans, digest_of).items():
        if not _unreadable(case, case.state.items[digest.removeprefix("sha256:")], EXPORT):
            case.add_record(digest.removeprefix("sha256:"), EXPORT, export.to_json())
    # A received file that looks like an export and could not be read says why, on its item.
    for scan in scans:
        for problem in scan.problems:
            unread = digest_of.get((scan.root, problem.path))
            if unread is not None and "export" in problem.error and \
                    EXPORT not in case.state.items[unread.removeprefix("sha256:")].records:
                case.add_record(unread.removeprefix("sha256:"), EXPORT, {"error": problem.error})
    return len(carried)


def record_audio_links(case: Case, held: Sequence[tuple[str, AudioRecord | StepFailure, dict[str, Any]]], *,
                       library: Path | None = None) -> None:
    """Adds to each new audio record the files of the case it shares a transmission with, then records it.

    `held` is (sha256, record, performed_on) of each item fingerprinted in this run;
    items fingerprinted by earlier runs are searched too, their own records stay as
    they were. With `library`, each new item's matches in that intercept library are
    added. A run killed before this leaves the fingerprints stored and the records
    unwritten: the next run fingerprints again (the same bytes, stored once) and links.
    """
    from forensics.audio.crossmatch import CrossMatcher
    from forensics.audio.library import Library
    from forensics.audio.match import QUERY_PEAKS_PER_S
    from forensics.audio.record import InterceptHit, LibraryMatches
    from forensics.audio.search import fingerprint_file, match_fingerprinted
    from forensics.audio.spectrum import features_from_bytes

    def add_tracks(sha256: str, record: AudioRecord) -> None:
        """Adds the item's stored fingerprints to the case's own library."""
        name = case.state.items[sha256].receipts[0].name
        for track in record.tracks:
            if track.fingerprint is None:
                continue  # never so in a record the audio step wrote: each track's file is stored before it
            cross.add(sha256, name, track.stream_index,
                      features_from_bytes(case.read_stored(track.fingerprint, max_bytes=_MAX_STORED_BYTES)))

    with CrossMatcher() as cross:
        for item in case.state.items.values():  # what earlier runs fingerprinted
            earlier = _readable_record_of(case, item, AUDIO)
            if earlier is not None and _is_audio(earlier):
                add_tracks(item.stored.sha256, earlier)
        for sha256, record, _ in held:
            if _is_audio(record):
                add_tracks(sha256, record)
        external = Library(library, create=False) if library is not None else None
        try:
            for sha256, record, performed_on in held:
                if _is_audio(record) and record.tracks:
                    # Decoded again rather than held (a case's recordings can be hours long), and analysed again
                    # as a query, with the peaks `audio match` takes (more than a library keeps): the scores were
                    # fitted on those, and a file's matches in a library are then the same here as there.
                    printed = fingerprint_file(case.path / case.state.items[sha256].stored.path, sha256=sha256,
                                               peaks_per_s=QUERY_PEAKS_PER_S)
                    if printed.audio is not None:
                        links = cross.links(sha256, printed.audio, printed.features)
                        record = dataclasses.replace(record, links=tuple(InterceptHit.from_json(m.to_json())
                                                                         for m in links))
                        if external is not None:
                            record = dataclasses.replace(record, library=LibraryMatches(str(library), tuple(
                                InterceptHit.from_json(m.to_json()) for m in match_fingerprinted(external, printed))))
                case.add_record(sha256, AUDIO, record.to_json(), performed_on=performed_on)
        finally:
            if external is not None:
                external.close()


def record_near_duplicates(case: Case) -> int:
    """Records each item's group of the same footage and its matches, over the whole case; returns how many.

    Items are named "sha256:<digest>" in the matches; footage of another incident of
    the case counts too. An item's record is rewritten only when what it says changes.
    """
    from forensics.dedup.groups import find_duplicates
    from forensics.dedup.media_hashes import MediaHashes
    from forensics.dedup.near_duplicates import NearDuplicates

    media, files = [], {}
    for item in case.state.items.values():
        hashes = _readable_record_of(case, item, DEDUP)
        if isinstance(hashes, MediaHashes):
            media.append(hashes)
            files[media[-1].key] = case.path / item.stored.path
    result = find_duplicates(media, files=files.get, measured=measured_apart)
    written = 0
    for item in case.state.items.values():
        key = named_sha256(item.stored.sha256)
        record = NearDuplicates(group=next((g for g in result.groups if key in g), ()),
                                matches=tuple(m for m in result.matches if key in (m.a, m.b)),
                                scene_matches=tuple(m for m in result.scene_matches if key in (m.a, m.b)))
        if record.matches or record.scene_matches or NEAR_DUPLICATES in item.records:
            existing = _readable_record_of(case, item, NEAR_DUPLICATES)
            if existing is None and NEAR_DUPLICATES in item.records:
                continue  # damaged or not this program's: left as it is for verify to report, never written over
            # A record that says the same in an earlier version's words is left as it is.
            if not isinstance(existing, NearDuplicates) or not existing.graded or \
                    existing.to_json() != record.to_json():
                case.add_record(item.stored.sha256, NEAR_DUPLICATES, record.to_json())
            written += 1
    return written


def measured_apart(checks: Sequence[Check]) -> list[float | None]:
    """Runs near-duplicate checks on the files in worker processes, as every decode of a user file runs, on
    every core (checks of one file together, verify.shares).

    A worker lost (a file that kills its decoder) or stuck leaves the checks it had untold (None):
    those matches are then as a match in doubt is without its files.
    """
    from forensics.dedup.verify import measure, shares

    workers = os.cpu_count() or 1
    # A few shares a worker, taken as workers come free: a share's cost is only guessed.
    split = shares(checks, _SHARES_PER_WORKER * workers)
    found: list[float | None] = [None] * len(checks)
    if not split:
        return found
    with process_runner(min(workers, len(split))) as run:
        futures = [(share, run.submit(measure, [checks[n] for n in share])) for share in split]
        for share, future in futures:
            try:
                if future is None:
                    raise BrokenExecutor("the worker took no call")
                for number, value in zip(share, future.result(timeout=STUCK_AFTER_S + _CHECK_S * len(share))):
                    found[number] = value
            except FuturesTimeout:
                run.stop_workers()
                log.warning("near-duplicate checks at full size took too long; the matches in doubt are untold")
                break
            except Exception as ex:  # a lost worker, or a bug, costs the checks only
                if not run.lost(ex):
                    raise
                log.warning("a near-duplicate check at full size lost its worker; its matches in doubt are untold")
    return found


_CHECK_S = 10.0  # allowed per check beyond STUCK_AFTER_S
_SHARES_PER_WORKER = 3


# A pool in which no job finishes for this long (plus the first job's size at the rate below) is
# taken to be stuck on a hung decoder: its workers are killed, and the jobs count as lost.
STUCK_AFTER_S = 600.0
STUCK_BYTES_PER_S = 2e6


def _results_in_order(run: Runner, jobs: Sequence[FileJob], *, func: Callable[[FileJob], FileResults] = analyse_file,
                      stuck_after_s: float = STUCK_AFTER_S) -> Iterator[FileResults]:
    """Yields each job's results in the jobs' order, a few jobs per worker in flight.

    A lost worker (a file that kills its decoder's process) takes every job in
    flight with it, not only the guilty one: all are sent again, the first of them
    alone (no other caller's job beside it either: see Runner.submit), and a job lost
    while it ran alone is recorded as failed, never retried for ever and never blamed
    for another file. A file that hangs its decoder is
    lost the same way, once no job has finished for `stuck_after_s` (more for big files).
    """
    todo = deque(jobs)
    in_flight: deque[tuple[FileJob, Future[FileResults]]] = deque()
    alone = False  # after a loss, until the job that was first completes
    while todo or in_flight:
        while todo and len(in_flight) < (1 if alone else 2 * run.workers + 2):
            # Another caller's job may be running alone (a batch's other incident): this one's
            # jobs in flight are then seen to, and the rest wait.
            future = run.submit(func, todo[0], alone=alone, wait=not in_flight)
            if future is None:
                break
            in_flight.append((todo.popleft(), future))
        job, future = in_flight.popleft()
        try:
            results = _result_unless_stuck(run, job, future, in_flight, stuck_after_s)
        except Exception as ex:  # sorted below: a lost worker, or a bug
            if not run.lost(ex):
                raise
            log.warning("a worker was lost while analysing %s (%s)", job.name, ex)
            run.restart()
            if alone:
                results = _lost(job, ex)
            else:
                todo.extendleft(reversed([job] + [j for j, _ in in_flight]))
                in_flight.clear()
                alone = True
                continue
        alone = False
        yield results


def _result_unless_stuck(run: Runner, job: FileJob, future: Future[FileResults],
                         others: deque[tuple[FileJob, Future[FileResults]]], stuck_after_s: float) -> FileResults:
    """The job's results; raises the pool's loss when nothing in flight finishes for too long and it can be stopped."""
    try:
        limit = stuck_after_s + os.path.getsize(job.path) / STUCK_BYTES_PER_S
    except OSError:
        limit = stuck_after_s
    finished = sum(f.done() for _, f in others)
    while True:
        try:
            return future.result(timeout=limit)
        except FuturesTimeout:
            now = sum(f.done() for _, f in others)
            if now > finished:  # the other workers are getting on: this file is long, not stuck
                finished = now
                continue
            if not run.stop_workers():
                continue  # threads cannot be stopped: wait on
            log.warning("no analysis finished for %.0f s, %s first in line: its workers were stopped", limit, job.name)
            try:
                return future.result()  # the pool now fails the job as lost
            except Exception as ex:  # the loss, marked as a hang for the record
                raise _Hung(f"took longer than {limit:.0f} s", ex) from ex


class _Hung(BrokenExecutor):
    """A job lost because its workers were stopped after it hung."""


def record_result(case: Case, results: FileResults, result: StepResult) -> None:
    """Stores one step's derived files, then its record naming them; both logged with the worker that made
    them, and the record with how long the step took there."""
    record = _with_derived(case, results, result)
    case.add_record(results.sha256, result.step, record.to_json(), performed_on=_performed_on(results, result))


def _with_derived(case: Case, results: FileResults, result: StepResult) -> Record:
    """Stores the step's derived files; gives back its record naming where they are."""
    from forensics.audio.record import AudioRecord
    from forensics.media.video.frame_record import FramesRecord

    stored = [case.add_derived(results.sha256, out.data, name=out.name, operation=out.operation,
                               parameters=out.parameters, performed_on=results.performed_on).stored
              for out in result.derived]
    if isinstance(result.record, (FramesRecord, AudioRecord)):
        return result.record.with_stored([(s.path, s.sha256) for s in stored])
    return result.record


def _is_audio(record: Record) -> TypeGuard[AudioRecord]:
    from forensics.audio.record import AudioRecord

    return isinstance(record, AudioRecord)


def _performed_on(results: FileResults, result: StepResult) -> dict[str, Any]:
    return {**results.performed_on, "elapsed_s": round(result.elapsed_s, 3)}


def _lost(job: FileJob, ex: BaseException) -> FileResults:
    if isinstance(ex, _Hung):
        why = (f"the analysis of this file {ex.args[0]}, twice, the second time with no other file beside it: the "
               "file probably hangs a decoder; its workers were stopped, and it is kept, unanalysed")
    else:
        why = (f"the worker analysing this file was lost twice, the second time with no other file beside it "
               f"({type(ex).__name__}): the file probably crashes a decoder; it is kept, unanalysed")
    return FileResults(job.sha256, tuple(StepResult(step, StepFailure(step, why)) for step in job.steps), "", 0)


def _probed_type(case: Case, item: Item) -> str | None:
    """The media type the metadata record found (streams, not just the signature), if there is one."""
    from forensics.media.metadata.record import MediaRecord

    record = _readable_record_of(case, item, METADATA)
    return record.media_type if isinstance(record, MediaRecord) and not record.error else None


def _record_of(case: Case, item: Item, kind: str) -> Record | None:
    """The item's record of this kind, read; None when it has none."""
    record = item.records.get(kind)
    if record is None:
        return None
    return record_from_json(kind, loads_json(case.read_stored(record.path, max_bytes=record.size)))


def _readable_record_of(case: Case, item: Item, kind: str) -> Record | None:
    """The item's record of this kind, read; None when it has none or it is not one this program reads (another
    version, damaged, not JSON, not UTF-8, nested past reading): verify reports such a record, the steps pass it by."""
    try:
        return _record_of(case, item, kind)
    except (ParameterError, ValueError, RecursionError):
        return None


def _unreadable(case: Case, item: Item, kind: str) -> bool:
    """Whether the item holds a record of this kind that this program cannot read: it is never written over."""
    return kind in item.records and _readable_record_of(case, item, kind) is None


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).isoformat().replace("+00:00", "Z")
