"""Random damage to a copy of a real case: every writing command refuses it, or leaves a case that verifies
but for the very damage it was given (a changed file the log names, which only a full read shows), and the
stored originals never shrink.

The damages are those of a torn copy, a failing disk or a hand that edits: cut a file short, delete it,
swap two, flip a byte, append to it, put a link, a FIFO or a new file in its place or beside it. Seeded, so a
failure names the seed that gives it again.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import stat
from pathlib import Path

import pytest

from conftest import FIXTURES
from forensics.custody.recovery import CONTENT_DAMAGE
from forensics.custody.verify import verify_case
from forensics.errors import CaseDamaged, CaseInvalid
from forensics.incident import ingest
from forensics.pipeline.runners import thread_runner
from forensics.report.export import write_export
from forensics.report.html import write_report

SEEDS = range(24)


@pytest.fixture(scope="module")
def real_case(tmp_path_factory, alice_module) -> Path:
    """The demo incident's real media, ingested with every analysis: originals, derived frames, records."""
    root = tmp_path_factory.mktemp("real")
    with thread_runner() as runner:
        case = Path(ingest([FIXTURES / "incident"], root / "case", key=alice_module, runner=runner).case)
    assert verify_case(case).intact
    return case


@pytest.fixture(scope="module")
def alice_module(tmp_path_factory):
    from forensics.custody.signing import new_key

    return new_key("alice", tmp_path_factory.mktemp("alice") / "alice.key")


def entries(case: Path) -> tuple[list[Path], list[Path]]:
    files, folders = [], []
    for root, dirs, names in os.walk(case):
        folders += [Path(root) / d for d in dirs]
        files += [Path(root) / n for n in names]
    return sorted(files), sorted(folders)


def damage(case: Path, rng: random.Random, outside: Path) -> list[str]:
    """Applies one or two random damages; gives what was done, for the failure message."""
    done = []
    for _ in range(rng.choice((1, 1, 2))):
        files, folders = entries(case)
        files = [f for f in files if f.is_file() and not f.is_symlink()]
        kind = rng.choice(("truncate", "delete", "swap", "flip", "append", "link", "link-folder", "fifo", "add"))
        target = rng.choice(files)
        rel = target.relative_to(case).as_posix()
        if target.exists():
            target.chmod(0o644)
        if kind == "truncate":
            os.truncate(target, rng.randrange(max(1, target.stat().st_size)))
        elif kind == "delete":
            target.unlink()
        elif kind == "swap":
            other = rng.choice(files)
            other.chmod(0o644)
            a, b = target.read_bytes(), other.read_bytes()
            target.write_bytes(b)
            other.write_bytes(a)
            rel += " <-> " + other.relative_to(case).as_posix()
        elif kind == "flip":
            data = bytearray(target.read_bytes())
            if data:
                data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
            target.write_bytes(bytes(data))
        elif kind == "append":
            with open(target, "ab") as f:
                f.write(rng.choice((b"\n", b"{}", b'{"seq":1}\n', os.urandom(17))))
        elif kind == "link":
            target.unlink()
            target.symlink_to(outside / "decoy.bin")
        elif kind == "link-folder":
            folder = rng.choice(folders)
            rel = folder.relative_to(case).as_posix()
            moved = outside / f"moved-{rng.randrange(1 << 30)}"
            shutil.move(folder, moved)  # kept outside, so the test still knows every byte
            folder.symlink_to(moved, target_is_directory=True)
        elif kind == "fifo":
            target.unlink()
            os.mkfifo(target)
        elif kind == "add":
            folder = rng.choice(folders)
            rel = (folder / "planted.bin").relative_to(case).as_posix()
            (folder / "planted.bin").write_bytes(os.urandom(64))
        done.append(f"{kind} {rel}")
    return done


def snapshot(folder: Path) -> dict[str, tuple]:
    found: dict[str, tuple] = {}
    for root, dirs, names in os.walk(folder):
        for name in dirs + names:
            path = Path(root) / name
            rel = path.relative_to(folder).as_posix()
            if rel == ".forensics/holder":
                continue
            st = path.lstat()
            if stat.S_ISREG(st.st_mode):
                found[rel] = ("file", hashlib.sha256(path.read_bytes()).hexdigest())
            elif stat.S_ISLNK(st.st_mode):
                found[rel] = ("link", os.readlink(path))
            else:
                found[rel] = (stat.S_IFMT(st.st_mode),)
    return found


def digests_under(top: Path) -> list[str]:
    """The digests of every regular file under `top`, with repeats; links (to files or folders) not followed."""
    if top.is_symlink() or not top.is_dir():
        return []
    found = []
    for root, _dirs, names in os.walk(top):
        for name in names:
            path = Path(root) / name
            if stat.S_ISREG(path.lstat().st_mode):
                found.append(hashlib.sha256(path.read_bytes()).hexdigest())
    return sorted(found)


@pytest.mark.parametrize("seed", SEEDS)
def test_random_damage_is_refused_or_leaves_only_itself(real_case, alice_module, tmp_path, seed):
    more = tmp_path / "more"
    more.mkdir()
    (more / f"late-{seed}.mp4").write_bytes(os.urandom(2_000))
    commands = {
        "ingest": lambda case: ingest([more], case, key=alice_module, incident="incident", analyse=False),
        "export": lambda case: write_export(case, alice_module, fmt="csv", out_path=tmp_path / f"{case.name}.csv"),
        "report": lambda case: write_report(case, alice_module, out_dir=tmp_path / f"{case.name}-report"),
    }
    for name, command in commands.items():
        # The same damage (same seed) to a fresh copy for each command: a FIFO cannot be copied.
        case, outside = tmp_path / name, tmp_path / f"outside-{name}"
        shutil.copytree(real_case, case, symlinks=True)
        outside.mkdir()
        (outside / "decoy.bin").write_bytes(b"not evidence")
        what = damage(case, random.Random(seed), outside)
        found_before = {(f.code, f.subject) for f in verify_case(case).findings}
        before, outside_before, held = snapshot(case), snapshot(outside), digests_under(case / "data/originals")
        try:
            command(case)
        except (CaseDamaged, CaseInvalid):
            assert snapshot(case) == before, f"{name} refused but changed the case after {what}"
        else:
            after = {(f.code, f.subject) for f in verify_case(case).findings}
            left = {f for f in after if f not in found_before or f[0] not in CONTENT_DAMAGE}
            assert not left, f"{name} went on after {what} and left {left}"
            kept = digests_under(case / "data")
            assert all(kept.count(d) >= held.count(d) for d in held), f"{name} lost an original after {what}"
        assert snapshot(outside) == outside_before, f"{name} touched files outside the case after {what}"
