"""The report folder: the pictures it carries, named by digest, and its atomic replacement on disk."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from forensics.atomic import fsync_dir, write_atomic
from forensics.custody.folder import inside
from forensics.digests import file_sha256
from forensics.errors import ParameterError

MANIFEST = "report-manifest-sha256.txt"  # every file of the folder with its SHA-256; its digest is logged


class Assets:
    """The files a report folder carries beside index.html, each named by its SHA-256 (no evidence name
    ever becomes a path)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def add(self, data: bytes, suffix: str) -> str:
        """Keeps `data` for the folder; gives its path relative to index.html."""
        rel = f"img/{hashlib.sha256(data).hexdigest()}{suffix}"
        self.files[rel] = data
        return rel


def manifest_text(files: dict[str, bytes]) -> bytes:
    """Gives `sha256  path` lines for every file, sorted, as sha256sum -c reads them."""
    return "".join(f"{hashlib.sha256(data).hexdigest()}  {rel}\n" for rel, data in sorted(files.items())).encode()


def check_out_dir(out_dir: Path, case_path: Path) -> Path:
    """Gives the absolute report folder; refuses one inside the case, or a folder holding other things."""
    out_dir = Path(os.path.abspath(out_dir))
    case_path = Path(os.path.abspath(case_path))
    if inside(out_dir, case_path):
        raise ParameterError(f"{out_dir} is inside the case; a report is written outside it, so the bag is unchanged")
    if out_dir.exists() and (not out_dir.is_dir() or (any(out_dir.iterdir()) and not (out_dir / MANIFEST).is_file())):
        raise ParameterError(f"{out_dir} exists and is not a report folder; name a new or empty folder")
    if out_dir.is_dir() and (out_dir / MANIFEST).is_file():
        added = _not_in_manifest(out_dir)
        if added:
            raise ParameterError(f"{out_dir} is an earlier report with files it did not write ("
                                 + ", ".join(added[:5]) + (f" and {len(added) - 5} more" if len(added) > 5 else "")
                                 + "), which replacing it would delete; move them, or name a new folder")
    return out_dir


def _not_in_manifest(folder: Path) -> list[str]:
    """Gives the paths under an earlier report folder that its manifest does not list, or that differ from it
    (a user's notes beside the report): replacing the folder must not delete them."""
    try:
        listed = {}
        for line in (folder / MANIFEST).read_text("utf-8", "replace").splitlines():
            digest, _, rel = line.partition("  ")
            listed[rel] = digest
    except OSError:
        return [MANIFEST]
    folders = {str(parent) for rel in listed for parent in Path(rel).parents}  # those the report's files lie in
    found = []
    for root, dirs, names in os.walk(folder):
        here = os.path.relpath(root, folder)
        found += [os.path.normpath(os.path.join(here, d)) for d in dirs
                  if os.path.normpath(os.path.join(here, d)) not in folders]
        for name in names:
            rel = os.path.normpath(os.path.join(here, name))
            path = Path(root) / name
            if rel == MANIFEST:
                continue
            if rel not in listed or path.is_symlink() or not path.is_file():
                found.append(rel)
                continue
            with open(path, "rb") as fh:
                if file_sha256(fh) != listed[rel]:
                    found.append(rel)
    return sorted(found)


def stage_folder(out_dir: Path, files: dict[str, bytes]) -> Path:
    """Writes the folder's files beside its final place (a hidden staging folder); gives that folder."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.new-"))
    try:
        for rel, data in files.items():
            (staging / rel).parent.mkdir(parents=True, exist_ok=True)
            write_atomic(staging / rel, data)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return staging


def swap_in(staging: Path, out_dir: Path) -> None:
    """Puts a staged folder in place of `out_dir` (an older report is replaced), so readers see one or the other."""
    try:
        old = None
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.old-"))
            os.replace(out_dir, old / "report")
        os.replace(staging, out_dir)
        fsync_dir(out_dir.parent)
        if old is not None:
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
