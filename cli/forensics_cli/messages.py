"""`forensics messages`: the messenger and platform exports in folders, and the messages that carried each file."""

from __future__ import annotations

import inspect
import posixpath
import sys
from pathlib import Path

import click
from rich.table import Table

from forensics.errors import ParameterError
from forensics.messages import Carrier, ExportScan, scan_exports
from forensics.messages.scan import DATE_ORDERS
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
)

_DEFAULT_MAX_MB = inspect.signature(scan_exports).parameters["max_export_bytes"].default // 2**20


@click.command("messages")
@click.argument("folders", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True,
              help='Print {"results": [a scan per folder], "errors": [...]} as JSON.')
@click.option("--zone", default=None, metavar="IANA", callback=lambda _c, _p, value: _zone_name(value),
              help="The zone WhatsApp's local times were written in (e.g. Europe/Kyiv); default: left unknown.")
@click.option("--date-order", type=click.Choice(DATE_ORDERS), default=None,
              help="Read WhatsApp dates in this order; default: inferred from the dates, and said when in doubt.")
@click.option("--max-export-mb", type=click.IntRange(min=1), default=_DEFAULT_MAX_MB, show_default=True,
              help="An export larger than this is not read (a problem says so).")
@click.option("-q", "--quiet", is_flag=True, help="Draw no progress bar.")
def command(folders: tuple[Path, ...], as_json: bool, zone: str | None, date_order: str | None, max_export_mb: int,
            quiet: bool) -> None:
    """List the messenger and platform exports in each FOLDER and, for each file, the messages that carried it.

    Reads Telegram Desktop JSON exports (result.json, one chat or a whole account), WhatsApp
    chat exports (_chat.txt from iOS, "WhatsApp Chat with NAME.txt" from Android) and yt-dlp
    .info.json files, found by their content. A file is linked to the messages naming it, and to
    those naming a file with the same bytes. Lists the files named but absent, and the media no
    export names. Exits 1 when a folder or a file in it could not be read.
    """
    results: list[ExportScan] = []
    errors: list[dict[str, str]] = []
    unscanned: list[dict[str, str]] = []
    with library_errors():
        for folder in folders:
            try:
                with progress_bar(show_progress(quiet), f"Hashing {folder.name}") as progress:
                    scan = scan_exports(folder, zone=zone, date_order=date_order,
                                        max_export_bytes=max_export_mb * 2**20, progress=progress)
            except ParameterError as ex:  # this folder is not one: its own error, and the others are scanned
                unscanned.append({"path": str(folder), "error": str(ex)})
                continue
            results.append(scan)
            errors += [{"path": posixpath.join(str(folder), p.path), "error": p.error} for p in scan.problems]
    errors = unscanned + errors
    if as_json:
        emit_results([{"path": s.root, **s.to_json()} for s in results], errors)
    else:
        for scan in results:
            _print_scan(scan)
        for error in unscanned:
            stdout.print(f"[red]error:[/] {shown(error['error'])}", highlight=False)
    sys.exit(EXIT_PROBLEMS if errors else EXIT_OK)


def _zone_name(value: str | None) -> str | None:
    """Gives the zone name given when the system knows it; a bad argument (exit 2) when not."""
    if value is not None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as ex:
            raise click.BadParameter(f"{value!r} is not an IANA zone name such as Europe/Kyiv or UTC") from ex
    return value


def _print_scan(scan: ExportScan) -> None:
    stdout.print(f"\n[bold]{shown(scan.root)}[/]: {len(scan.exports)} exports", highlight=False)
    if scan.exports:
        table = Table(pad_edge=False)
        for name in ("export", "form", "chat", "messages", "not understood"):
            table.add_column(name, overflow="fold")
        for e in scan.exports:
            table.add_row(shown(e.path), e.form, shown(e.chat or ""), str(len(e.messages)), str(len(e.unparsed)))
        stdout.print(table)
        for e in scan.exports:
            for note in e.notes:
                stdout.print(f"  {shown(e.path)}: {shown(note)}", highlight=False)
    if scan.files:
        table = Table(pad_edge=False)
        for name in ("file", "carried by", "sent"):
            table.add_column(name, overflow="fold")
        for f in scan.files:
            lines = [_carrier(c) for c in f.carriers] or ["(no export names it)"]
            sent = [_sent(c) for c in f.carriers]
            table.add_row(shown(f.path), "\n".join(map(shown, lines)), "\n".join(map(shown, sent)))
        stdout.print(table)
    for a in scan.absent:
        stdout.print(f"  [yellow]{a.state}:[/] {shown(a.named)} ({shown(a.export)}, {a.where})"
                     + (f": {shown(a.note)}" if a.note else ""), highlight=False)
    for path in scan.unnamed:
        stdout.print(f"  [yellow]named by no export:[/] {shown(path)}", highlight=False)
    for p in scan.problems:
        stdout.print(f"  [red]problem:[/] {shown(p.path)}: {shown(p.error)}", highlight=False)


def _carrier(c: Carrier) -> str:
    m = c.message
    who = m.sender or ("(the app)" if m.kind in ("service", "system") else "?")
    text = f"{m.source} {m.chat or '?'} {m.where}: {who}"
    if m.forwarded_from:
        text += f", forwarded from {m.forwarded_from}"
    if c.by == "same-bytes":
        text += f" (same bytes as {c.named_path})"
    return plain(text)


def _sent(c: Carrier) -> str:
    sent = c.message.sent
    if sent is None:
        return ""
    return sent.at or f"{sent.local} (local, zone unknown)"
