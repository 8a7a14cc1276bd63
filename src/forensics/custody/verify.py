"""Offline verification of a case: every digest, the log's chain and signatures, and every file outside data/.

What is bound to what:
- the custody log: each entry chained to the one before and signed by a key the
  log itself introduced; the signed head (`custody/head.json`) names the last
  entry's number and hash, so a log cut back or rewritten after it shows;
- the payload (`data/`): every file the log names, with its size and both digests;
  any other file is a finding;
- everything outside `data/`: analysis records and seals have the digests the log
  gives; manifests, keys, the schema, both payload manifests, `bag-info.txt` and
  `bagit.txt` are rebuilt from the log and compared byte for byte; the tag
  manifests are checked against the tag files for BagIt tools, never trusted;
  any other file is `tag-file-added`;
- the case is read through `CaseFolder`: links, FIFOs, devices and sockets are
  findings (`not-a-regular-file`), never followed or opened; every read is
  bounded by what the log says the file holds.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from forensics.custody.folder import CaseFolder, Entry
from forensics.custody.inspection import Finding, Inspection, shown, within_case
from forensics.custody.lock import case_lock
from forensics.custody.log import GENESIS
from forensics.custody.log_check import LogCheck, check_head, check_log, claimed_head_seq
from forensics.custody.projections import HEAD, LOG, TAG_MANIFESTS, is_case, projection_files
from forensics.custody.state import CaseState
from forensics.custody.tag_check import (
    check_logged_tag_files,
    check_projections,
    check_seals,
    check_tag_manifests,
    check_unknown_tag_files,
)
from forensics.errors import CaseInvalid
from forensics.progress import ProgressCallback, tell

__all__ = ["CaseCheck", "Finding", "LogCheck", "Signer", "VerifyReport", "check_case", "verify_case"]


@dataclass(frozen=True, slots=True)
class Signer:
    actor: str
    key_id: str
    entries: int


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """What verify checked and found; `intact` when it found nothing."""

    case: str
    findings: tuple[Finding, ...]
    entries: int
    files_checked: int
    bytes_checked: int
    log_head: str
    signers: tuple[Signer, ...]
    seals: tuple[dict[str, Any], ...] = field(default=())

    @property
    def intact(self) -> bool:
        return not self.findings

    def to_json(self) -> dict[str, Any]:
        return {"case": self.case, "intact": self.intact, "findings": [f.to_json() for f in self.findings],
                "log_entries": self.entries, "log_head": self.log_head, "files_checked": self.files_checked,
                "bytes_checked": self.bytes_checked,
                "signers": [{"actor": s.actor, "key_id": s.key_id, "entries": s.entries} for s in self.signers],
                "seals": list(self.seals)}


@dataclass(slots=True)
class CaseCheck:
    """Everything one pass over a case found, for verify and for the writers' check before they write."""

    findings: list[Finding]
    log: LogCheck
    head_seq: int | None  # the entry the signed head names, when it is readable and validly signed
    tree: dict[str, Entry]  # every file and oddity in the case, by path
    unlogged: list[str]  # files no log entry or projection names (payload-added, tag-file-added), raw paths
    files_checked: int = 0
    bytes_checked: int = 0
    seals: list[dict[str, Any]] = field(default_factory=list)
    work_files: bool = False  # the work folder holds temp copies


def check_case(folder: CaseFolder, *, read_payload: bool, progress: ProgressCallback | None = None) -> CaseCheck:
    """One pass over a case: the tree, the log and its head, every file outside data/, and the payload.

    With `read_payload` (verify), every payload file is hashed and every entry's
    signature checked; without (the writers' check before they write), payload
    files are checked by kind and size, and entries up to the signed head are
    left to the chain and the head: each is bound by the chain to the head's
    hash and the head is signed, so a change to one breaks the chain or the
    head whatever its signature says (a signature costs 0.1 ms an entry).
    """
    ins = Inspection(folder, full=read_payload)
    log = check_log(ins, signatures_from=0 if read_payload else claimed_head_seq(ins))
    state = log.state
    expected = projection_files(state, log.last) if log.last is not None else {}
    ins.walk({*expected, LOG, HEAD, *TAG_MANIFESTS, *(f.path for f in state.payload()), *state.records,
              *(o.get("path") for seal in state.seals for o in seal.get("objects", ()))})
    ins.learn_names(state)
    ins.check_layout()
    head_seq = check_head(ins, log) if log.count else None
    if expected:
        check_projections(ins, expected)
    check_logged_tag_files(ins, state)
    check_unknown_tag_files(ins, state, expected)
    files, read_bytes = check_payload(ins, state, progress)
    seals: list[dict[str, Any]] = []
    if read_payload:
        check_tag_manifests(ins, state, expected, log)
        seals = check_seals(ins, state, log)
    else:
        for name in TAG_MANIFESTS:  # rewritten by every writer whatever they hold, but never over a folder
            ins.missing_or_odd(name)
    ins.finish()
    return CaseCheck(ins.findings, log, head_seq, ins.tree, ins.unlogged, files, read_bytes, seals, ins.work_files)


def verify_case(path: Path, *, trusted_keys: Iterable[str] = (), expect_head: str | None = None,
                progress: ProgressCallback | None = None) -> VerifyReport:
    """Checks a case offline and returns every finding; an intact case has none.

    `trusted_keys` (key ids) must have signed every entry when given: the only
    defence against someone who rewrites and re-signs a whole case with a key
    of their own. `expect_head` (an entry hash noted earlier, e.g. in a
    submission) must still be in the log: it catches a log cut back to an
    earlier, consistently signed state. Nothing in the case is written, but the
    shared lock where the case can hold one; nothing in it is followed or opened
    that is not a regular file, and every read is bounded.
    """
    path = Path(os.path.abspath(path))
    if not path.is_dir() or not is_case(path):
        raise CaseInvalid(f"{path} is not a case folder (no {LOG}, custody folder or bagit.txt)")
    with CaseFolder(path) as folder, case_lock(folder, exclusive=False):
        checked = check_case(folder, read_payload=True, progress=progress)
    findings = list(checked.findings)
    log = checked.log
    trusted = set(trusted_keys)
    if trusted:
        findings.extend(Finding("key-untrusted", key_id,
                                f"{log.signers[key_id]} entries are signed by a key you did not trust")
                        for key_id in sorted(set(log.signers) - trusted))
    if expect_head and not any(log.hash_at(seq) == expect_head for seq in range(1, log.lines + 1)):
        findings.append(Finding("log-rewritten", LOG, f"the entry {expect_head} you expected is not in the log: "
                                                      "it was rewritten or cut back"))
    signers = tuple(Signer(log.keys[k]["actor"] if k in log.keys else "?", k, n) for k, n in log.signers.items())
    return VerifyReport(str(path), tuple(findings), log.count, checked.files_checked, checked.bytes_checked,
                        log.last.line_hash if log.last else GENESIS, signers, tuple(checked.seals))


def check_payload(ins: Inspection, state: CaseState, progress: ProgressCallback | None) -> tuple[int, int]:
    """Checks every payload file the log names: in a full pass its digests, else its size; gives (files, bytes) read."""
    expected = {f.path: f for f in state.payload()}
    on_disk = {rel: e for rel, e in ins.tree.items() if rel.startswith("data/") and e.kind == "file"}
    missing: dict[int, list[str]] = {}
    files = read_bytes = done = 0
    total = len(expected)
    for rel, want in sorted(expected.items()):
        tell(progress, done, total, rel)
        done += 1
        entry = on_disk.get(rel)
        if entry is None:
            if not within_case(rel):
                ins.find("payload-missing", rel, "recorded at a path outside the case")
            elif (odd := ins.missing_or_odd(rel)) != "is missing":
                ins.find("payload-missing", rel, f"recorded in the custody log, but {odd}")
            else:
                missing.setdefault(want.size, []).append(rel)
            continue
        if entry.size != want.size:
            ins.find("payload-modified", rel, f"its size changed since entry {want.log_seq} recorded it: "
                                               f"{want.size:,} -> {entry.size:,} bytes")
            continue
        if not ins.full:
            continue
        try:
            got = ins.digest(rel)
        except OSError as ex:
            ins.find("payload-unreadable", rel, f"cannot be read: {ex.strerror or ex}")
            continue
        files += 1
        read_bytes += got.size
        if (got.sha256, got.sha512, got.size) != (want.sha256, want.sha512, want.size):
            ins.find("payload-modified", rel,
                      f"its bytes changed since entry {want.log_seq} recorded them: sha256 "
                      f"{want.sha256[:16]}… -> {got.sha256[:16]}…")
    tell(progress, total, total, "")
    for rel in sorted(set(on_disk) - set(expected)):
        moved_from = _renamed(ins, rel, on_disk[rel], missing, expected)
        if moved_from is not None:
            ins.find("payload-renamed", moved_from, f"missing here, but its exact bytes are at {shown(rel)}",
                      path=moved_from)
            continue
        ins.unlogged.append(rel)
        ins.find("payload-added", rel, "a file in the payload that the custody log never recorded")
    for paths in missing.values():
        for rel in paths:
            ins.find("payload-missing", rel, "recorded in the custody log but missing from the case")
    return files, read_bytes


def _renamed(ins: Inspection, rel: str, entry: Entry, missing: dict[int, list[str]], expected: dict[str, Any]) -> str | None:
    """The missing payload file whose bytes `rel` holds, when there is one (only files of a missing size are read)."""
    candidates = missing.get(entry.size)
    if not candidates or not ins.full:
        return None
    try:
        got = ins.digest(rel)
    except OSError:
        return None
    for path in candidates:
        if expected[path].sha256 == got.sha256:
            candidates.remove(path)
            return path
    return None
