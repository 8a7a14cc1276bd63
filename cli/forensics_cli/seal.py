"""`forensics seal`: an RFC 3161 time-stamp of the custody log's head."""

from __future__ import annotations

from pathlib import Path

import click
from cryptography import x509

from forensics.custody.folder import read_named_file
from forensics.custody.seal import seal_case
from forensics_cli.console import emit_json, library_errors, stdout
from forensics_cli.identity import actor_option, key_option, signing_key


@click.command("seal")
@click.argument("case_path", metavar="CASE", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--tsa", "tsa_url", required=True, metavar="URL", help="The time-stamp authority's RFC 3161 URL.")
@click.option("--tsa-chain", "chain", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              metavar="PEM", help="The TSA's certificate chain (PEM: TSA certificate, intermediates, root); "
                                  "stored in the case so verify can check the seal offline, years later.")
@click.option("--timeout", "timeout_s", default=30.0, show_default=True, help="Seconds to wait for the TSA.")
@actor_option
@key_option
@click.option("--json", "as_json", is_flag=True, help="Print the seal's facts as JSON.")
def command(case_path: Path, tsa_url: str, chain: Path, timeout_s: float, actor: str | None,
            key_path: Path | None, as_json: bool) -> None:
    """Time-stamp the custody log's head of CASE at a TSA; verify then checks it offline."""
    try:
        chain_pem = read_named_file(chain, max_bytes=1 << 20)
        x509.load_pem_x509_certificates(chain_pem)
    except (OSError, ValueError) as ex:  # NotRegular, TooLarge, or no certificate in it
        raise click.BadParameter(f"{chain}: {getattr(ex, 'strerror', None) or ex}; give the TSA's certificate "
                                 "chain as a PEM file", param_hint="--tsa-chain") from ex
    with library_errors():
        key = signing_key(actor, key_path, quiet=as_json)
        stamp, facts = seal_case(case_path, key, tsa_url=tsa_url, chain_pem=chain_pem, timeout_s=timeout_s)
    facts |= {"gen_time_utc": stamp.gen_time_utc, "tsa": stamp.tsa_name, "serial_number": str(stamp.serial_number)}
    if as_json:
        emit_json(facts)
    else:
        stdout.print(f"sealed: log entry {facts['stamped_seq']} ({facts['stamped_entry_hash']}) time-stamped "
                     f"{stamp.gen_time_utc} by {stamp.tsa_name}; token {facts['token']}", highlight=False)
