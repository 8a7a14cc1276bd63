"""The case as exported: one typed value (`ExportedCase`) that the CSV and CASE/UCO exports read, and its JSON.

Built from the read-only view: the items in exhibit order with their typed records
(MediaRecord, the messages that carried them...), the findings of facts.py with each
file they name reduced to its name and digest, and the custody log's entries.
Redaction (redact.py) gives another ExportedCase, so every format leaves out the
same identities. The json export is `ExportedCase.to_json()`, the one place that
turns the typed values into the document's keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import forensics
from forensics.custody.inspection import Finding
from forensics.custody.log import LogEntry
from forensics.custody.state import DerivedFile, Receipt, RecordFile, StoredFile
from forensics.custody.verify import VerifyReport
from forensics.custody.view import CaseView, ItemView
from forensics.record_kinds import METADATA
from forensics.report import facts
from forensics.report.exhibits import exhibits_of

if TYPE_CHECKING:
    from forensics.media.metadata.record import MediaRecord
    from forensics.messages.case_records import ExportRecord, Lead
    from forensics.messages.record import Carrier

DOCUMENT_SCHEMA = "forensics-export/1.0"
TOOL_NAME = "forensics"


@dataclass(frozen=True, slots=True)
class Ref:
    """A file a finding names: the label the reports give it, and its digest when it is an item of the case."""

    name: str
    sha256: str | None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "sha256": self.sha256}  # the item's "exhibit" is in items


@dataclass(frozen=True, slots=True)
class DuplicatePair:
    a: Ref
    b: Ref
    kind: str
    relation: str
    score: float | None
    confidence: str | None  # None in records made before confidence bands
    a_span_s: tuple[float, float] | None
    b_span_s: tuple[float, float] | None


@dataclass(frozen=True, slots=True)
class SceneLeadPair:
    a: Ref
    b: Ref
    kind: str
    reason: str


@dataclass(frozen=True, slots=True)
class InterceptPair:
    query: Ref
    reference: Ref
    reference_sha256: str | None
    offset_s: float | None
    speed: float | None
    score: float | None
    confidence: str | None
    query_span_s: tuple[float, float] | None
    reference_span_s: tuple[float, float] | None


@dataclass(frozen=True, slots=True)
class KeyInfo:
    key_id: str
    actor: str
    public_key: str  # "" once redacted: it would identify the signer


@dataclass(frozen=True, slots=True)
class Verification:
    intact: bool
    findings: tuple[Finding, ...]
    log_head: str


@dataclass(frozen=True, slots=True)
class Redaction:
    """What a redacted export says of itself."""

    pseudonyms: Mapping[str, int]  # kind ("actor", "serial"...) -> how many were given
    left_out: tuple[str, ...]  # keys left out wherever they occur ("public_key", "signature")
    note: str

    def to_json(self) -> dict[str, Any]:
        return {"pseudonyms": dict(self.pseudonyms), "left_out": list(self.left_out), "note": self.note}


@dataclass(frozen=True, slots=True)
class ExportedItem:
    """One evidence item as the exports show it."""

    exhibit: str  # E1, E2... as the reports number it
    stored: StoredFile
    media_type: str
    mime: str | None
    receipts: tuple[Receipt, ...]
    metadata: MediaRecord | None
    metadata_error: str | None  # the record's error, or why the metadata step failed
    derived: tuple[DerivedFile, ...]
    records: Mapping[str, RecordFile]  # kind -> the record file, sorted by kind
    transmissions: tuple[facts.Transmission, ...]
    carriers: tuple[Carrier, ...]  # the messages that carried it
    leads: tuple[Lead, ...]  # what those messages suggest (captured after it was sent...)
    export: ExportRecord | None  # when the item is a messenger or platform export

    @property
    def sha256(self) -> str:
        return self.stored.sha256

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.receipts]


@dataclass(frozen=True, slots=True)
class ExportedCase:
    """The case as every export format shows it: the CSV and CASE/UCO writers read its fields, the json export is
    `to_json()`.

    A typed value, not a mapping of its JSON: a reader that asked for a key by name would go on running, and blank
    a column, when a field was renamed. The items are `exhibits` (they are in exhibit order) and the keys that
    signed the log `signing_keys`; the JSON calls them "items" and "keys".
    """

    tool_version: str
    case_id: str | None
    created: str | None
    bag_info: Mapping[str, str]
    incidents: tuple[str, ...]
    head: LogEntry | None
    verification: Verification | None
    time_span: tuple[datetime, datetime] | None  # UTC
    signing_keys: tuple[KeyInfo, ...]
    exhibits: tuple[ExportedItem, ...]  # the items, in exhibit order
    not_taken_in: tuple[Mapping[str, Any], ...]  # as the log's entries state them
    duplicate_groups: tuple[tuple[Ref, ...], ...]
    duplicate_matches: tuple[DuplicatePair, ...]
    scene_leads: tuple[SceneLeadPair, ...]
    intercept_matches: tuple[InterceptPair, ...]
    custody_log: tuple[LogEntry, ...]
    unusable_records: tuple[Mapping[str, str], ...]  # {path, kind, reason}
    redaction: Redaction | None = None

    def to_json(self) -> dict[str, Any]:
        """Gives the json export's document (schema DOCUMENT_SCHEMA)."""
        redacted = self.redaction is not None
        document = {
            "schema": DOCUMENT_SCHEMA,
            "tool": {"name": TOOL_NAME, "version": self.tool_version},
            "case_id": self.case_id,
            "created": self.created,
            "bag_info": dict(self.bag_info),
            "incidents": list(self.incidents),
            "log_head": None if self.head is None else {"seq": self.head.seq, "entry_hash": self.head.line_hash},
            "verification": None if self.verification is None else {
                "intact": self.verification.intact, "findings": [f.to_json() for f in self.verification.findings],
                "log_head": self.verification.log_head},
            "time_span": None if self.time_span is None else {"start_utc": _iso(self.time_span[0]),
                                                              "end_utc": _iso(self.time_span[1])},
            # A redacted export leaves public keys and signatures out: either would identify the signer.
            "keys": [{"key_id": k.key_id, "actor": k.actor} | ({} if redacted else {"public_key": k.public_key})
                     for k in self.signing_keys],
            "items": [_item_json(item) for item in self.exhibits],
            "not_taken_in": [dict(p) for p in self.not_taken_in],
            "duplicate_groups": [[r.to_json() for r in group] for group in self.duplicate_groups],
            "duplicate_matches": [{"a": m.a.to_json(), "b": m.b.to_json(), "kind": m.kind, "relation": m.relation,
                                   "score": m.score, "confidence": m.confidence, "a_span_s": _pair(m.a_span_s),
                                   "b_span_s": _pair(m.b_span_s)} for m in self.duplicate_matches],
            "scene_leads": [{"a": s.a.to_json(), "b": s.b.to_json(), "kind": s.kind, "reason": s.reason}
                            for s in self.scene_leads],
            "intercept_matches": [{"query": m.query.to_json(), "reference": m.reference.to_json(),
                                   "reference_sha256": m.reference_sha256, "offset_s": m.offset_s, "speed": m.speed,
                                   "score": m.score, "confidence": m.confidence,
                                   "query_span_s": _pair(m.query_span_s),
                                   "reference_span_s": _pair(m.reference_span_s)} for m in self.intercept_matches],
            "custody_log": [_entry_json(e, redacted) for e in self.custody_log],
            "unusable_records": [dict(r) for r in self.unusable_records],
        }
        if self.redaction is not None:
            document["redacted"] = self.redaction.to_json()
        return document


def exported_case(view: CaseView, verification: VerifyReport | None = None) -> ExportedCase:
    """Gives the case's items, findings and custody log as the exports show them."""
    state = view.state
    span = facts.time_span(view)
    return ExportedCase(
        tool_version=forensics.__version__, case_id=state.case_id, created=state.created,
        bag_info=dict(state.bag_info), incidents=tuple(state.incidents), head=view.head,
        verification=None if verification is None else Verification(
            verification.intact, tuple(verification.findings), verification.log_head),
        time_span=None if span is None else (span.start_utc, span.end_utc),
        signing_keys=tuple(KeyInfo(key_id, info["actor"], info["public_key"]) for key_id, info in state.keys.items()),
        exhibits=tuple(_item(view, e.label, e.item) for e in exhibits_of(view)),
        not_taken_in=tuple(dict(p) for p in state.problems),
        duplicate_groups=tuple(tuple(_ref(r) for r in group) for group in facts.duplicate_groups(view)),
        duplicate_matches=tuple(DuplicatePair(_ref(m.a), _ref(m.b), m.kind, m.relation, m.score,
                                              m.confidence or None, m.a_span_s, m.b_span_s)
                                for m in facts.duplicate_matches(view)),
        scene_leads=tuple(SceneLeadPair(_ref(s.a), _ref(s.b), s.kind, s.reason) for s in facts.scene_leads(view)),
        intercept_matches=tuple(InterceptPair(_ref(m.query), _ref(m.reference), m.reference_sha256, m.offset_s,
                                              m.speed, m.score, m.confidence or None, m.query_span_s,
                                              m.reference_span_s) for m in facts.intercept_matches(view)),
        custody_log=tuple(view.entries), unusable_records=tuple(dict(r) for r in view.unusable_records))


def _item(view: CaseView, exhibit: str, item: ItemView) -> ExportedItem:
    meta = item.metadata
    return ExportedItem(
        exhibit=exhibit, stored=item.item.stored, media_type=item.item.media_type, mime=item.item.mime,
        receipts=tuple(item.item.receipts), metadata=meta,
        metadata_error=meta.error if meta is not None else item.failure(METADATA),
        derived=tuple(item.item.derived), records=dict(sorted(item.item.records.items())),
        transmissions=tuple(facts.transmissions(item)),
        carriers=item.messages.carriers if item.messages is not None else (),
        leads=item.messages.leads if item.messages is not None else (), export=item.export)


def _item_json(item: ExportedItem) -> dict[str, Any]:
    stored = item.stored
    # The metadata as its record says it, in the record's own JSON (to_json's keys are the export's).
    said = item.metadata.to_json() if item.metadata is not None else None
    return {
        "exhibit": item.exhibit,
        "sha256": stored.sha256, "sha512": stored.sha512, "size": stored.size, "stored_path": stored.path,
        "media_type": item.media_type, "mime": item.mime,
        "received": [r.to_json() for r in item.receipts],
        "captured_at_utc": said and said["captured_at_utc"], "captured_at": said and said["captured_at"],
        "captured_at_source": said and said["captured_at_source"], "created_at": said and said["created_at"],
        "duration_s": said and (said["container"] or {}).get("duration_s"),
        "gps": said and said["gps"], "device": said and said["device"], "raw_tags": said and said["raw"],
        "flags": said["flags"] if said else [], "metadata_error": item.metadata_error,
        "derived": [{"path": d.stored.path, "sha256": d.stored.sha256, "sha512": d.stored.sha512,
                     "size": d.stored.size, "operation": d.operation, "log_seq": d.stored.log_seq}
                    for d in item.derived],
        "records": {kind: {"path": r.path, "sha256": r.sha256, "log_seq": r.log_seq}
                    for kind, r in item.records.items()},
        "transmissions": [{"start_s": t.start_s, "end_s": t.end_s, "kind": t.label} for t in item.transmissions],
        "capture_zone": said and said.get("capture_zone"), "provenance": said and said.get("provenance"),
        "carried_by": [c.to_json() for c in item.carriers],
        "leads": [{"code": lead.code, "message": lead.message} for lead in item.leads],
        "export": item.export.to_json() if item.export is not None else None,
    }


def _entry_json(entry: LogEntry, redacted: bool) -> dict[str, Any]:
    data = entry.to_json() | {"line_hash": entry.line_hash}
    if redacted:
        del data["signature"]
    return data


def _ref(ref: facts.Reference) -> Ref:
    return Ref(ref.label, ref.item.sha256 if ref.item else None)


def _pair(span: tuple[float, float] | None) -> list[float] | None:
    return None if span is None else [span[0], span[1]]


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")
