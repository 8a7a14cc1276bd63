"""What every command shares: exit codes, JSON output, errors to stderr, progress bars."""

from __future__ import annotations

import contextlib
import errno
import json
import re
import sqlite3
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn, TimeElapsedColumn

from forensics.custody.names import is_invisible
from forensics.errors import CaseDamaged, CaseLocked, ForensicsError, ParameterError, SigningKeyError
from forensics.inputs import raise_system_error
from forensics.progress import Progress, ProgressCallback

EXIT_OK = 0
EXIT_PROBLEMS = 1  # the command ran, and found problems: verify findings, files that failed
EXIT_USAGE = 2  # click's own code for bad arguments
EXIT_FAILED = 3  # the command could not run (see the message)
EXIT_LOCKED = 75  # EX_TEMPFAIL: another process holds the case; try again later

stderr = Console(stderr=True, highlight=False, soft_wrap=True)
stdout = Console(highlight=False, soft_wrap=True)


def json_text(value: Any) -> str:
    """Gives one JSON document, indented, ending in a newline; bytes of a name that are not UTF-8 as \\xNN text.

    Control, format and line-separator characters (DEL, C1 controls such as U+009B, bidirectional and
    zero-width marks, tag characters) are written as \\u escapes: the same text to a JSON reader, and
    nothing a terminal acts on when the output is shown.
    """
    text = json.dumps(_valid_text(value), ensure_ascii=False, indent=2, sort_keys=True, default=str)
    return _INVISIBLE.sub(_json_escape, text) + "\n"


_INVISIBLE = re.compile("[\x7f-\U0010ffff]")  # JSON itself escapes what lies below DEL


def _json_escape(found: re.Match[str]) -> str:
    char = found.group(0)
    if not is_invisible(char):
        return char
    code = ord(char)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def emit_json(value: Any) -> None:
    """Prints one JSON document on stdout, for scripts (see json_text)."""
    sys.stdout.write(json_text(value))
    sys.stdout.flush()


def emit_results(results: list[Any], errors: list[dict[str, str]], **fields: Any) -> None:
    """Prints the --json shape of every command that reads files: {"results": [...], "errors": [{"path",
    "error"}], ...its own fields}, results in the order the files were given."""
    emit_json({"results": results, "errors": errors, **fields})


def _valid_text(value: Any) -> Any:
    """`value` with every string made valid Unicode: a path's undecodable bytes (surrogate escapes) as \\xNN."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
            return value
        except UnicodeEncodeError:
            try:
                return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            except UnicodeEncodeError:
                return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {_valid_text(k): _valid_text(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_valid_text(v) for v in value]
    return value


def plain(text: object) -> str:
    """Text from evidence or a case, safe to print on a terminal: control and invisible characters (newlines,
    escape sequences, bidirectional marks) and undecodable bytes as escapes."""
    out = [ch.encode("unicode_escape").decode("ascii") if is_invisible(ch) else ch for ch in _valid_text(str(text))]
    return "".join(out)


def shown(text: object) -> str:
    """`plain(text)` for rich: its markup escaped too."""
    return escape(plain(text))


# What an error of the system (no space, read-only) left behind, said after it; a command that writes no case
# says its own.
_CASE_LEFT = "A case it was writing is completed by the next writing command"


def fail(ex: ForensicsError | OSError, *, left_behind: str = _CASE_LEFT) -> None:
    """Prints a library error for a person (and, under --json, as {"error": {...}} on stdout) and exits
    with the code that fits it."""
    # click.echo drops the colour when stderr is no terminal, and never wraps: scripts grep this line.
    text = str(ex) if isinstance(ex, ForensicsError) else _os_error_text(ex, left_behind)
    click.echo(f"{click.style('error:', fg='red', bold=True)} {plain(text)}", err=True)
    if isinstance(ex, CaseLocked):
        code, kind = EXIT_LOCKED, "case-busy"
    elif isinstance(ex, (ParameterError, SigningKeyError)):  # a key file that is not a key is a bad argument too
        code, kind = EXIT_USAGE, "bad-argument"
    elif isinstance(ex, CaseDamaged):
        code, kind = EXIT_PROBLEMS, "case-damaged"  # the command ran and found the case damaged, like verify
    else:
        code, kind = EXIT_FAILED, "could-not-run"
    if _json_asked():
        error: dict[str, Any] = {"kind": kind, "message": text, "exit_code": code}
        if isinstance(ex, OSError) and ex.errno is not None:
            error["errno"] = errno.errorcode.get(ex.errno, str(ex.errno))  # ENOSPC, EACCES, EIO...
        emit_json({"error": error})
    sys.exit(code)


def _json_asked() -> bool:
    """Whether the running command was given --json (its scripts then read the error there too)."""
    context = click.get_current_context(silent=True)
    return bool(context is not None and context.params.get("as_json"))


def _os_error_text(ex: OSError, left_behind: str) -> str:
    where = f" ({ex.filename})" if ex.filename else ""
    return f"{ex.strerror or ex}{where}: the command stopped. {left_behind}; free space or fix the permission first"


@contextlib.contextmanager
def library_errors(*, left_behind: str = _CASE_LEFT) -> Iterator[None]:
    """Turns a ForensicsError, or an error of the system (no space, read-only, I/O), into a message and exit code.

    `left_behind` says what an error of the system left behind (see `fail`).
    """
    try:
        yield
    except ForensicsError as ex:
        fail(ex)
    except OSError as ex:
        fail(ex, left_behind=left_behind)  # exit 3: the command could not run
    except sqlite3.Error as ex:  # a library or index file: a full disk or I/O error as the system's, else exit 3
        try:
            raise_system_error(ex, Path(getattr(ex, "filename", None) or "the database"))
        except OSError as system:
            fail(system, left_behind=left_behind)
        fail(OSError(f"a database file could not be used ({ex})"), left_behind=left_behind)


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
               TimeElapsedColumn(), TextColumn("{task.fields[label]}", style="dim"))
    with RichProgress(*columns, console=stderr, transient=True) as bar:
        task = bar.add_task(description, total=None, label="")
        stage = ["files"]

        def callback(p: Progress) -> None:
            # A call with stages (ingest: files taken in, then analyses) names each; a new stage starts its own clock.
            if p.unit != stage[0]:
                stage[0] = p.unit
                bar.reset(task, total=p.total, description=f"{description}: {p.unit}")
            bar.update(task, completed=p.done, total=p.total, label=shown(p.label[-60:]))

        yield callback


def trust_anchors_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """The --trust-anchors option: a PEM file read to text (None without it), refused when it holds no certificate."""

    def read(_ctx: click.Context, _param: click.Parameter, path: Path | None) -> str | None:
        from forensics.custody.folder import NotRegular, TooLarge, read_named_file
        from forensics.media.metadata.formats.credentials import MAX_TRUST_ANCHORS_BYTES, checked_trust_anchors

        if path is None:
            return None
        try:
            # A regular file only, never opened when it is a FIFO or a device, and bounded.
            return checked_trust_anchors(read_named_file(path, max_bytes=MAX_TRUST_ANCHORS_BYTES).decode("ascii"))
        except NotRegular as ex:
            raise click.BadParameter(f"{path}: not a regular file (a {ex.kind})") from ex
        except TooLarge as ex:
            raise click.BadParameter(f"{path}: the trust anchors are over {MAX_TRUST_ANCHORS_BYTES // 1024} KiB; "
                                     "give the roots only") from ex
        except (OSError, UnicodeDecodeError) as ex:
            raise click.BadParameter(f"{path}: cannot be read as a PEM file ({ex})") from ex
        except ParameterError as ex:
            raise click.BadParameter(f"{path}: {ex}") from ex

    return click.option("--trust-anchors", "trust_anchors_pem", metavar="PEM",
                        type=click.Path(path_type=Path, dir_okay=False, exists=True), callback=read,
                        help="PEM file of the root certificates Content Credentials' signers are checked against; "
                             "without it signers are named and marked unverified.")(command)
