"""The custody log: append-only JSON lines, each hash-chained to the one before and signed.

Every line is the canonical JSON of one entry. `prev` is the SHA-256 of the
previous line (the genesis value for the first), and `signature` is the
actor's Ed25519 signature of the entry's canonical JSON without `signature`.
Editing, removing, reordering or inserting a line breaks the chain or a
signature; cutting lines off the end is caught by the signed head file, which
names the last entry's number and hash.
"""

from __future__ import annotations

import errno
import json
import os
import socket
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import forensics
from forensics.atomic import append_lines
from forensics.custody.canonical import canonical_json, loads_json
from forensics.custody.signing import SigningKey
from forensics.digests import named_sha256, sha256_digest

GENESIS = named_sha256("0" * 64)
ENTRY_FIELDS = ("seq", "time", "actor", "host", "tool", "tool_version", "action", "incident",
                "objects", "details", "result", "prev", "key_id", "signature")
RESULTS = ("ok", "error", "skipped")
_FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "seq": int, "time": str, "actor": str, "host": str, "tool": str, "tool_version": str, "action": str,
    "incident": (str, type(None)), "objects": list, "details": dict, "result": str, "prev": str, "key_id": str,
    "signature": str}
_HOST = socket.gethostname()


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One custody action as recorded."""

    seq: int
    time: str  # ISO 8601 UTC with microseconds and "Z"
    actor: str
    host: str
    tool: str
    tool_version: str
    action: str  # received, derived, analysed, ingested, verified, sealed, recovered, key-added, case-created...
    incident: str | None
    objects: tuple[Mapping[str, Any], ...]  # the files acted on, each with its digests and role
    details: Mapping[str, Any]
    result: str  # one of RESULTS
    prev: str  # "sha256:..." of the previous line
    key_id: str
    signature: str  # base64 Ed25519
    line_hash: str = field(default="", compare=False)  # "sha256:..." of this entry's line

    def to_json(self) -> dict[str, Any]:
        return {name: _plain(getattr(self, name)) for name in ENTRY_FIELDS}

    def signed_message(self) -> bytes:
        """Returns the bytes the signature covers: the canonical entry without its signature."""
        body = self.to_json()
        del body["signature"]
        return canonical_json(body)


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def parse_line(line: bytes) -> LogEntry:
    """Returns the entry a log line holds; raises ValueError when it is not one, or not canonical."""
    data = loads_json(line)
    if not isinstance(data, dict) or set(data) != set(ENTRY_FIELDS):
        raise ValueError("not a custody log entry (fields differ)")
    if canonical_json(data) != line:
        raise ValueError("not in canonical form (edited by hand?)")
    wrong = [name for name, kinds in _FIELD_TYPES.items() if not isinstance(data[name], kinds)]
    if wrong or isinstance(data["seq"], bool) or not all(isinstance(o, dict) for o in data["objects"]):
        raise ValueError(f"fields of the wrong type: {', '.join(wrong) or 'objects'}")
    data["objects"] = tuple(data["objects"])
    return LogEntry(**data, line_hash=sha256_digest(line))


MAX_ENTRY_BYTES = 16 << 20  # far above any entry this program writes; a longer "line" is not an entry


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line of a log file as read: its bytes, or None when it is longer than any entry."""

    number: int  # 1-based
    data: bytes | None  # without its newline; None past MAX_ENTRY_BYTES, and the last line read
    line_hash: str  # "sha256:..." of the line without its newline ("" when data is None)
    size: int  # bytes read of it, its newline included
    complete: bool  # False for a last line with no newline (a torn append), or one cut at the limit


def log_lines(fd: int) -> Iterator[LogLine]:
    """Yields every line of an open log file, holding at most MAX_ENTRY_BYTES of one line in memory.

    A line longer than that is no entry this program wrote: it is yielded
    without its bytes, and nothing after it is read, so time and memory stay
    bounded whatever the file holds.
    """
    reader = os.fdopen(os.dup(fd), "rb", buffering=1 << 20)
    with reader:
        number = 0
        while True:
            chunk = reader.readline(MAX_ENTRY_BYTES + 1)
            if not chunk:
                return
            number += 1
            if len(chunk) > MAX_ENTRY_BYTES:
                yield LogLine(number, None, "", len(chunk), False)
                return
            complete = chunk.endswith(b"\n")
            body = chunk[:-1] if complete else chunk
            yield LogLine(number, body, sha256_digest(body), len(chunk), complete)


def signed_part(line: bytes, signature: str) -> bytes:
    """The bytes an entry's signature covers, cut from its canonical line: the line without its signature.

    Equal to `LogEntry.signed_message()` for a canonical line, at a fraction of
    the cost: keys are sorted, so the top-level signature is the last
    `"signature":` member before "time" and the tool's fields.
    """
    member = b'"signature":' + json.dumps(signature).encode() + b","
    at = line.rfind(member)
    if at < 0:
        raise ValueError("no signature member")
    return line[:at] + line[at + len(member):]


def read_entries(path: Path) -> Iterator[LogEntry]:
    """Yields every complete entry of a log file without writing to it; raises ValueError on a damaged line.

    A torn last line (a run killed while appending) is left out and left in
    place: readers never repair a case, the next writer does. The file is
    opened without following a link, and never when it is not a regular file.
    """
    from forensics.custody.folder import CaseFolder

    path = Path(os.path.abspath(path))
    with CaseFolder(path.parent) as folder:
        try:
            fd = folder.open_file(path.name)
        except FileNotFoundError:
            return
    try:
        for line in log_lines(fd):
            if not line.complete:
                return
            if line.data is None:
                raise ValueError(f"line {line.number} is longer than {MAX_ENTRY_BYTES:,} bytes: not an entry")
            yield parse_line(line.data)
    finally:
        os.close(fd)


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class CustodyLog:
    """Appends signed entries to a case's log; the caller holds the case's write lock.

    It is opened on a log already checked (`head` its last entry, `count` its
    entries, any torn tail already cut), through a descriptor that never follows
    a link. Only the last entry is kept in memory.
    """

    def __init__(self, fd: int, head: LogEntry | None, count: int) -> None:
        self.fd = fd  # O_APPEND, owned: closed by close()
        self.head = head
        self.count = count
        self._unwritten: list[bytes] = []  # appended with durable=False, written by sync()
        self.failed: str | None = None  # why an append failed, after which nothing more is appended

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    @property
    def head_hash(self) -> str:
        return self.head.line_hash if self.head else GENESIS

    def append(self, key: SigningKey, action: str, *, objects: Sequence[Mapping[str, Any]] = (),
               details: Mapping[str, Any] | None = None, result: str = "ok",
               incident: str | None = None, durable: bool = True) -> LogEntry:
        """Signs and appends one entry; durable when this returns, unless `durable` is False.

        Entries appended with durable=False are held and written, all in one
        write, by the next `sync` or durable append: the caller makes the files
        they name durable first, so no entry can reach the disk before its
        file. A kill before then loses them, and recovery undoes their files.
        """
        if result not in RESULTS:
            raise ValueError(f"result must be one of {RESULTS}")
        if self.failed is not None:
            self.sync()  # raises: the log takes nothing more in this run
        unsigned = LogEntry(seq=self.count + 1, time=utc_now(), actor=key.actor, host=_HOST,
                            tool="forensics", tool_version=forensics.__version__, action=action,
                            incident=incident, objects=tuple(objects), details=dict(details or {}),
                            result=result, prev=self.head_hash, key_id=key.key_id, signature="")
        body = unsigned.to_json()
        body["signature"] = key.sign(canonical_json({k: v for k, v in body.items() if k != "signature"}))
        line = canonical_json(body)
        # Built from what was written, not parsed back from it: the line is ours, canonical by construction.
        entry = LogEntry(**{**body, "objects": tuple(body["objects"])}, line_hash=sha256_digest(line))
        self._unwritten.append(line + b"\n")
        if durable:
            self.sync()
        self.head = entry
        self.count += 1
        return entry

    def sync(self) -> None:
        """Writes every held entry in one append and makes the log durable.

        After a failed append (no space, an I/O error on fsync) what reached the
        file is unknown: the log takes no more entries in this run, and never
        writes the same lines twice; the next writer finds a torn line or a head
        behind, which it completes.
        """
        if self.failed is not None:
            raise OSError(errno.EIO, f"the custody log could not be written earlier in this run ({self.failed}); "
                                     "nothing more is logged until the next run")
        if self._unwritten:
            lines = b"".join(self._unwritten)
            self._unwritten.clear()
            try:
                append_lines(self.fd, lines)
            except OSError as ex:
                self.failed = ex.strerror or str(ex)
                raise
