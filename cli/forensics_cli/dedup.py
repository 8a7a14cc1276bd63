"""`forensics dedup`: which photos and videos show the same footage, and where a clip sits in another."""

from __future__ import annotations

import inspect
import os
import sys
from pathlib import Path

import click
from rich.table import Table

from forensics.dedup.groups import DedupResult, find_duplicates
from forensics.dedup.media_hashes import MediaHashes, hash_media
from forensics.dedup.store import HashStore, file_identity, find_and_store, unchanged
from forensics.errors import MediaError, MediaUnreadable, ParameterError, file_error
from forensics.inputs import media_files, regular_file
from forensics.media.content_type import PICTURE_AND_VIDEO_SUFFIXES, media_type_of
from forensics.progress import tell
from forensics_cli.console import (
    EXIT_OK,
    EXIT_PROBLEMS,
    emit_json,
    fail,
    library_errors,
    progress_bar,
    show_progress,
    shown,
    stderr,
    stdout,
)

_THRESHOLD = inspect.signature(find_duplicates).parameters["max_distance_bits"].default
_EVERY_S = inspect.signature(hash_media).parameters["every_s"].default
_SNIFF_BYTES = 64 * 1024


@click.command("dedup")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True,
              help="Print {groups, matches, scene_matches, errors, indexed} as JSON on stdout (indexed: the "
                   "--index files matched, with their collection).")
@click.option("--all", "show_weak", is_flag=True,
              help="List weak matches too (by default only strong and likely ones are listed).")
@click.option("--threshold", "max_distance_bits", type=click.IntRange(0, 32), default=_THRESHOLD, show_default=True,
              help="Bits (of 64) two frames' hashes may differ by and still vote for a match.")
@click.option("--every", "every_s", type=click.FloatRange(min=0.02), default=_EVERY_S, show_default=True,
              help="Seconds between the video frames hashed (keyframes are hashed too).")
@click.option("--index", "index_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A SQLite index shared across cases: match against what it holds, then add these files.")
@click.option("--collection", default="dedup", show_default=True,
              help="Name the files are filed under in --index (e.g. the incident).")
@click.option("-q", "--quiet", is_flag=True, help="Draw no progress bar.")
def command(paths: tuple[Path, ...], as_json: bool, show_weak: bool, max_distance_bits: int, every_s: float,
            index_path: Path | None, collection: str, quiet: bool) -> None:
    """Find photos and videos (files, or every media file in the folders named) that show the same footage.

    Re-encoded, cropped, mirrored, turned, letterboxed, logo-stamped or screen-recorded copies
    of a video are grouped with it; an excerpt, or a compilation holding part of it, is
    reported as a match with the time span in each file. A photo can match a frame of a
    video. Files that look alike without evidence of being one recording (the same place,
    camera or person) are listed apart as scene leads, never grouped. Each match has a score
    (0-1) and a confidence: strong, likely or weak (weak ones only with --all).
    Exits 1 when a file could not be read (the others are still compared).
    """
    with library_errors():
        if index_path is not None:
            HashStore.check(index_path)
        files, problems = _media_only(paths)
    for problem in problems:  # the folder's path too: two subfolders may hold files of one name
        stderr.print(f"[bold red]error:[/] {shown(os.path.dirname(problem['path']) or '.')}/{shown(problem['error'])}")
    media: list[MediaHashes] = []
    at_hand: dict[str, tuple[Path, tuple[int, ...]]] = {}  # files hashed now (not the index's), as they were
    with progress_bar(show_progress(quiet), "Hashing") as progress:
        for done, path in enumerate(files):
            tell(progress, done, len(files), path.name)
            try:
                before = file_identity(regular_file(path))  # gone, a link, a FIFO: its own error, said in words
                media.append(hash_media(path, every_s=every_s))
                at_hand[media[-1].key] = (path, before)
            except ParameterError as ex:
                fail(ex)
            except (MediaError, OSError, MemoryError) as ex:
                error = file_error(path.name, ex)
                problems.append({"path": str(path), "error": error})
                stderr.print(f"[bold red]error:[/] {shown(str(path))}: {shown(error)}")
    asked: dict[str, None] = {}  # keys of the files a match in doubt was to be checked on, in order

    def checkable(key: str) -> Path | None:
        """Gives a hashed file to check a match in doubt on, if it is as it was hashed."""
        if key in at_hand:
            asked[key] = None
        return _unchanged(at_hand.get(key))

    with library_errors():
        store = HashStore(index_path) if index_path is not None else None
        try:
            with progress_bar(show_progress(quiet), "Comparing") as progress:
                from forensics.pipeline.analyses import measured_apart  # the workers' pool, only when comparing

                result, collections = find_and_store(media, store, collection=collection,
                                                     max_distance_bits=max_distance_bits, files=checkable,
                                                     measured=measured_apart, progress=progress,
                                                     identities={k: held[1] for k, held in at_hand.items()})
        finally:
            if store is not None:
                store.close()
    # Checked again once compared: a file that changed or went before or while it was checked
    # leaves its matches in doubt weak (the check may have read other content), and is an error.
    changed = [key for key in asked if _unchanged(at_hand[key]) is None]
    result = result.unconfirmed(set(changed))
    for path in [at_hand[key][0] for key in changed]:
        error = f"{path.name}: changed or removed while being compared: what is said of it may not hold"
        problems.append({"path": str(path), "error": error})
        stderr.print(f"[bold red]error:[/] {shown(str(path))}: {shown(error)}")
    if as_json:
        found = {key for m in result.listed(weak=show_weak) for key in (m.a, m.b)}
        # The answer is about the collection, so its lists are named for what they hold (groups, matches,
        # scene leads); the files that could not be compared are the errors every command lists.
        emit_json({**result.to_json(weak=show_weak), "errors": problems,
                   "indexed": {key: name for key, name in collections.items() if key in found}})
    else:
        _print(result, collections, len(media), show_weak)
    sys.exit(EXIT_PROBLEMS if problems else EXIT_OK)


def _unchanged(held: tuple[Path, tuple[int, ...]] | None) -> Path | None:
    """Gives a hashed file to check a match on, or None when it has gone or changed since (the match is then weak)."""
    return None if held is None else unchanged(*held)


def _media_only(paths: tuple[Path, ...]) -> tuple[list[Path], list[dict[str, str]]]:
    """Gives the files named, and the photos and videos (by content) inside the folders named, and the problems.

    A folder's file that is not a regular file, or whose name says photo or video while its
    content says neither, is a problem of its own; other files in folders are not media and
    are left out.
    """
    named = {Path(p) for p in paths if os.path.islink(p) or not os.path.isdir(p)}  # a link is named, never entered
    out, problems = [], []
    seen: set[str] = set()
    for path in media_files(paths):
        where = os.path.abspath(path)
        if where in seen:
            continue  # named twice, or named and inside a folder named: compared once
        seen.add(where)
        if path in named:
            out.append(path)
            continue
        try:
            info = regular_file(path)  # a link, FIFO or device: its own problem, never opened
            with open(path, "rb") as fh:
                kind, _ = media_type_of(fh.read(_SNIFF_BYTES))
        except MediaUnreadable as ex:
            problems.append({"path": str(path), "error": str(ex)})
            continue
        except OSError as ex:
            problems.append({"path": str(path), "error": f"{path.name}: cannot be read ({ex.strerror or ex})"})
            continue
        if kind in ("image", "video"):
            out.append(path)
        elif path.suffix.lower() in PICTURE_AND_VIDEO_SUFFIXES:
            problems.append({"path": str(path), "error": f"{path.name}: named as a photo or video, but its "
                             f"content is {'empty' if info.st_size == 0 else 'neither'}; not compared"})
    return out, problems


def _print(result: DedupResult, collections: dict[str, str], count: int, show_weak: bool) -> None:
    listed = result.listed(weak=show_weak)
    hidden = len(result.matches) - len(listed)
    stdout.print(f"{count} file(s) hashed; {len(result.groups)} group(s) of the same footage; "
                 f"{len(listed)} match(es)" + (f" ({hidden} weak one(s) not shown: --all)" if hidden else "")
                 + f"; {len(result.scene_matches)} scene lead(s)")
    for number, group in enumerate(result.groups, 1):
        stdout.print(f"\n[bold]group {number}[/]")
        for key in group:
            where = f"  (in {collections[key]})" if key in collections else ""
            stdout.print(f"  {shown(key)}{shown(where)}")
    if listed:
        table = Table(pad_edge=False, title="the same recording")
        for name in ("a", "b", "relation", "confidence", "score", "span in a", "span in b"):
            table.add_column(name, overflow="fold")
        for m in listed:
            table.add_row(shown(m.a), shown(m.b), m.relation, m.confidence, f"{m.score:.2f}",
                          _span(m.a_start_s, m.a_end_s), _span(m.b_start_s, m.b_end_s))
        stdout.print(table)
    if result.scene_matches:
        table = Table(pad_edge=False, title="alike, not shown to be one recording (leads to check)")
        for name in ("a", "b", "why not the same recording"):
            table.add_column(name, overflow="fold")
        for lead in result.scene_matches:
            table.add_row(shown(lead.a), shown(lead.b), shown(lead.reason))
        stdout.print(table)


def _span(start_s: float | None, end_s: float | None) -> str:
    if start_s is None or end_s is None:
        return ""
    return f"{start_s:.1f}-{end_s:.1f} s" if end_s > start_s else f"{start_s:.1f} s"
