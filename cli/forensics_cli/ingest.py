"""`forensics ingest`: a raw folder into a case."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from forensics.incident import ingest
from forensics_cli.console import (
    EXIT_OK,
    EXIT_PROBLEMS,
    emit_json,
    library_errors,
    progress_bar,
    show_progress,
    shown,
    stdout,
    trust_anchors_option,
)
from forensics_cli.identity import actor_option, key_option, signing_key


@click.command("ingest")
@click.argument("sources", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--case", "case_path", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="The case folder (a BagIt bag); made when it does not exist.")
@click.option("--incident", metavar="ID", help="Incident id for these files [default: the source folder's name].")
@actor_option
@key_option
@click.option("--note", metavar="TEXT", help="A note kept in the custody log with this ingest.")
@click.option("--org", metavar="NAME", help="Source-Organization for bag-info.txt (when the case is made).")
@click.option("--contact", metavar="NAME", help="Contact-Name for bag-info.txt (when the case is made).")
@click.option("--contact-email", metavar="EMAIL", help="Contact-Email for bag-info.txt (when the case is made).")
@click.option("--custody-only", is_flag=True,
              help="Only copy, hash and log; no metadata records or frames (a later ingest adds them).")
@click.option("--library", "audio_library", metavar="LIB", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="An intercept library (forensics audio index): record where each file's audio occurs in it.")
@trust_anchors_option
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar, no summary table.")
def command(sources: tuple[Path, ...], case_path: Path, incident: str | None, actor: str | None,
            key_path: Path | None, note: str | None, org: str | None, contact: str | None,
            contact_email: str | None, custody_only: bool, audio_library: Path | None,
            trust_anchors_pem: str | None, as_json: bool, quiet: bool) -> None:
    """Copy SOURCES (folders or files) into a case, hash and log every file, and seal the bag.

    The sources are only read: nothing in them is changed. Each file is copied,
    SHA-256 and SHA-512 hashed in one read, and logged in the signed custody log.
    Then each media file's metadata is read, each video's keyframes and scene
    frames are stored as derived files, and each sound track is fingerprinted, cut into
    transmissions and linked to the files that share them (and, with --library,
    to an intercept library), all logged.
    Running it again adds only what is new. Exits 1 when some files could not be
    taken in (each is listed with its reason) or the sources hold no file, 75 when the case is busy.
    """
    bag_info = {k: v for k, v in (("Source-Organization", org), ("Contact-Name", contact),
                                  ("Contact-Email", contact_email)) if v}
    with library_errors():
        key = signing_key(actor, key_path, quiet=as_json)
        with progress_bar(show_progress(quiet), "ingest") as progress:
            result = ingest(list(sources), case_path, key=key, incident=incident, note=note, bag_info=bag_info,
                            progress=progress, analyse=not custody_only, audio_library=audio_library,
                            trust_anchors_pem=trust_anchors_pem)
    if as_json:
        emit_json(result.to_json())
    elif not quiet:
        _print_summary(result)
    # A file left out (a link, FIFO or device: "skipped") was not taken in either: the run found a problem; so
    # did sources with no file at all (a wrong folder named, most likely).
    raise SystemExit(EXIT_PROBLEMS if result.counts.get("error") or result.counts.get("skipped")
                     or not sum(result.counts.values()) else EXIT_OK)


def _print_summary(result) -> None:
    c = result.counts
    if not sum(c.values()):
        stdout.print(f"nothing to take in: the sources hold no file (case {shown(result.case)}, incident "
                     f"{shown(result.incident)})")
    elif result.added_nothing:
        stdout.print(f"nothing new: all {c.get('already-present', 0)} files are already in case {shown(result.case)} "
                     f"(incident {shown(result.incident)})")
    else:
        stdout.print(f"incident {shown(result.incident)} -> case {shown(result.case)}")
    table = Table(show_header=False, box=None, pad_edge=False)
    labels = (("added", "added (new content)"), ("duplicate", "added as another name of content already in the case"),
              ("already-present", "already in the case"), ("skipped", "skipped (not regular files)"),
              ("error", "could not be taken in"))
    for outcome, label in labels:
        if c.get(outcome):
            table.add_row(str(c[outcome]), label)
    stdout.print(table)
    for problem in result.problems:
        stdout.print(f"  [{'red' if problem['result'] == 'error' else 'yellow'}]{problem['result']}[/] "
                     f"{shown(repr(problem['name']))}: {shown(problem['reason'])}", highlight=False)
    if any(result.analysed.values()):
        stdout.print(f"analysed: {result.analysed.get('metadata', 0)} metadata records, "
                     f"{result.analysed.get('frames', 0)} videos' frames, {result.analysed.get('dedup', 0)} pictures' hashes, "
                     f"{result.analysed.get('audio', 0)} recordings' audio")
    stdout.print(f"log head {result.log_head}")
