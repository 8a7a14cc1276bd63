"""A case folder open for writing: the lock, the check before writing, originals, derived files, records, the bag.

Every path inside the case is reached through `CaseFolder` (folder descriptors,
no link followed); every file is written to a temp file and renamed into place,
or for originals linked, and is durable before the log entry that names it.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import hashlib
import os
import re
import stat
import threading
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from forensics.atomic import start_writeback, sync_filesystem
from forensics.custody import bag, recovery
from forensics.custody.canonical import canonical_json
from forensics.custody.folder import CaseFolder
from forensics.custody.hashing import Digests, copy_and_hash, open_for_reading
from forensics.custody.lock import WORK_DIR, case_lock
from forensics.custody.log import CustodyLog, LogEntry
from forensics.custody.log_check import LogCheck
from forensics.custody.names import extension_of, received_name, safe_name
from forensics.custody.projections import HEAD, KEYS, LOG, TAG_MANIFESTS, is_case, projection_files, signed_head
from forensics.custody.signing import SigningKey
from forensics.custody.sources import SourceEntry, kind_of
from forensics.custody.state import DerivedFile, Item, RecordFile
from forensics.errors import CaseInvalid, ParameterError, SourceError

__all__ = ["HEAD", "KEYS", "LOG", "Case", "PendingOriginal", "case_lock", "check_incident", "is_case", "open_case",
           "original_path", "stat_record"]

INCIDENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_APPEND = os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
_CASE_WRITE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG}


def check_incident(incident: str) -> str:
    """Returns `incident` if it can name an incident (letters, digits, . _ -; up to 128)."""
    if not INCIDENT.match(incident):
        raise ParameterError(f"incident id {incident!r} must be 1-128 letters, digits, '.', '_' or '-', "
                             "starting with a letter or digit")
    return incident


@dataclass(frozen=True, slots=True)
class PendingOriginal:
    """A source file copied and hashed into the work dir, not yet part of the case."""

    source: SourceEntry
    stat: os.stat_result  # as read just before the bytes were
    digests: Digests
    head: bytes  # the first bytes, for sniffing the media type
    placed: str | None  # where the copy was put in the payload (relative), None when its content was there already


def stat_record(st: os.stat_result) -> dict[str, Any]:
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "atime_ns": st.st_atime_ns,
            "ctime_ns": st.st_ctime_ns, "mode": oct(stat.S_IMODE(st.st_mode))}


class Case:
    """A case open for writing by one process, checked and recovered; create it with `open_case`."""

    def __init__(self, folder: CaseFolder, key: SigningKey, checked: LogCheck, log_fd: int) -> None:
        self.folder = folder
        self.path = folder.path
        self.key = key
        self.log = CustodyLog(log_fd, checked.last, checked.count)
        self.state = checked.state
        self._unsynced_files: list[str] = []
        self._unsynced_dirs: set[str] = set()
        self._per_thread = threading.local()
        self._thread_dirs: list[int] = []
        self._thread_lock = threading.Lock()

    # -- the log --------------------------------------------------------------------------------
    def record(self, action: str, **fields: Any) -> LogEntry:
        """Appends a signed entry and takes it into the case's state."""
        entry = self.log.append(self.key, action, **fields)
        self.state.apply(entry)
        return entry

    def sync(self) -> None:
        """Makes everything recorded so far durable: the new copies, their folders, then the log.

        Ingest commits originals in groups. A copy is linked into place before
        it is durable, but the log entry that names it is held in memory until
        this runs; so a power cut or kill can leave only files no entry names,
        which recovery sets aside, never an entry whose file is not on disk. One
        syncfs makes the copies and their folders durable where the system has
        it; elsewhere each is fsynced.
        """
        if (self._unsynced_files or self._unsynced_dirs) and not sync_filesystem(self.path):
            for rel in self._unsynced_files:
                fsync_file(self.folder, rel)
            for rel in sorted(self._unsynced_dirs):
                with self.folder.dir(rel) as fd:
                    os.fsync(fd)
        self._unsynced_files.clear()
        self._unsynced_dirs.clear()
        self.log.sync()

    # -- originals ------------------------------------------------------------------------------
    def copy_in(self, source: SourceEntry) -> PendingOriginal:
        """Copies and hashes one regular source file in a single read; raises SourceError for that file."""
        path = source.path
        try:
            st = os.lstat(path)
        except FileNotFoundError as ex:
            raise SourceError("vanished before it could be read") from ex
        except OSError as ex:
            raise SourceError(f"cannot be looked at: {ex.strerror}") from ex
        if not stat.S_ISREG(st.st_mode):
            raise SourceError(f"is now a {kind_of(st)}, no longer a regular file")
        try:
            fd = open_for_reading(path)
        except FileNotFoundError as ex:
            raise SourceError("vanished before it could be read") from ex
        except OSError as ex:
            if ex.errno == errno.ELOOP:
                raise SourceError("was replaced by a symbolic link before it could be read") from ex
            raise SourceError(f"unreadable: {ex.strerror}") from ex
        tmp_fd, tmp_dir, tmp_name = self._new_temp_file()
        try:
            opened = os.fstat(fd)
            if (opened.st_dev, opened.st_ino) != (st.st_dev, st.st_ino) or not stat.S_ISREG(opened.st_mode):
                raise SourceError("was replaced by another file before it could be read")
            try:
                digests, head = copy_and_hash(fd, tmp_fd)
            except OSError as ex:
                if ex.errno in _CASE_WRITE_ERRORS:
                    raise  # the case's disk, not this file: the run stops, and the next one completes it
                raise SourceError(f"could not be read to its end: {ex.strerror or ex}") from ex
            after = os.fstat(fd)
            if (digests.size, after.st_size, after.st_mtime_ns) != (st.st_size, st.st_size, st.st_mtime_ns):
                raise SourceError(
                    f"changed while it was read: {st.st_size} bytes and mtime {st.st_mtime_ns} ns before, "
                    f"{after.st_size} bytes ({digests.size} read) and mtime {after.st_mtime_ns} ns after; "
                    "ingest it again once it is no longer being written")
            start_writeback(tmp_fd)  # made durable by sync(), before the entry that names it
            os.fchmod(tmp_fd, 0o444)  # evidence copies are read-only
            placed = self._place(tmp_dir, tmp_name, digests.sha256, source.rel)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name, dir_fd=tmp_dir)
            raise
        finally:
            os.close(fd)
            os.close(tmp_fd)
        return PendingOriginal(source, st, digests, head, placed)

    def _new_temp_file(self) -> tuple[int, int, str]:
        """Creates an empty temp file in this thread's own work folder; gives back (fd, folder fd, name)."""
        # One work folder per copying thread: threads creating and unlinking in one
        # folder queue on its lock in the kernel (measured: 8% of an ingest's CPU).
        # Names are a counter, the folder being the thread's alone: mkstemp's random
        # names cost Python time under the GIL that the other threads wait for.
        here = self._per_thread
        if getattr(here, "dir_fd", None) is None:
            name = f"w-{os.getpid()}-{threading.get_ident()}-{len(self._thread_dirs)}"
            with self.folder.dir(recovery.WORK_TMP, create=True) as tmp_fd:
                os.mkdir(name, 0o700, dir_fd=tmp_fd)
                here.dir_fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                                      dir_fd=tmp_fd)
            here.count = 0
            with self._thread_lock:
                self._thread_dirs.append(here.dir_fd)
        here.count += 1
        name = f"in-{here.count}"
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                     dir_fd=here.dir_fd)
        return fd, here.dir_fd, name

    def _place(self, tmp_dir: int, tmp_name: str, sha256: str, received: bytes) -> str | None:
        """Links a finished copy into the payload unless its content is stored already; gives back where, if it did.

        Done by the copying thread, so the one that records never waits on the
        file system. link() never replaces a file (another thread may have put the
        same content there first), and a link into the payload that is never logged
        is set aside by recovery, as any unlogged payload file is.
        """
        try:
            if sha256 in self.state.items:
                return None
            rel = original_path(sha256, received)
            parent, name = CaseFolder.split(rel)
            try:
                os.link(tmp_name, name, src_dir_fd=tmp_dir, dst_dir_fd=self.folder.cached_dir(parent),
                        follow_symlinks=False)
            except FileExistsError:
                return None
            return rel
        finally:
            os.unlink(tmp_name, dir_fd=tmp_dir)

    def commit_original(self, pending: PendingOriginal, *, incident: str, media_type: str,
                        mime: str | None) -> tuple[Item, bool]:
        """Puts a copied file into the payload (once per content) and logs its receipt; returns (item, stored_now)."""
        d = pending.digests
        item = self.state.items.get(d.sha256)
        if item is None:
            # Put in place by this copy's thread, or (same content, same extension) by a later one's.
            rel = original_path(d.sha256, pending.source.rel)
            self._unsynced_files.append(rel)
            self._unsynced_dirs.add(CaseFolder.split(rel)[0])
        else:
            rel = item.stored.path
            self.discard(pending)
        self.record("received", incident=incident,
                    objects=[{"role": "original", "path": rel, "sha256": d.sha256, "sha512": d.sha512,
                              "size": d.size}],
                    details={"name": received_name(pending.source.rel),
                             "source_root": received_name(pending.source.root)["name"],
                             "stat": stat_record(pending.stat), "media_type": media_type, "mime": mime,
                             "stored_now": item is None},
                    durable=False)
        return self.state.items[d.sha256], item is None

    def discard(self, pending: PendingOriginal) -> None:
        """Removes a copy that turned out not to be needed (its content is stored under another name)."""
        item = self.state.items.get(pending.digests.sha256)
        if pending.placed is not None and (item is None or item.stored.path != pending.placed):
            self.folder.unlink(pending.placed)  # this run's own copy, never logged

    def record_problem(self, source: SourceEntry, *, incident: str, result: str, reason: str,
                       extra: Mapping[str, Any] | None = None) -> LogEntry:
        """Logs a source entry that was not taken in (result "error" or "skipped") and why."""
        details: dict[str, Any] = {"name": received_name(source.rel),
                                   "source_root": received_name(source.root)["name"],
                                   "kind": source.kind, "reason": reason, **(extra or {})}
        if source.stat is not None:
            details["stat"] = stat_record(source.stat)
        return self.record("received", incident=incident, result=result, details=details, durable=False)

    # -- derived files and records ----------------------------------------------------------------
    def add_derived(self, source_sha256: str, data: bytes, *, name: str, operation: str,
                    parameters: Mapping[str, Any], performed_on: Mapping[str, Any] | None = None) -> DerivedFile:
        """Stores a file made from a case object (a frame, a thumbnail, an extract) and logs how it was made.

        `operation` names the tool step exactly (e.g. "frames.keyframes"), and
        `parameters` everything needed to make it again; `performed_on` names the
        worker (host, process) that made it. Storing the same
        bytes from the same source by the same operation again is a no-op.
        """
        if not self.state.object_known(source_sha256):
            raise ParameterError(f"no object with sha256 {source_sha256} in the case")
        digests = _digests_of(data)
        for known in self.state.derived_by_sha256.get(digests.sha256, ()):
            if known.source_sha256 == source_sha256 and known.operation == operation:
                return known
        folder = f"data/derived/{source_sha256[:2]}/{source_sha256}"
        base = safe_name(name, max_len=96)
        rel = f"{folder}/{base}"
        if self.folder.lstat(rel) is not None:
            stem, dot, ext = base.rpartition(".")
            rel = f"{folder}/{stem or ext}-{digests.sha256[:12]}{dot}{ext if stem else ''}"
        self.folder.write_atomic(rel, data, mode=0o444)
        self.record("derived", objects=[{"role": "source", "sha256": source_sha256},
                                        {"role": "derived", "path": rel, "sha256": digests.sha256,
                                         "sha512": digests.sha512, "size": digests.size}],
                    details={"operation": operation, "parameters": dict(parameters), **_worker(performed_on)})
        return self.state.derived[rel]

    def add_record(self, source_sha256: str, kind: str, record: Mapping[str, Any], *,
                   performed_on: Mapping[str, Any] | None = None) -> RecordFile:
        """Stores an analysis record (canonical JSON) about a case object and logs it as analysed.

        `performed_on` names the worker (host, process) that computed it.
        """
        owner = self.state.owner_item(source_sha256)
        if owner is None:
            raise ParameterError(f"no object with sha256 {source_sha256} in the case")
        data = canonical_json(record)
        digests = _digests_of(data)
        existing = owner.records.get(kind)
        if existing is not None and existing.sha256 == digests.sha256:
            return existing
        rel = f"custody/records/{source_sha256[:2]}/{source_sha256}/{safe_name(kind)}.json"
        self.folder.write_atomic(rel, data)
        self.record("analysed", objects=[{"role": "source", "sha256": source_sha256},
                                         {"role": "record", "path": rel, "sha256": digests.sha256,
                                          "size": digests.size}],
                    details={"kind": kind, **_worker(performed_on)})
        return self.state.records[rel]

    def read_stored(self, rel: str, *, max_bytes: int) -> bytes:
        """The bytes of a file of the case, read without following links; raises OSError."""
        return self.folder.read(rel, max_bytes=max_bytes)

    # -- opening, recovery, finishing ---------------------------------------------------------------
    def _register_key(self) -> None:
        if self.key.key_id not in self.state.keys:
            self.record("key-added", details={"public_key": base64.b64encode(self.key.public_raw).decode("ascii")})

    def finalize(self) -> None:
        """Rewrites every projection (manifests, bag files, head) from the log; the bag is valid after it."""
        self.sync()
        self._drop_work_folders()
        head = self.log.head
        assert head is not None
        projections = projection_files(self.state, head)
        for rel, data in projections.items():
            self._write_if_changed(rel, data)
        self._write_if_changed(HEAD, signed_head(self.key, self.state.case_id, head))
        tag_files = sorted({*projections, HEAD, LOG, *self.state.records,
                            *(o["path"] for seal in self.state.seals for o in seal["objects"])})
        digests = {}
        for rel in tag_files:
            try:
                digests[rel] = self._digests(rel)
            except FileNotFoundError:
                continue  # a record or seal the log names is missing (an export goes on past it): verify says so
        for algorithm, name in zip(bag.ALGORITHMS, TAG_MANIFESTS):
            self._write_if_changed(name, bag.manifest_text((rel, getattr(d, algorithm)) for rel, d in digests.items()))

    def _drop_work_folders(self) -> None:
        """Removes the copying threads' work folders, empty by now."""
        with self._thread_lock:
            dirs, self._thread_dirs = self._thread_dirs, []
        for fd in dirs:
            os.close(fd)
        self._per_thread = threading.local()
        # The work folder may be gone, and so may its tmp (that one caught inside, before the folder is closed).
        with (contextlib.suppress(FileNotFoundError), self.folder.dir(WORK_DIR) as work,
              contextlib.suppress(FileNotFoundError)):
            _remove_tree(work, "tmp")

    def _digests(self, rel: str) -> Digests:
        fd = self.folder.open_file(rel)
        try:
            return copy_and_hash(fd, None)[0]
        finally:
            os.close(fd)

    def _write_if_changed(self, rel: str, data: bytes) -> None:
        try:
            if self.folder.read(rel, max_bytes=len(data)) == data:
                return
        except (OSError, ValueError):
            pass
        self.folder.write_atomic(rel, data)

    def close(self) -> None:
        self.log.close()
        self._drop_work_folders()


def fsync_file(folder: CaseFolder, rel: str) -> None:
    """Makes one file of the case durable (where syncfs is missing)."""
    fd = folder.open_file(rel)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_tree(dir_fd: int, name: str) -> None:
    import shutil

    shutil.rmtree(name, dir_fd=dir_fd)  # the fd-based walk: never follows a link


def original_path(sha256: str, received: bytes) -> str:
    """Returns where the case keeps an original: by content, with the extension it was received with."""
    return f"data/originals/{sha256[:2]}/{sha256}{extension_of(received)}"


def _digests_of(data: bytes) -> Digests:
    return Digests(len(data), hashlib.sha256(data).hexdigest(), hashlib.sha512(data).hexdigest())


def _open_log(folder: CaseFolder) -> int:
    recovery.own_log(folder)  # appended to in place: never through another hard link
    with folder.dir("custody") as custody:
        return os.open("log.jsonl", _APPEND, dir_fd=custody)


def _create(folder: CaseFolder, key: SigningKey, bag_info: Mapping[str, str]) -> Case:
    """Makes a new case: its declaration, then its log's first entry, then the signed head.

    The log appears whole (written beside, then renamed) and the head right
    after it, so a kill leaves either no log (made again from scratch) or a log
    of one entry without a head, which the next open completes.
    """
    folder.write_atomic("bagit.txt", bag.BAGIT_TXT)
    with folder.dir("data", create=True):
        pass
    with folder.dir("custody", create=True) as custody:
        tmp = f".tmp-{uuid.uuid4().hex[:8]}-log.jsonl"
        fd = os.open(tmp, _APPEND | os.O_CREAT | os.O_EXCL, 0o644, dir_fd=custody)
        case = Case(folder, key, LogCheck(), fd)
        case.record("case-created", details={
            "case_id": str(uuid.uuid4()),
            "public_key": base64.b64encode(key.public_raw).decode("ascii"),
            "bag_info": dict(bag_info)})
        os.replace(tmp, "log.jsonl", src_dir_fd=custody, dst_dir_fd=custody)
        os.fsync(custody)
    assert case.log.head is not None
    folder.write_atomic(HEAD, signed_head(key, case.state.case_id, case.log.head))
    return case


def _prepare(folder: CaseFolder) -> None:
    """Refuses a top folder that cannot become a case."""
    try:
        names = os.listdir(folder.fd)
    except OSError as ex:
        raise CaseInvalid(f"{folder.path} cannot be read: {ex.strerror}") from ex
    if names and not is_case(folder.path):
        raise CaseInvalid(f"{folder.path} is a non-empty folder that is not a case; choose a new or empty folder")


@contextlib.contextmanager
def open_case(path: Path, key: SigningKey, *, bag_info: Mapping[str, str] | None = None,
              create: bool = True, wait_s: float = 0.0, content_damage_ok: bool = False) -> Iterator[Case]:
    """Opens (or creates) a case for writing; on leaving, the bag and every projection are rewritten.

    The case is checked first (its log, head and every file outside data/ in
    full, its payload by size). A case in a state a killed run leaves is put
    right (recovery.py); one damaged any other way raises CaseDamaged and is
    left exactly as it was. `content_damage_ok` lets a command that only logs
    what it made of the case (an export) go on past files the log names that are
    missing or altered, which its output shows.
    """
    path = Path(os.path.abspath(path))
    if os.path.lexists(path) and not path.is_dir():
        raise CaseInvalid(f"{path} is a file, not a case folder")
    if not path.exists() and not create:
        raise CaseInvalid(f"no case at {path}")
    path.mkdir(parents=True, exist_ok=True)
    with CaseFolder(path) as folder:
        _prepare(folder)
        with case_lock(folder, exclusive=True, wait_s=wait_s):
            assessment = recovery.assess(folder, content_damage_ok=content_damage_ok)
            if assessment.new_case:
                if not create:
                    raise CaseInvalid(f"no case at {path}")
                _clear_unfinished_making(folder, assessment)
                case = _create(folder, key, bag_info or {})
            else:
                checked = assessment.checked.log
                label = f"{checked.count + 1:08d}"
                torn = recovery.cut_torn_tail(folder, assessment, label)
                case = Case(folder, key, checked, _open_log(folder))
                if assessment.head_missing:
                    assert case.log.head is not None
                    folder.write_atomic(HEAD, signed_head(key, case.state.case_id, case.log.head))
                case._register_key()
                recovery.recover(case, assessment, label, torn)
            try:
                try:
                    yield case
                except BaseException:
                    # What was recorded is kept whole: projections are rewritten unless that fails too,
                    # which the next writer puts right (head-behind).
                    with contextlib.suppress(Exception):
                        case.finalize()
                    raise
                case.finalize()
            finally:
                case.close()


def _clear_unfinished_making(folder: CaseFolder, assessment: recovery.Assessment) -> None:
    """Removes the temp files of a case whose making was killed before its log existed: no case held them."""
    for rel, entry in assessment.checked.tree.items():
        if entry.kind == "file" and os.path.basename(rel).startswith(".tmp-"):
            folder.unlink(rel)


def _worker(performed_on: Mapping[str, Any] | None) -> dict[str, Any]:
    # The log entry's own host is the recorder's; a step computed elsewhere names its worker too.
    return {"performed_on": dict(performed_on)} if performed_on else {}
