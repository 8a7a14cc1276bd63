"""`forensics export`: the case as CASE/UCO JSON-LD, CSV or JSON, optionally redacted, logged as an export."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from forensics.atomic import place_staged, stage_file
from forensics.custody.recovery import check_writable
from forensics.custody.signing import SigningKey
from forensics.custody.verify import verify_case
from forensics.custody.view import read_case
from forensics.errors import ParameterError
from forensics.media.metadata.formats.credentials import AI_SOURCE_TYPES
from forensics.progress import ProgressCallback
from forensics.report.case_uco import case_uco_graph
from forensics.report.document import case_document
from forensics.report.exported import Exported, checked_target, log_export
from forensics.report.redact import redact

FORMATS = ("case-uco", "csv", "json")
SUFFIXES = {"case-uco": ".jsonld", "csv": ".csv", "json": ".json"}
CSV_COLUMNS = ("exhibit", "sha256", "sha512", "size_bytes", "media_type", "mime", "name", "other_names", "incidents",
               "received_utc", "captured_at_utc", "captured_at", "captured_at_source", "latitude_deg",
               "longitude_deg", "altitude_m", "device_make", "device_model", "software", "duration_s", "flags",
               "same_footage_as", "transmissions", "stored_path", "capture_zone", "credentials", "credentials_signer",
               "credentials_signed_at", "credentials_actions", "credentials_ai", "carried_by", "first_sent")
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection):
# evidence names and tags are never to be run, so such cells are prefixed with an apostrophe.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def document_bytes(document: Mapping[str, Any], fmt: str) -> bytes:
    """Gives an export document (document.py, redacted or not) in one of FORMATS."""
    if fmt == "json":
        return (json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")
    if fmt == "case-uco":
        return (json.dumps(case_uco_graph(document), ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    if fmt == "csv":
        return csv_bytes(document)
    raise ParameterError(f"export format {fmt!r}: use one of {', '.join(FORMATS)}")


def csv_bytes(document: Mapping[str, Any]) -> bytes:
    """Gives one CSV row per evidence item with its main fields (UTF-8 with a BOM, which spreadsheets need), by
    exhibit number (the HTML and PDF reports' E1, E2...)."""
    same: dict[str, set[str]] = {}
    for group in document["duplicate_groups"]:
        members = {r["sha256"] for r in group if r["sha256"]}
        for sha in members:
            same.setdefault(sha, set()).update(members - {sha})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for item in document["items"]:
        names = [r["name"] for r in item["received"]]
        gps, device = item.get("gps") or {}, item.get("device") or {}
        row = [item.get("exhibit"), item["sha256"], item["sha512"], item["size"], item["media_type"], item["mime"],
               names[0] if names else "", "\n".join(names[1:]),
               " ".join(sorted({r["incident"] for r in item["received"]})),
               item["received"][0]["time"] if item["received"] else "",
               item["captured_at_utc"], item["captured_at"], item["captured_at_source"],
               gps.get("latitude_deg"), gps.get("longitude_deg"), gps.get("altitude_m"),
               device.get("make"), device.get("model"), device.get("software"), item["duration_s"],
               " ".join([f["code"] for f in item["flags"]] + [lead["code"] for lead in item.get("leads") or ()]), " ".join(sorted(same.get(item["sha256"], ()))),
               len(item["transmissions"]), item["stored_path"], *_provenance_cells(item)]
        writer.writerow([_cell(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _provenance_cells(item: Mapping[str, Any]) -> list[Any]:
    """The capture zone, the Content Credentials and the carrying messages of an item, one cell each."""
    zone = item.get("capture_zone") or {}
    c = item.get("provenance") or {}
    ai = [a["digital_source_type"] for a in c.get("actions") or () if a.get("digital_source_type")
          in AI_SOURCE_TYPES]
    carried = item.get("carried_by") or ()
    sent = sorted(s for s in ((m["message"].get("sent") or {}).get("at") for m in carried) if s)
    return [f"{zone['name']} {zone['offset']}" if zone else None,
            c.get("state") if c and c.get("state") != "none" else None,
            " / ".join(v for v in (c.get("signer"), c.get("issuer")) if v) + (f" ({c['trust']})" if c.get("trust") else "")
            if c.get("signer") else None, c.get("signed_at"),
            " ".join(a["action"].removeprefix("c2pa.") for a in c.get("actions") or ()),
            " ".join(dict.fromkeys(ai)),
            "\n".join(f"{m['message']['source']} {m['message'].get('chat') or ''} {m['message'].get('sender') or ''} "
                      f"({m['message'].get('message_id') or m['message'].get('line')})".replace("  ", " ")
                      for m in carried), sent[0] if sent else None]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def write_export(case_path: Path, key: SigningKey, *, fmt: str, redacted: bool = False, out_path: Path | None = None,
                 progress: ProgressCallback | None = None,
                 deliver: Callable[[bytes], None] | None = None) -> tuple[Exported, bytes]:
    """Verifies the case, makes the export, writes it to `out_path` (when given) and logs it with its digest.

    Without `out_path`, `deliver` (when given) gets the bytes before anything is
    logged (the CLI writes them to standard output): an export that could not
    be delivered is not logged. Gives back what was logged and the bytes.
    """
    if fmt not in FORMATS:
        raise ParameterError(f"export format {fmt!r}: use one of {', '.join(FORMATS)}")
    case_abs = Path(os.path.abspath(case_path))
    if out_path is not None:
        out_path = checked_target(out_path, case_abs, what="an export")
    check_writable(case_path)  # a damaged case is refused before it is read, as ingest refuses it
    verification = verify_case(case_path, progress=progress)
    view = read_case(case_path)
    document = case_document(view, verification)
    if redacted:
        document = redact(document)
    data = document_bytes(document, fmt)
    # Written beside its place (or delivered), logged, then renamed into place: an export that could not be
    # logged is never left behind, and one that could not be delivered is never logged.
    staged = None
    if out_path is None:
        if deliver is not None:
            deliver(data)
    else:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        staged = stage_file(out_path, data)
    try:
        exported = log_export(case_path, key, fmt=fmt, path=out_path or Path("-"),
                              sha256=hashlib.sha256(data).hexdigest(), redacted=redacted, rendered_from=view.head,
                              details={"size": len(data), "items": len(view.items),
                                       "verified_intact": verification.intact,
                                       "verify_findings": len(verification.findings)})
    except BaseException:
        if staged is not None:
            staged.unlink(missing_ok=True)
        raise
    if staged is not None and out_path is not None:  # staged only when there is an out_path
        place_staged(staged, out_path)
    return exported, data
