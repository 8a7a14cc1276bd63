"""The files a case rebuilds from its custody log at the end of every command, which verify rebuilds and compares.

Each is a pure function of the log: the per-incident manifests, the manifest
schema, the public keys, both payload manifests, `bag-info.txt` and `bagit.txt`.
None holds a fact the log does not, so none is trusted: verify compares each,
byte for byte, with what the log gives. The signed head (`custody/head.json`)
and the tag manifests are not here: the first needs the signer's key, the
second the tag files' bytes.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

from forensics.custody import bag
from forensics.custody.canonical import canonical_json
from forensics.custody.log import LogEntry
from forensics.custody.manifest import SCHEMA_NAME, incident_manifest, manifest_name, schema_bytes
from forensics.custody.signing import SigningKey, pem_from_raw
from forensics.custody.state import CaseState

LOG = "custody/log.jsonl"
HEAD = "custody/head.json"
KEYS = "custody/keys"
SCHEMAS = "custody/schemas"
MANIFESTS = "custody/manifests"
TAG_MANIFESTS = tuple(f"tagmanifest-{a}.txt" for a in bag.ALGORITHMS)
PAYLOAD_MANIFESTS = tuple(f"manifest-{a}.txt" for a in bag.ALGORITHMS)
BAG_INFO_FIELDS = ("Source-Organization", "Contact-Name", "Contact-Email", "External-Identifier",
                   "Incident-Identifier", "Bagging-Date", "Bag-Software-Agent", "Payload-Oxum", "Bag-Size",
                   "Custody-Log-Head")


def is_case(path: Path) -> bool:
    """Whether `path` looks like a case (or what is left of one): a custody folder, a bag declaration, a work folder."""
    return any(os.path.lexists(path / name) for name in ("custody", "bagit.txt", ".forensics"))


def key_file(key_id: str) -> str:
    """The path of a signer's public key (PEM) in the case."""
    return f"{KEYS}/{key_id.split(':', 1)[1]}.pub"


def bag_info_fields(state: CaseState, last: LogEntry) -> list[tuple[str, str]]:
    """bag-info.txt's fields as the log gives them at its last entry `last` (the bag's date is that entry's)."""
    payload = state.payload()
    total = sum(f.size for f in payload)
    fields = [("Source-Organization", state.bag_info.get("Source-Organization", "")),
              ("Contact-Name", state.bag_info.get("Contact-Name", "")),
              ("Contact-Email", state.bag_info.get("Contact-Email", "")),
              ("External-Identifier", state.case_id or ""),
              *[("Incident-Identifier", i) for i in state.incidents],
              ("Bagging-Date", last.time[:10]),
              ("Bag-Software-Agent", f"forensics {last.tool_version}"),
              ("Payload-Oxum", f"{total}.{len(payload)}"),
              ("Bag-Size", _human(total)),
              ("Custody-Log-Head", f"{last.seq} {last.line_hash}")]
    return [(k, " ".join(str(v).split())) for k, v in fields if v != ""]


def projection_files(state: CaseState, last: LogEntry) -> dict[str, bytes]:
    """Every projection of the log at its last entry `last`: {path in the case: bytes}."""
    files = {manifest_name(i): canonical_json(incident_manifest(state, i, last)) for i in state.incidents}
    files[f"{SCHEMAS}/{SCHEMA_NAME}"] = schema_bytes()
    for key_id, info in state.keys.items():
        files[key_file(key_id)] = _pem(info["public_key"])
    payload = state.payload()
    for algorithm, name in zip(bag.ALGORITHMS, PAYLOAD_MANIFESTS):
        files[name] = bag.manifest_text((f.path, getattr(f, algorithm)) for f in payload)
    files["bag-info.txt"] = bag.bag_info_text(bag_info_fields(state, last))
    files["bagit.txt"] = bag.BAGIT_TXT
    return files


def signed_head(key: SigningKey, case_id: str | None, head: LogEntry) -> bytes:
    """The head file: the last entry's seq and hash, signed, so cutting the log's end shows."""
    body: dict[str, Any] = {"case_id": case_id, "seq": head.seq, "entry_hash": head.line_hash, "key_id": key.key_id}
    return canonical_json({**body, "signature": key.sign(canonical_json(body))})


def _pem(raw_b64: str) -> bytes:
    try:
        return pem_from_raw(base64.b64decode(raw_b64, validate=True))
    except ValueError:
        return b""  # a key the log holds damaged: verify reports it as key-swapped


def _human(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} bytes"
