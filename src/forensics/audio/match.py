"""Finding a query's audio in the library: landmark votes, a fitted line of time, then the audio itself.

1. The query's peaks are hashed at every speed of the grid and looked up; each hit votes for
   (reference, speed, offset). 2. Bins with enough votes become candidates; their agreeing
   landmarks give the speed and offset by a line fit (times in int64 frames and float64
   seconds: no wrap-around in long recordings). 3. The query is resampled onto the
   reference's clock and its per-frame bits compared with the reference's over the frames
   where the reference has sound; the offset is refined below a frame by the shift that
   agrees best (parabolic vertex of the agreement), the speed by turning about the span's
   middle. 4. At that alignment the harmonic bits are compared too: band energies cannot
   tell another take of the same words by the same voice, its harmonics can. Only a
   candidate whose band and harmonic bits both agree far beyond chance is a match, so
   unseen audio gives an empty list.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from forensics.audio.landmarks import SPEEDS, landmark_hashes
from forensics.audio.library import FrameFeatures, Library, Postings
from forensics.audio.spectrum import HOP, N_FFT, Features, analyse, band_changes, harmonic_changes, power_spectrum

_BIT_NUMBERS = np.arange(16, dtype=np.uint16)
# A query takes more peaks a second than the library keeps: they cost look-ups, not storage,
# and a noisy query's strongest peaks are not always the reference's.
QUERY_PEAKS_PER_S = 30.0
# Bits of neighbouring frames are not independent (64 ms windows, 16 ms hop; 17 overlapping
# bands): the z of a bit error rate is taken over this many bits per independent sample.
_BITS_PER_SAMPLE = 16.0
_COARSE_SHIFTS = np.arange(-160, 161, 32)  # samples tried around the landmark offset
_FINE_SHIFTS = np.arange(-24, 25, 8)
_STEP_SHIFTS = np.arange(-8, 9, 8)
_MAX_CHECK_S = 12.0
# A query against a big library meets millions of postings, most of them of its commonest
# hashes, which agree by chance most often. Past this many votes a second of query the
# commonest are left out; a query shorter than _BUDGET_FLOOR_S has that long's budget, for
# its few landmarks need every vote they get.
MAX_VOTES_PER_S = 200_000
_BUDGET_FLOOR_S = 10.0


@dataclass(frozen=True, slots=True)
class Match:
    """Where a query's audio occurs in one reference; t_reference = offset_s + speed * t_query."""

    reference: str
    reference_sha256: str
    reference_stream: int
    offset_s: float  # reference time at the query's time zero
    speed: float  # reference seconds per query second
    score: float  # 1 - 2 x bit error rate over the verified frames: 0 chance, 1 identical
    z: float  # how many standard deviations the band bits' agreement is beyond chance
    harmonic_z: float  # the same for the harmonic bits
    votes: int  # landmarks agreeing in time and speed
    query_start_s: float
    query_end_s: float
    reference_start_s: float
    reference_end_s: float

    def to_json(self) -> dict[str, Any]:
        return {"reference": self.reference, "reference_sha256": self.reference_sha256,
                "reference_stream": self.reference_stream, "offset_s": round(self.offset_s, 4),
                "speed": round(self.speed, 5), "score": round(self.score, 4), "z": round(self.z, 2),
                "harmonic_z": round(self.harmonic_z, 2),
                "votes": self.votes, "query_start_s": round(self.query_start_s, 3),
                "query_end_s": round(self.query_end_s, 3), "reference_start_s": round(self.reference_start_s, 3),
                "reference_end_s": round(self.reference_end_s, 3)}


@dataclass(frozen=True, slots=True)
class _Votes:
    entries: NDArray[np.int64]
    speed_idx: NDArray[np.int64]
    offsets: NDArray[np.float64]  # reference frame minus scaled query frame
    query_frames: NDArray[np.float64]  # anchor frame in the query, its own clock
    ref_frames: NDArray[np.int64]
    peaks: NDArray[np.int64]  # which query peak anchored the vote
    again: NDArray[np.bool_]  # the same peak's vote for the same posting, one speed before, was in the same bin

    def subset(self, keep: NDArray[np.bool_]) -> _Votes:
        at = np.flatnonzero(keep)  # one pass over the mask, not one per field
        return _Votes(*(getattr(self, name)[at] for name in self.__slots__))


def match_samples(library: Library, samples: NDArray[np.float32], sample_rate_hz: int, *,
                  features: Features | None = None, fanout: int = 6, min_votes: int = 5, min_z: float = 3.5, min_harmonic_z: float = 2.0,
                  max_candidates: int = 12, max_votes_per_s: float = MAX_VOTES_PER_S,
                  exclude_entries: frozenset[int] = frozenset()) -> list[Match]:
    """Gives back the references in which `samples` occur, best first; empty when none does.

    `fanout` is the query's landmarks per peak (more than the library's, to catch more);
    `min_votes` the landmarks that must agree before the audio is compared; `min_z` how far
    beyond chance (standard deviations) the aligned band bits must agree, `min_harmonic_z`
    the harmonic bits, which tell another take of the same words by the same voice apart.
    `max_votes_per_s` bounds the look-ups' work: the query's rarest hashes in the library are
    looked up first, and the commonest left out once their postings would pass that many votes
    a second of query, 10 s at least (only a library of many hours reaches it).
    """
    features = features if features is not None else analyse(samples, sample_rate_hz, peaks_per_s=QUERY_PEAKS_PER_S)
    max_votes = int(max_votes_per_s * max(_BUDGET_FLOOR_S, features.n_frames * HOP / sample_rate_hz))
    votes = _vote(library, features, sample_rate_hz, fanout, max_votes)
    chosen, votes = _candidates(votes, min_votes, max_candidates, exclude_entries)
    matches: list[Match] = []
    for entry, speed_idx, offset in chosen:
        found = _verify(library, samples, sample_rate_hz, votes, entry, speed_idx, offset, min_votes, min_z,
                        min_harmonic_z)
        if found is not None and not any(_same_place(found, m) for m in matches):
            matches.append(found)
    return sorted(matches, key=lambda m: -m.z)


def _vote(library: Library, features: Features, rate_hz: int, fanout: int, max_votes: int) -> _Votes:
    hashes, anchors, peaks, speeds = [], [], [], []
    for idx, speed in enumerate(SPEEDS):
        h, t, a = landmark_hashes(features.peak_frames, features.peak_bins, rate_hz, speed=speed, fanout=fanout)
        hashes.append(h)
        anchors.append(t)
        peaks.append(a)
        speeds.append(np.full(h.size, idx, np.int64))
    qh, qt, qa, qs = (np.concatenate(x) for x in (hashes, anchors, peaks, speeds))
    # By hash, then anchor peak, then speed: one peak's landmark at neighbouring speeds side by side.
    order = np.lexsort((qs, qa, qh))
    qh, qt, qa, qs = qh[order], qt[order], qa[order], qs[order]
    wanted, uses = _counts(qh)
    post: Postings = library.lookup(_within_budget(wanted, uses, library.posting_counts(wanted), max_votes))
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
    return _Votes(post.entries[pi], qs[qi], offsets, features.peak_frames[qa[qi]], ref_frames, qa[qi], again)


def _within_budget(hashes: NDArray[np.int64], uses: NDArray[np.int64], held: NDArray[np.int64],
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


def _candidates(votes: _Votes, min_votes: int, limit: int, exclude: frozenset[int], *,
                guess_rank: int = 256) -> tuple[list[tuple[int, int, float]], _Votes]:
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


def _upper_counts(votes: _Votes) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
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


def _choose(votes: _Votes, min_votes: int, limit: int,
            exclude: frozenset[int]) -> tuple[list[tuple[int, int, float]], int]:
    """Gives back the candidates of `_candidates` from these votes, and the count of the last one taken."""
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
    last = 0
    for k in np.argsort(-near, kind="stable"):
        if near[k] < min_votes or len(chosen) >= limit:
            break
        entry, b = divmod(int(keys[k]), width)
        b += base
        if entry in exclude or any(e == entry and abs(bb - b) <= 2 for e, bb in taken):
            continue
        taken.append((entry, b))
        window = (votes.entries == entry) & (np.abs(bins - b) <= 1)
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


def _verify(library: Library, samples: NDArray[np.float32], rate_hz: int, votes: _Votes, entry: int,
            speed_idx: int, offset: float, min_votes: int, min_z: float, min_harmonic_z: float) -> Match | None:
    inlier = ((votes.entries == entry) & (np.abs(votes.speed_idx - speed_idx) <= 1)
              & (np.abs(votes.offsets - offset) <= 3.0))
    pairs = np.unique(np.stack([votes.query_frames[inlier], votes.ref_frames[inlier].astype(np.float64)]), axis=1)
    if pairs.shape[1] < min_votes:
        return None
    q, r = pairs
    speed, intercept = _fit_line(q, r, SPEEDS[speed_idx])
    residual = np.abs(r - (intercept + speed * q))
    keep = residual <= 1.5
    if keep.sum() < min_votes:
        return None
    q, r = q[keep], r[keep]
    speed, intercept = _fit_line(q, r, speed)
    # Reference seconds at query time zero, with frame times at the frames' centres.
    offset_s = (intercept * HOP + N_FFT / 2 - speed * N_FFT / 2) / rate_hz
    reference = library.frame_features(entry)
    duration_q = len(samples) / rate_hz
    q_start = max(0.0, (q.min() * HOP) / rate_hz - 0.5)
    q_end = min(duration_q, (q.max() * HOP + N_FFT) / rate_hz + 0.5)
    # The audio is compared over at most _MAX_CHECK_S around the middle of the agreeing landmarks:
    # enough for the statistics, and an hour-long query costs no more than a short one.
    middle = float(np.median(q)) * HOP / rate_hz
    check_start = max(q_start, min(middle - _MAX_CHECK_S / 2, q_end - _MAX_CHECK_S))
    check_end = min(q_end, check_start + _MAX_CHECK_S)
    checked = _agreement(samples, rate_hz, reference, offset_s, speed, check_start, check_end, min_z)
    if checked is None or checked[2] < min_z or checked[4] < min_harmonic_z:
        return None
    offset_s, speed, z, ber, z_harmonic = checked
    ref = library.reference(entry)
    ref_dur = ref.duration_s
    # The span both recordings share, within what the landmarks and the bits vouched for.
    q_start = max(q_start, -offset_s / speed)
    q_end = min(q_end, (ref_dur - offset_s) / speed)
    q_start, q_end = float(q_start), float(q_end)
    return Match(ref.path, ref.sha256, ref.stream_index, float(offset_s), float(speed), 1.0 - 2.0 * ber, z, z_harmonic,
                 int(keep.sum()), q_start, q_end, float(offset_s + speed * q_start), float(offset_s + speed * q_end))


def _fit_line(q: NDArray[np.float64], r: NDArray[np.float64], speed: float) -> tuple[float, float]:
    """Gives back (slope, intercept) of r against q; the grid speed when q spans too little to tell."""
    if q.max() - q.min() >= 60:  # about a second of landmarks
        slope, intercept = np.polyfit(q, r, 1)
        if abs(slope - 1.0) <= 0.045:
            return float(slope), float(intercept)
    return speed, float(np.median(r - speed * q))


def _agreement(samples: NDArray[np.float32], rate_hz: int, reference: FrameFeatures, offset_s: float, speed: float,
               q_start_s: float, q_end_s: float, min_z: float = 0.0,
               ) -> tuple[float, float, float, float, float] | None:
    """Gives back (offset_s, speed, z, bit error rate, harmonic z) of the best alignment near the landmarks' estimate.

    The alignment is found with the band bits; the harmonic bits are then checked at it.
    None when the spans hold too little sound, or when even the best coarse shift is so far
    below `min_z` that no refinement could reach it.
    """
    r_first = max(0, math.ceil((offset_s + speed * q_start_s) * rate_hz / HOP))
    r_last = min(len(reference.bits), int((offset_s + speed * q_end_s) * rate_hz - N_FFT) // HOP)
    if r_last - r_first < 16:
        return None
    active = reference.sound[r_first:r_last]
    if active.sum() < 16:
        return None
    n = r_last - r_first
    ref_sign = _signs(reference.bits[r_first:r_last])[:, active]
    ref_pos = np.arange(r_first * HOP, (r_last - 1) * HOP + N_FFT, dtype=np.float64)
    query_pos = np.arange(len(samples), dtype=np.float64)

    def aligned(offset: float, speed: float) -> NDArray[np.float32]:
        audio = np.interp((ref_pos - offset) / speed, query_pos, samples, left=0.0, right=0.0)
        return power_spectrum(audio.astype(np.float32))

    def score(offset: float, speed: float) -> tuple[float, float]:
        return _weighted_z(band_changes(aligned(offset, speed), rate_hz)[:, :n][:, active], ref_sign)

    def best_shift(offset: float, speed: float, shifts: NDArray[np.int64]) -> tuple[float, float, float]:
        tried = {float(offset + d): score(offset + d, speed) for d in shifts}
        top = max(tried, key=lambda o: tried[o][0])
        return top, *tried[top]

    # Offsets in samples on the reference's clock; the shift search first, coarse then fine.
    offset, z, ber = best_shift(offset_s * rate_hz, speed, _COARSE_SHIFTS)
    if z < 0.6 * min_z:
        return None
    offset, z, ber = best_shift(offset, speed, _FINE_SHIFTS)
    # Speed: turned about the span's middle, where the offset is already right. A copy at its
    # own speed is the common case, so exactly 1 wins unless another speed agrees clearly better.
    pivot_s = (q_start_s + q_end_s) / 2
    at_pivot = offset + speed * pivot_s * rate_hz
    others = {round(speed + d, 4) for d in (-0.002, -0.001, 0.001, 0.002)}
    others |= {1.0} if abs(speed - 1) < 0.005 else set()
    for other in sorted(others - {speed}):
        o, zo, bo = best_shift(at_pivot - other * pivot_s * rate_hz, other, _STEP_SHIFTS)
        if zo > z * (0.99 if other == 1.0 else 1.01):
            offset, speed, z, ber = o, other, zo, bo
    # Below the 8-sample step: the vertex of the agreement around the best shift.
    left, right = score(offset - 8, speed)[0], score(offset + 8, speed)[0]
    denom = left - 2 * z + right
    if denom < 0:
        offset += 8.0 * float(np.clip(0.5 * (left - right) / denom, -0.5, 0.5))
    harmonic = harmonic_changes(aligned(offset, speed), rate_hz)[:, :n][:, active]
    z_harmonic, _ = _weighted_z(harmonic, _signs(reference.harmonics[r_first:r_last])[:, active])
    return offset / rate_hz, speed, z, ber, z_harmonic


def _signs(words: NDArray[np.uint16]) -> NDArray[np.float32]:
    """Gives back (16, frames) of +-1: the bits of each frame's word."""
    return ((words[None, :] >> _BIT_NUMBERS[:, None]) & 1).astype(np.float32) * 2 - 1


def _weighted_z(change: NDArray[np.float32], ref_sign: NDArray[np.float32]) -> tuple[float, float]:
    """Gives back (z, bit error rate) of the query's changes against the reference's bits.

    Bits are weighed by how sure the query is of each: under noise the weak ones are the wrong
    ones. Without agreement the weighted sum is centred on 0 with the variance the denominator
    holds, so z counts standard deviations beyond chance.
    """
    agree = np.sign(change) * ref_sign
    weight = np.abs(change)
    z = float((agree * weight).sum() / math.sqrt((weight ** 2).sum() * _BITS_PER_SAMPLE + 1e-12))
    return z, float((agree < 0).mean())


def _same_place(a: Match, b: Match) -> bool:
    return a.reference_sha256 == b.reference_sha256 and a.reference_stream == b.reference_stream and \
        abs(a.offset_s - b.offset_s) < 0.5


