"""The `forensics` command: parses arguments, calls the library, renders, picks exit codes."""

from __future__ import annotations

import importlib
import logging
import os
import sys

import click

import forensics


class LazyGroup(click.Group):
    """Imports a command's module only when that command runs (click's documented pattern).

    `forensics verify` then never loads OpenCV, PyAV and librosa, which the
    frames and probe commands need.
    """

    def __init__(self, *args: object, lazy: dict[str, str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            return importlib.import_module(self.lazy[name]).command
        return super().get_command(ctx, name)


COMMANDS = {name: f"forensics_cli.{name}" for name in (
    "audio",
    "batch",
    "dedup",
    "export",
    "frames",
    "ingest",
    "key",
    "messages",
    "probe",
    "report",
    "seal",
    "verify",
)}


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(forensics.__version__, prog_name="forensics")
@click.option("-v", "--verbose", count=True, help="Log what the library does (-v info, -vv debug) on stderr.")
def cli(verbose: int) -> None:
    """Evidence toolkit for verifying footage, photos and intercepts of attacks on civilians.

    Exit codes: 0 done and all is well; 1 done, with problems found (verification
    findings, files that could not be taken in); 2 bad arguments; 3 the command could
    not run; 75 the case is busy with another process, try again.
    """
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    handler = logging.StreamHandler()
    handler.setFormatter(_PlainFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])


class _PlainFormatter(logging.Formatter):
    """Log lines carry file names from evidence: their control characters are escaped, never sent to the terminal."""

    def format(self, record: logging.LogRecord) -> str:
        from forensics_cli.console import plain

        return "\n".join(plain(line) for line in super().format(record).split("\n"))


# Commands that decode user files in this process, not in workers: it gets one worker's memory budget.
_DECODING_HERE = frozenset({"frames", "dedup", "audio"})


def main() -> None:
    if _DECODING_HERE & set(sys.argv[1:2]):
        _bound_memory()
    try:
        try:
            returned = cli.main(prog_name="forensics", standalone_mode=False)
        except click.ClickException as ex:  # bad arguments: said as click says them, and as JSON under --json
            if "--json" in sys.argv[1:]:
                from forensics_cli.console import emit_json

                emit_json({"error": {"kind": "bad-argument", "message": ex.format_message(), "exit_code": ex.exit_code}})
            ex.show()
            sys.exit(ex.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(returned if isinstance(returned, int) else 0)
    except OSError as ex:
        # The output could not be written (a full disk behind stdout, a closed pipe): said once, exit 3.
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - nothing more may reach the broken stream
            click.echo(f"error: the output could not be written: {ex.strerror or ex}", err=True)
        finally:
            os._exit(3)


def _bound_memory() -> None:
    """A file asking for more than a worker's budget (forensics.limits) gets MemoryError, its own error, in
    place of the OOM killer; a budget set wrong ($FORENSICS_WORKER_MEMORY_GB) is a bad argument."""
    from forensics.errors import ParameterError
    from forensics.limits import limit_memory, worker_memory_bytes

    try:
        limit_memory(worker_memory_bytes(1))
    except ParameterError as ex:
        click.echo(f"error: {ex}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
