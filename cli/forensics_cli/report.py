"""`forensics report`: the case as an offline HTML folder for the people who read it."""

from __future__ import annotations

import os
import webbrowser
from pathlib import Path

import click

from forensics.digests import named_sha256
from forensics.errors import ParameterError
from forensics.report.html import write_report
from forensics.report.pdf import write_pdf_report
from forensics.report.pdf_signature import load_given_signer
from forensics_cli.console import (
    EXIT_OK,
    EXIT_PROBLEMS,
    emit_json,
    library_errors,
    progress_bar,
    show_progress,
    shown,
    stdout,
)
from forensics_cli.identity import actor_option, key_option, signing_key


@click.command("report")
@click.argument("case_path", metavar="CASE", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(path_type=Path), metavar="PATH",
              help="The report folder (with --pdf, the PDF file), outside the case; an earlier report of this case "
                   "there is replaced, nothing else (a folder holding files it did not write is refused) "
                   "[default: CASE-report, or CASE-report.pdf, beside the case].")
@click.option("--pdf", "as_pdf", is_flag=True,
              help="Write one paginated PDF (PDF/A-4) instead of the folder, signed (PAdES) with the actor's key.")
@click.option("--pdf-signer", "pdf_signer", type=click.Path(path_type=Path), metavar="P12",
              help="With --pdf: sign the PDF with this PKCS#12 file's RSA or ECDSA key and certificate (which any PDF "
                   "reader checks) instead of the actor's Ed25519 key; its password in FORENSICS_PDF_SIGNER_PASSWORD. "
                   "The export is logged with the actor's key either way.")
@click.option("--open", "open_it", is_flag=True, help="Open the report in the default browser when it is written.")
@actor_option
@key_option
@click.option("--json", "as_json", is_flag=True, help="Print what was written and logged as JSON.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar, no summary line.")
def command(case_path: Path, out_dir: Path | None, as_pdf: bool, pdf_signer: Path | None, open_it: bool,
            actor: str | None, key_path: Path | None, as_json: bool, quiet: bool) -> None:
    """Write an offline HTML report of CASE: summary, custody timeline, one card per item, duplicates, intercepts.

    The case is verified first and the result shown in the report. The folder
    (index.html, its pictures, and a SHA-256 list of every file) needs no network
    and works from a USB stick; it is recorded in the custody log as an export
    with its digest. Exits 1 when verify found problems (the report shows them).

    With --pdf: one paginated PDF for a submission instead (exhibit list, custody
    per exhibit, chronology, places, methods with their measured accuracy, digests;
    the case id and log head on every page), signed with the actor's key.
    """
    with library_errors():
        if pdf_signer is not None and not as_pdf:
            raise ParameterError("--pdf-signer signs a PDF: give --pdf too")
        given = None
        if pdf_signer is not None:
            password = os.environ.get("FORENSICS_PDF_SIGNER_PASSWORD")
            given = load_given_signer(pdf_signer, password.encode() if password else None)
        key = signing_key(actor, key_path, quiet=as_json or quiet)
        with progress_bar(show_progress(quiet), "report") as progress:
            if as_pdf:
                exported = write_pdf_report(case_path, key, out_path=out_dir, progress=progress, signer=given)
            else:
                exported = write_report(case_path, key, out_dir=out_dir, progress=progress)
    index = Path(exported.path) if as_pdf else Path(exported.path) / "index.html"
    if as_json:
        emit_json({**exported.to_json(), "pdf" if as_pdf else "index": str(index)})
    elif not quiet:
        verdict = "case intact" if exported.details["verified_intact"] else \
            f"[red]{exported.details['verify_findings']} verify finding(s)[/], shown in the report"
        what = (f"{exported.details['pages']} pages, signed with {exported.details['signed_by']}, "
                f"{named_sha256(exported.sha256)}" if as_pdf else
                f"{exported.details['files']} files, list {named_sha256(exported.sha256)}")
        stdout.print(f"report {shown(index)} ({what}); {verdict}; logged as entry {exported.log_seq}", highlight=False)
    if open_it:
        webbrowser.open(index.as_uri())
    raise SystemExit(EXIT_OK if exported.details["verified_intact"] else EXIT_PROBLEMS)
