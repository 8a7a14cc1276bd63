"""The case as one plain JSON document: what the json export writes, and what the CSV and CASE/UCO exports are made from.

Built from the read-only view; redaction (redact.py) works on this document,
so every format leaves out the same identities.
"""

from __future__ import annotations

from typing import Any

import forensics
from forensics.custody.verify import VerifyReport
from forensics.custody.view import CaseView, ItemView
from forensics.record_kinds import METADATA
from forensics.report import facts
from forensics.report.exhibits import exhibits_of

DOCUMENT_SCHEMA = "forensics-export/1.0"


def case_document(view: CaseView, verification: VerifyReport | None = None) -> dict[str, Any]:
    """Gives the case's items, findings and custody log as JSON values."""
    state = view.state
    span = facts.time_span(view)
    return {
        "schema": DOCUMENT_SCHEMA,
        "tool": {"name": "forensics", "version": forensics.__version__},
        "case_id": state.case_id,
        "created": state.created,
        "bag_info": dict(state.bag_info),
        "incidents": list(state.incidents),
        "log_head": None if view.head is None else {"seq": view.head.seq, "entry_hash": view.head.line_hash},
        "verification": None if verification is None else {
            "intact": verification.intact, "findings": [f.to_json() for f in verification.findings],
            "log_head": verification.log_head},
        "time_span": None if span is None else {"start_utc": _iso(span.start_utc), "end_utc": _iso(span.end_utc)},
        "keys": [{"key_id": key_id, "actor": info["actor"], "public_key": info["public_key"]}
                 for key_id, info in state.keys.items()],
        "items": [{"exhibit": e.label, **_item(view, e.item)} for e in exhibits_of(view)],
        "not_taken_in": [dict(p) for p in state.problems],
        "duplicate_groups": [[_ref(r) for r in group] for group in facts.duplicate_groups(view)],
        "duplicate_matches": [{"a": _ref(m.a), "b": _ref(m.b), "kind": m.kind, "relation": m.relation,
                               "score": m.score, "confidence": m.confidence or None, "a_span_s": _pair(m.a_span_s),
                               "b_span_s": _pair(m.b_span_s)}
                              for m in facts.duplicate_matches(view)],
        "scene_leads": [{"a": _ref(lead.a), "b": _ref(lead.b), "kind": lead.kind, "reason": lead.reason}
                        for lead in facts.scene_leads(view)],
        "intercept_matches": [{"query": _ref(m.query), "reference": _ref(m.reference),
                               "reference_sha256": m.reference_sha256, "offset_s": m.offset_s, "speed": m.speed,
                               "score": m.score, "confidence": m.confidence or None, "query_span_s": _pair(m.query_span_s),
                               "reference_span_s": _pair(m.reference_span_s)} for m in facts.intercept_matches(view)],
        "custody_log": [entry.to_json() | {"line_hash": entry.line_hash} for entry in view.entries],
        "unusable_records": [dict(r) for r in view.unusable_records],
    }


def _item(view: CaseView, item: ItemView) -> dict[str, Any]:
    stored = item.item.stored
    meta = item.metadata
    # The metadata as its record says it, in the record's own JSON (to_json's keys are the export's).
    said = meta.to_json() if meta is not None else None
    return {
        "sha256": stored.sha256, "sha512": stored.sha512, "size": stored.size, "stored_path": stored.path,
        "media_type": item.item.media_type, "mime": item.item.mime,
        "received": [r.to_json() for r in item.item.receipts],
        "captured_at_utc": said and said["captured_at_utc"], "captured_at": said and said["captured_at"],
        "captured_at_source": said and said["captured_at_source"], "created_at": said and said["created_at"],
        "duration_s": said and (said["container"] or {}).get("duration_s"),
        "gps": said and said["gps"], "device": said and said["device"], "raw_tags": said and said["raw"],
        "flags": said["flags"] if said else [], "metadata_error": said["error"] if said else item.failure(METADATA),
        "derived": [{"path": d.stored.path, "sha256": d.stored.sha256, "sha512": d.stored.sha512,
                     "size": d.stored.size, "operation": d.operation, "log_seq": d.stored.log_seq}
                    for d in item.item.derived],
        "records": {kind: {"path": r.path, "sha256": r.sha256, "log_seq": r.log_seq}
                    for kind, r in sorted(item.item.records.items())},
        "transmissions": [{"start_s": t.start_s, "end_s": t.end_s, "kind": t.label} for t in facts.transmissions(item)],
        "capture_zone": said and said.get("capture_zone"), "provenance": said and said.get("provenance"),
        "carried_by": [c.to_json() for c in item.messages.carriers] if item.messages is not None else [],
        "leads": [{"code": lead.code, "message": lead.message} for lead in item.messages.leads]
        if item.messages is not None else [],
        "export": item.export.to_json() if item.export is not None else None,
    }


def _ref(ref: facts.Reference) -> dict[str, Any]:
    return {"name": ref.label, "sha256": ref.item.sha256 if ref.item else None}  # the item's "exhibit" is in items


def _pair(span: tuple[float, float] | None) -> list[float] | None:
    return None if span is None else [span[0], span[1]]


def _iso(value: Any) -> str:
    return value.isoformat().replace("+00:00", "Z")
