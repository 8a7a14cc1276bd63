"""`forensics export`: the case as CASE/UCO JSON-LD, CSV or JSON, optionally redacted, logged as an export."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from forensics.atomic import place_staged, stage_file
from forensics.custody.recovery import check_writable
from forensics.custody.signing import SigningKey
from forensics.custody.verify import verify_case
from forensics.custody.view import read_case
from forensics.errors import ParameterError
from forensics.media.metadata.formats.credentials import AI_SOURCE_TYPES
from forensics.media.metadata.record import iso, offset_of
from forensics.progress import ProgressCallback
from forensics.report.case_uco import case_uco_graph
from forensics.report.document import ExportedCase, ExportedItem, exported_case
from forensics.report.exported import Exported, checked_target, log_export
from forensics.report.figure import shown_text
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


def document_bytes(case: ExportedCase, fmt: str) -> bytes:
    """Gives the exported case (document.py, redacted or not) in one of FORMATS."""
    if fmt == "json":
        return (json.dumps(case.to_json(), ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")
    if fmt == "case-uco":
        return (json.dumps(case_uco_graph(case), ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    if fmt == "csv":
        return csv_bytes(case)
    raise ParameterError(f"export format {fmt!r}: use one of {', '.join(FORMATS)}")


def csv_bytes(case: ExportedCase) -> bytes:
    """Gives one CSV row per evidence item with its main fields (UTF-8 with a BOM, which spreadsheets need), by
    exhibit number (the HTML and PDF reports' E1, E2...).

    Evidence text is shown, never obeyed, as the HTML and PDF reports show it (`figure.shown_text`): every
    character that would not show, acts on a terminal or reorders a line (C0 and C1 controls such as ESC,
    newlines and tabs inside a value, bidirectional overrides, embeddings, isolates and marks, zero-width and
    other format characters, spaces other than the plain one) is written as its escape, `\\x1b`, `\\n`,
    `\\u202e`, so `photo<U+202E>gpj.exe` reads `photo\\u202egpj.exe`, not `photoexe.jpg`. Letters of every
    script (Arabic, Cyrillic...) stay as they are, and a backslash is written as it is, as the case records
    a name whose bytes were not UTF-8 (`\\xff`, with the exact bytes in `name_b64`); the JSON export and the
    case keep every name exactly. The only line breaks a cell holds separate its values (`other_names`,
    `carried_by`: one a line), and a cell that a spreadsheet would run as a formula starts with `'`.
    """
    same: dict[str, set[str]] = {}
    for group in case.duplicate_groups:
        members = {r.sha256 for r in group if r.sha256}
        for sha in members:
            same.setdefault(sha, set()).update(members - {sha})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for item in case.exhibits:
        names = item.names
        meta = item.metadata
        gps = meta.gps if meta is not None else None
        device = meta.device if meta is not None else None
        row = [item.exhibit, item.sha256, item.stored.sha512, item.stored.size, item.media_type, item.mime,
               names[0] if names else "", tuple(names[1:]),
               " ".join(sorted({r.incident for r in item.receipts if r.incident is not None})),
               item.receipts[0].time if item.receipts else "",
               iso(meta.captured_at_utc) if meta else None, iso(meta.captured_at) if meta else None,
               meta.captured_at_source if meta else None,
               *((finite(gps.latitude_deg), finite(gps.longitude_deg), finite(gps.altitude_m)) if gps else (None,) * 3),
               *((device.make, device.model, device.software) if device else (None,) * 3),
               finite(meta.container.duration_s) if meta and meta.container else None,
               " ".join([f.code for f in (meta.flags if meta else ())] + [lead.code for lead in item.leads]),
               " ".join(sorted(same.get(item.sha256, ()))),
               len(item.transmissions), item.stored.path, *_provenance_cells(item)]
        writer.writerow([_cell(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _provenance_cells(item: ExportedItem) -> list[Any]:
    """The capture zone, the Content Credentials and the carrying messages of an item, one cell each."""
    meta = item.metadata
    zone = meta.capture_zone if meta is not None else None
    c = meta.provenance if meta is not None else None
    actions = c.actions if c is not None else ()
    ai = [a.digital_source_type for a in actions if a.digital_source_type in AI_SOURCE_TYPES]
    sent = sorted(c.message.sent.at for c in item.carriers if c.message.sent is not None and c.message.sent.at)
    return [f"{zone.name} {offset_of(zone.offset)}" if zone else None,
            c.state if c is not None and c.state != "none" else None,
            " / ".join(v for v in (c.signer, c.issuer) if v) + (f" ({c.trust})" if c.trust else "")
            if c is not None and c.signer else None, c.signed_at if c is not None else None,
            " ".join(a.action.removeprefix("c2pa.") for a in actions),
            " ".join(dict.fromkeys(a for a in ai if a)),
            tuple(f"{m.source} {m.chat or ''} {m.sender or ''} ({m.message_id or m.line})".replace("  ", " ")
                  for m in (carrier.message for carrier in item.carriers)), sent[0] if sent else None]


def finite(value: float | None) -> float | None:
    """Gives a number as the records' JSON gives it: None for a NaN or an infinity (a claim read back as null)."""
    return value if value is None or math.isfinite(value) else None


def _cell(value: Any) -> str:
    """Gives one value (a tuple: one value a line) as its CSV cell: invisible characters escaped, never a formula."""
    if value is None:
        return ""
    text = "\n".join(map(shown_text, value)) if isinstance(value, tuple) else shown_text(value)
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
    case = exported_case(view, verification)
    if redacted:
        case = redact(case)
    data = document_bytes(case, fmt)
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
