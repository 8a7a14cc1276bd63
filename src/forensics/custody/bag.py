"""The BagIt 1.0 (RFC 8493) files of a case: declaration, bag-info, payload and tag manifests."""

from __future__ import annotations

from collections.abc import Iterable

BAGIT_TXT = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
ALGORITHMS = ("sha256", "sha512")


def encode_path(path: str) -> str:
    """Returns a path as a manifest line holds it (RFC 8493 2.1.3: %, CR and LF percent-encoded)."""
    return path.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def decode_path(text: str) -> str:
    return text.replace("%0A", "\n").replace("%0a", "\n").replace("%0D", "\r").replace("%0d", "\r").replace("%25", "%")


def manifest_text(entries: Iterable[tuple[str, str]]) -> bytes:
    """Returns manifest lines `<hex>  <path>` for (path, hex) pairs, sorted by path."""
    return "".join(f"{digest}  {encode_path(path)}\n" for path, digest in sorted(entries)).encode("utf-8")


def read_manifest(data: bytes, name: str) -> dict[str, str]:
    """Returns {path: hex} from a manifest's bytes; raises ValueError on a malformed line."""
    result: dict[str, str] = {}
    for number, line in enumerate(data.decode("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        digest, sep, path = line.partition(" ")
        if not sep or not path.strip():
            raise ValueError(f"{name} line {number} is not `<digest> <path>`")
        result[decode_path(path.lstrip(" ").lstrip("*"))] = digest.lower()
    return result


def bag_info_text(fields: list[tuple[str, str]]) -> bytes:
    lines = []
    for label, value in fields:
        # Values are one line each: a newline would start a new (bogus) element.
        lines.append(f"{label}: {' '.join(str(value).split())}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def read_bag_info(data: bytes) -> list[tuple[str, str]]:
    """Returns bag-info's (label, value) pairs in order, continuation lines joined; raises ValueError if not UTF-8."""
    fields: list[tuple[str, str]] = []
    for line in data.decode("utf-8").splitlines():
        if line[:1] in (" ", "\t") and fields:
            label, value = fields[-1]
            fields[-1] = (label, value + " " + line.strip())
        elif ":" in line:
            label, _, value = line.partition(":")
            fields.append((label.strip(), value.strip()))
    return fields
