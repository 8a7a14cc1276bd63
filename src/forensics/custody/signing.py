"""Ed25519 signing keys of the people who act on a case."""

from __future__ import annotations

import base64
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from forensics.atomic import write_atomic
from forensics.custody.folder import NotRegular, TooLarge, read_named_file
from forensics.custody.names import is_text, safe_name
from forensics.errors import ParameterError, SigningKeyError

_ACTOR = re.compile(r"^[^\x00-\x1f\x7f]{1,128}$")


def key_id_of(public_raw: bytes) -> str:
    """Returns the key's identifier: "ed25519:" and the SHA-256 of its 32 raw bytes."""
    return "ed25519:" + hashlib.sha256(public_raw).hexdigest()


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A private key and the actor it belongs to."""

    actor: str
    private: Ed25519PrivateKey
    path: Path | None
    # Derived once: every log entry names the key, and the recorder is ingest's hot path.
    public_raw: bytes = field(init=False, repr=False)
    key_id: str = field(init=False)

    def __post_init__(self) -> None:
        raw = self.private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        object.__setattr__(self, "public_raw", raw)
        object.__setattr__(self, "key_id", key_id_of(raw))

    def sign(self, message: bytes) -> str:
        """Returns the Ed25519 signature of `message`, base64."""
        return base64.b64encode(self.private.sign(message)).decode("ascii")

    def public_pem(self) -> bytes:
        return pem_from_raw(self.public_raw)


def check_actor(actor: str) -> str:
    """Returns `actor` if it can name a person in the log (1-128 printable characters of text)."""
    if not _ACTOR.match(actor) or actor != actor.strip() or not actor.isprintable() or not is_text(actor):
        raise ParameterError(f"actor name {actor.encode('utf-8', 'backslashreplace').decode()!r} must be 1-128 "
                             "printable characters of text (UTF-8) without surrounding spaces")
    return actor



def default_key_dir() -> Path:
    """Returns where keys live when no --key is given: $FORENSICS_KEY_DIR or ~/.config/forensics/keys."""
    configured = os.environ.get("FORENSICS_KEY_DIR")
    if configured:
        return Path(configured)
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "forensics" / "keys"


def default_key_path(actor: str) -> Path:
    return default_key_dir() / f"{safe_name(actor)}.key"


def new_key(actor: str, path: Path, *, overwrite: bool = False) -> SigningKey:
    """Makes a key pair for `actor`: the private key at `path` (mode 0600), the public beside it (.pub)."""
    check_actor(actor)
    if path.exists() and not overwrite:
        raise SigningKeyError(f"{path} exists already; choose another path, or give --force to replace it")
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    key = SigningKey(actor, private, path)
    # The actor's name travels in a PEM comment line so the key file alone says whose it is.
    write_atomic(path, f"# forensics actor: {actor}\n".encode() + pem, mode=0o600)
    write_atomic(path.with_suffix(".pub"), key.public_pem())
    return key


def load_key(path: Path, *, actor: str | None = None) -> SigningKey:
    """Reads a private key made by `new_key`; `actor` overrides the name stored in it."""
    try:
        data = read_named_file(path, max_bytes=64 << 10)
    except (NotRegular, TooLarge) as ex:
        raise SigningKeyError(f"{path} is not a signing key: {ex.strerror}") from ex
    except OSError as ex:
        raise SigningKeyError(f"cannot read signing key {path}: {ex.strerror}; make one with "
                              "`forensics key new --actor NAME`") from ex
    stored_actor = None
    first = data.split(b"\n", 1)[0]
    if first.startswith(b"# forensics actor: "):
        stored_actor = first[len(b"# forensics actor: "):].decode("utf-8", "replace")
    pem = data[data.index(b"-----BEGIN"):] if b"-----BEGIN" in data else data
    try:
        private = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as ex:
        raise SigningKeyError(f"{path} is not an unencrypted PEM private key ({ex})") from ex
    if not isinstance(private, Ed25519PrivateKey):
        raise SigningKeyError(f"{path} holds a {type(private).__name__}, not an Ed25519 key")
    name = actor or stored_actor
    if not name:
        raise SigningKeyError(f"{path} does not say whose key it is; pass the actor's name")
    return SigningKey(check_actor(name), private, path)


def public_key_from_raw(raw_b64: str) -> Ed25519PublicKey:
    """Returns the public key whose 32 raw bytes are base64 `raw_b64`."""
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(raw_b64, validate=True))


def pem_from_raw(raw: bytes) -> bytes:
    """Returns the PEM (SubjectPublicKeyInfo) form of a public key's 32 raw bytes."""
    return Ed25519PublicKey.from_public_bytes(raw).public_bytes(serialization.Encoding.PEM,
                                                                serialization.PublicFormat.SubjectPublicKeyInfo)


def public_raw_from_pem(pem: bytes) -> bytes:
    """Returns the 32 raw bytes of a PEM Ed25519 public key."""
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def signature_valid(public: Ed25519PublicKey, message: bytes, signature_b64: str) -> bool:
    """Whether `signature_b64` is `public`'s signature of `message`."""
    try:
        public.verify(base64.b64decode(signature_b64, validate=True), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def key_for(actor: str | None, path: Path | None) -> tuple[SigningKey, bool]:
    """Returns the signing key to act with, and whether it was just made.

    With `path`, that key file (it must exist). Without, the actor's key in the
    default key folder, made on first use so a first ingest needs no set-up.
    """
    if path is not None:
        return load_key(path, actor=actor), False
    if not actor:
        import getpass
        actor = os.environ.get("FORENSICS_ACTOR") or getpass.getuser()
    default = default_key_path(check_actor(actor))
    if default.exists():
        return load_key(default, actor=actor), False
    return new_key(actor, default), True
