"""Recording an export (a report folder, a CASE/UCO graph, a CSV, a JSON file) in the case's custody log."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from forensics.custody.case import is_case, open_case
from forensics.custody.folder import inside
from forensics.custody.log import LogEntry
from forensics.custody.names import received_name
from forensics.custody.signing import SigningKey
from forensics.digests import file_sha256
from forensics.errors import ParameterError


@dataclass(frozen=True, slots=True)
class Exported:
    """What an export wrote and the log entry that records it."""

    format: str  # "html", "case-uco", "csv", "json"
    path: str
    sha256: str  # of the file; for a report folder, of its SHA-256 list
    redacted: bool
    log_seq: int
    log_entry_hash: str
    rendered_from_seq: int | None  # the log entry the export shows the case up to
    details: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"format": self.format, "path": self.path, "sha256": self.sha256, "redacted": self.redacted,
                "log_seq": self.log_seq, "log_entry_hash": self.log_entry_hash,
                "rendered_from_seq": self.rendered_from_seq, **dict(self.details)}


def log_export(case_path: Path, key: SigningKey, *, fmt: str, path: Path, sha256: str, redacted: bool,
               rendered_from: LogEntry | None, details: Mapping[str, Any]) -> Exported:
    """Appends an "exported" entry naming what was written, its digest, and the case state it shows."""
    # Past files that are missing or altered: the export shows them, and this entry hides nothing.
    with open_case(case_path, key, create=False, content_damage_ok=True) as case:
        # The path as text, and its exact bytes when they are not UTF-8, as names as received are kept.
        named = received_name(os.fsencode(str(path)))
        where = {"path": named["name"], **({"path_b64": named["name_b64"]} if "name_b64" in named else {})}
        entry = case.record("exported", objects=[{"role": "export", **where, "sha256": sha256}],
                            details={"format": fmt, "redacted": redacted, **dict(details),
                                     "rendered_from": None if rendered_from is None else
                                     {"seq": rendered_from.seq, "entry_hash": rendered_from.line_hash}})
    return Exported(fmt, named["name"], sha256, redacted, entry.seq, entry.line_hash,
                    None if rendered_from is None else rendered_from.seq, dict(details))


def checked_target(out_path: Path, case_path: Path, *, what: str) -> Path:
    """Gives the absolute path an export or report file may be written to; raises ParameterError for one inside
    this case or any other (a case's files are its evidence and its log), a folder, anything but a regular file, or
    an existing file that is not one this case's log records as an export: a user's file is never replaced.
    """
    out_path = Path(os.path.abspath(out_path))
    if inside(out_path, Path(os.path.abspath(case_path))):  # links followed: a link into the case is inside it
        raise ParameterError(f"{out_path} is inside the case; {what} is written outside it, so the bag is unchanged")
    real = Path(os.path.realpath(out_path.parent)) / out_path.name
    other = next((p for p in real.parents if is_case(p)), None)
    if other is not None:
        raise ParameterError(f"{out_path} is inside the case {other}; {what} is never written into a case")
    if out_path.is_dir():
        raise ParameterError(f"{out_path} is a folder; name the file to write")
    if os.path.lexists(out_path):
        if not stat.S_ISREG(os.lstat(out_path).st_mode):
            raise ParameterError(f"{out_path} exists and is not a regular file (a device, a FIFO, a link), which "
                                 f"{what} never replaces; name a new file")
        with open(out_path, "rb") as fh:
            digest = file_sha256(fh)
        if digest not in _exported_digests(Path(os.path.abspath(case_path))):
            raise ParameterError(f"{out_path} exists and is not an export this case's log records (an earlier "
                                 f"export of it is replaced, nothing else); name a new file, or move that one")
    return out_path


def _exported_digests(case_path: Path) -> set[str]:
    """Gives the SHA-256 (hex) of every file this case's custody log records as an export."""
    from forensics.custody.case import LOG
    from forensics.custody.log import read_entries

    try:
        return {str(o.get("sha256", "")).removeprefix("sha256:") for e in read_entries(case_path / LOG)
                if e.action == "exported" for o in e.objects}
    except (OSError, ValueError):
        return set()  # a log that cannot be read vouches for no file
