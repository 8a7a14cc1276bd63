"""`forensics export`: the case in the forms other systems take: CASE/UCO JSON-LD, CSV, JSON."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from forensics.digests import named_sha256
from forensics.report.export import FORMATS, write_export
from forensics_cli.console import (
    EXIT_OK,
    EXIT_PROBLEMS,
    emit_json,
    library_errors,
    progress_bar,
    show_progress,
    shown,
    stderr,
)
from forensics_cli.identity import actor_option, key_option, signing_key


def _to_stdout(data: bytes) -> None:
    """Writes the export on standard output; it is logged only once this has returned."""
    sys.stdout.buffer.write(data)
    sys.stdout.flush()


@click.command("export")
@click.argument("case_path", metavar="CASE", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--format", "fmt", required=True, type=click.Choice(FORMATS),
              help="case-uco: CASE 1.x / UCO JSON-LD for forensic tools; csv: one row per evidence item; "
                   "json: everything, with the custody log.")
@click.option("--redact", "redacted", is_flag=True,
              help="Replace actor names, hosts, key ids, the organisation, contacts and identifiers of bag-info.txt, "
                   "source folders, incident ids and device serial numbers by stable pseudonyms (digests, times and "
                   "the case id kept); logged as redacted.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), metavar="PATH",
              help="The file to write, outside the case; an existing file is replaced only when it is an earlier "
                   "export of this case [default: standard output].")
@actor_option
@key_option
@click.option("--json", "as_json", is_flag=True, help="Print what was written and logged as JSON (needs --out).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar, no summary line.")
def command(case_path: Path, fmt: str, redacted: bool, out_path: Path | None, actor: str | None,
            key_path: Path | None, as_json: bool, quiet: bool) -> None:
    """Export CASE as CASE/UCO JSON-LD, CSV or JSON, optionally redacted for sharing.

    The case is verified first (the JSON export carries the result); the export is
    recorded in the custody log with its SHA-256. Without --out it is printed on
    standard output. Exits 1 when verify found problems.
    """
    if as_json and out_path is None:
        raise click.UsageError("--json describes the file written: give --out PATH too")
    with library_errors():
        key = signing_key(actor, key_path, quiet=True)
        with progress_bar(show_progress(quiet), "export") as progress:
            exported, _data = write_export(case_path, key, fmt=fmt, redacted=redacted, out_path=out_path,
                                           progress=progress, deliver=_to_stdout)
    if out_path is not None and as_json:
        emit_json(exported.to_json())
    if not quiet and not as_json:
        redaction = " (redacted)" if redacted else ""
        stderr.print(f"{fmt} export{redaction} of {exported.details['items']} items, {named_sha256(exported.sha256)}, "
                     f"{exported.details['size']:,} bytes -> {shown(exported.path)}; logged as entry {exported.log_seq}",
                     highlight=False)
        if not exported.details["verified_intact"]:
            stderr.print(f"[red]{exported.details['verify_findings']} verify finding(s)[/]: run forensics verify")
    raise SystemExit(EXIT_OK if exported.details["verified_intact"] else EXIT_PROBLEMS)
