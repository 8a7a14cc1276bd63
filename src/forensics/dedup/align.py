"""Whether two photos or videos show the same footage, and where: `compare()` and the PairMatch it gives.

Videos are aligned in time the way audio landmarks are: every pair of frames whose hashes
are close votes for the time offset between the two files (and for the orientation and the
pair of regions, see normalise.SCALES, that made them close). The winning offset pairs each
frame of one file with the frame of the other shown at the same moment of the footage; the
longest run of such pairs that stay close is the matched span.

Frames of one fixed camera look alike whatever happens in front of it, so close hashes
alone would call two different takes in the same room copies. A copy also *moves* like its
original: over the matched span, each file's frames minus their mean over the span (what
changes, with the room taken out) must correlate. Footage in which nothing moves passes on
its hashes alone, as nothing else could tell it apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from forensics.dedup.hashes import ORIENTATION_COUNT, hamming
from forensics.dedup.media_hashes import MediaHashes
from forensics.dedup.normalise import SCALES

RELATIONS = ("same", "a_contains_b", "b_contains_a", "overlap")


@dataclass(frozen=True, slots=True)
class PairMatch:
    """Two files that show the same footage, and which part of each."""

    a: str  # MediaHashes.key
    b: str
    kind: str  # "image" when either is a photo, else "video"
    relation: str  # one of RELATIONS: "same" footage, one holds the whole of the other, or a shared part
    score: float  # 0..1: 1 - mean Hamming distance / 32 over the matched frames
    a_start_s: float | None  # the matched span in a; None for a photo
    a_end_s: float | None
    b_start_s: float | None
    b_end_s: float | None
    orientation: int = 0  # how b was turned or mirrored to look like a (hashes.ORIENTATIONS)
    offset_s: float | None = None  # a's time minus b's time for the same moment of the footage
    motion_correlation: float | None = None  # of the two spans' changes over time; None if nothing moved

    def to_json(self) -> dict[str, object]:
        return {"a": self.a, "b": self.b, "kind": self.kind, "relation": self.relation, "score": self.score,
                "a_start_s": self.a_start_s, "a_end_s": self.a_end_s, "b_start_s": self.b_start_s,
                "b_end_s": self.b_end_s}


@dataclass(frozen=True, slots=True)
class _Config:
    orientation: int
    scale_a: int
    scale_b: int
    distances: NDArray[np.uint8]  # Na x Nb Hamming distances under this configuration


def compare(a: MediaHashes, b: MediaHashes, *, max_distance_bits: int = 10, span_distance_bits: int | None = None,
            min_motion_correlation: float = 0.6, min_span_s: float = 3.0, whole_share: float = 0.85,
            max_gap_s: float = 1.0) -> PairMatch | None:
    """Gives how `a` and `b` match, or None when they do not show the same footage.

    Photos match when some region and orientation of each are within `max_distance_bits`.
    Video frames within `max_distance_bits` vote for an offset; the matched span is the
    longest run of frames paired at that offset within `span_distance_bits` (default 4 bits
    more; gaps up to `max_gap_s`), which must last `min_span_s` or `whole_share` of the
    shorter video, and whose motion must correlate at least `min_motion_correlation`. A file
    covered to `whole_share` (or within a second of its ends) is held whole by the other.
    """
    if span_distance_bits is None:
        span_distance_bits = max_distance_bits + 4  # a frame of a run may drift further than a voter
    configs = _configs(a, b)
    if a.kind == "image" or b.kind == "image":
        return _still_match(a, b, configs, max_distance_bits)
    return _video_match(a, b, configs, max_distance_bits=max_distance_bits, span_distance_bits=span_distance_bits,
                        min_motion_correlation=min_motion_correlation, min_span_s=min_span_s,
                        whole_share=whole_share, max_gap_s=max_gap_s)


def _configs(a: MediaHashes, b: MediaHashes) -> list[_Config]:
    """Gives the distance matrices for every orientation of b and every pair of regions one step apart at most."""
    # One broadcast for all of them: Na x Nb x regions of a x regions of b x orientations of b.
    every = hamming(a.hashes[:, None, :, None, 0:1], b.hashes[None, :, None, :, :])
    out = []
    for orientation in range(ORIENTATION_COUNT):
        for scale_a in range(len(SCALES)):
            for scale_b in range(max(0, scale_a - 1), min(len(SCALES), scale_a + 2)):
                out.append(_Config(orientation, scale_a, scale_b, every[:, :, scale_a, scale_b, orientation]))
    return out


def _still_match(a: MediaHashes, b: MediaHashes, configs: list[_Config], limit: int) -> PairMatch | None:
    best = min(configs, key=lambda c: int(c.distances.min()))
    distance = int(best.distances.min())
    if distance > limit:
        return None
    ia, ib = np.unravel_index(int(np.argmin(best.distances)), best.distances.shape)
    a_time = float(a.times_s[ia]) if a.kind == "video" else None
    b_time = float(b.times_s[ib]) if b.kind == "video" else None
    if a.kind == b.kind:
        relation = "same"
    else:
        relation = "a_contains_b" if a.kind == "video" else "b_contains_a"  # a photo as a frame of a video
    return PairMatch(a.key, b.key, "image", relation, _score(np.array([distance])), a_time, a_time, b_time, b_time,
                     orientation=best.orientation)


def _video_match(a: MediaHashes, b: MediaHashes, configs: list[_Config], *, max_distance_bits: int,
                 span_distance_bits: int, min_motion_correlation: float, min_span_s: float, whole_share: float,
                 max_gap_s: float) -> PairMatch | None:
    step_s = _step_s(a.times_s, b.times_s)
    best = None
    counts = [int((c.distances <= max_distance_bits).sum()) for c in configs]
    # The true orientation and regions have by far the most close pairs; the rest need no vote.
    for config, count in zip(configs, counts):
        if count == 0 or count < 0.5 * max(counts):
            continue
        voted = _vote(a.times_s, b.times_s, config.distances, max_distance_bits, step_s)
        if voted is not None and (best is None or voted[0] > best[0]):
            best = (voted[0], voted[1], config)
    if best is None:
        return None
    _, candidates, config = best
    offset_s, pairs = _refined(a.times_s, b.times_s, candidates, config.distances, span_distance_bits, step_s)
    if pairs.shape[0] == 0:
        return None
    close = config.distances[pairs[:, 0], pairs[:, 1]] <= span_distance_bits
    run = _longest_run(b.times_s[pairs[:, 1]], close, max_gap_s)
    if run is None:
        return None
    pairs = pairs[run[0]:run[1]]
    distances = config.distances[pairs[:, 0], pairs[:, 1]]
    duration_a, duration_b = a.duration_s or 0.0, b.duration_s or 0.0
    b_start = float(b.times_s[pairs[0, 1]])
    b_end = min(duration_b, float(b.times_s[pairs[-1, 1]]) + step_s)
    a_start = max(0.0, b_start + offset_s)
    a_end = min(duration_a, b_end + offset_s)
    span_s = b_end - b_start
    if span_s < min(min_span_s, whole_share * min(duration_a, duration_b)):
        return None
    correlation = _motion_correlation(a, b, pairs, config)
    if correlation is not None and correlation < min_motion_correlation:
        return None
    whole_a = _whole(a_start, a_end, duration_a, whole_share)
    whole_b = _whole(b_start, b_end, duration_b, whole_share)
    relation = ("same" if whole_a and whole_b else "a_contains_b" if whole_b
                else "b_contains_a" if whole_a else "overlap")
    return PairMatch(a.key, b.key, "video", relation, _score(distances), round(a_start, 3), round(a_end, 3),
                     round(b_start, 3), round(b_end, 3), orientation=config.orientation, offset_s=round(offset_s, 3),
                     motion_correlation=None if correlation is None else round(correlation, 3))


def _step_s(times_a: NDArray[np.float64], times_b: NDArray[np.float64]) -> float:
    """Gives the usual sampling interval of the two files (keyframes make it uneven)."""
    steps = np.concatenate([np.diff(times_a), np.diff(times_b)])
    steps = steps[steps > 0]
    return float(np.median(steps)) if steps.size else 1.0


def _vote(times_a: NDArray[np.float64], times_b: NDArray[np.float64], distances: NDArray[np.uint8],
          limit: int, step_s: float) -> tuple[float, NDArray[np.float64]] | None:
    """Gives (weight, candidate offsets) of the best-supported offset bin of close frame pairs, or None."""
    ia, ib = np.nonzero(distances <= limit)
    if ia.size == 0:
        return None
    offsets = times_a[ia] - times_b[ib]
    weights = (limit + 1 - distances[ia, ib]).astype(np.float64)
    bins = np.floor(offsets / step_s).astype(np.int64)
    low = int(bins.min())
    totals = np.bincount(bins - low, weights=weights)
    # Neighbouring bins belong together: an offset that falls between two samples splits its votes.
    smoothed = totals + np.concatenate([totals[1:], [0.0]])
    peak = int(np.argmax(smoothed))
    chosen = (bins - low >= peak) & (bins - low <= peak + 1)
    return float(smoothed[peak]), np.unique(np.round(offsets[chosen], 4))


def _refined(times_a: NDArray[np.float64], times_b: NDArray[np.float64], candidates: NDArray[np.float64],
             distances: NDArray[np.uint8], limit: int, step_s: float) -> tuple[float, NDArray[np.intp]]:
    """Gives the candidate offset whose frame pairing is closest overall, and that pairing.

    Slow footage matches at neighbouring samples too, so the most votes can sit a sample
    away from the true offset; the pairing's mean distance is sharper.
    """
    best: tuple[int, float, float, NDArray[np.intp]] | None = None
    for offset in candidates.tolist():
        pairs = _aligned(times_a, times_b, offset, step_s)
        if pairs.shape[0] == 0:
            continue
        found = distances[pairs[:, 0], pairs[:, 1]]
        # Most close pairs first: footage that barely moves is as close at a wrong offset, but
        # over a shorter overlap. Then the closest pairing, which slow motion makes sharp.
        key = (-int((found <= limit).sum()), float(np.minimum(found, limit + 1).mean()))
        if best is None or key < best[:2]:
            best = (key[0], key[1], offset, pairs)
    if best is None:
        return float(candidates[0]), np.empty((0, 2), dtype=np.intp)
    return best[2], best[3]


def _aligned(times_a: NDArray[np.float64], times_b: NDArray[np.float64], offset_s: float,
             step_s: float) -> NDArray[np.intp]:
    """Gives (index in a, index in b) pairs: each frame of b with a's frame shown at the same moment."""
    target = times_b + offset_s
    right = np.clip(np.searchsorted(times_a, target), 0, times_a.shape[0] - 1)
    left = np.clip(right - 1, 0, times_a.shape[0] - 1)
    nearest = np.where(np.abs(times_a[left] - target) <= np.abs(times_a[right] - target), left, right)
    keep = np.abs(times_a[nearest] - target) <= 0.75 * step_s
    return np.stack([nearest[keep], np.flatnonzero(keep)], axis=1)


def _longest_run(times: NDArray[np.float64], close: NDArray[np.bool_], max_gap_s: float) -> tuple[int, int] | None:
    """Gives [first, end) of the longest stretch of close pairs, bridging gaps up to max_gap_s."""
    where = np.flatnonzero(close)
    if where.size == 0:
        return None
    best, start = (where[0], where[0]), where[0]
    for previous, current in zip(where[:-1], where[1:]):
        if times[current] - times[previous] > max_gap_s:
            start = current
        if times[current] - times[start] > times[best[1]] - times[best[0]]:
            best = (start, current)
    return int(best[0]), int(best[1]) + 1


def _whole(start_s: float, end_s: float, duration_s: float, share: float) -> bool:
    if duration_s <= 0:
        return True
    return (end_s - start_s) >= share * duration_s or (start_s <= 1.0 and end_s >= duration_s - 1.0)


def _motion_correlation(a: MediaHashes, b: MediaHashes, pairs: NDArray[np.intp], config: _Config) -> float | None:
    """Gives how alike the two spans change over time (-1..1); None when neither changes."""
    if pairs.shape[0] < 3:
        return None
    left = a.thumbs[pairs[:, 0], config.scale_a].astype(np.float64)
    right = orient(b.thumbs[pairs[:, 1], config.scale_b], config.orientation).astype(np.float64)
    left -= left.mean(axis=0)
    right -= right.mean(axis=0)
    energy_a, energy_b = float(np.sqrt((left ** 2).mean())), float(np.sqrt((right ** 2).mean()))
    # Below a couple of grey levels, the "change" is coding noise: nothing moved.
    if energy_a < _STILL_GREY_LEVELS and energy_b < _STILL_GREY_LEVELS:
        return None
    return float((left * right).sum() / np.sqrt((left ** 2).sum() * (right ** 2).sum() + 1e-9))


_STILL_GREY_LEVELS = 2.0


def orient(pictures: NDArray[np.uint8], orientation: int) -> NDArray[np.uint8]:
    """Gives pictures (... x H x W) in orientation `orientation` (hashes.ORIENTATIONS), as the hashes do."""
    out = pictures
    if orientation & 4:
        out = np.swapaxes(out, -1, -2)
    if orientation & 2:
        out = out[..., :, ::-1]
    if orientation & 1:
        out = out[..., ::-1, :]
    return out


def _score(distances: NDArray[np.integer]) -> float:
    return round(max(0.0, 1.0 - float(np.mean(distances)) / 32.0), 4)
