"""`forensics verify`: check a case offline."""

from __future__ import annotations

import re
from pathlib import Path

import click

from forensics.custody.verify import verify_case
from forensics_cli.console import (
    EXIT_OK,
    EXIT_PROBLEMS,
    emit_json,
    library_errors,
    progress_bar,
    show_progress,
    shown,
    stdout,
)


@click.command("verify")
@click.argument("case_path", metavar="CASE", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--trust", "trusted", multiple=True, metavar="KEY_ID",
              help="A key id (ed25519:...) you trust; every entry must then be signed by a trusted key. Repeatable.")
@click.option("--expect-head", metavar="HASH",
              help="A log entry hash noted earlier (e.g. in a submission); it must still be in the log.")
@click.option("--json", "as_json", is_flag=True, help="Print the full result as JSON on stdout.")
@click.option("-q", "--quiet", is_flag=True,
              help="No progress bar; print only findings (nothing when intact: exit code 0 says so).")
def command(case_path: Path, trusted: tuple[str, ...], expect_head: str | None, as_json: bool, quiet: bool) -> None:
    """Check CASE offline: every file's digests, the log's chain and signatures, and every manifest.

    Exits 0 when the case is intact, 1 with each finding listed (which file or
    log entry, what is wrong) when it is not.
    """
    if expect_head is not None and not re.fullmatch(r"sha256:[0-9a-f]{64}", expect_head):
        raise click.BadParameter("give a log entry hash as verify prints it: sha256: and 64 hex digits",
                                 param_hint="--expect-head")
    if any(not re.fullmatch(r"ed25519:[0-9a-f]{64}", k) for k in trusted):
        raise click.BadParameter("give a key id as verify prints it: ed25519: and 64 hex digits", param_hint="--trust")
    with library_errors(), progress_bar(show_progress(quiet), "verify") as progress:
        result = verify_case(case_path, trusted_keys=trusted, expect_head=expect_head, progress=progress)
    if as_json:
        emit_json(result.to_json())
    else:
        for finding in result.findings:
            stdout.print(f"[red]{finding.code}[/] {shown(finding.subject)}: {shown(finding.message)}", highlight=False)
        if not quiet:  # quiet: the findings only (none when intact: the exit code says so)
            verdict = "[green]intact[/]" if result.intact else f"[red]{len(result.findings)} finding(s)[/]"
            stdout.print(f"{verdict}: {result.entries} log entries, {result.files_checked} files "
                         f"({result.bytes_checked:,} bytes) checked; log head {result.log_head}")
            for signer in result.signers:
                stdout.print(f"  signed by {shown(signer.actor)} ({shown(signer.key_id)}): {signer.entries} entries",
                             highlight=False)
            for seal in result.seals:
                stdout.print(f"  sealed: entry {seal['stamped_seq']} time-stamped {shown(seal['gen_time_utc'])} by "
                             f"{shown(seal['tsa'])}", highlight=False)
    raise SystemExit(EXIT_OK if result.intact else EXIT_PROBLEMS)
