"""`forensics audio`: transmissions in intercepts, an intercept library, and finding clips in it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from forensics.audio.decode import decode_audio
from forensics.audio.library import FORMAT, Library
from forensics.audio.search import QueryResult, index_paths, match_paths, track_summary
from forensics.audio.upgrade import upgrade_library
from forensics.errors import MediaError, file_error
from forensics.inputs import EMPTY_FOLDER, empty_folders, media_files
from forensics.progress import tell
from forensics_cli.console import (
    EXIT_OK,
    EXIT_PROBLEMS,
    emit_json,
    emit_results,
    library_errors,
    progress_bar,
    show_progress,
    shown,
    stdout,
)

_paths = click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
_library = click.option("--library", "library_path", required=True, metavar="LIB",
                        type=click.Path(dir_okay=False, path_type=Path), help="The intercept library (an SQLite file).")
_json = click.option("--json", "as_json", is_flag=True, help="Print the results as JSON on stdout.")
_quiet = click.option("-q", "--quiet", is_flag=True, help="Draw no progress bar.")
# What a command stopped by the system (a full disk) left behind.
_NOTHING_WRITTEN = "Nothing was written"
_ADDS_KEPT = "It was writing the intercept library, which holds every recording added before this one"
_OLD_KEPT = "It was writing the upgraded library beside the old one, which was left as it was"


@click.group("audio")
def command() -> None:
    """Intercepted radio: transmissions, an intercept library, and where a clip occurs in it."""


@command.command("segments")
@_paths
@_json
@_quiet
def segments(paths: tuple[Path, ...], as_json: bool, quiet: bool) -> None:
    """List the push-to-talk transmissions of each file (folders: every file inside).

    Each audio track is cut into speech (a transmission), squelch tails, hiss and silence,
    with start and end times in seconds. Exits 1 when a file has no readable audio.
    """
    with library_errors(left_behind=_NOTHING_WRITTEN):
        files = media_files(paths)
    results: list[dict[str, Any]] = []
    empty = empty_folders(paths, files)
    errors: list[dict[str, str]] = [{"path": str(p), "error": EMPTY_FOLDER} for p in empty]
    with progress_bar(show_progress(quiet), "segments") as progress:
        for done, path in enumerate(files):
            tell(progress, done, len(files), str(path))
            try:
                audio = decode_audio(path)
                results.append({"path": str(path), "tracks": [track_summary(t) for t in audio.tracks],
                                "notes": list(audio.notes)})  # e.g. only the first 4 h were decoded
            except (MediaError, MemoryError) as ex:
                errors.append({"path": str(path), "error": file_error(path.name, ex)})
    if as_json:
        emit_results(results, errors)
    else:
        for result in _in_given_order([*empty, *files], results, errors):
            _print_segments(result)
    raise SystemExit(EXIT_PROBLEMS if errors else EXIT_OK)


@command.command("index")
@_library
@_paths
@_json
@_quiet
def index(library_path: Path, paths: tuple[Path, ...], as_json: bool, quiet: bool) -> None:
    """Add the audio of PATHS (files, or every file in folders) to the library LIB, made when missing.

    Files the library already holds (same SHA-256) are not read again. Exits 1 when a file
    could not be added (it has no audio, or is not media). A file that is not an intercept library
    is refused and left as it is (an empty file may become one).
    """
    with library_errors(left_behind=_ADDS_KEPT):
        files = media_files(paths)
        with Library(library_path) as lib, progress_bar(show_progress(quiet), "index") as progress:
            done = index_paths(lib, files, progress=progress)
            stats = lib.stats()
    done = replace(done, errors=(*((str(p), EMPTY_FOLDER) for p in empty_folders(paths, files)), *done.errors))
    if as_json:
        # A library is one collection: what was added and what it held already, besides the shared results/errors.
        emit_results([{"path": label, "added": added} for label, added in done.tracks],
                     [{"path": p, "error": e} for p, e in done.errors], library=stats)
    else:
        stdout.print(f"{len(done.added)} tracks added, {len(done.already)} held already; library "
                     f"{library_path}: {stats['references']} tracks, {stats['audio_s'] / 3600:.2f} h", highlight=False)
        for path, error in done.errors:
            stdout.print(f"  [red]error[/] {shown(path)}: {shown(error)}", highlight=False)
    raise SystemExit(EXIT_PROBLEMS if done.errors else EXIT_OK)


@command.command("match")
@_library
@_paths
@click.option("--all", "show_weak", is_flag=True, help="List weak matches too (by default strong and likely only).")
@_json
@_quiet
def match(library_path: Path, paths: tuple[Path, ...], show_weak: bool, as_json: bool, quiet: bool) -> None:
    """Find where the audio of each query in PATHS occurs in the library LIB.

    Per query, the matching references best first, each with offset_s (the reference's time
    at the query's time zero), speed (reference seconds per query second), score (0-1: how
    often a match with such evidence was right in the benchmark), confidence (strong, likely;
    weak with --all) and the spans both share. An empty list means no match. Exits 1 when a
    query could not be read.
    """
    with library_errors(left_behind=_NOTHING_WRITTEN):
        files = media_files(paths)
        with Library(library_path, create=False) as lib, progress_bar(show_progress(quiet), "match") as progress:
            results = match_paths(lib, files, progress=progress)
    results = [QueryResult(str(p), error=EMPTY_FOLDER) for p in empty_folders(paths, files)] + results
    if not show_weak:
        results = [replace(r, matches=tuple(m for m in r.matches if m.confidence != "weak")) for r in results]
    if as_json:
        emit_results([{"path": r.query, "matches": r.to_json()["matches"]} for r in results if r.error is None],
                     [{"path": r.query, "error": r.error} for r in results if r.error is not None])
    else:
        for result in results:
            _print_matches(result)
    raise SystemExit(EXIT_PROBLEMS if any(r.error for r in results) else EXIT_OK)


@command.command("upgrade")
@_library
@_json
@_quiet
def upgrade(library_path: Path, as_json: bool, quiet: bool) -> None:
    """Bring the intercept library LIB, made by an older version, to this version's format, in place.

    A library of an older format (1, 2 or 3: none holds the reference peaks this one compares) is
    built again from its recordings, read from where they were indexed, and refused, left as it was,
    when one of them is missing or changed, or when the file is damaged. The new library is built
    beside the old one and takes its place in one rename. A library of this version's format is
    left as it is.
    """
    with library_errors(left_behind=_OLD_KEPT), progress_bar(show_progress(quiet), "upgrade") as progress:
        done = upgrade_library(library_path, progress=progress)
    if as_json:
        emit_json({"library": str(library_path), "format": FORMAT, "old_format": done.old_format,
                   "upgraded": done.old_format != FORMAT, "references": done.references, "read_again": done.read_again})
    elif done.old_format == FORMAT:
        stdout.print(f"{shown(library_path)}: of format {FORMAT} already, left as it is", highlight=False)
    else:
        again = f", {done.read_again} recordings read again" if done.read_again else ""
        stdout.print(f"{shown(library_path)}: upgraded from {done.old_format} to {FORMAT}: {done.references} tracks"
                     f"{again}", highlight=False)
    raise SystemExit(EXIT_OK)


def _in_given_order(files: list[Path], results: list[dict[str, Any]],
                    errors: list[dict[str, str]]) -> list[dict[str, Any]]:
    by_path = {entry["path"]: entry for entry in [*results, *errors]}
    return [by_path[str(path)] for path in files if str(path) in by_path]


def _print_segments(result: dict[str, Any]) -> None:
    stdout.print(f"[bold]{shown(result['path'])}[/]", highlight=False)
    if "error" in result:
        stdout.print(f"  [red]error:[/] {shown(result['error'])}", highlight=False)
        return
    for track in result["tracks"]:
        spoken = [s for s in track["segments"] if s["kind"] == "speech"]
        stdout.print(f"  track {track['stream_index']}: {track['duration_s']:.1f} s, {len(spoken)} transmissions",
                     highlight=False)
        for s in track["segments"]:
            stdout.print(f"    {s['start_s']:9.3f} - {s['end_s']:9.3f}  {s['kind']}", highlight=False)


def _print_matches(result: QueryResult) -> None:
    stdout.print(f"[bold]{shown(result.query)}[/]", highlight=False)
    if result.error:
        stdout.print(f"  [red]error:[/] {shown(result.error)}", highlight=False)
        return
    if not result.matches:
        stdout.print("  no match")
        return
    table = Table(box=None, pad_edge=False)
    for name in ("reference", "offset_s", "speed", "score", "confidence", "query span", "reference span"):
        table.add_column(name, overflow="fold")
    for m in result.matches:
        table.add_row(shown(m.reference), f"{m.offset_s:.3f}", f"{m.speed:.4f}", f"{m.score:.3f}", m.confidence,
                      f"{m.query_start_s:.2f}-{m.query_end_s:.2f}", f"{m.reference_start_s:.2f}-{m.reference_end_s:.2f}")
    stdout.print(table)
