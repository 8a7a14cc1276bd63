"""Sniffing's shortcut past puremagic says "no signature" only where puremagic's own scan finds none."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import puremagic
import pytest

from forensics.media import content_type
from forensics.media.content_type import HEAD_BYTES, sniff

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def puremagic_finds(head: bytes) -> bool:
    try:
        return bool(puremagic.magic_string(head))
    except (puremagic.PureError, ValueError):
        return False


def heads_of(folder: Path, limit: int = 2000) -> list[bytes]:
    paths = sorted(p for p in folder.rglob("*") if p.is_file())[:limit]
    return [h for h in (p.read_bytes()[:64 << 10] for p in paths) if h]


def seeded_heads() -> list[bytes]:
    rng = np.random.default_rng(7)
    heads = [rng.bytes(int(n)) for n in rng.integers(1, 70_000, size=300)]
    # Random bytes seldom hit a signature: plant real ones at their offsets as well.
    rows = puremagic.main.magic_header_array
    for row in rows[:: max(1, len(rows) // 300)]:
        head = bytearray(rng.bytes(max(HEAD_BYTES, row.offset + len(row.byte_match) + 16)))
        head[row.offset:row.offset + len(row.byte_match)] = row.byte_match
        heads.append(bytes(head))
    return heads


def test_the_shortcut_never_hides_a_signature_puremagic_would_find() -> None:
    heads = seeded_heads() + heads_of(FIXTURES)
    found = [h for h in heads if puremagic_finds(h)]
    assert len(found) > 250  # the planted signatures are seen
    assert all(content_type._puremagic_may_match(h) for h in found)
    assert not any(content_type._puremagic_may_match(h) for h in heads[:300] if not puremagic_finds(h))


def test_the_shortcut_agrees_on_the_shared_real_media(shared_data: Path) -> None:
    for head in heads_of(shared_data, limit=3000):
        if puremagic_finds(head):
            assert content_type._puremagic_may_match(head)


@pytest.mark.parametrize("head", seeded_heads()[::15])
def test_sniff_gives_the_same_answer_with_and_without_the_shortcut(head: bytes, monkeypatch) -> None:
    quick = sniff(head)
    monkeypatch.setattr(content_type, "_puremagic_may_match", lambda data: True)
    assert sniff(head) == quick


def test_an_unknown_puremagic_layout_falls_back_to_asking_it(monkeypatch) -> None:
    content_type._puremagic_index.cache_clear()
    monkeypatch.delattr(puremagic.main, "magic_footer_array")
    try:
        assert content_type._puremagic_may_match(os.urandom(100))
    finally:
        monkeypatch.undo()
        content_type._puremagic_index.cache_clear()
