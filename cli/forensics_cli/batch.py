"""`forensics batch`: every incident folder under a root into a case of its own."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn, TimeElapsedColumn

from forensics.batch import BatchProgress, run_batch
from forensics.pipeline.runners import Runner, dask_runner, process_runner
from forensics.progress import Progress, ProgressCallback
from forensics_cli.console import (
    EXIT_OK,
    EXIT_PROBLEMS,
    emit_json,
    library_errors,
    show_progress,
    shown,
    stderr,
    stdout,
)
from forensics_cli.identity import actor_option, key_option, signing_key


@click.command("batch")
@click.argument("root", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--cases", "cases", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder of the cases: one per incident folder, named after it; made when missing.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Worker processes for the per-file analysis [default: one per core].")
@click.option("--dask", "dask_address", metavar="ADDRESS|local",
              help="Run the per-file analysis on the Dask cluster at ADDRESS (tcp://host:8786), or on a "
                   "LocalCluster started for this run with 'local'. Workers must see the cases folder.")
@click.option("--index", "index", type=click.Path(file_okay=False, path_type=Path),
              help="A cross-case index folder (made when missing): list the footage and intercepts that other "
                   "incidents in it hold too, then add these.")
@click.option("--library", "audio_library", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="An intercept library (forensics audio index): record where each file's audio occurs in it.")
@click.option("--custody-only", is_flag=True, help="Only copy, hash and log; no analysis.")
@actor_option
@key_option
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary per incident on stdout.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars, no summary table.")
def command(root: Path, cases: Path, workers: int | None, dask_address: str | None, index: Path | None,
            audio_library: Path | None, custody_only: bool, actor: str | None, key_path: Path | None, as_json: bool,
            quiet: bool) -> None:
    """Ingest every incident folder under ROOT into its own case under --cases.

    Each subfolder of ROOT is one incident. Files are copied, hashed and logged
    as `forensics ingest` does; their analysis runs on worker processes (every
    core by default) or on a Dask cluster, and is recorded by this process.
    Killed at any moment, the same command finishes the work without redoing
    what is done. Exits 1 when some file or incident could not be taken in.
    """
    # Dask's own loggers print every scheduler event on stderr: follow forensics' -v instead.
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", logging.getLevelName(logging.getLogger().getEffectiveLevel()).lower())
    with library_errors():
        key = signing_key(actor, key_path, quiet=as_json)
        runner: Runner = dask_runner(dask_address, workers) if dask_address else process_runner(workers)
        summaries = []
        with runner, _bars(show_progress(quiet)) as progress:
            described = runner.describe()
            for summary in run_batch(root, cases, key=key, runner=runner, progress=progress,
                                     analyse=not custody_only, index=index, audio_library=audio_library):
                summaries.append(summary)
                if not as_json and not quiet:
                    _print_one(summary)
    if as_json:
        emit_json({"runner": described, "incidents": [s.to_json() for s in summaries]})
    failed = any(s.error or s.counts.get("error") for s in summaries)
    raise SystemExit(EXIT_PROBLEMS if failed else EXIT_OK)


@contextlib.contextmanager
def _bars(enabled: bool) -> Iterator[ProgressCallback | None]:
    """Two bars on stderr: incidents overall, and the files of the incident at work."""
    if not enabled:
        yield None
        return
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("{task.fields[label]}", style="dim"))
    with RichProgress(*columns, console=stderr, transient=True) as bar:
        overall = bar.add_task("incidents", total=None, label="")
        current = bar.add_task("files", total=None, label="")

        def callback(p: Progress) -> None:
            if isinstance(p, BatchProgress):
                bar.update(overall, completed=p.incidents_done, total=p.incidents_total, label=shown(p.incident))
                bar.update(current, completed=p.done, total=p.total, label=shown(p.label[-50:]), description=p.unit)
            else:
                bar.update(overall, completed=p.done, total=p.total, label=shown(p.label))

        yield callback


def _print_one(summary) -> None:
    if summary.error:
        stdout.print(f"[red]{shown(summary.incident or summary.source)}[/]: not processed: {shown(summary.error)}",
                     highlight=False)
        for problem in summary.problems:
            stdout.print(f"  skipped {shown(repr(problem['name']))}: {shown(problem['reason'])}", highlight=False)
        return
    c = summary.counts
    stdout.print(f"{shown(summary.incident)} -> {shown(summary.case)}: {c.get('added', 0)} added, {c.get('duplicate', 0)} "
                 f"duplicates, {c.get('already-present', 0)} already there, {c.get('error', 0)} errors, "
                 f"{summary.bytes_copied:,} bytes in {summary.duration_s:.1f} s", highlight=False)
    for problem in summary.problems:
        if problem["result"] == "error":
            stdout.print(f"  [red]error[/] {shown(repr(problem['name']))}: {shown(problem['reason'])}", highlight=False)
    for found in summary.elsewhere:
        what = "footage" if found["kind"] == "footage" else "a transmission"
        stdout.print(f"  {shown(repr(found['name']))} shares {what} with {shown(repr(found['other_name']))} of incident "
                     f"{found['other_incident']} ({found['relation'].replace('_', ' ')})", highlight=False)
