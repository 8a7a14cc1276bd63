"""What a writer does before it writes: refuse a damaged case, or set aside what a killed run left.

A run of this program killed at any moment leaves only these states, and only
these are put right: an unfinished last log line after the signed head;
entries after the signed head (`head-behind`); payload files, analysis records,
seals and temp files that no entry names yet, each at a path of the form this
program writes; projections older than the log; and temp copies in the work
folder. Everything else (a log shorter than its signed head, an entry missing,
altered or re-signed, a head that does not match, a link, FIFO or device
anywhere, a logged file missing, resized or changed, a file this program never
writes) is damage: the writer refuses (`CaseDamaged`) and the case is left as it
was, byte for byte.

Nothing is deleted: what recovery sets aside (a torn line, unlogged files) is
moved under `data/quarantine/<n>/` with its path in the case, hashed, and logged
in a `recovered` entry, so a recovery that was mistaken loses nothing and shows.
Projections are only rewritten where the log is ahead of the signed head (a run
killed before it rewrote them); the tag manifests, a function of the tag files
that verify binds one by one, are rewritten by every writer.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from forensics.custody.canonical import canonical_json, loads_json
from forensics.custody.folder import CaseFolder
from forensics.custody.hashing import copy_and_hash
from forensics.custody.lock import WORK_DIR, case_lock
from forensics.custody.projections import HEAD, LOG
from forensics.custody.verify import CaseCheck, Finding, check_case
from forensics.errors import CaseDamaged, CaseInvalid

if TYPE_CHECKING:
    from forensics.custody.case import Case

log = logging.getLogger(__name__)

QUARANTINE = "data/quarantine"
WORK_TMP = f"{WORK_DIR}/tmp"
# The names this program gives temp files (write_atomic's, and before it mkstemp's) and where it makes them.
TEMP_NAME = re.compile(r"\.tmp-[a-z0-9_]{8}-[A-Za-z0-9._-]{1,40}")
_HEX = r"[0-9a-f]{2}/[0-9a-f]{64}"
_TEMP_FOLDERS = re.compile(rf"|custody|custody/(manifests|schemas|keys|seals)|custody/records/{_HEX}"
                           rf"|data/derived/{_HEX}|data/quarantine/[0-9]{{8}}/.+")
# Paths this program writes a file at before the entry that names it: a kill between the two leaves it unlogged.
_ORIGINAL = re.compile(r"data/originals/([0-9a-f]{2})/([0-9a-f]{64})(\.[a-z0-9]{1,8})?")
_DERIVED = re.compile(r"data/derived/([0-9a-f]{2})/([0-9a-f]{64})/[A-Za-z0-9._-]{1,120}")
_RECORD = re.compile(r"custody/records/([0-9a-f]{2})/([0-9a-f]{64})/[A-Za-z0-9._-]{1,80}\.json")
_SEAL = re.compile(r"custody/seals/([0-9]{8})\.(tsr|chain\.pem)")
_QUARANTINED = re.compile(r"data/quarantine/([0-9]{8})/([A-Za-z0-9._/-]{1,400})")


_PROJECTION_PATH = re.compile(r"bagit\.txt|bag-info\.txt|(tag)?manifest-sha(256|512)\.txt|custody/head\.json"
                              r"|custody/manifests/[A-Za-z0-9._-]{1,140}\.json|custody/keys/[0-9a-f]{64}\.pub"
                              r"|custody/schemas/manifest-[0-9.]{1,10}\.schema\.json")
_TORN = re.compile(r"custody/log\.jsonl\.torn(\.[0-9]{1,6})?")


def left_by_a_crash(rel: str, checked: CaseCheck, folder: CaseFolder, *, held_at: str | None = None) -> bool:
    """Whether an unlogged file is one a killed run of this program leaves: its path, and what it holds, fit.

    `held_at` is where the file is when that is not `rel` (in quarantine, `rel` being where it came from).
    """
    parent, _, name = rel.rpartition("/")
    if TEMP_NAME.fullmatch(name):
        return bool(_TEMP_FOLDERS.fullmatch(parent))
    state, log_check = checked.log.state, checked.log
    if m := _ORIGINAL.fullmatch(rel):
        # Named by its content: a copy that does not hold it was not put there by this program.
        return m[2][:2] == m[1] and _sha256_of(folder, held_at or rel) == m[2]
    if m := _DERIVED.fullmatch(rel):
        return m[2][:2] == m[1] and state.object_known(m[2])
    if m := _RECORD.fullmatch(rel):
        return m[2][:2] == m[1] and state.object_known(m[2]) and _canonical_json_file(folder, held_at or rel)
    if m := _SEAL.fullmatch(rel):
        # A seal's files are named after the entry it stamps, the log's last; its own entry never came.
        return int(m[1]) == log_check.count
    if held_at is None and (m := _QUARANTINED.fullmatch(rel)):
        # A recovery killed before it logged what it moved: it numbered its folder after the signed head,
        # and moved only what it may move (as checked here) to the same path below that folder.
        number, inner = int(m[1]), m[2]
        if number not in (log_check.count, log_check.count + 1):  # numbered before or after its key-added entry
            return False
        return bool(_TORN.fullmatch(inner) or _PROJECTION_PATH.fullmatch(inner)
                    or left_by_a_crash(inner, checked, folder, held_at=rel))
    return False


def _canonical_json_file(folder: CaseFolder, rel: str) -> bool:
    """Whether a file holds canonical JSON, as every record this program writes does."""
    try:
        data = folder.read(rel, max_bytes=64 << 20)
        return canonical_json(loads_json(data)) == data
    except (OSError, ValueError, TypeError):
        return False


def _sha256_of(folder: CaseFolder, rel: str) -> str:
    fd = folder.open_file(rel)
    try:
        return copy_and_hash(fd, None)[0].sha256
    finally:
        os.close(fd)


# Findings that a killed run leaves, always put right.
_CRASH_STATES = {"log-torn", "head-behind"}
# Projections of the log: rewritten from it after a killed run; one that differs when no crash explains it is damage.
_PROJECTION_CODES = {"manifest-disagrees", "manifest-unreadable", "manifest-schema", "bag-info", "bag-manifest",
                     "key-file-missing", "key-file-swapped", "schema-modified", "bag-declaration",
                     "head-not-canonical"}
_UNLOGGED_CODES = {"payload-added", "tag-file-added"}
# A file the log names that is missing or no longer holds the bytes the log gives. Report and export go on
# past it, since showing it is their work and the one entry they log hides nothing; the others refuse.
CONTENT_DAMAGE = {"payload-missing", "payload-modified", "payload-renamed", "payload-unreadable", "record-missing",
                  "record-modified", "seal-missing", "seal-modified"}


@dataclass(frozen=True, slots=True)
class Assessment:
    """What the writers' check found, and what recovery is to do before anything new is written."""

    checked: CaseCheck
    new_case: bool = False  # no log yet: the case was never made, or its making was killed
    head_missing: bool = False  # the making was killed between the first entry and the head
    set_aside: tuple[tuple[str, str], ...] = ()  # (path, why) to move into quarantine
    logged_in_place: tuple[str, ...] = ()  # unlogged files already in quarantine (a recovery killed half-way)
    torn: bool = False
    work_files: bool = False  # the work folder holds temp copies
    damage: tuple[Finding, ...] = field(default=())


def assess(folder: CaseFolder, *, content_damage_ok: bool = False) -> Assessment:
    """Checks a case before a write (its payload by size, everything else in full); classifies every finding.

    Gives the recovery to do; raises CaseDamaged, naming the damage, when any
    finding is one no crash of this program leaves (with `content_damage_ok`,
    but for CONTENT_DAMAGE).
    """
    checked = check_case(folder, read_payload=False)
    codes = {f.code for f in checked.findings}
    files = {rel for rel, e in checked.tree.items() if e.kind == "file"}
    work = {rel for rel in files if rel.split("/", 1)[0] == WORK_DIR}
    if checked.log.lines == 0 and "log-missing" in codes and _only_skeleton(files - work, with_log=False):
        return Assessment(checked, new_case=True)
    head_missing = (checked.head_seq is None and checked.log.count == 1 and checked.log.lines == 1
                    and checked.log.last is not None and checked.log.last.action == "case-created"
                    and HEAD not in checked.tree and _only_skeleton(files - work, with_log=True))
    # Projections are first written by the first command's end: a case of its first entry alone has none yet.
    fresh = checked.log.count == 1 and checked.log.last is not None and checked.log.last.action == "case-created"
    head_behind = "head-behind" in codes or head_missing or fresh
    unlogged = set(checked.unlogged)
    set_aside: list[tuple[str, str]] = []
    in_place: list[str] = []
    damage: list[Finding] = []
    content_damaged = False
    for finding in checked.findings:
        if finding.code in _CRASH_STATES:
            continue
        if head_missing and finding.code in ("head-unreadable", *_PROJECTION_CODES):
            continue
        if finding.code in _PROJECTION_CODES and head_behind:
            continue  # a run killed before it rewrote them: the log they are rebuilt from is ahead of the head
        if (finding.code in _UNLOGGED_CODES and finding.subject in unlogged
                and left_by_a_crash(finding.subject, checked, folder)):
            if finding.subject.startswith(QUARANTINE + "/"):
                in_place.append(finding.subject)
            else:
                set_aside.append((finding.subject, "written by a run killed before it logged it"))
            continue
        if content_damage_ok and finding.code in CONTENT_DAMAGE:
            content_damaged = True
            continue
        damage.append(finding)
    torn = checked.log.torn_size > 0
    one_at_a_time = [rel for rel, _ in set_aside if _DERIVED.fullmatch(rel) or _RECORD.fullmatch(rel)]
    if len(one_at_a_time) > 1:
        # Derived files and records are written one at a time, each logged before the next: a kill leaves one.
        damage += [f for f in checked.findings if f.subject in one_at_a_time]
    if content_damaged and (set_aside or in_place or torn):
        # A command that may go on past altered files logs one entry and changes nothing else: with files to
        # set aside as well, it would move files about in a case whose content is already wrong.
        damage += [f for f in checked.findings if f.code in CONTENT_DAMAGE]
    if damage:
        raise CaseDamaged(_damage_message(folder, damage))
    return Assessment(checked, head_missing=head_missing, set_aside=tuple(dict.fromkeys(set_aside)),
                      logged_in_place=tuple(in_place), torn=torn,
                      work_files=checked.work_files)


def _only_skeleton(files: set[str], *, with_log: bool) -> bool:
    """Whether a case holds nothing but what its making writes first (and temp files of those writes)."""
    allowed = {"bagit.txt", LOG} if with_log else {"bagit.txt"}
    return all(rel in allowed or (TEMP_NAME.fullmatch(rel.rpartition("/")[2]) and rel.rpartition("/")[0] in
                                  ("", "custody")) for rel in files)


def _damage_message(folder: CaseFolder, damage: list[Finding]) -> str:
    shown = "; ".join(f"{f.code} {f.subject}: {f.message}" for f in damage[:4])
    more = f"; and {len(damage) - 4} more" if len(damage) > 4 else ""
    return (f"the case {folder.path} is damaged, in a way no interrupted run of this program leaves, so nothing "
            f"was written to it: {shown}{more}. Run `forensics verify {folder.path}` to see every finding, and "
            "work on a copy restored from a trusted backup; this program will not repair it")


def own_log(folder: CaseFolder) -> None:
    """Makes sure the log file is the case's alone before it is written in place (appended to, or cut).

    A log with other hard links (a backup made with `cp -al`, or a link planted
    to a file outside the case) is copied and the copy renamed over it, so no
    other name ever sees the write.
    """
    with folder.dir("custody") as custody:
        st = os.stat("log.jsonl", dir_fd=custody, follow_symlinks=False)
        if st.st_nlink <= 1:
            return
        fd = folder.open_file(LOG)
        try:
            tmp = f".tmp-{secrets.token_hex(4)}-log.jsonl"
            out = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644,
                          dir_fd=custody)
            try:
                copy_and_hash(fd, out)
                os.fsync(out)
            finally:
                os.close(out)
        finally:
            os.close(fd)
        os.replace(tmp, "log.jsonl", src_dir_fd=custody, dst_dir_fd=custody)
        os.fsync(custody)


def cut_torn_tail(folder: CaseFolder, assessment: Assessment, label: str) -> dict[str, Any] | None:
    """Moves an unfinished last log line into quarantine (durably), then cuts it from the log; gives its object."""
    if not assessment.torn:
        return None
    log_check = assessment.checked.log
    own_log(folder)
    fd = folder.open_file(LOG)
    try:
        os.lseek(fd, log_check.complete_size, os.SEEK_SET)
        with folder.dir(f"{QUARANTINE}/{label}/custody", create=True) as dir_fd:
            # A fresh temp file, then a name no file has: nothing in the case is overwritten or written through.
            tmp = f".tmp-{secrets.token_hex(4)}-log.jsonl.torn"
            out = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o444,
                          dir_fd=dir_fd)
            try:
                digests = copy_and_hash(fd, out)[0]
                os.fsync(out)
            finally:
                os.close(out)
            name = _free_name(dir_fd, "log.jsonl.torn")
            os.link(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd, follow_symlinks=False)
            os.unlink(tmp, dir_fd=dir_fd)
            os.fsync(dir_fd)
    finally:
        os.close(fd)
    with folder.dir("custody") as custody:
        log_fd = os.open("log.jsonl", os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=custody)
        try:
            os.ftruncate(log_fd, log_check.complete_size)
            os.fsync(log_fd)
        finally:
            os.close(log_fd)
    return {"role": "quarantined", "path": f"{QUARANTINE}/{label}/custody/{name}", "from": LOG,
            "why": "an unfinished last line of the log, cut off", "sha256": digests.sha256,
            "sha512": digests.sha512, "size": digests.size}


def _free_name(dir_fd: int, name: str) -> str:
    """`name`, or `name.2`, `name.3`... : the first no entry of the folder has."""
    candidate, n = name, 1
    while True:
        try:
            os.stat(candidate, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            return candidate
        n += 1
        candidate = f"{name}.{n}"


def recover(case: Case, assessment: Assessment, label: str, torn: dict[str, Any] | None) -> None:
    """Sets aside what the assessment found (moved into quarantine, never deleted) and logs it in one entry."""
    folder = case.folder
    if assessment.work_files:
        with folder.dir(WORK_DIR) as work:
            shutil.rmtree("tmp", dir_fd=work)  # fd-based: never follows a link; our own temp copies only
    objects = [torn] if torn is not None else []
    for rel, why in assessment.set_aside:
        parent, name = CaseFolder.split(f"{QUARANTINE}/{label}/{rel}")
        with folder.dir(parent, create=True) as dir_fd:
            target = f"{parent}/{_free_name(dir_fd, name)}"
        folder.rename(rel, target)
        objects.append(_quarantined(case, target, rel, why))
    for rel in assessment.logged_in_place:
        came_from = _QUARANTINED.fullmatch(rel)
        objects.append(_quarantined(case, rel, came_from[2] if came_from else None,
                                    "set aside by a recovery killed before it logged it"))
    if objects:
        log.warning("%s: %d file(s) moved to %s/%s", folder.path, len(objects), QUARANTINE, label)
        case.record("recovered", objects=objects, details={
            "why": "an earlier run was interrupted, or files differed from the log: what no entry named, "
                   "or no longer matched it, is set aside in quarantine, never deleted"})


def _quarantined(case: Case, rel: str, came_from: str | None, why: str) -> dict[str, Any]:
    fd = case.folder.open_file(rel)
    try:
        if os.fstat(fd).st_nlink == 1:  # never through a link: another name would change with it
            os.fchmod(fd, 0o444)  # kept as evidence is: read-only
        digests = copy_and_hash(fd, None)[0]
    finally:
        os.close(fd)
    obj: dict[str, Any] = {"role": "quarantined", "path": rel, "why": why, "sha256": digests.sha256,
                           "sha512": digests.sha512, "size": digests.size}
    if came_from is not None:
        obj["from"] = came_from
    return obj


def check_writable(path: Path) -> None:
    """Raises CaseDamaged when a writing command would refuse the case (or CaseInvalid when it is none); writes nothing.

    For commands that read a case at length before they log what they made of
    it (report, export): they refuse before reading, as ingest does before copying.
    A file the log names that is missing or altered does not stop them: they
    show it, as verify does.
    """
    from forensics.custody.case import is_case

    path = Path(os.path.abspath(path))
    if not path.is_dir() or not is_case(path):
        raise CaseInvalid(f"{path} is not a case folder (no {LOG})")
    with CaseFolder(path) as folder, case_lock(folder, exclusive=False):
        if assess(folder, content_damage_ok=True).new_case:
            raise CaseInvalid(f"{path} is not a case folder (no {LOG})")
