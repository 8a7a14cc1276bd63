"""The use case: take a raw folder into a case, file by file, then analyse what came in."""

from __future__ import annotations

import logging
import os
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from forensics.custody.case import Case, PendingOriginal, check_incident, open_case
from forensics.custody.folder import inside
from forensics.custody.names import is_text, received_name, safe_name
from forensics.custody.signing import SigningKey
from forensics.custody.sources import SourceEntry, count_sources, walk_sources
from forensics.errors import ParameterError, SourceError
from forensics.media.content_type import media_type_of
from forensics.progress import ProgressCallback, tell

if TYPE_CHECKING:
    from forensics.pipeline.runners import Runner

log = logging.getLogger(__name__)

OUTCOMES = ("added", "duplicate", "already-present", "skipped", "error")


@dataclass(frozen=True, slots=True)
class IngestReport:
    """What an ingest did: counts per outcome, and every file not taken in with its reason."""

    case: str
    incident: str
    counts: Mapping[str, int]  # by OUTCOMES: added (new content), duplicate (known content, new name), ...
    bytes_copied: int
    problems: tuple[dict[str, Any], ...] = field(default=())  # {name, result, reason}
    log_head: str = ""
    analysed: Mapping[str, int] = field(default_factory=dict)  # records made per analysis step

    @property
    def added_nothing(self) -> bool:
        return self.counts.get("added", 0) == 0 and self.counts.get("duplicate", 0) == 0

    def to_json(self) -> dict[str, Any]:
        return {"case": self.case, "incident": self.incident, "counts": {k: self.counts.get(k, 0) for k in OUTCOMES},
                "bytes_copied": self.bytes_copied, "problems": list(self.problems), "log_head": self.log_head,
                "analysed": dict(self.analysed)}


def default_incident(sources: Sequence[Path]) -> str:
    """Returns an incident id made from the first source folder's name."""
    first = Path(os.path.abspath(sources[0]))
    name = safe_name(first.name if first.is_dir() else first.parent.name, max_len=120)
    return name if name[0].isalnum() else f"incident-{name}"


def ingest(sources: Sequence[Path], case_path: Path, *, key: SigningKey, incident: str | None = None,
           note: str | None = None, bag_info: Mapping[str, str] | None = None,
           progress: ProgressCallback | None = None, workers: int = 2, analyse: bool = True,
           runner: Runner | None = None, audio_library: Path | None = None,
           trust_anchors_pem: str | None = None) -> IngestReport:
    """Takes every file under `sources` into the case at `case_path` (made when missing) and logs each step.

    Files already in the case under the same name, size and mtime are not read
    again, so a second run over the same folder adds nothing. A file that
    cannot be taken in gets its own logged error; the rest go on. `workers`
    threads copy and hash ahead of the one that records, in the order found.
    With `analyse`, every media item of the incident that lacks them then gets
    its metadata record, for videos its frames, for pictures its perceptual hashes
    and near-duplicates, and for sound its transmissions, fingerprint and the files
    it shares them with (matches in `audio_library` too, when given) (see forensics.pipeline.analyses),
    computed by `runner` (worker processes on every core when None; threads or a
    Dask cluster from forensics.pipeline.runners) and recorded here. `trust_anchors_pem` (PEM certificates) are
    the roots Content Credentials' signers are checked against; without them signers are named, "unverified".
    """
    if not sources:
        raise ParameterError("name at least one source folder or file")
    for label, text in (("note", note), *((k, v) for k, v in (bag_info or {}).items())):
        if text is not None and not is_text(text):
            raise ParameterError(f"the {label} must be text (UTF-8); "
                                 f"{text.encode('utf-8', 'backslashreplace').decode('utf-8')!r} "
                                 "holds bytes of another encoding")
    incident = check_incident(incident or default_incident(sources))
    if trust_anchors_pem is not None:
        from forensics.media.metadata.formats.credentials import checked_trust_anchors

        checked_trust_anchors(trust_anchors_pem)
    for source in sources:
        if inside(Path(source), Path(case_path)):
            raise ParameterError(f"{source} lies inside the case {case_path}: the case's own files are not evidence "
                                 "to take in again; name the folder the files were received in")
    counts: Counter[str] = Counter()
    problems: list[dict[str, Any]] = []
    copied = 0
    with open_case(case_path, key, bag_info=bag_info) as case:
        # A second walk, for a progress total, only when someone is shown it.
        total = count_sources(sources, exclude=[case.path]) if progress is not None else 0
        in_flight: deque[tuple[SourceEntry, Future[_Copied] | None]] = deque()
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ingest-copy") as pool:
            walk = iter(walk_sources(sources, exclude=[case.path]))
            while True:
                entry = next(walk, None)
                if entry is not None:
                    in_flight.append((entry, _start(case, pool, entry, incident)))
                    if len(in_flight) < _WINDOW:
                        continue
                if not in_flight:
                    break
                entry, future = in_flight.popleft()
                done = sum(counts.values())
                tell(progress, done, total, received_name(entry.rel)["name"], unit="files taken in")
                outcome, reason, size = _finish(case, entry, incident, future)
                counts[outcome] += 1
                copied += size
                if reason is not None:
                    problems.append({**received_name(entry.rel), "result": outcome, "reason": reason})
                if done % _SYNC_EVERY == _SYNC_EVERY - 1:
                    case.sync()
        tell(progress, total, total, "", unit="files taken in")
        case.sync()
        analysed = {}
        if analyse:
            # Imported here: the media stack costs a third of a second, which --custody-only never needs.
            from forensics.pipeline.analyses import analyse_items, items_of

            analysed = analyse_items(case, items_of(case, incident), runner=runner, audio_library=audio_library,
                                     trust_anchors_pem=trust_anchors_pem,
                                     progress=progress)
        head = case.record("ingested", incident=incident, details={
            "sources": [received_name(os.fsencode(os.path.abspath(s)))["name"] for s in sources],
            "counts": {k: counts.get(k, 0) for k in OUTCOMES}, "bytes_copied": copied, "analysed": analysed,
            "note": note or ""})
    return IngestReport(str(case.path), incident, dict(counts), copied, tuple(problems), head.line_hash, analysed)


# Files copied ahead of the one being committed: enough that the other thread keeps copying
# while one works on a file of hundreds of MB. A finished copy waiting here holds only its
# first 64 KB (for sniffing), so memory stays bounded whatever the folder holds.
_WINDOW = 256
_SYNC_EVERY = 64  # originals per group commit (see Case.sync)


@dataclass(frozen=True, slots=True)
class _Copied:
    pending: PendingOriginal
    media_type: str
    mime: str | None


def _copy_and_sniff(case: Case, entry: SourceEntry) -> _Copied:
    pending = case.copy_in(entry)
    return _Copied(pending, *media_type_of(pending.head))


def _start(case: Case, pool: ThreadPoolExecutor, entry: SourceEntry, incident: str) -> Future[_Copied] | None:
    """Starts copying an entry that needs reading; None for those decided without reading."""
    if entry.error is not None or entry.kind != "file":
        return None
    seen = case.state.seen.get(_seen_key(incident, entry))
    if seen is not None and entry.stat is not None and seen[:2] == (entry.stat.st_size, entry.stat.st_mtime_ns):
        return None
    return pool.submit(_copy_and_sniff, case, entry)


def _finish(case: Case, entry: SourceEntry, incident: str,
            future: Future[_Copied] | None) -> tuple[str, str | None, int]:
    """Records one source entry, in walk order; returns (outcome, reason when not taken in, bytes copied)."""
    if entry.error is not None:
        case.record_problem(entry, incident=incident, result="error", reason=entry.error)
        return "error", entry.error, 0
    if entry.kind != "file":
        reason = _skip_reason(entry)
        if (*_seen_key(incident, entry), reason) not in case.state.skipped_seen:
            extra = {"link_target": received_name(entry.link_target)} if entry.link_target is not None else None
            case.record_problem(entry, incident=incident, result="skipped", reason=reason, extra=extra)
        return "skipped", reason, 0
    if future is None:
        return "already-present", None, 0
    try:
        copied = future.result()
    except SourceError as ex:
        case.record_problem(entry, incident=incident, result="error", reason=str(ex))
        return "error", str(ex), 0
    pending = copied.pending
    seen = case.state.seen.get(_seen_key(incident, entry))
    if seen is not None and seen[2] == pending.digests.sha256:
        case.discard(pending)  # touched, but the same bytes: nothing new
        return "already-present", None, pending.digests.size
    _item, stored_now = case.commit_original(pending, incident=incident, media_type=copied.media_type,
                                             mime=copied.mime)
    return ("added" if stored_now else "duplicate"), None, pending.digests.size



def _seen_key(incident: str, entry: SourceEntry) -> tuple[str, str, bytes]:
    """What a receipt is known by in the case (CaseState.seen): the incident, the source folder and the name in it."""
    return incident, received_name(entry.root)["name"], entry.rel


def _skip_reason(entry: SourceEntry) -> str:
    if entry.kind == "symlink":
        where = "inside" if entry.link_inside else "outside"
        return f"symbolic link to a target {where} the source folder; links are recorded, never followed"
    return f"{entry.kind}: not a regular file, so it was not opened"
