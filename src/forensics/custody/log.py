"""The custody log: append-only JSON lines, each hash-chained to the one before and signed.

Every line is the canonical JSON of one entry. `prev` is the SHA-256 of the
previous line (the genesis value for the first), and `signature` is the
actor's Ed25519 signature of the entry's canonical JSON without `signature`.
Editing, removing, reordering or inserting a line breaks the chain or a
signature; cutting lines off the end is caught by the signed head file.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import forensics
from forensics.custody.atomic import append_lines
from forensics.custody.canonical import canonical_json, sha256_digest
from forensics.custody.signing import SigningKey

GENESIS = "sha256:" + "0" * 64
ENTRY_FIELDS = ("seq", "time", "actor", "host", "tool", "tool_version", "action", "incident",
                "objects", "details", "result", "prev", "key_id", "signature")
RESULTS = ("ok", "error", "skipped")
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
    data = json.loads(line)
    if not isinstance(data, dict) or set(data) != set(ENTRY_FIELDS):
        raise ValueError("not a custody log entry (fields differ)")
    if canonical_json(data) != line:
        raise ValueError("not in canonical form (edited by hand?)")
    data["objects"] = tuple(data["objects"])
    return LogEntry(**data, line_hash=sha256_digest(line))


def read_entries(path: Path) -> Iterator[LogEntry]:
    """Yields every complete entry of a log file without writing to it; raises ValueError on a damaged line.

    A torn last line (a run killed while appending) is left out and left in
    place: readers never repair a case, the next writer does.
    """
    if not path.exists():
        return
    with open(path, "rb") as f:
        for line in f:
            if line.endswith(b"\n"):
                yield parse_line(line[:-1])


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class CustodyLog:
    """Appends signed entries to a log file; the caller holds the case's write lock.

    Only the last entry is kept in memory (`head`); `replay` reads the others
    back one at a time, so a log of millions of entries costs no memory.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.head: LogEntry | None = None
        self.count = 0
        self.torn_tail: bytes = b""  # an unfinished last line found (and cut) on open
        self._unwritten: list[bytes] = []  # appended with durable=False, written by sync()
        if path.exists():
            self._load()

    def _load(self) -> None:
        with open(self.path, "r+b") as f:
            size = f.seek(0, os.SEEK_END)
            tail_start = max(0, size - (1 << 20))
            f.seek(tail_start)
            tail = f.read()
            if tail and not tail.endswith(b"\n"):
                # A kill during append: that line was never acknowledged, so it is cut off here
                # and the cut is itself logged by the caller.
                cut = tail.rfind(b"\n") + 1
                self.torn_tail = tail[cut:]
                f.truncate(tail_start + cut)
                os.fsync(f.fileno())
        for entry in self.replay():
            self.head = entry
            self.count += 1

    def replay(self) -> Iterator[LogEntry]:
        """Yields every written entry from the first, parsed; raises ValueError on a damaged line."""
        # _load has cut any torn tail by now, so every line read is complete.
        yield from read_entries(self.path)

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
        """Writes every held entry in one append and makes the log durable."""
        if self._unwritten:
            append_lines(self.path, b"".join(self._unwritten))
            self._unwritten.clear()
