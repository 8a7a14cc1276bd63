"""Two long videos are compared within a bounded memory: their distances a stretch at a time, only the
configurations alignment uses kept, and every k-th frame of two very long ones; the answers stay the same."""

from __future__ import annotations

import numpy as np
import pytest

from dedup_media import EDITS, hashed, scenes  # noqa: F401 - fixtures
from forensics.dedup import align
from forensics.dedup.hashes import hamming


def _every_distance(a, b) -> np.ndarray:
    every = hamming(a.hashes[:, None, :, None, 0:1], b.hashes[None, :, None, :, :])
    every[~align.ev.textured(a.thumbs[:, 0])] = align._FAR
    every[:, ~align.ev.textured(b.thumbs[:, 0])] = align._FAR
    return every


@pytest.mark.parametrize("edit", ["mirror", "crop_15", "excerpt_6s"])
def test_distances_worked_out_a_stretch_at_a_time_are_those_of_one_broadcast(hashed, edit: str,
                                                                             monkeypatch) -> None:
    a, b = hashed["source"], hashed[edit]
    every = _every_distance(a, b)
    whole = align._configs(a, b)
    assert len(whole) == every.shape[2] * every.shape[3] * every.shape[4]
    monkeypatch.setattr(align, "_DISTANCE_BYTES", 4096)  # as two long videos are: a few rows at a time
    few = align._configs(a, b)
    for config in whole + few:
        assert np.array_equal(config.distances, every[:, :, config.scale_a, config.scale_b, config.orientation])
    # Kept: every configuration alignment votes with (half the most close pairs or more), at most 12.
    most = max(c.close for c in whole)
    wanted = {(c.orientation, c.scale_a, c.scale_b) for c in whole if c.close and c.close >= most / 2}
    kept = {(c.orientation, c.scale_a, c.scale_b) for c in few}
    assert kept == wanted or (len(kept) == align._KEPT_CONFIGS and kept < wanted)
    assert len(few) < len(whole)


def test_two_long_videos_are_aligned_on_every_kth_frame(hashed, monkeypatch) -> None:
    a, b = hashed["source"], hashed["mirror"]
    assert a.frame_count * b.frame_count > 100
    monkeypatch.setattr(align, "MAX_FRAME_PAIRS", a.frame_count * b.frame_count // 4)  # every other frame
    match = align.compare(a, b)
    assert match is not None and match.relation == "same" and abs(match.offset_s) < 0.3
