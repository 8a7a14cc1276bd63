"""`forensics report CASE --pdf`: the case as one paginated, signed PDF for a submission, made without a browser.

Pages: a title page (the case, the verify result, how to check this document),
the exhibit list (numbered in the order the custody log first received each
item), a custody table per exhibit (names as received, when, digests), the
chronology and places figures (drawn as PDF vectors from the same shapes as
the HTML report's SVG), a statement of methods with each analysis's measured
accuracy (methods.json, versioned with the code) and what it cannot show, and a
digest appendix. Every page carries the case id, its number and the custody log
head the document shows. The file is PDF/A-2B, signed as PAdES with the actor's
custody key (pdf_signature.py), and logged in the case as an export.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from fpdf import FontFace
from fpdf.enums import XPos, YPos

import forensics
from forensics.atomic import place_staged, stage_file
from forensics.custody.recovery import check_writable
from forensics.custody.signing import SigningKey
from forensics.custody.verify import VerifyReport, verify_case
from forensics.custody.view import CaseView, ItemView, read_case
from forensics.progress import ProgressCallback, tell
from forensics.report import facts
from forensics.report.case_claims import case_time_events
from forensics.report.chronology import chronology, chronology_figure
from forensics.report.exhibits import Exhibit, exhibits_of, original_findings
from forensics.report.exported import Exported, checked_target, log_export
from forensics.report.markup import counted
from forensics.report.methods import methods
from forensics.report.pdf_page import COMPLIANCE, MONO, SANS, ReportPdf, digest_lines, pdf_text
from forensics.report.pdf_signature import PdfSigner, custody_signer, sign_pdf
from forensics.report.places import distance_rows, places_figure
from forensics.report.where_when import case_places, message_events

FIGURE_WIDTH_PX = 520.0  # the figures' layout width in the PDF: their 10 px text prints at about 9.8 pt on A4


@dataclass(frozen=True, slots=True)
class RenderedPdf:
    data: bytes  # unsigned
    pages: int
    exhibits: tuple[Exhibit, ...]


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _when(text: str) -> str:
    """Gives a log time to the second, as the tables show it (the log keeps the microseconds)."""
    value = facts.parse_utc(text)
    return _utc(value).replace("T", " ") if value else text


def _findings_of(verification: VerifyReport, item: ItemView) -> list[str]:
    return [f"{f.code}: {f.message}" for f in original_findings(verification, item)]


def _title_page(pdf: ReportPdf, view: CaseView, verification: VerifyReport, exhibits: tuple[Exhibit, ...],
                key: SigningKey | None, now_utc: datetime, signer: PdfSigner | None = None) -> None:
    pdf.add_page()
    pdf.start_section("Title")
    pdf.set_font(SANS, "B", size=20)
    incidents = ", ".join(view.state.incidents) or view.path.name
    pdf.multi_cell(pdf.content_width, 10, pdf_text(f"Case report: {incidents}"), align="L",
                   new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)
    head = view.head
    rows = [("Case id", view.state.case_id or ""), ("Case created", view.state.created or ""),
            ("Exhibits", str(len(exhibits))),
            ("Custody log", (f"{len(view.entries)} entries; this document shows the case up to entry "
                            f"{head.seq if head else 0}")),
            ("Log head (SHA-256)", digest_lines(head.line_hash.removeprefix("sha256:")) if head else ""),
            ("Verified", "intact: every digest, signature and the log's chain hold" if verification.intact else
             f"{len(verification.findings)} finding(s), listed below and with each exhibit"),
            ("Made", f"{_utc(now_utc)} by forensics {forensics.__version__}"),
            ("Signed by", _signed_by(key, signer))]
    pdf.set_font(SANS, size=9.5)
    with pdf.table(col_widths=(38, pdf.content_width - 38), first_row_as_headings=False, text_align="LEFT",
                   line_height=4.8, padding=1.2) as table:
        for name, value in rows:
            row = table.row()
            row.cell(name, style=FontFace(emphasis="BOLD"))
            if name in ("Log head (SHA-256)", "Signed by"):  # digits in a monospaced cell, lines of equal length
                row.cell(value, style=FontFace(family=MONO, size_pt=8.5))
            else:
                row.cell(pdf_text(value))
    pdf.ln(4)
    for finding in verification.findings[:40]:
        pdf.paragraph(pdf_text(f"{finding.code}: {finding.subject}: {finding.message}"), size=8.5,
                      colour=(163, 0, 0))
    if len(verification.findings) > 40:
        pdf.paragraph(f"... and {len(verification.findings) - 40} more: run forensics verify CASE to see them all.")
    by_custody_key = signer is None or signer.custody_key
    pdf.paragraph(pdf_text(
        ("How to check this document. (1) Its signature (PAdES, Ed25519, ISO 32002): a PDF reader that checks "
         "Ed25519 signatures, or pyHanko's validator, shows whether a byte changed since it was signed. The "
         "certificate in it is self-signed: what ties it to the case is its key, named by its SHA-256 in the "
         "certificate's serial number attribute, which must be the key id above and in the case's custody/keys. "
         if by_custody_key else
         "How to check this document. (1) Its signature (PAdES, with the certificate named above, whose SHA-256 "
         "is given): any PDF reader that checks signatures shows whether a byte changed since it was signed, and "
         "whether it trusts the certificate. The case's custody log, signed with its custody key, records this "
         "document's SHA-256 and that certificate's in the entry that logs it as an export. ")
        + "(2) The case itself: forensics verify CASE --expect-head "
        f"{head.line_hash if head else ''} checks every file of the case offline, and that its log still holds "
        "the entry this document shows."), size=8.5, colour=(70, 70, 70))


def _signed_by(key: SigningKey | None, signer: PdfSigner | None) -> str:
    """Gives the title page's "Signed by": the custody key (actor and key id), or the certificate given."""
    if signer is not None and not signer.custody_key:
        return f"{pdf_text(signer.name, family=MONO)}, a certificate given, SHA-256\n" + digest_lines(
            signer.signed_by.removeprefix("x509-sha256:"))
    if key is None:
        return "not signed"
    return f"{pdf_text(key.actor, family=MONO)}, Ed25519 key\n{digest_lines(key.key_id.removeprefix('ed25519:'))}"


_MAX_CELL_CHARS = 400  # a table row must fit on a page: a 4,000-character path would not


def _fitted(text: str) -> str:
    """Gives text short enough for one table cell, saying how much was left out (the case and the JSON export
    hold it whole)."""
    if len(text) <= _MAX_CELL_CHARS:
        return text
    return (f"{text[:_MAX_CELL_CHARS // 2]} … {text[-_MAX_CELL_CHARS // 4:]} ({len(text):,} characters; whole in "
            "the case's manifest and the JSON export)")


def _exhibit_list(pdf: ReportPdf, exhibits: tuple[Exhibit, ...], verification: VerifyReport) -> None:
    pdf.heading("Exhibit list")
    pdf.paragraph("Numbered in the order the custody log first received each item. Names are as received "
                  "(characters that would not show are written as escapes).", size=8.5, colour=(70, 70, 70))
    pdf.set_font(SANS, size=8.5)
    with pdf.table(col_widths=(11, 76, 15, 19, 39, 20), text_align="LEFT", line_height=4.2, padding=1.0,
                   headings_style=FontFace(emphasis="BOLD")) as table:
        table.row(["No.", "Names as received", "Type", "Bytes", "First received (UTC)", "Verify"])
        for exhibit in exhibits:
            item = exhibit.item
            findings = _findings_of(verification, item)
            first = _when(item.item.receipts[0].time) if item.item.receipts else ""
            table.row([exhibit.label, "\n".join(_fitted(pdf_text(name)) for name in item.names[:8])
                       + (f"\n… and {len(item.names) - 8} more names" if len(item.names) > 8 else "") or item.sha256,
                       item.item.media_type,
                       f"{item.item.stored.size:,}", first, "FAILED" if findings else "intact"])


def _custody(pdf: ReportPdf, exhibit: Exhibit, verification: VerifyReport) -> None:
    item = exhibit.item
    stored = item.item.stored
    pdf.heading(f"Exhibit {exhibit.number} ({exhibit.label}): {_fitted(pdf_text(item.display_name))}", level=2)
    mono = FontFace(family=MONO, size_pt=8)
    pdf.set_font(SANS, size=8.5)
    with pdf.table(col_widths=(30, pdf.content_width - 30), first_row_as_headings=False, text_align="LEFT",
                   line_height=4.2, padding=1.0) as table:
        for receipt in item.item.receipts:
            row = table.row()
            row.cell("Received", style=FontFace(emphasis="BOLD"))
            row.cell(_fitted(pdf_text(receipt.name)) + "\n" + _fitted(pdf_text(
                f"at {_when(receipt.time)}, log entry {receipt.log_seq}, incident {receipt.incident or '-'}, from "
                f"{receipt.source_root}")))
        for name, value, style in (("Stored as", stored.path, mono), ("Bytes", f"{stored.size:,}", None),
                                   ("Media type", f"{item.item.media_type} ({item.item.mime or 'unknown'})", None),
                                   ("SHA-256", digest_lines(stored.sha256), mono),
                                   ("SHA-512", digest_lines(stored.sha512), mono),
                                   ("Stored", f"log entry {stored.log_seq}", None),
                                   ("Derived files", (f"{len(item.item.derived)} (frames, thumbnails, extracts), each "
                                                     "with its digests in the log"), None),
                                   ("Analysis records", ", ".join(f"{kind} (entry {r.log_seq})" for kind, r in
                                                                  sorted(item.item.records.items())) or "none", None)):
            row = table.row()
            row.cell(name, style=FontFace(emphasis="BOLD"))
            row.cell(value if name.startswith("SHA") else pdf_text(value, family=MONO if style is mono else SANS),
                     style=style)
        findings = _findings_of(verification, item)
        row = table.row()
        row.cell("Verify", style=FontFace(emphasis="BOLD"))
        row.cell("FAILED: " + "\n".join(pdf_text(f) for f in findings) if findings else
                 "intact: size and both digests match",
                 style=FontFace(color=(163, 0, 0)) if findings else None)
    pdf.ln(3)


def _places(pdf: ReportPdf, view: CaseView, labels: Mapping[str, str]) -> None:
    found = case_places(view, labels)
    pdf.heading("Places")
    pdf.figure(places_figure(found, width_px=FIGURE_WIDTH_PX))
    if found.distances:
        listed = distance_rows(found)  # the rows the HTML report folds under its figure
        pdf.heading(f"Distances between the positions claimed ({counted(len(found.distances), 'pair')})", level=2)
        pdf.set_font(SANS, size=8.5)
        with pdf.table(col_widths=(70, 70, 40), text_align="LEFT", line_height=4.2, padding=1.0,
                       headings_style=FontFace(emphasis="BOLD")) as table:
            table.row(["Exhibit", "Exhibit", "great circle"])
            for a, b, km in listed.rows:
                table.row([pdf_text(a.label), pdf_text(b.label), km])
        if listed.not_listed:
            pdf.paragraph(listed.more_text)


def _methods(pdf: ReportPdf) -> None:
    statement = methods()
    pdf.heading("Methods and their measured accuracy")
    pdf.paragraph(pdf_text(f"Statement of methods version {statement['version']} ({statement['as_of']}). Each "
                           "figure is quoted from the benchmark's figures of record, with the command that "
                           "measured it; the benchmarks are run apart from the tests, on corpora split into a "
                           "tuning half and a held-out half, and the figures are of the held-out half."), size=9)
    for analysis in statement["analyses"]:
        pdf.heading(analysis["name"], level=2)
        pdf.paragraph(pdf_text(analysis["what"]), size=9)
        for figure in analysis["figures"]:
            quote = figure["quote"].replace("**", "").strip("| ").replace(" | ", ": ")  # a table row as a sentence
            pdf.paragraph(pdf_text(f"• {figure['figure']}: “{quote}” "
                                   f"({figure['source']}, measured {figure['measured']})"), size=9)
            pdf.paragraph(pdf_text(f"  {figure['command']}", family=MONO), size=7.5, family=MONO,
                          colour=(70, 70, 70))
        if analysis.get("exact"):
            pdf.paragraph(pdf_text(analysis["exact"]), size=9)
        pdf.paragraph("What it cannot show:", size=9)
        for limit in analysis["cannot_show"]:
            pdf.paragraph(pdf_text(f"• {limit}"), size=9, colour=(70, 70, 70))


def _appendix(pdf: ReportPdf, exhibits: tuple[Exhibit, ...]) -> None:
    pdf.heading("Appendix: digests")
    pdf.paragraph("Each exhibit's SHA-256 and SHA-512 as the custody log recorded them, and its analysis "
                  "records' SHA-256; sha256sum and sha512sum give the same of a copy.", size=8.5)
    for exhibit in exhibits:
        item = exhibit.item
        lines = [f"{exhibit.label} sha256 {item.item.stored.sha256}",
                 f"{exhibit.label} sha512 {item.item.stored.sha512[:64]}",
                 f"{' ' * len(exhibit.label)}        {item.item.stored.sha512[64:]}"]
        lines += [f"{exhibit.label} {kind} record sha256 {r.sha256.removeprefix('sha256:')}"
                  for kind, r in sorted(item.item.records.items())]
        pdf.paragraph("\n".join(pdf_text(line, family=MONO) for line in lines), size=6.8, family=MONO, line_mm=3.2)


def render_pdf(view: CaseView, verification: VerifyReport, *, key: SigningKey | None = None,
               now_utc: datetime | None = None, progress: ProgressCallback | None = None,
               signer: PdfSigner | None = None) -> RenderedPdf:
    """Gives the report as an unsigned PDF/A document and its exhibits; `signer` is who will sign it (the custody
    key's by default), as the title page says."""
    now_utc = now_utc or datetime.now(UTC)
    head = view.head
    pdf = ReportPdf(case_id=view.state.case_id or view.path.name,
                    head=f"entry {head.seq}, {head.line_hash}" if head else "empty log")
    pdf.set_title(f"Case report {view.state.case_id or view.path.name}")
    pdf.set_author(key.actor if key else "forensics")
    pdf.set_creator(f"forensics {forensics.__version__}")
    pdf.set_creation_date(now_utc)
    exhibits = exhibits_of(view)
    labels = {e.item.sha256: f"{e.label} {e.item.display_name}" for e in exhibits}  # as Exhibits.labels() gives
    _title_page(pdf, view, verification, exhibits, key, now_utc, signer)
    _exhibit_list(pdf, exhibits, verification)
    pdf.heading("Chain of custody per exhibit")
    for done, exhibit in enumerate(exhibits):
        tell(progress, done, len(exhibits), exhibit.item.display_name, unit="exhibits")
        _custody(pdf, exhibit, verification)
    tell(progress, len(exhibits), len(exhibits), "")
    pdf.heading("Chronology")
    events = case_time_events(view, labels=labels) + message_events(view, labels)  # the HTML's times, the same
    pdf.figure(chronology_figure(chronology(events, latest_plausible=now_utc), width_px=FIGURE_WIDTH_PX))
    _places(pdf, view, labels)
    _methods(pdf)
    _appendix(pdf, exhibits)
    data = bytes(pdf.output())
    return RenderedPdf(data, pdf.pages_count, exhibits)


def default_pdf_path(case_path: Path) -> Path:
    """Gives the file a PDF report goes to when none is named: beside the case, named after it."""
    case_path = Path(os.path.abspath(case_path))
    return case_path.with_name(case_path.name + "-report.pdf")


def _check_out_path(out_path: Path, case_path: Path) -> Path:
    return checked_target(out_path, case_path, what="a PDF report")


def write_pdf_report(case_path: Path, key: SigningKey, *, out_path: Path | None = None,
                     progress: ProgressCallback | None = None, now_utc: datetime | None = None,
                     signer: PdfSigner | None = None) -> Exported:
    """Verifies the case, renders the PDF, signs it (with `key`, or `signer`: a certificate given), writes it
    (replacing an older one) and logs it with `key`.

    The PDF is written outside the case; the log entry records its SHA-256 (of
    the signed file), who signed it, and the log entry it shows the case up to.
    """
    out_path = _check_out_path(out_path or default_pdf_path(case_path), case_path)
    check_writable(case_path)  # a damaged case is refused before it is read, as ingest refuses it
    verification = verify_case(case_path, progress=progress)
    view = read_case(case_path)
    now_utc = now_utc or datetime.now(UTC)
    signer = signer or custody_signer(key, now_utc=now_utc)
    rendered = render_pdf(view, verification, key=key, now_utc=now_utc, progress=progress, signer=signer)
    signed = sign_pdf(rendered.data, signer, reason=f"custody of case {view.state.case_id}: the report of the case "
                                                    f"as of log entry {view.head.seq if view.head else 0}")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    staged = stage_file(out_path, signed)  # written beside its place, logged, then renamed: never left unlogged
    try:
        exported = log_export(case_path, key, fmt="pdf", path=out_path, sha256=hashlib.sha256(signed).hexdigest(),
                              redacted=False, rendered_from=view.head,
                              details={"size": len(signed), "pages": rendered.pages, "exhibits": len(view.items),
                                       "pdf_standard": COMPLIANCE, "signed_by": signer.signed_by,
                                       "verified_intact": verification.intact,
                                       "verify_findings": len(verification.findings)})
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    place_staged(staged, out_path)
    return exported
