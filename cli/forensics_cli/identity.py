"""The --actor/--key options shared by every command that writes to a case."""

from __future__ import annotations

from pathlib import Path

import click

from forensics.custody.signing import SigningKey, key_for
from forensics_cli.console import shown, stderr

actor_option = click.option("--actor", metavar="NAME",
                            help="Who acts, as the custody log names them [default: the key's actor, "
                                 "else $FORENSICS_ACTOR, else your login name].")
key_option = click.option("--key", "key_path", type=click.Path(dir_okay=False, path_type=Path), metavar="KEYFILE",
                          help="Your Ed25519 private key (from `forensics key new`) [default: the actor's key "
                               "in ~/.config/forensics/keys, made on first use].")


def signing_key(actor: str | None, key_path: Path | None, quiet: bool = False) -> SigningKey:
    """Returns the key to sign with, telling the user when one was just made for them."""
    key, created = key_for(actor, key_path)
    if created and not quiet:
        stderr.print(f"made a signing key for actor {shown(repr(key.actor))} at {shown(key.path)} "
                     f"(key id {key.key_id}); keep it private and back it up")
    return key
