"""What every command shares: exit codes, JSON output, errors to stderr, progress bars."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn, TimeRemainingColumn

from forensics.errors import CaseDamaged, CaseLocked, ForensicsError, ParameterError
from forensics.progress import Progress, ProgressCallback

EXIT_OK = 0
EXIT_PROBLEMS = 1  # the command ran, and found problems: verify findings, files that failed
EXIT_USAGE = 2  # click's own code for bad arguments
EXIT_FAILED = 3  # the command could not run (see the message)
EXIT_LOCKED = 75  # EX_TEMPFAIL: another process holds the case; try again later

stderr = Console(stderr=True, highlight=False, soft_wrap=True)
stdout = Console(highlight=False, soft_wrap=True)


def emit_json(value: Any) -> None:
    """Prints one JSON document on stdout, for scripts."""
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str))
    sys.stdout.write("\n")
    sys.stdout.flush()


def fail(ex: ForensicsError) -> None:
    """Prints a library error for a person and exits with the code that fits it."""
    # click.echo drops the colour when stderr is no terminal, and never wraps: scripts grep this line.
    click.echo(f"{click.style('error:', fg='red', bold=True)} {ex}", err=True)
    if isinstance(ex, CaseLocked):
        sys.exit(EXIT_LOCKED)
    if isinstance(ex, ParameterError):
        sys.exit(EXIT_USAGE)
    if isinstance(ex, CaseDamaged):
        sys.exit(EXIT_PROBLEMS)  # the command ran and found the case damaged: a finding, like verify's
    sys.exit(EXIT_FAILED)


@contextlib.contextmanager
def library_errors() -> Iterator[None]:
    """Turns a ForensicsError escaping the block into a message and an exit code."""
    try:
        yield
    except ForensicsError as ex:
        fail(ex)


def show_progress(quiet: bool) -> bool:
    """Whether to draw a progress bar: not when asked to be quiet, not when stderr is no terminal."""
    return not quiet and sys.stderr.isatty()


@contextlib.contextmanager
def progress_bar(enabled: bool, description: str) -> Iterator[ProgressCallback | None]:
    """Yields a progress callback drawing a rich bar on stderr, or None when disabled."""
    if not enabled:
        yield None
        return
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeRemainingColumn(), TextColumn("{task.fields[label]}", style="dim"))
    with RichProgress(*columns, console=stderr, transient=True) as bar:
        task = bar.add_task(description, total=None, label="")

        def callback(p: Progress) -> None:
            bar.update(task, completed=p.done, total=p.total, label=p.label[-60:])

        yield callback
