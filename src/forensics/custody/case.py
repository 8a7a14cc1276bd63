"""A case folder open for writing: the lock, crash recovery, originals, derived files, records, and sealing the bag."""

from __future__ import annotations

import base64
import contextlib
import errno
import fcntl
import hashlib
import os
import re
import shutil
import socket
import stat
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import forensics
from forensics.custody import bag
from forensics.custody.atomic import fsync_dir, fsync_path, start_writeback, sync_filesystem, write_atomic
from forensics.custody.canonical import canonical_json
from forensics.custody.hashing import Digests, copy_and_hash, open_for_reading
from forensics.custody.log import CustodyLog, LogEntry
from forensics.custody.manifest import SCHEMA_NAME, incident_manifest, manifest_name, schema_bytes
from forensics.custody.names import extension_of, received_name, safe_name
from forensics.custody.signing import SigningKey, pem_from_raw
from forensics.custody.sources import SourceEntry, kind_of
from forensics.custody.state import CaseState, DerivedFile, Item, RecordFile
from forensics.errors import CaseInvalid, CaseLocked, ParameterError, SourceError

LOG = "custody/log.jsonl"
HEAD = "custody/head.json"
KEYS = "custody/keys"
INCIDENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def check_incident(incident: str) -> str:
    """Returns `incident` if it can name an incident (letters, digits, . _ -; up to 128)."""
    if not INCIDENT.match(incident):
        raise ParameterError(f"incident id {incident!r} must be 1-128 letters, digits, '.', '_' or '-', "
                             "starting with a letter or digit")
    return incident


def is_case(path: Path) -> bool:
    return (path / LOG).is_file() or (path / bag.WORK_DIR).is_dir()


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
    """A case open for writing by one process; create it with `open_case`."""

    def __init__(self, path: Path, key: SigningKey) -> None:
        self.path = path
        self.key = key
        self.log = CustodyLog(path / LOG)
        self.state = CaseState.from_entries(self.log.replay())
        self.tmp_dir = path / bag.WORK_DIR / "tmp"
        self._unsynced_dirs: set[Path] = set()
        self._unsynced_files: list[Path] = []
        self._made_dirs: set[Path] = set()
        self._per_thread = threading.local()

    # -- the log --------------------------------------------------------------------------------
    def record(self, action: str, **fields: Any) -> LogEntry:
        """Appends a signed entry and takes it into the case's state."""
        entry = self.log.append(self.key, action, **fields)
        self.state.apply(entry)
        return entry

    def _mkdir(self, folder: Path) -> None:
        if folder not in self._made_dirs:
            folder.mkdir(parents=True, exist_ok=True)
            self._made_dirs.add(folder)

    def sync(self) -> None:
        """Makes everything recorded so far durable: the new copies, their folders, then the log.

        Ingest commits originals in groups. A copy is linked into place before
        it is durable, but the log entry that names it is held in memory until
        this runs; so a power cut or kill can leave only files no entry names,
        which recovery removes, never an entry whose file is not on disk. One
        syncfs makes the copies and their folders durable where the system has
        it; elsewhere each is fsynced.
        """
        if (self._unsynced_files or self._unsynced_dirs) and not sync_filesystem(self.path):
            for path in self._unsynced_files:
                fsync_path(path)
            for folder in sorted(self._unsynced_dirs):
                fsync_dir(folder)
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
        tmp_fd, tmp_name = self._new_temp_file()
        try:
            opened = os.fstat(fd)
            if (opened.st_dev, opened.st_ino) != (st.st_dev, st.st_ino) or not stat.S_ISREG(opened.st_mode):
                raise SourceError("was replaced by another file before it could be read")
            try:
                digests, head = copy_and_hash(fd, tmp_fd)
            except OSError as ex:
                raise SourceError(f"could not be read to its end: {ex.strerror or ex}") from ex
            after = os.fstat(fd)
            if (digests.size, after.st_size, after.st_mtime_ns) != (st.st_size, st.st_size, st.st_mtime_ns):
                raise SourceError(
                    f"changed while it was read: {st.st_size} bytes and mtime {st.st_mtime_ns} ns before, "
                    f"{after.st_size} bytes ({digests.size} read) and mtime {after.st_mtime_ns} ns after; "
                    "ingest it again once it is no longer being written")
            start_writeback(tmp_fd)  # made durable by sync(), before the entry that names it
            os.fchmod(tmp_fd, 0o444)  # evidence copies are read-only
            placed = self._place(tmp_name, digests.sha256, source.rel)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        finally:
            os.close(fd)
            os.close(tmp_fd)
        return PendingOriginal(source, st, digests, head, placed)

    def _new_temp_file(self) -> tuple[int, str]:
        """Creates an empty temp file in this thread's own work folder; gives back (fd, path)."""
        # One work folder per copying thread: threads creating and unlinking in one
        # folder queue on its lock in the kernel (measured: 8% of an ingest's CPU).
        # Names are a counter, the folder being the thread's alone: mkstemp's random
        # names cost Python time under the GIL that the other threads wait for.
        here = self._per_thread
        if getattr(here, "tmp_dir", None) is None:
            self._mkdir(self.tmp_dir)
            here.tmp_dir, here.count = tempfile.mkdtemp(dir=self.tmp_dir, prefix="w-"), 0
        here.count += 1
        name = f"{here.tmp_dir}/in-{here.count}"
        return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600), name

    def _place(self, tmp_name: str, sha256: str, received: bytes) -> str | None:
        """Links a finished copy into the payload unless its content is stored already; gives back where, if it did.

        Done by the copying thread, so the one that records never waits on the
        file system. link() never replaces a file (another thread may have put the
        same content there first), and a link into the payload that is never logged
        is removed by recovery, as any unlogged payload file is.
        """
        try:
            if sha256 in self.state.items:
                return None
            rel = original_path(sha256, received)
            target = self.path / rel
            self._mkdir(target.parent)
            try:
                os.link(tmp_name, target)
            except FileExistsError:
                return None
            return rel
        finally:
            os.unlink(tmp_name)

    def commit_original(self, pending: PendingOriginal, *, incident: str, media_type: str,
                        mime: str | None) -> tuple[Item, bool]:
        """Puts a copied file into the payload (once per content) and logs its receipt; returns (item, stored_now)."""
        d = pending.digests
        item = self.state.items.get(d.sha256)
        if item is None:
            # Put in place by this copy's thread, or (same content, same extension) by a later one's.
            rel = original_path(d.sha256, pending.source.rel)
            target = self.path / rel
            self._unsynced_files.append(target)
            self._unsynced_dirs.add(target.parent)
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
            (self.path / pending.placed).unlink(missing_ok=True)

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
        if (self.path / rel).exists():
            stem, dot, ext = base.rpartition(".")
            rel = f"{folder}/{stem or ext}-{digests.sha256[:12]}{dot}{ext if stem else ''}"
        write_atomic(self.path / rel, data, mode=0o444)
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
        write_atomic(self.path / rel, data)
        self.record("analysed", objects=[{"role": "source", "sha256": source_sha256},
                                         {"role": "record", "path": rel, "sha256": digests.sha256,
                                          "size": digests.size}],
                    details={"kind": kind, **_worker(performed_on)})
        return self.state.records[rel]

    # -- opening, recovery, finishing ---------------------------------------------------------------
    def _create(self, bag_info: Mapping[str, str]) -> None:
        write_atomic(self.path / "bagit.txt", bag.BAGIT_TXT)
        (self.path / "data").mkdir(exist_ok=True)
        (self.path / LOG).parent.mkdir(exist_ok=True)
        self.record("case-created", details={
            "case_id": str(uuid.uuid4()),
            "public_key": base64.b64encode(self.key.public_raw).decode("ascii"),
            "bag_info": dict(bag_info)})

    def _register_key(self) -> None:
        if self.key.key_id not in self.state.keys:
            self.record("key-added", details={"public_key": base64.b64encode(self.key.public_raw).decode("ascii")})

    def _recover(self) -> None:
        """Puts right what a killed run left: a torn log line, temp files, payload files never logged."""
        removed: list[dict[str, Any]] = []
        shutil.rmtree(self.tmp_dir, ignore_errors=True)
        expected = {f.path for f in self.state.payload()} | set(self.state.records)
        expected |= {o["path"] for seal in self.state.seals for o in seal["objects"]}
        for top in ("data", "custody/records", "custody/seals"):
            for root, _dirs, files in os.walk(self.path / top):
                for name in files:
                    full = Path(root) / name
                    rel = full.relative_to(self.path).as_posix()
                    if rel not in expected:  # written by a run that died before logging it
                        removed.append({"path": rel, "size": full.stat().st_size})
                        full.chmod(0o644)
                        full.unlink()
        for leftover in self.path.glob("custody/**/.tmp-*"):
            leftover.unlink(missing_ok=True)
        for leftover in self.path.glob(".tmp-*"):
            leftover.unlink(missing_ok=True)
        details: dict[str, Any] = {}
        if self.log.torn_tail:
            details["torn_log_line_b64"] = base64.b64encode(self.log.torn_tail).decode("ascii")
        if removed:
            details["removed_unrecorded_files"] = removed
        if details:
            details["why"] = "an earlier run was interrupted; what it had not recorded is undone"
            self.record("recovered", details=details)

    def finalize(self) -> None:
        """Rewrites every projection (manifests, bag files, head) from the log; the bag is valid after it."""
        self.sync()
        shutil.rmtree(self.tmp_dir, ignore_errors=True)  # the copying threads' work folders, empty by now
        self._per_thread = threading.local()
        state, head = self.state, self.log.head
        for incident in state.incidents:
            write_if_changed(self.path / manifest_name(incident), canonical_json(incident_manifest(state, incident, head)))
        write_if_changed(self.path / "custody/schemas" / SCHEMA_NAME, schema_bytes())
        for key_id, info in state.keys.items():
            pem = pem_from_raw(base64.b64decode(info["public_key"]))
            write_if_changed(self.path / KEYS / f"{key_id.split(':', 1)[1]}.pub", pem)
        payload = state.payload()
        bag.write_payload_manifests(self.path, payload)
        total = sum(f.size for f in payload)
        fields = [("Source-Organization", state.bag_info.get("Source-Organization", "")),
                  ("Contact-Name", state.bag_info.get("Contact-Name", "")),
                  ("Contact-Email", state.bag_info.get("Contact-Email", "")),
                  ("External-Identifier", state.case_id or ""),
                  *[("Incident-Identifier", i) for i in state.incidents],
                  ("Bagging-Date", datetime.now(UTC).date().isoformat()),
                  ("Bag-Software-Agent", f"forensics {forensics.__version__}"),
                  ("Payload-Oxum", f"{total}.{len(payload)}"),
                  ("Bag-Size", _human(total)),
                  ("Custody-Log-Head", f"{head.seq} {head.line_hash}")]
        write_if_changed(self.path / "bag-info.txt", bag.bag_info_text([(k, v) for k, v in fields if v != ""]))
        write_if_changed(self.path / HEAD, canonical_json(signed_head(self.key, state.case_id, head)))
        bag.write_tag_manifests(self.path)


def signed_head(key: SigningKey, case_id: str | None, head: LogEntry) -> dict[str, Any]:
    """Returns the head record: the last entry's seq and hash, signed, so cutting the log's end shows."""
    body = {"case_id": case_id, "seq": head.seq, "entry_hash": head.line_hash, "key_id": key.key_id}
    return {**body, "signature": key.sign(canonical_json(body))}


def original_path(sha256: str, received: bytes) -> str:
    """Returns where the case keeps an original: by content, with the extension it was received with."""
    return f"data/originals/{sha256[:2]}/{sha256}{extension_of(received)}"


def write_if_changed(path: Path, data: bytes) -> None:
    try:
        if path.read_bytes() == data:
            return
    except OSError:
        pass
    write_atomic(path, data)



def _digests_of(data: bytes) -> Digests:
    return Digests(len(data), hashlib.sha256(data).hexdigest(), hashlib.sha512(data).hexdigest())


def _human(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} bytes"


@contextlib.contextmanager
def case_lock(path: Path, *, exclusive: bool, wait_s: float = 0.0) -> Iterator[None]:
    """Holds the case's lock (exclusive to write, shared to read); raises CaseLocked when it is busy.

    flock is released by the kernel when the holder dies, so a killed run never
    leaves the case locked.
    """
    work = path / bag.WORK_DIR
    work.mkdir(parents=True, exist_ok=True)
    fd = os.open(work / "lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    deadline = time.monotonic() + wait_s
    try:
        while True:
            try:
                fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
                    raise CaseLocked(f"case {path} is being written by {holder}; wait for it to finish "
                                     "and run the command again") from None
                time.sleep(0.2)
        if exclusive:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()} since {datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}".encode(), 0)
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def open_case(path: Path, key: SigningKey, *, bag_info: Mapping[str, str] | None = None,
              create: bool = True, wait_s: float = 0.0) -> Iterator[Case]:
    """Opens (or creates) a case for writing; on leaving, the bag and every projection are rewritten.

    A run killed at any point leaves a case this function puts right on its next open.
    """
    path = Path(os.path.abspath(path))
    if path.exists() and not path.is_dir():
        raise CaseInvalid(f"{path} is a file, not a case folder")
    if path.exists() and not is_case(path) and any(path.iterdir()):
        raise CaseInvalid(f"{path} is a non-empty folder that is not a case; choose a new or empty folder")
    if not path.exists() and not create:
        raise CaseInvalid(f"no case at {path}")
    path.mkdir(parents=True, exist_ok=True)
    with case_lock(path, exclusive=True, wait_s=wait_s):
        try:
            case = Case(path, key)
        except ValueError as ex:
            raise CaseInvalid(f"the custody log of {path} is damaged ({ex}); run `forensics verify` "
                              "to see where, and do not write to this case") from ex
        new = case.log.head is None
        if new:
            case._create(bag_info or {})
        else:
            case._register_key()
        case._recover()
        try:
            yield case
        finally:
            case.finalize()


def _worker(performed_on: Mapping[str, Any] | None) -> dict[str, Any]:
    # The log entry's own host is the recorder's; a step computed elsewhere names its worker too.
    return {"performed_on": dict(performed_on)} if performed_on else {}
