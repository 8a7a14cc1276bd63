"""Whether a case's near-duplicate grouping must be worked out again: the hashes it last covered, logged.

Grouping compares every item's hashes with every other's, and checks matches in doubt on the files
at full size: seconds to minutes on a large case. It depends only on the items' dedup records (and
on this program's version), so once a grouping has written every item's near-duplicates record, a
"grouped" entry in the custody log states what it covered: the digest of every (item, dedup record)
pair. A later ingest that brought no new hashes finds the same digest there and groups nothing. The
entry is logged only after the last record of its grouping, so a run killed before it leaves a case
whose next ingest groups again, and completes it.
"""

from __future__ import annotations

import json
import os

import forensics
from forensics.custody.case import Case
from forensics.custody.log import log_lines, parse_line
from forensics.digests import sha256_digest
from forensics.record_kinds import DEDUP, NEAR_DUPLICATES

GROUPED = "grouped"  # the log action of a finished grouping
_LOG = "custody/log.jsonl"
# Canonical lines (sorted keys, no spaces) hold this exactly; a name or note quoting it has its quotes escaped.
_GROUPED_MEMBER = b'"action":"grouped"'


def hashes_covered(case: Case) -> str:
    """Gives the digest of what a grouping of the case now would cover: every item's dedup record, and the
    versions of the grouping and of its records."""
    from forensics.dedup.near_duplicates import RECORD_VERSION

    pairs = sorted((item.stored.sha256, item.records[DEDUP].sha256)
                   for item in case.state.items.values() if DEDUP in item.records)
    text = json.dumps([forensics.__version__, RECORD_VERSION, pairs], separators=(",", ":"))
    return sha256_digest(text.encode())


def last_covered(case: Case) -> str | None:
    """Gives what the case's last logged grouping covered, or None when none was logged."""
    found = None
    fd = case.folder.open_file(_LOG)  # no link followed: the case is untrusted input too
    try:
        # One pass over the lines, parsing only the few that hold a grouping.
        for line in log_lines(fd):
            if line.complete and line.data is not None and _GROUPED_MEMBER in line.data:
                entry = parse_line(line.data)
                if entry.action == GROUPED and entry.result == "ok" and entry.details.get("kind") == NEAR_DUPLICATES:
                    found = entry.details.get("covers")
    finally:
        os.close(fd)
    return found if isinstance(found, str) else None


def log_grouped(case: Case, covers: str, *, items: int) -> None:
    """Logs that a grouping covering `covers` (over `items` hashed items) is complete: every record it made or
    kept is in the case."""
    case.record(GROUPED, details={"kind": NEAR_DUPLICATES, "covers": covers, "items_hashed": items})
