"""The `forensics` command: parses arguments, calls the library, renders, picks exit codes."""

from __future__ import annotations

import logging

import click

import forensics


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(forensics.__version__, prog_name="forensics")
@click.option("-v", "--verbose", count=True, help="Log what the library does (-v info, -vv debug) on stderr.")
def cli(verbose: int) -> None:
    """Evidence toolkit for verifying footage, photos and intercepts of attacks on civilians.

    Exit codes: 0 done and all is well; 1 done, with problems found (verification
    findings, files that could not be taken in); 2 bad arguments; 3 the command could
    not run; 75 the case is busy with another process, try again.
    """
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def _register() -> None:
    from forensics_cli import frames, ingest, key, probe, seal, verify

    for module in (frames, ingest, key, probe, seal, verify):
        cli.add_command(module.command)


_register()


def main() -> None:
    cli(prog_name="forensics")


if __name__ == "__main__":
    main()
