"""`forensics key`: signing keys."""

from __future__ import annotations

from pathlib import Path

import click

from forensics.custody.signing import default_key_path, new_key
from forensics_cli.console import emit_json, library_errors, stdout


@click.group("key")
def command() -> None:
    """Make and show the Ed25519 keys that sign the custody log."""


@command.command("new")
@click.option("--actor", required=True, metavar="NAME", help="The person the key belongs to, as the log will name them.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), metavar="KEYFILE",
              help="Where to write the private key (the public key goes beside it, .pub) "
                   "[default: ~/.config/forensics/keys/NAME.key].")
@click.option("--force", is_flag=True, help="Replace an existing key file.")
@click.option("--json", "as_json", is_flag=True, help="Print the key's facts as JSON.")
def new(actor: str, out: Path | None, force: bool, as_json: bool) -> None:
    """Make a key pair for ACTOR. The private key stays with you; the public key travels in every case you sign."""
    with library_errors():
        key = new_key(actor, out or default_key_path(actor), overwrite=force)
    facts = {"actor": key.actor, "key_id": key.key_id, "private_key": str(key.path),
             "public_key": str(key.path.with_suffix(".pub"))}
    if as_json:
        emit_json(facts)
    else:
        stdout.print(f"key for {key.actor}: {key.key_id}\n  private {facts['private_key']} (keep it secret)\n"
                     f"  public  {facts['public_key']}", highlight=False)
