"""Voting against a library of many hours: the coarse count leaves out no candidate, the vote budget
drops the commonest hashes first, and a clip is still found among the filler hours."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from forensics.audio import match, votes
from forensics.audio.decode import SAMPLE_RATE_HZ
from forensics.audio.landmarks import HASH_BITS
from forensics.audio.library import Library
from forensics.audio.search import fingerprint_file, match_paths
from forensics.audio.spectrum import HOP
from intercept_media import Intercepts, intercepts  # noqa: F401 - intercepts is a fixture
from speech import RATE_HZ, write_wav

FILLER_HOURS = 4


@pytest.fixture(scope="module")
def hours(intercepts: Intercepts, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The intercepts' library and hours of filler: landmarks drawn from its own hashes at its own rate."""
    path = tmp_path_factory.mktemp("hours") / "hours.sqlite"
    shutil.copyfile(intercepts.library, path)
    with Library(path) as lib:
        hashes = lib.lookup(range(1 << HASH_BITS)).hashes
        per_s = hashes.size / lib.stats()["audio_s"]
        real = lib.frame_features(1)
        frames = int(3600 * SAMPLE_RATE_HZ / HOP)
        filler = real.repeated(frames)
        rng = np.random.default_rng(6)
        for e in range(FILLER_HOURS):
            n = int(per_s * 3600)
            lib.add_landmarks(f"{e:064x}", 0, f"filler-{e}", SAMPLE_RATE_HZ, rng.choice(hashes, n), rng.integers(0, frames, n),
                              filler)
    return path


def _features(intercepts: Intercepts, tmp_path: Path, start_s: float, length_s: float, name: str):
    clip = intercepts.samples[int(start_s * RATE_HZ): int((start_s + length_s) * RATE_HZ)]
    printed = fingerprint_file(write_wav(tmp_path / f"{name}.wav", clip), peaks_per_s=match.QUERY_PEAKS_PER_S)
    return printed.audio.tracks[0].samples, printed.features[0]


def test_the_coarse_count_leaves_out_no_candidate(intercepts: Intercepts, hours: Path, tmp_path: Path):
    with Library(hours) as lib:
        for n, (start, _) in enumerate(intercepts.spans[:3]):
            samples, features = _features(intercepts, tmp_path, start, 8.0, f"q{n}")
            cast = votes.cast_votes(lib, features, SAMPLE_RATE_HZ, 6, 10**12)
            assert cast.entries.size > 4 * 65536  # enough for the coarse count to be used
            for limit, guess_rank in ((3, 256), (12, 256), (12, 1)):  # a guess of 1 is too high: counted again
                everything, _ = votes._choose(cast, 5, limit, frozenset())
                chosen, near = votes.candidates(cast, 5, limit, frozenset(), guess_rank=guess_rank)
                assert chosen == everything
                assert guess_rank == 1 or near.entries.size < cast.entries.size / 4
                for entry, speed_idx, offset in chosen:
                    args = (lib, samples, SAMPLE_RATE_HZ, match.Heard.of(samples, SAMPLE_RATE_HZ, features.level))
                    assert match._verify(*args, near, entry, speed_idx, offset, 5, 3.5, 2.0) == \
                        match._verify(*args, cast, entry, speed_idx, offset, 5, 3.5, 2.0)


def test_the_vote_budget_leaves_out_the_commonest_hashes():
    hashes = np.array([10, 11, 12, 13, 14])
    held = np.array([50, 0, 5, 400, 20])
    uses = np.array([2, 9, 3, 1, 1])
    assert votes.within_budget(hashes, uses, held, 10**6).tolist() == [10, 12, 13, 14]
    # Votes cast, rarest first: 12 (15), 14 (35), 10 (135), 13 (535).
    assert votes.within_budget(hashes, uses, held, 135).tolist() == [10, 12, 14]
    assert votes.within_budget(hashes, uses, held, 134).tolist() == [12, 14]
    assert votes.within_budget(hashes, uses, held, 14).tolist() == []


def test_a_query_casts_no_more_votes_than_its_budget(intercepts: Intercepts, hours: Path, tmp_path: Path):
    start, end = intercepts.spans[0]
    _, features = _features(intercepts, tmp_path, start, min(5.0, end - start), "q")
    with Library(hours) as lib:
        every = votes.cast_votes(lib, features, SAMPLE_RATE_HZ, 6, 10**12).entries.size
        some = votes.cast_votes(lib, features, SAMPLE_RATE_HZ, 6, every // 4).entries.size
    assert every // 8 < some <= every // 4


def test_a_clip_is_found_among_hours_of_filler(intercepts: Intercepts, hours: Path, tmp_path: Path):
    start, end = intercepts.spans[1]
    clip = intercepts.samples[int(start * RATE_HZ): int(end * RATE_HZ)]
    with Library(hours) as lib:
        assert lib.stats()["audio_s"] > FILLER_HOURS * 3600
        [result] = match_paths(lib, [write_wav(tmp_path / "clip.wav", clip)])
    assert result.matches and Path(result.matches[0].reference) == intercepts.recording
    assert abs(result.matches[0].offset_s - start) < 0.01


def test_one_strong_alignment_seen_at_every_speed_of_the_grid_leaves_room_for_another_reference():
    # Reference 1: 100 query peaks agree with it, and, as a long copy far into a query does, their votes fall in
    # bins 8 frames apart at each of the 15 speeds of the grid. Reference 2: 20 other peaks agree at one place.
    # Twelve candidates: the first is reference 1; its other speeds rest on the same peaks and are not taken
    # again, so reference 2 is among them (all twelve were reference 1 once, and reference 2 was never checked).
    from forensics.audio.votes import Votes, candidates

    speeds, peaks = np.meshgrid(np.arange(15), np.arange(100), indexing="ij")
    first = (np.ones(speeds.size, np.int64), speeds.ravel(), -1300.0 - 8.0 * (speeds.ravel() - 7),
             1300.0 + 5.0 * peaks.ravel(), peaks.ravel())
    other = np.arange(100, 120)
    second = (np.full(20, 2), np.full(20, 7), np.full(20, -500.0), 300.0 + 5.0 * (other - 100), other)
    entries, speed_idx, offsets, query_frames, peak_ids = (np.concatenate(p) for p in zip(first, second))
    votes = Votes(entries.astype(np.int64), speed_idx.astype(np.int64), offsets, query_frames,
                  (offsets + query_frames).astype(np.int64), peak_ids.astype(np.int64), np.zeros(entries.size, bool))
    chosen, _ = candidates(votes, min_votes=4, limit=12, exclude=frozenset())
    assert [entry for entry, _, _ in chosen] == [1, 2]
    assert abs(chosen[1][2] + 500.0) < 1e-9  # reference 2 at its place
