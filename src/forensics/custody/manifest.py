"""Per-incident evidence manifests: canonical JSON projections of the custody log, with their schema."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from forensics.custody.log import LogEntry
from forensics.custody.state import CaseState, DerivedFile, Item, StoredFile

SCHEMA_VERSION = "1.0"
SCHEMA_NAME = f"manifest-{SCHEMA_VERSION}.schema.json"
SCHEMA_ID = f"forensics-manifest/{SCHEMA_VERSION}"


@cache
def schema() -> dict[str, Any]:
    """Returns the manifest's JSON Schema shipped in the package."""
    return json.loads(resources.files("forensics.schemas").joinpath(SCHEMA_NAME).read_text("utf-8"))


def schema_bytes() -> bytes:
    return resources.files("forensics.schemas").joinpath(SCHEMA_NAME).read_bytes()


def _stored(f: StoredFile) -> dict[str, Any]:
    return {"path": f.path, "sha256": f.sha256, "sha512": f.sha512, "size": f.size, "log_seq": f.log_seq}


def _derived(d: DerivedFile) -> dict[str, Any]:
    return {**_stored(d.stored), "source_sha256": d.source_sha256, "operation": d.operation,
            "parameters": d.parameters}


def _item(item: Item, incident: str) -> dict[str, Any]:
    return {
        **_stored(item.stored),
        "media_type": item.media_type,
        "mime": item.mime,
        "received": [r.to_json() for r in item.receipts if r.incident == incident],
        "also_received_in": sorted({r.incident for r in item.receipts if r.incident is not None} - {incident}),
        "derived": [_derived(d) for d in item.derived],
        "records": {kind: {"path": r.path, "sha256": r.sha256, "size": r.size, "log_seq": r.log_seq}
                    for kind, r in sorted(item.records.items())},
    }


def incident_manifest(state: CaseState, incident: str, head: LogEntry) -> dict[str, Any]:
    """Returns the manifest of one incident: every item received in it, and every file not taken in."""
    items = [item for item in state.items.values() if any(r.incident == incident for r in item.receipts)]
    items.sort(key=lambda item: min(r.log_seq for r in item.receipts if r.incident == incident))
    return {
        "schema": SCHEMA_ID,
        "case_id": state.case_id,
        "incident": incident,
        "log_head": {"seq": head.seq, "entry_hash": head.line_hash},
        "items": [_item(item, incident) for item in items],
        "not_taken_in": [p for p in state.problems if p["incident"] == incident],
    }


def manifest_name(incident: str) -> str:
    """Returns the manifest's path within the case for an incident."""
    return f"custody/manifests/{incident}.json"
