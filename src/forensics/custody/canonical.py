"""Canonical JSON: the form of everything that is hashed or signed (digests: forensics.digests)."""

from __future__ import annotations

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
