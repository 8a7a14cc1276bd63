"""One pass over a case, as it goes: what it holds (seen by lstat, nothing followed) and what was found wrong.

The log, tag-file and payload checks (log_check.py, tag_check.py, verify.py)
read the case through an Inspection: bounded reads of regular files only,
findings capped per kind, and each finding naming the evidence item it concerns
by the names it was received under.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Container
from dataclasses import dataclass
from typing import Any

from forensics.custody.folder import CaseFolder, Entry, NotRegular, TooLarge, kind_of_mode, parts_of
from forensics.custody.hashing import Digests, copy_and_hash
from forensics.custody.names import received_name
from forensics.custody.state import CaseState

MAX_FINDINGS_PER_CODE = 200  # a hostile case can hold millions of wrong things; the count of the rest is given
MAX_UNKNOWN_KEPT = 10_000  # files nothing names, looked at one by one (a killed run leaves a few hundred at most)
WORK_TMP = ".forensics/tmp"  # the writers' temp copies (lock.WORK_DIR/tmp)
_LAYOUT = (("data", "folder", "its payload folder"), ("custody", "folder", "its custody folder"),
           (".forensics", "folder", "its work folder"), (WORK_TMP, "folder", "its temp folder"),
           (".forensics/lock", "file", "its lock file"), (".forensics/holder", "file", "its note of the lock's holder"))


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing found wrong: its kind, which file or entry, what, and the evidence item it concerns."""

    code: str  # e.g. "payload-modified", "log-chain-broken"; stable, for scripts
    subject: str  # a path in the case (undecodable bytes as \xNN), or "log entry N"
    message: str
    received_as: tuple[str, ...] = ()  # the names the item concerned was received under, when there is one

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "subject": self.subject, "message": self.message,
                "received_as": list(self.received_as)}


class Inspection:
    """The tree of a case and the findings of the checks run over it so far."""

    def __init__(self, folder: CaseFolder, *, full: bool) -> None:
        self.folder = folder
        self.full = full  # verify's pass: every payload byte read, every signature checked
        self.findings: list[Finding] = []
        self.per_code: Counter[str] = Counter()
        self.unlogged: list[str] = []  # files nothing accounts for (payload-added, tag-file-added...), raw paths
        self.names: dict[str, tuple[str, ...]] = {}  # path -> the names as received of the item it belongs to
        self.tree: dict[str, Entry] = {}
        self.known_kept = 0
        self.unknown_not_kept: Counter[bool] = Counter()  # in data/ or not -> files past MAX_UNKNOWN_KEPT
        self.work_files = False
        self.digests: dict[str, Digests] = {}

    def find(self, code: str, subject: str, message: str, *, path: str | None = None,
             names: tuple[str, ...] | None = None) -> None:
        """Records a finding about `subject` (a raw case path, or "log entry N").

        The item it concerns is the one stored at `path` (default: `subject`), or
        the one received under `names`.
        """
        self.per_code[code] += 1
        if self.per_code[code] > MAX_FINDINGS_PER_CODE:
            return
        if names is None:
            names = self.names.get(path if path is not None else subject, ())
        if names:
            message += f" (evidence received as {', '.join(repr(n) for n in names[:3])}" + \
                       (f" and {len(names) - 3} more names)" if len(names) > 3 else ")")
        self.findings.append(Finding(code, shown(subject), message, names))

    def finish(self) -> None:
        """Adds, for each kind with more findings than were listed, how many more there are."""
        for in_data, count in sorted(self.unknown_not_kept.items()):
            # Files past MAX_UNKNOWN_KEPT were only counted: each would have been one finding more.
            self.per_code["payload-added" if in_data else "tag-file-added"] += count
        for code, count in sorted(self.per_code.items()):
            if count > MAX_FINDINGS_PER_CODE:
                self.findings.append(Finding(code, "…", f"and {count - MAX_FINDINGS_PER_CODE:,} more findings "
                                                        "of this kind, not listed one by one"))

    def learn_names(self, state: CaseState) -> None:
        """Maps every stored path to the names as received of the evidence item it is, or comes from."""
        for item in state.items.values():
            names = tuple(dict.fromkeys(r.name for r in item.receipts))
            self.names[item.stored.path] = names
            for derived in item.derived:
                self.names[derived.stored.path] = names
            for record in item.records.values():
                self.names[record.path] = names

    def check_layout(self) -> None:
        """Names a file where the case keeps a folder, or a folder where it keeps a file (the walk names the rest)."""
        for rel, want, what in _LAYOUT:
            kind = self.kind_at(rel)
            if kind in (None, want) or kind not in ("file", "folder"):
                continue  # absent (each check says so when it matters), right, or named by the walk
            self.find("not-a-regular-file", rel, f"is a {kind} where the case keeps {what}")

    def walk(self, known: Container[str]) -> None:
        """Looks at every entry of the case once (lstat only) and names what is not a file or folder.

        Keeps the `known` paths (those the log and its projections name) and the
        first MAX_UNKNOWN_KEPT others: a case stuffed with a million files costs
        a count, not a million entries in memory.
        """
        for entry in self.folder.walk():
            if entry.kind != "file":
                what = "a folder nested deeper than any case holds" if entry.kind == "folder" else f"a {entry.kind}"
                self.find("not-a-regular-file", entry.rel, f"is {what}; a case holds only regular files and "
                                                           "folders, so it is never followed, opened or written through")
            if entry.rel.startswith(WORK_TMP + "/"):
                self.work_files = True  # temp copies: never read, only removed by a writer
                if entry.kind == "file":
                    continue
            if entry.rel in known or len(self.tree) - self.known_kept < MAX_UNKNOWN_KEPT:
                self.tree[entry.rel] = entry
                self.known_kept += entry.rel in known
            else:
                self.unknown_not_kept[entry.rel.startswith("data/")] += 1

    def is_file(self, rel: str) -> bool:
        entry = self.tree.get(rel)
        return entry is not None and entry.kind == "file"

    def kind_at(self, rel: str) -> str | None:
        """What is at `rel`: "file", "folder", "symbolic link"... (kind_of_mode), or None when nothing is."""
        entry = self.tree.get(rel)
        if entry is not None:
            return entry.kind
        try:
            st = self.folder.lstat(rel)  # the walk keeps no folders: one where a file belongs is looked up
        except NotRegular as ex:
            return ex.kind if ex.rel == rel else f"path through {ex.rel}, which is a {ex.kind}"
        except (OSError, ValueError):
            return None
        return None if st is None else kind_of_mode(st.st_mode)

    def missing_or_odd(self, rel: str) -> str | None:
        """None when `rel` is a regular file; else why not, after a not-a-regular-file finding for a folder."""
        kind = self.kind_at(rel)
        if kind == "file":
            return None
        if kind is None:
            return "is missing"
        if kind == "folder":  # other kinds were named by the walk
            self.find("not-a-regular-file", rel, "is a folder where the case keeps a file")
        return f"cannot be reached: it is a {kind}" if kind.startswith("path") else f"cannot be read: it is a {kind}"

    def read(self, rel: str, max_bytes: int, code: str, what: str) -> bytes | None:
        """A tag file's bytes, or None after a finding `code` naming why it cannot be had."""
        odd = self.missing_or_odd(rel)
        if odd is not None:
            self.find(code, rel, f"{what} {odd}")
            return None
        try:
            return self.folder.read(rel, max_bytes=max_bytes)
        except TooLarge as ex:
            # Far larger than this program ever makes it: never read, hashed or moved, only named.
            self.find("tag-file-oversized", rel, f"{what} holds {ex.size:,} bytes, far more than it can "
                                                 f"({max_bytes:,})")
        except NotRegular as ex:
            self.find(code, rel, f"{what} cannot be read: {ex.rel} is a {ex.kind}")
        except OSError as ex:
            self.find(code, rel, f"{what} cannot be read: {ex.strerror or ex}")
        return None

    def digest(self, rel: str) -> Digests:
        """Both digests of a regular file of the case, read once; raises OSError."""
        known = self.digests.get(rel)
        if known is None:
            fd = self.folder.open_file(rel)
            try:
                known = self.digests[rel] = copy_and_hash(fd, None)[0]
            finally:
                os.close(fd)
        return known


def within_case(rel: str) -> bool:
    """Whether a path named by the log stays inside the case (relative, no `..`)."""
    try:
        parts_of(rel)
    except ValueError:
        return False
    return True


def shown(path: str) -> str:
    """A path for display and JSON: bytes that are not UTF-8 shown as \\xNN."""
    return received_name(os.fsencode(path))["name"] if any("\udc80" <= c <= "\udcff" for c in path) else path
