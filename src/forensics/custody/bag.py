"""The BagIt 1.0 (RFC 8493) files of a case: declaration, bag-info, payload and tag manifests."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from forensics.custody.atomic import write_atomic
from forensics.custody.hashing import hash_file
from forensics.custody.state import StoredFile

BAGIT_TXT = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
ALGORITHMS = ("sha256", "sha512")
WORK_DIR = ".forensics"  # lock and temp files; not part of the bag


def encode_path(path: str) -> str:
    """Returns a path as a manifest line holds it (RFC 8493 2.1.3: %, CR and LF percent-encoded)."""
    return path.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def decode_path(text: str) -> str:
    return text.replace("%0A", "\n").replace("%0a", "\n").replace("%0D", "\r").replace("%0d", "\r").replace("%25", "%")


def manifest_text(entries: Iterable[tuple[str, str]]) -> bytes:
    """Returns manifest lines `<hex>  <path>` for (path, hex) pairs, sorted by path."""
    return "".join(f"{digest}  {encode_path(path)}\n" for path, digest in sorted(entries)).encode("utf-8")


def read_manifest(path: Path) -> dict[str, str]:
    """Returns {path: hex} from a manifest file; raises ValueError on a malformed line."""
    result: dict[str, str] = {}
    for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        digest, sep, name = line.partition(" ")
        if not sep or not name.strip():
            raise ValueError(f"{path.name} line {number} is not `<digest> <path>`")
        result[decode_path(name.lstrip(" ").lstrip("*"))] = digest.lower()
    return result


def write_payload_manifests(case_dir: Path, files: list[StoredFile]) -> None:
    write_atomic(case_dir / "manifest-sha256.txt", manifest_text((f.path, f.sha256) for f in files))
    write_atomic(case_dir / "manifest-sha512.txt", manifest_text((f.path, f.sha512) for f in files))


def bag_info_text(fields: list[tuple[str, str]]) -> bytes:
    lines = []
    for label, value in fields:
        # Values are one line each: a newline would start a new (bogus) element.
        lines.append(f"{label}: {' '.join(str(value).split())}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def read_bag_info(path: Path) -> list[tuple[str, str]]:
    fields: list[tuple[str, str]] = []
    for line in path.read_text("utf-8").splitlines():
        if line[:1] in (" ", "\t") and fields:
            label, value = fields[-1]
            fields[-1] = (label, value + " " + line.strip())
        elif ":" in line:
            label, _, value = line.partition(":")
            fields.append((label.strip(), value.strip()))
    return fields


def tag_files(case_dir: Path) -> list[str]:
    """Returns the bag's tag files (everything outside data/ but the tag manifests and the work dir)."""
    found = []
    for root, dirs, files in os.walk(case_dir):
        rel_root = Path(root).relative_to(case_dir)
        if rel_root == Path("."):
            dirs[:] = [d for d in dirs if d not in ("data", WORK_DIR)]
        for name in files:
            rel = (rel_root / name).as_posix()
            if rel_root == Path(".") and name.startswith("tagmanifest-"):
                continue
            found.append(rel)
    return sorted(found)


def write_tag_manifests(case_dir: Path) -> None:
    """Hashes every tag file and writes both tag manifests; the last write of every command."""
    digests = {rel: hash_file(case_dir / rel) for rel in tag_files(case_dir)}
    for algorithm in ALGORITHMS:
        text = manifest_text((rel, getattr(d, algorithm)) for rel, d in digests.items())
        write_atomic(case_dir / f"tagmanifest-{algorithm}.txt", text)
