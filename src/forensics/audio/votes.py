"""Votes: the query's landmarks looked up in the library, each hit a vote for (reference, speed, offset),
and the candidate alignments most query peaks agree on.

A 10 s query against a library of 100 hours casts millions of votes. Two things keep that
in bounds: a budget (the query's rarest hashes in the library are looked up first, and the
commonest, which agree by chance most often, left out past it), and a coarse count of the
votes in a hashed table, which can only count more than the exact count, so that the exact
one is needed only for the few bins that could be chosen; it changes no answer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from forensics.audio.landmarks import SPEEDS, landmark_hashes
from forensics.audio.library import Library, Postings
from forensics.audio.spectrum import Features

# A query against a big library meets millions of postings, most of them of its commonest
# hashes, which agree by chance most often. Past this many votes a second of query the
# commonest are left out; a query shorter than BUDGET_FLOOR_S has that long's budget, for
# its few landmarks need every vote they get.
MAX_VOTES_PER_S = 200_000
BUDGET_FLOOR_S = 10.0


@dataclass(frozen=True, slots=True)
class Votes:
    """Every vote of a query, as parallel arrays."""

    entries: NDArray[np.int64]
    speed_idx: NDArray[np.int64]
    offsets: NDArray[np.float64]  # reference frame minus scaled query frame
    query_frames: NDArray[np.float64]  # anchor frame in the query, its own clock
    ref_frames: NDArray[np.int64]
    peaks: NDArray[np.int64]  # which query peak anchored the vote
    again: NDArray[np.bool_]  # the same peak's vote for the same posting, one speed before, was in the same bin

    def subset(self, keep: NDArray[np.bool_]) -> Votes:
        at = np.flatnonzero(keep)  # one pass over the mask, not one per field
        return Votes(*(getattr(self, name)[at] for name in self.__slots__))


def cast_votes(library: Library, features: Features, rate_hz: int, fanout: int, max_votes: int) -> Votes:
    """Gives back the votes of a query's landmarks (`fanout` a peak, at every speed of the grid), within `max_votes`."""
    hashes: list[NDArray[np.int64]] = []
    anchors: list[NDArray[np.float64]] = []
    peaks: list[NDArray[np.int64]] = []
    speeds: list[NDArray[np.int64]] = []
    for idx, speed in enumerate(SPEEDS):
        h, t, a = landmark_hashes(features.peak_frames, features.peak_bins, rate_hz, speed=speed, fanout=fanout)
        hashes.append(h)
        anchors.append(t)
        peaks.append(a)
        speeds.append(np.full(h.size, idx, np.int64))
    qh, qt, qa, qs = np.concatenate(hashes), np.concatenate(anchors), np.concatenate(peaks), np.concatenate(speeds)
    # By hash, then anchor peak, then speed: one peak's landmark at neighbouring speeds side by side.
    order = np.lexsort((qs, qa, qh))
    qh, qt, qa, qs = qh[order], qt[order], qa[order], qs[order]
    wanted, uses = _counts(qh)
    post: Postings = library.lookup(within_budget(wanted, uses, library.posting_counts(wanted), max_votes))
    lo = np.searchsorted(post.hashes, qh, "left")
    count = np.searchsorted(post.hashes, qh, "right") - lo
    qi = np.repeat(np.arange(qh.size), count)
    pi = np.arange(qi.size) + np.repeat(lo - (np.cumsum(count) - count), count)
    ref_frames = post.frames[pi]
    offsets = ref_frames - qt[qi]
    # A landmark that follows one of the same hash and peak (the next speed) meets the same
    # postings in the same order: its vote for each lies `count` votes after the other's.
    follows = np.zeros(qh.size, bool)
    follows[1:] = (qh[1:] == qh[:-1]) & (qa[1:] == qa[:-1])
    later = np.flatnonzero(follows[qi])
    bins = _bins(offsets)
    again = np.zeros(qi.size, bool)
    again[later] = bins[later] == bins[later - count[qi[later]]]
    return Votes(post.entries[pi], qs[qi], offsets, features.peak_frames[qa[qi]], ref_frames, qa[qi], again)


def within_budget(hashes: NDArray[np.int64], uses: NDArray[np.int64], held: NDArray[np.int64],
                   max_votes: int) -> NDArray[np.int64]:
    """Gives back the hashes to look up, sorted: the rarest in the library first, as long as the
    votes they cast (`held` postings times the query's `uses`) stay within `max_votes`."""
    cost = held * uses
    if cost.sum() <= max_votes:
        return hashes[held > 0]
    rarest = np.argsort(held, kind="stable")
    return np.sort(hashes[rarest[(np.cumsum(cost[rarest]) <= max_votes) & (held[rarest] > 0)]])


def _bins(offsets: NDArray[np.float64]) -> NDArray[np.int64]:
    # Offsets in bins of two frames, whatever the speed: the votes of one alignment at
    # neighbouring grid speeds differ by less than that over a few seconds of query.
    return np.floor(offsets / 2).astype(np.int64)


def candidates(votes: Votes, min_votes: int, limit: int, exclude: frozenset[int], *,
                guess_rank: int = 256) -> tuple[list[tuple[int, int, float]], Votes]:
    """Gives back (reference, speed index, offset in frames) of the alignments most query peaks agree on,
    and the votes that can bear on them.

    A big library gives millions of votes, so they are first counted coarsely (`_upper_counts`:
    never less than `_choose` counts) and only those near bins that could reach the top are
    counted exactly. When the `limit`-th candidate has at least that many votes, the coarse
    count left out no candidate, and the answer is the one all votes give; else all bins that
    could reach `min_votes` are counted.
    """
    if votes.entries.size < 65536:  # too few to be worth it
        return _choose(votes, min_votes, limit, exclude)[0], votes
    upper, slot = _upper_counts(votes)
    # The count that `guess_rank` slots a candidate reach: a first guess at the last candidate's.
    rank = guess_rank * limit
    at_least = np.cumsum(np.bincount(upper)[::-1])[::-1]
    threshold = max(min_votes, int(np.flatnonzero(at_least >= rank).max(initial=0)))
    while True:
        near = votes.subset(_within(upper >= threshold, slot, 4))
        chosen, last = _choose(near, min_votes, limit, exclude)
        if threshold == min_votes or (len(chosen) >= limit and last >= threshold):
            return chosen, near
        # The last candidate taken here is the likeliest count of the last one taken from all votes.
        threshold = max(min_votes, min(last, threshold - 1)) if len(chosen) >= limit else min_votes


def _within(hot: NDArray[np.bool_], slot: NDArray[np.int64], reach: int) -> NDArray[np.bool_]:
    """Gives back which votes have their slot at most `reach` slots from a hot one (wrapping round).

    A vote bears on a bin within 1 of a candidate's (bins of 2 frames), and on `_verify`'s
    inliers, 3 frames about the median offset of that window: 3 bins either side of a bin that
    may be chosen, and 4 leave room for rounding.
    """
    near = np.zeros(hot.size, bool)
    near[(np.flatnonzero(hot)[:, None] + np.arange(-reach, reach + 1)) % hot.size] = True
    return near[slot]


def _upper_counts(votes: Votes) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Gives back votes per slot of a table of (reference, offset bin), summed over neighbouring slots,
    and each vote's slot.

    Bins that share a slot add up, and a vote only skips counting where its peak already
    counted in that bin at the speed before: each sum is at least `_choose`'s count of the
    bins mapped there (which counts a peak once per bin), never less.
    """
    size = 1 << min(24, int(votes.entries.size).bit_length() + 1)
    # Neighbouring bins of one reference in neighbouring slots (wrapping round at the end).
    slot = (votes.entries * 2654435761 + _bins(votes.offsets)) & (size - 1)
    counts = np.bincount(slot[~votes.again], minlength=size)
    near = counts.copy()
    near[1:] += counts[:-1]
    near[0] += counts[-1]
    near[:-1] += counts[1:]
    near[-1] += counts[0]
    return near, slot


def _choose(votes: Votes, min_votes: int, limit: int,
            exclude: frozenset[int]) -> tuple[list[tuple[int, int, float]], int]:
    """Gives back the candidates of `candidates` from these votes, and the count of the last one taken."""
    if votes.entries.size == 0:
        return [], 0
    bins = _bins(votes.offsets)
    base = int(bins.min()) - 1
    width = int(bins.max()) - base + 2
    key = votes.entries * width + (bins - base)
    # Each query peak counts once per bin, however many reference frames and speeds it hit there:
    # a held vowel repeats one hash, and must not outvote a phrase.
    n_peaks = int(votes.peaks.max()) + 1
    keys, counts = _counts(_distinct(key * n_peaks + votes.peaks) // n_peaks)
    near = counts.copy()
    for step in (-1, 1):
        pos = np.minimum(np.searchsorted(keys, keys + step), keys.size - 1)
        hit = keys[pos] == keys + step
        near[hit] += counts[pos[hit]]
    chosen: list[tuple[int, int, float]] = []
    taken: list[tuple[int, int]] = []
    # The query peaks each reference's chosen alignments rest on. One long, strong alignment votes in bins
    # far apart at every speed of the grid (the offset moves by the speed step times the query time): those
    # bins rest on the same peaks and are that alignment again, not candidates to crowd out another match
    # elsewhere in the query.
    used: dict[int, NDArray[np.bool_]] = {}
    last = 0
    for k in np.argsort(-near, kind="stable"):
        if near[k] < min_votes or len(chosen) >= limit:
            break
        entry, b = divmod(int(keys[k]), width)
        b += base
        if entry in exclude or any(e == entry and abs(bb - b) <= 2 for e, bb in taken):
            continue
        window = (votes.entries == entry) & (np.abs(bins - b) <= 1)
        peaks = np.unique(votes.peaks[window])
        if entry in used and used[entry][peaks].mean() >= 0.5:
            continue
        used.setdefault(entry, np.zeros(n_peaks, bool))[peaks] = True
        taken.append((entry, b))
        speed_idx = int(np.bincount(votes.speed_idx[window]).argmax())
        chosen.append((entry, speed_idx, float(np.median(votes.offsets[window & (votes.speed_idx == speed_idx)]))))
        last = int(near[k])
    return chosen, last


def _distinct(values: NDArray[np.int64]) -> NDArray[np.int64]:
    """Gives back the distinct values, sorted (np.unique's hashing is slower on millions of votes)."""
    ordered = np.sort(values)
    return ordered[np.concatenate([[True], ordered[1:] != ordered[:-1]])] if ordered.size else ordered


def _counts(ordered: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Gives back (distinct values, how often each occurs) of a sorted array."""
    starts = np.flatnonzero(np.concatenate([[True], ordered[1:] != ordered[:-1]])) if ordered.size else np.zeros(0, np.int64)
    return ordered[starts], np.diff(np.append(starts, ordered.size))
