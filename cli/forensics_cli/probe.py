"""`forensics probe`: what each media file claims (time, place, device) and what looks wrong."""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import click
from rich.table import Table

from forensics.inputs import media_files
from forensics.media.metadata.probe import probe_many
from forensics.media.metadata.record import MediaRecord, iso
from forensics_cli.console import (
    EXIT_OK,
    EXIT_PROBLEMS,
    emit_results,
    library_errors,
    plain,
    progress_bar,
    show_progress,
    shown,
    stdout,
    trust_anchors_option,
)

_DEFAULT_TIMEOUT_S = inspect.signature(probe_many).parameters["timeout_s"].default


@click.command("probe")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON record per file (a list, in the order given).")
@click.option("-q", "--quiet", is_flag=True, help="Draw no progress bar.")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=0.1), default=_DEFAULT_TIMEOUT_S,
              show_default=True, help="Seconds the readers may spend on one file before it is given up.")
@trust_anchors_option
def command(paths: tuple[Path, ...], as_json: bool, quiet: bool, timeout_s: float,
            trust_anchors_pem: str | None) -> None:
    """Read the metadata of media files (or of every file in the folders named).

    For each file: capture time and where it came from (a time with no zone is put on UTC by the
    zone of its GPS position, which is named), GPS position, device, container and streams, Content
    Credentials (C2PA: signer, actions, ingredients, validation; read offline), every raw tag, and
    flags (leads, not verdicts) such as editing software, inconsistent times, a capture clock
    that disagrees with the GPS clock, credentials that fail or declare AI generation, null-island
    GPS, or signs of an ffmpeg or messenger re-encode. Exits 1 when any file could not be fully read.
    """
    with library_errors():
        files = media_files(paths)
        order = {str(path): n for n, path in enumerate(files)}
        with progress_bar(show_progress(quiet), "Probing") as progress:
            records = sorted(probe_many(files, timeout_s=timeout_s, progress=progress, trust_anchors_pem=trust_anchors_pem),
                             key=lambda r: order.get(r.path, len(order)))
    if as_json:
        emit_results([r.to_json() for r in records],
                     [{"path": r.path, "error": r.error} for r in records if r.error])
    else:
        _print_table(records)
    sys.exit(EXIT_PROBLEMS if any(r.error for r in records) else EXIT_OK)


def _print_table(records: list[MediaRecord]) -> None:
    table = Table(show_lines=False, pad_edge=False)
    for name in ("file", "type", "captured", "place", "device", "credentials", "flags"):
        table.add_column(name, overflow="fold")
    for r in records:
        # File names and tag values are the evidence's text, not markup: "[07-50-31].csv" stays as it is.
        table.add_row(shown(Path(r.path).name), r.media_type, _when(r), _where(r), shown(_device(r)),
                      shown(_credentials(r)), "[red]error[/]" if r.error else ", ".join(f.code for f in r.flags))
    stdout.print(table)
    for r in records:
        if not r.flags and not r.error:
            continue
        stdout.print(f"\n[bold]{shown(Path(r.path).name)}[/]", highlight=False)
        if r.error:
            stdout.print(f"  [red]error:[/] {shown(r.error)}", highlight=False)
        for flag in r.flags:
            stdout.print(f"  {flag.code}: {plain(flag.message)}", highlight=False, markup=False)


def _when(r: MediaRecord) -> str:
    if r.captured_at is None:
        return ""
    text = iso(r.captured_at_utc) or f"{iso(r.captured_at)} (local)"
    if r.capture_zone is not None and r.captured_at.tzinfo is None:
        text += f" (zone of the GPS position, {r.capture_zone.name})"
    return text.replace("T", " ")


def _credentials(r: MediaRecord) -> str:
    c = r.provenance
    if c is None or c.state == "none":
        return ""
    if c.state == "not_checked":
        return "not checked"
    return f"{c.state}: {c.signer or 'unnamed signer'}, {c.trust}"


def _where(r: MediaRecord) -> str:
    if r.gps is None:
        return ""
    return f"{r.gps.latitude_deg:.5f}, {r.gps.longitude_deg:.5f}"


def _device(r: MediaRecord) -> str:
    return " ".join(p for p in (r.device.make, r.device.model) if p) or (r.device.software or "")
