"""Two files' frames on one time line: sampling steps, offset votes, pairings and runs of agreeing frames.

Pure functions of frame times and distance matrices (align.py gives them meaning): every pair
of close frames votes for the offset between the files; the best-supported offset pairs each
frame of one file with the frame of the other shown at the same moment; runs of close pairs
are the stretches the two share.
"""

from __future__ import annotations

import itertools

import numpy as np
from numpy.typing import NDArray


def step_s(times_a: NDArray[np.float64], times_b: NDArray[np.float64]) -> float:
    """Gives the usual sampling interval of the two files (keyframes make it uneven)."""
    steps = np.concatenate([np.diff(times_a), np.diff(times_b)])
    steps = steps[steps > 0]
    return float(np.median(steps)) if steps.size else 1.0


def vote(times_a: NDArray[np.float64], times_b: NDArray[np.float64], distances: NDArray[np.uint8],
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


def refined(times_a: NDArray[np.float64], times_b: NDArray[np.float64], candidates: NDArray[np.float64],
             distances: NDArray[np.uint8], limit: int, step_s: float) -> tuple[float, NDArray[np.intp]]:
    """Gives the candidate offset whose frame pairing is closest overall, and that pairing.

    Slow footage matches at neighbouring samples too, so the most votes can sit a sample
    away from the true offset; the pairing's mean distance is sharper.
    """
    best: tuple[int, float, float, NDArray[np.intp]] | None = None
    for offset in candidates.tolist():
        pairs = aligned(times_a, times_b, offset, step_s)
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


def aligned(times_a: NDArray[np.float64], times_b: NDArray[np.float64], offset_s: float,
             step_s: float) -> NDArray[np.intp]:
    """Gives (index in a, index in b) pairs: each frame of b with a's frame shown at the same moment."""
    target = times_b + offset_s
    right = np.clip(np.searchsorted(times_a, target), 0, times_a.shape[0] - 1)
    left = np.clip(right - 1, 0, times_a.shape[0] - 1)
    nearest = np.where(np.abs(times_a[left] - target) <= np.abs(times_a[right] - target), left, right)
    keep = np.abs(times_a[nearest] - target) <= 0.75 * step_s
    return np.stack([nearest[keep], np.flatnonzero(keep)], axis=1)


def longest_run(times: NDArray[np.float64], close: NDArray[np.bool_], max_gap_s: float) -> tuple[int, int] | None:
    """Gives [first, end) of the longest stretch of close pairs, bridging gaps up to max_gap_s."""
    where = np.flatnonzero(close)
    if where.size == 0:
        return None
    best, start = (where[0], where[0]), where[0]
    for previous, current in itertools.pairwise(where):
        if times[current] - times[previous] > max_gap_s:
            start = current
        if times[current] - times[start] > times[best[1]] - times[best[0]]:
            best = (start, current)
    return int(best[0]), int(best[1]) + 1


def longest_miss_s(times_s: NDArray[np.float64], close: NDArray[np.bool_], weighed: NDArray[np.bool_]) -> float:
    """Gives the longest time over which weighed frames disagree without a close one between (0 if none)."""
    longest, start = 0.0, None
    for time_s, is_close, is_weighed in zip(times_s.tolist(), close.tolist(), weighed.tolist()):
        if is_close:
            start = None
        elif is_weighed:
            start = time_s if start is None else start
            longest = max(longest, time_s - start)
    return longest
