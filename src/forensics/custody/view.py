"""A read-only view of a case for reports and exports: the custody log's projection and the records it names.

Everything comes from the custody package's own readers (the log's entries,
`CaseState`); nothing here parses custody files another way. Each record is
read into its step's typed value (forensics.records), of this version or an
earlier one. A record whose bytes no longer match the digest the log recorded,
that does not follow its kind's JSON Schema or is about another file (what
verify finds as `record-schema`), or that is not a record of its kind, is not
used: it is listed in `CaseView.unusable_records` so a report can say so
instead of showing altered content as evidence.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from forensics.custody.canonical import loads_json
from forensics.custody.case import LOG, case_lock, is_case
from forensics.custody.folder import CaseFolder
from forensics.custody.log import LogEntry, read_entries
from forensics.custody.state import CaseState, DerivedFile, Item
from forensics.digests import named_sha256, sha256_digest
from forensics.errors import CaseInvalid, ParameterError
from forensics.record_kinds import AUDIO, DEDUP, EXPORT, FRAMES, MESSAGES, METADATA, NEAR_DUPLICATES
from forensics.records import Record, record_from_json, schema_problems
from forensics.step_failure import StepFailure

if TYPE_CHECKING:
    from forensics.audio.record import AudioRecord
    from forensics.dedup.media_hashes import MediaHashes
    from forensics.dedup.near_duplicates import NearDuplicates
    from forensics.media.metadata.record import MediaRecord
    from forensics.media.video.frame_record import FramesRecord
    from forensics.messages.case_records import CarriersRecord, ExportRecord

_R = TypeVar("_R")


@dataclass(frozen=True, slots=True)
class ItemView:
    """One evidence item with its analysis records parsed."""

    item: Item
    records: Mapping[str, Record]  # kind -> the record, only records whose digest matches the log

    @property
    def sha256(self) -> str:
        return self.item.stored.sha256

    @property
    def names(self) -> list[str]:
        """Every name it was received under, as recorded (invalid UTF-8 shown as \\xNN escapes)."""
        return [r.name for r in self.item.receipts]

    @property
    def display_name(self) -> str:
        return self.item.receipts[0].name if self.item.receipts else self.sha256

    def _of(self, kind: str, cls: type[_R]) -> _R | None:
        record = self.records.get(kind)
        return record if isinstance(record, cls) else None

    @property
    def metadata(self) -> MediaRecord | None:
        """Gives the metadata record; None when there is none or the step failed (see `failure`)."""
        from forensics.media.metadata.record import MediaRecord

        return self._of(METADATA, MediaRecord)

    @property
    def frames(self) -> FramesRecord | None:
        from forensics.media.video.frame_record import FramesRecord

        return self._of(FRAMES, FramesRecord)

    @property
    def hashes(self) -> MediaHashes | None:
        from forensics.dedup.media_hashes import MediaHashes

        return self._of(DEDUP, MediaHashes)

    @property
    def near_duplicates(self) -> NearDuplicates | None:
        from forensics.dedup.near_duplicates import NearDuplicates

        return self._of(NEAR_DUPLICATES, NearDuplicates)

    @property
    def audio(self) -> AudioRecord | None:
        from forensics.audio.record import AudioRecord

        return self._of(AUDIO, AudioRecord)

    @property
    def messages(self) -> CarriersRecord | None:
        from forensics.messages.case_records import CarriersRecord

        return self._of(MESSAGES, CarriersRecord)

    @property
    def export(self) -> ExportRecord | None:
        from forensics.messages.case_records import ExportRecord

        return self._of(EXPORT, ExportRecord)

    def failure(self, kind: str) -> str | None:
        """Gives why the step of this kind failed on the item, when it did (its record says only that)."""
        record = self.records.get(kind)
        return record.error or "" if isinstance(record, StepFailure) else None

    def derived_file(self, path: str) -> DerivedFile | None:
        return next((d for d in self.item.derived if d.stored.path == path), None)


@dataclass(frozen=True, slots=True)
class CaseView:
    """What a case holds, read once under its shared lock."""

    path: Path
    state: CaseState
    entries: tuple[LogEntry, ...]
    items: tuple[ItemView, ...]  # in the order the log received them
    unusable_records: tuple[dict[str, str], ...] = field(default=())  # {path, kind, reason}
    # Look-ups by sha256, and by any name received or stored path: a timeline of a
    # large case asks once per log entry.
    by_sha256: Mapping[str, ItemView] = field(default_factory=dict)
    by_name: Mapping[str, ItemView] = field(default_factory=dict)

    @property
    def head(self) -> LogEntry | None:
        return self.entries[-1] if self.entries else None

    def item(self, sha256: str) -> ItemView | None:
        return self.by_sha256.get(sha256)

    def read_file(self, rel: str, *, max_bytes: int) -> bytes:
        """The bytes of a file of the case, read without following links; raises OSError or ValueError."""
        with CaseFolder(self.path) as folder:
            return folder.read(rel, max_bytes=max_bytes)

    def read_derived(self, item: ItemView, rel: str) -> bytes:
        """The bytes of a file derived from `item`, checked against the log; raises OSError or ValueError."""
        derived = item.derived_file(rel)
        if derived is None:
            raise ValueError(f"{rel} is not a file the log records as derived from {item.display_name!r}")
        data = self.read_file(rel, max_bytes=max(2 * derived.stored.size, 1 << 20))
        if sha256_digest(data) != named_sha256(derived.stored.sha256):
            raise ValueError(f"{rel} differs from what the log recorded")
        return data

    def item_named(self, name: str) -> ItemView | None:
        """Finds an item by a name it was received under, its stored path, or its sha256 (with or without prefix)."""
        return self.by_sha256.get(name.removeprefix("sha256:")) or self.by_name.get(name)


_NAMES_ITS_FILE = {METADATA: "sha256", DEDUP: "key"}  # the field in which a kind's record names its file


def record_problems(kind: str, value: Any, *, owner: str) -> list[str]:
    """Gives why a record's JSON, filed at `owner` (its path in the case), is not a record to use: where it departs
    from its kind's schema, or that it is about another file than the one it is filed under; [] when it is one."""
    problems = [f"does not follow its schema: {p}" for p in schema_problems(kind, value)]
    # A record that names the file it is about must name the one the log filed it under (records swapped).
    folder = owner.split("/")[-2] if owner.count("/") >= 2 else ""
    named = value.get(_NAMES_ITS_FILE.get(kind, "")) if isinstance(value, dict) else None
    if isinstance(named, str) and folder and named != named_sha256(folder):
        problems.append(f"is about {named[:80]}, not the file it is filed under (sha256:{folder})")
    return problems


def read_case(path: Path) -> CaseView:
    """Reads a case's log, its projection and every analysis record, without writing to the case."""
    path = Path(os.path.abspath(path))
    if not is_case(path):
        raise CaseInvalid(f"{path} is not a case folder (no {LOG})")
    with CaseFolder(path) as folder, case_lock(folder, exclusive=False):
        try:
            entries = tuple(read_entries(path / LOG))
        except (ValueError, OSError) as ex:
            raise CaseInvalid(f"the custody log of {path} is damaged ({ex}); run `forensics verify` "
                              "to see where") from ex
        state = CaseState.from_entries(entries)
        unusable: list[dict[str, str]] = []
        items = []
        for item in sorted(state.items.values(), key=lambda i: i.stored.log_seq):
            records: dict[str, Record] = {}
            for kind, record in sorted(item.records.items()):
                try:
                    data = folder.read(record.path, max_bytes=max(2 * record.size, 1 << 20))
                except (OSError, ValueError) as ex:
                    unusable.append({"path": record.path, "kind": kind,
                                     "reason": f"cannot be read: {getattr(ex, 'strerror', None) or ex}"})
                    continue
                if sha256_digest(data) != named_sha256(record.sha256):
                    unusable.append({"path": record.path, "kind": kind,
                                     "reason": f"changed since log entry {record.log_seq} recorded it"})
                    continue
                try:
                    value = loads_json(data)
                except ValueError as ex:
                    unusable.append({"path": record.path, "kind": kind, "reason": f"cannot be read: {ex}"})
                    continue
                # Verify holds a record to its schema (finding `record-schema`): one it rejects is not shown as a
                # fact either, even where the reader would take it.
                problems = record_problems(kind, value, owner=record.path)
                if problems:
                    unusable.append({"path": record.path, "kind": kind, "reason": problems[0]})
                    continue
                try:
                    records[kind] = record_from_json(kind, value)
                except ParameterError as ex:
                    unusable.append({"path": record.path, "kind": kind, "reason": f"cannot be read: {ex}"})
            items.append(ItemView(item, records))
    by_name: dict[str, ItemView] = {}
    for view in items:
        by_name.setdefault(view.item.stored.path, view)
        for name in view.names:
            by_name.setdefault(name, view)  # a name received twice with other content: its first item
    return CaseView(path, state, entries, tuple(items), tuple(unusable), {v.sha256: v for v in items}, by_name)
