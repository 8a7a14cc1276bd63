"""Batch runs: every incident folder under a root becomes, or brings up to date, a case of its own.

Incidents are taken two at a time, in name order: copying and hashing are bound by
the disk and use two threads each, while the per-file analysis, which is bound by
the CPU, goes to the runner's workers (a process pool on every core, or a Dask
cluster) from both incidents at once. Everything is resumable because ingest is: a run killed at any moment,
then started again with the same arguments, finishes the work without redoing
what is recorded and without a second custody entry for anything. One summary is
yielded per incident as it ends, so memory does not grow with the number of
incidents.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from forensics.custody.signing import SigningKey
from forensics.errors import ForensicsError, ParameterError
from forensics.incident import OUTCOMES, default_incident, ingest
from forensics.pipeline.runners import Runner
from forensics.progress import Progress, ProgressCallback, tell

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IncidentSummary:
    """What a batch did with one incident folder."""

    incident: str
    source: str
    case: str
    files: int  # regular files seen in the folder, whatever became of them
    bytes_copied: int
    counts: Mapping[str, int]  # ingest's outcomes: added, duplicate, already-present, skipped, error
    analysed: Mapping[str, int]  # records made per analysis step
    problems: tuple[dict[str, Any], ...]  # files not taken in: {name, result, reason}
    duration_s: float
    error: str | None = None  # the incident could not be processed at all (its case busy, say)
    log_head: str = ""
    elsewhere: tuple[dict[str, Any], ...] = ()  # items other incidents hold too (crosscase.Elsewhere.to_json)

    def to_json(self) -> dict[str, Any]:
        return {"incident": self.incident, "source": self.source, "case": self.case, "files": self.files,
                "bytes_copied": self.bytes_copied, "counts": {k: self.counts.get(k, 0) for k in OUTCOMES},
                "analysed": dict(self.analysed),
                "errors": [p for p in self.problems if p["result"] == "error"],
                "skipped": [p for p in self.problems if p["result"] == "skipped"],
                "duration_s": round(self.duration_s, 3), "error": self.error, "log_head": self.log_head,
                "elsewhere": list(self.elsewhere)}


@dataclass(frozen=True, slots=True)
class BatchProgress(Progress):
    """A Progress of one incident's ingest, with where the batch as a whole stands."""

    incident: str = ""
    incidents_done: int = 0
    incidents_total: int = 0
    extra: Mapping[str, Any] = field(default_factory=dict)


def incident_folders(root: Path) -> list[Path]:
    """The incident folders under `root`: its subfolders, hidden ones left out, sorted by name.

    Raises ParameterError when `root` is not a folder or holds no incident folder.
    """
    root = Path(root)
    if not root.is_dir():
        raise ParameterError(f"{root}: not a folder of incident folders")
    folders = sorted((Path(e.path) for e in os.scandir(root)
                      if e.is_dir(follow_symlinks=False) and not e.name.startswith(".")), key=lambda p: p.name)
    if not folders:
        raise ParameterError(f"{root}: holds no incident folder (each subfolder is one incident)")
    return folders


def incident_names(folders: list[Path]) -> dict[Path, str]:
    """Gives each incident folder its incident id, which names its case folder too: a safe form of its name.

    Two folders whose safe names are one (`Kyiv strike` and `Kyiv-strike`), or differ only in case
    (one folder on a disk that ignores case), would share a case: each of those is named with
    the first 8 hex digits of the SHA-256 of its name as received, the same on every run.
    """
    plain = {folder: default_incident([folder]) for folder in folders}

    def with_digits(folder: Path, digits: int = 8) -> str:
        return f"{plain[folder]}-{hashlib.sha256(os.fsencode(folder.name)).hexdigest()[:digits]}"

    counts = Counter(name.casefold() for name in plain.values())
    names = {folder: name if counts[name.casefold()] == 1 else with_digits(folder) for folder, name in plain.items()}
    # A folder may be named like another's name with digits ("inc-a-1c208b3b"): then it takes digits
    # of its own too, so the other keeps its name. Only names of 8 digits clashing go on to 16, then 24...
    for digits in range(8, 65, 8):
        counts = Counter(name.casefold() for name in names.values())
        shared = [folder for folder, name in names.items() if counts[name.casefold()] > 1]
        if not shared:
            break
        unhashed = [folder for folder in shared if names[folder] == plain[folder]]
        for folder in unhashed or shared:
            names[folder] = with_digits(folder, digits if unhashed else digits + 8)
    return names


def loose_entries(root: Path) -> list[dict[str, Any]]:
    """Gives what lies at the top of `root` besides incident folders (files, links, FIFOs, hidden folders):
    {name, result: "skipped", reason} each, for the batch to report; none of it is taken in."""
    out = []
    for entry in sorted(os.scandir(root), key=lambda e: e.name):
        folder = entry.is_dir(follow_symlinks=False)
        if folder and not entry.name.startswith("."):
            continue  # an incident
        reason = ("a hidden folder, not taken as an incident: rename it without the leading dot to take it in"
                  if folder else "a link, not followed: an incident folder must be a folder of its own"
                  if entry.is_symlink() else "not in an incident folder: each subfolder of the root is one incident")
        out.append({"name": entry.name, "result": "skipped", "reason": reason})
    return out


def run_batch(root: Path, cases: Path, *, key: SigningKey, runner: Runner | None = None,
              progress: ProgressCallback | None = None, analyse: bool = True, index: Path | None = None,
              audio_library: Path | None = None, incidents_at_once: int = 2) -> Iterator[IncidentSummary]:
    """Ingests every incident folder under `root` into its own case under `cases`; yields a summary each.

    `runner` computes the per-file analysis (worker processes of each ingest when None); the
    cases are written by this process alone. `incidents_at_once` incidents are taken
    in side by side, so the workers always have files to analyse: while one incident
    is copied, or waits for its last video, the other's files keep them busy.
    Summaries come in the folders' order; folders whose names would share a case get one each
    (incident_names). Last, when the root holds files or links beside the incident folders,
    one summary with no incident lists them as skipped, with its error set: they are not taken in.
    An incident that cannot be processed (its
    case locked by another run, a damaged case) is reported with its error and the
    batch goes on. `cases` must not lie inside `root`. With `index` (a folder,
    forensics.pipeline.crosscase), each summary lists the footage and transmissions that
    incidents before it in the index hold too; `audio_library` is ingest's.
    """
    folders = incident_folders(root)
    cases = Path(cases)
    if _inside(cases, Path(root)):
        raise ParameterError(f"the cases folder {cases} lies inside the incidents folder {root}: "
                             "it would be taken in as evidence")
    if incidents_at_once < 1:
        raise ParameterError(f"incidents_at_once must be at least 1, not {incidents_at_once}")
    cases.mkdir(parents=True, exist_ok=True)
    finished = [0]  # incidents done, for the progress of those still running
    names = incident_names(folders)
    loose = loose_entries(Path(root))

    def one(folder: Path) -> IncidentSummary:
        incident = names[folder]

        def each(p: Progress) -> None:
            if progress is not None:
                progress(BatchProgress(p.done, p.total, p.label, p.unit, incident=incident,
                                       incidents_done=finished[0], incidents_total=len(folders)))

        start = time.monotonic()
        case = cases / incident
        try:
            result = ingest([folder], case, key=key, incident=incident, runner=runner, analyse=analyse,
                            audio_library=audio_library, progress=each if progress is not None else None)
        except ForensicsError as ex:
            log.warning("incident %s not processed: %s", incident, ex)
            return IncidentSummary(incident, str(folder), str(case), 0, 0, {}, {}, (), time.monotonic() - start,
                                   error=str(ex))
        return IncidentSummary(incident, str(folder), result.case,
                               sum(result.counts.values()) - result.counts.get("skipped", 0), result.bytes_copied,
                               dict(result.counts), dict(result.analysed), result.problems,
                               time.monotonic() - start, log_head=result.log_head)

    tell(progress, 0, len(folders), "", unit="incidents")
    pool = ThreadPoolExecutor(max_workers=incidents_at_once, thread_name_prefix="incident")
    cross = None
    try:
        if index is not None and analyse:
            from forensics.pipeline.crosscase import CrossCaseIndex

            cross = CrossCaseIndex(index)
        futures = [pool.submit(one, folder) for folder in folders]  # a thread each in turn, in name order
        for future in futures:
            summary = future.result()
            if cross is not None and summary.error is None:
                # Here, in the folders' order, whichever incident finished first.
                found = cross.add_case(Path(summary.case), summary.incident)
                summary = dataclasses.replace(summary, elsewhere=tuple(e.to_json() for e in found))
            finished[0] += 1
            tell(progress, finished[0], len(folders), summary.incident, unit="incidents")
            yield summary
        if loose:
            yield IncidentSummary("", str(root), "", 0, 0, {"skipped": len(loose)}, {}, tuple(loose), 0.0,
                                  error=f"{len(loose)} entries at the top of {root} are in no incident folder and "
                                        "were not taken in (see skipped)")
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        if cross is not None:
            cross.close()


def _inside(path: Path, folder: Path) -> bool:
    path, folder = Path(os.path.abspath(path)), Path(os.path.abspath(folder))
    return path == folder or folder in path.parents

