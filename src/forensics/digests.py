"""SHA-256 digests: of an open file, of bytes, and their named form "sha256:<64 hex>".

Below every package (stdlib only), so that analysis (media/, audio/), which never imports
custody/, and custody name and compute digests the same way. Custody's own copies are
hashed while they are written (custody/hashing.py), SHA-512 with them, in one read.
"""

from __future__ import annotations

import hashlib
import io


def named_sha256(hex_digest: str) -> str:
    """Gives a hex SHA-256 named by its algorithm: "sha256:<hex>", the form records and the log hold."""
    return "sha256:" + hex_digest


def sha256_digest(data: bytes) -> str:
    """Gives the SHA-256 of `data` named by its algorithm: "sha256:<64 hex>"."""
    return named_sha256(hashlib.sha256(data).hexdigest())


def file_sha256(file: io.BufferedIOBase) -> str:
    """Gives the hex SHA-256 of everything in an open binary file, read from its start."""
    file.seek(0)
    return hashlib.file_digest(file, "sha256").hexdigest()
