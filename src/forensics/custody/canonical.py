"""Canonical JSON and named digests: the forms of everything that is hashed or signed."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> bytes:
    """Returns `value` as canonical JSON bytes: UTF-8, sorted keys, no spaces (RFC 8785 style).

    NaN and infinities raise ValueError: they have no JSON form. Records keep
    exact quantities (sizes, nanosecond times) as integers.
    """
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      allow_nan=False).encode("utf-8")



def loads_json(data: bytes | str) -> Any:
    """Parses JSON read from a case; raises ValueError for anything that is not (nesting too deep included)."""
    try:
        return json.loads(data)
    except RecursionError as ex:  # "[[[[..." a hundred thousand deep: a hostile file, never one of ours
        raise ValueError("nested too deeply to be a record of this program") from ex


def sha256_digest(data: bytes) -> str:
    """Returns the SHA-256 of `data` named by its algorithm: "sha256:<64 hex>"."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def digest_hex(named: str, algorithm: str = "sha256") -> str:
    """Returns the hex part of a named digest, checking that it names `algorithm`."""
    prefix = algorithm + ":"
    if not named.startswith(prefix):
        raise ValueError(f"expected a {algorithm} digest, got {named!r}")
    return named[len(prefix):]
