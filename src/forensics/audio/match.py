"""Finding a query's audio in the library: landmark votes, a fitted line of time, then the audio itself.

1. The query's peaks are hashed at every speed of the grid and looked up, its rarest hashes
   in the library first, within a budget of votes; each hit votes for (reference, speed,
   offset). 2. Bins with enough votes become candidates (a coarse count first, which can only
   count more, picks the few bins worth counting exactly among millions); their agreeing
   landmarks (less any alone, far from the others in the query: chance) give the speed and
   offset by a line fit (times in int64 frames and float64 seconds: no wrap-around in long
   recordings). 3. The query is resampled onto the
   reference's clock and its per-frame bits compared with the reference's over the frames
   where the reference has sound; the offset is refined below a frame by the shift that
   agrees best (parabolic vertex of the agreement), the speed by turning about the span's
   middle. 4. At that alignment the harmonic bits are compared too: band energies cannot
   tell another take of the same words by the same voice, its harmonics can, and so does where
   they agree best (at the query's own pitch for a copy, a few percent away for another take);
   and the reference's spectral peaks are looked for among the aligned query's, which is what
   is left of a voice under noise that drowns the bits.
   5. These agreements and the landmarks' count, weighed against how clearly the query is heard
   over the match (a copy agrees the more the less noise covers it), give the match its `score`,
   the probability that it is the right recording at the right place as measured on the
   benchmark's tuning half (a logistic fit, below), and its `confidence`: `strong` (score 0.99
   or more), `likely` (0.8 or more) or `weak` (0.5 or more); a match placed elsewhere than a far
   better match of the same stretch of query is weak whatever its score. Below the weak floor
   there is no match, so unseen audio gives an empty list. Each band's precision on the
   held-out half is printed by benchmarks/bench_audio.py.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, TypedDict, get_args

import numpy as np
from numpy.typing import NDArray

from forensics.audio.landmarks import SPEEDS
from forensics.audio.library import FrameFeatures, Library
from forensics.audio.spectrum import (
    HOP,
    N_FFT,
    Features,
    analyse,
    band_changes,
    band_energies,
    harmonic_changes,
    peaks_of,
    power_spectrum,
    voice_bins,
)
from forensics.audio.votes import (
    BUDGET_FLOOR_S,
    MAX_VOTES_PER_S,
    Votes,
    candidates,
    cast_votes,
)

_BIT_NUMBERS = np.arange(16, dtype=np.uint16)
# A query takes more peaks a second than the library keeps: they cost look-ups, not storage,
# and a noisy query's strongest peaks are not always the reference's.
QUERY_PEAKS_PER_S = 45.0
# Bits of neighbouring frames are not independent (64 ms windows, 16 ms hop; 17 overlapping
# bands): the z of a bit error rate is taken over this many bits per independent sample.
_BITS_PER_SAMPLE = 16.0
# The score: P(right recording at the right place) = 1 / (1 + exp(-x)), x = a + b z + c harmonic_z +
# d ln(votes) + e (pitched_z - harmonic_z) + f peaks_z + g query_range_db, a logistic fit by
# benchmarks/fit_audio_score.py on the candidates above the floors below of five tuning corpora (the voices and
# words of bench_audio.py's tuning half only, never the held-out half): the benchmark's own (792 queries: 3, 5
# and 10 s, clean to -5 dB, speed changes, videos, 312 hard negatives), two harder ones (300 queries at -5 and
# -8 dB, 120 hard negatives each) and two of 960 hard negatives (another take of the same words by the same
# voice, in every condition). The harmonics of a copy agree best at its own pitch; those of another take agree
# as well or better pitched a few percent away, whence e < 0. The peaks carry what noise leaves of a voice: at
# -5 dB they set a right alignment 10-30 standard deviations beyond chance where the bits reach 2-4. How
# clearly the query is heard (query_range_db, g < 0) says how much of that evidence a copy would give: before
# it, most right alignments under -5 dB that scored below `likely` had another take, heard clean, agreeing
# as well on every other term. Cross-validated by recording, it took the harder corpus from 0.78 to 0.85
# (-8 dB 0.64 to 0.76) and the benchmark's from 0.977 to 0.98, with 5-6 of the 3,312 hard negatives matched
# (on the first three corpora 3 of 1,392, 4 before); on a third set of voices in neither half it took -5 dB
# from 0.78 to 0.85 and overall recall from 0.937 to 0.933, and of 1,350 retakes the adversarial pass made
# (compressed, gain-controlled, clipped, gated, under hum or noise) the score alone lists 49, where the score
# before listed 111 (the rules of _graded below take it to 25). A term for a speed other than 1 changed nothing and was left out.
_SCORE_COEF = (-2.319, 0.934, -0.411, 1.244, -2.841, 0.394, -1.557)
# query_range_db's cap: above it the range says how much of a query is pause, not how noisy it is (picked
# among 6-12 dB on the tuning corpora and that third set of voices).
RANGE_CAP_DB = 8.0
# The level range a spectral shape's range stands for (a line through the origin fitted on the tuning half's
# queries: 0.81 dB a dB, correlation 0.68), and the margin by which the shape must say a query is clearer
# than its level does before it counts (picked among 0-2 dB on the tuning corpora, the third set of voices
# and the adversarial pass's compressed retakes: 2 dB kept the first two's recall and let through 11 of 360
# of those, where the level alone let through 44 and the score before query_range_db 18).
_SHAPE_TO_LEVEL, _SHAPE_MARGIN_DB = 0.81, 2.0
# No match below these: the aligned band and harmonic bits beyond chance, each at least this far (a lower
# harmonic floor let in another take's alignments whose harmonics barely agree: 7 of 960 matched, not 4).
FLOOR_Z, FLOOR_HARMONIC_Z = 1.5, 1.0
Confidence = Literal["strong", "likely", "weak"]
CONFIDENCES: tuple[Confidence, ...] = get_args(Confidence)
_BANDS: tuple[tuple[float, Confidence], ...] = ((0.99, "strong"), (0.8, "likely"), (0.5, "weak"))  # lowest score of each band
# A match whose evidence (z + harmonic z) is under this share of a match of the same stretch of query
# elsewhere is a lesser echo of that one (the same words said again), weak at most. Not more: copies
# of one recording in a case (a re-encode, an excerpt) match the same stretch with evidence 0.6-0.7
# of the best copy's, and each is a true match.
_CONTRADICTED_SHARE = 0.5
# A match whose fitted speed lies further than this from 1 is outside what the speed search covers (SPEEDS,
# +-3.5 %) and weak at most. No right match on the tuning corpora was fitted beyond 3.4 % (3.8 % on a third set of
# voices), while another take said a few percent faster and higher, which is what a copy played faster is, was:
# both hard negatives the first 960 of the tuning half listed, and 19 of the 49 retakes the adversarial pass
# had listed (no right match of those corpora was lost).
_MAX_LISTED_SPEED_OFF = 0.04
# A match whose harmonics agree clearly (harmonic z above the first) and better still, by more than the second,
# with the query pitched 2-4 % away is another take of the same words at another pitch, however well the rest
# agrees: weak at most (the score weighs that difference, but a long clean retake's bits and peaks outweigh it).
# On the tuning corpora no listed right match has both (the most is 0.5 above, under -5 dB of noise, at a harmonic z
# of 2-3); on the third set of voices one of 280 does, and that set's one listed hard negative; of the
# adversarial passes' listed retakes, 5 of 30 and 75 of 298 (chosen on those, so not a figure of what it does).
_RETAKE_HARMONIC_Z, _RETAKE_PITCHED_MARGIN = 3.0, 0.5
# A match whose harmonics agree clearly (as above) and whose spectral peaks agree best, and by at least the second
# figure (standard deviations) better than at its own pitch, with the aligned query pitched the first or further
# from it (_peaks_pitch) is another take: at another pitch, or said faster or slower at the same pitch, which the
# line of time takes for a speed and the alignment's resampling turns into another pitch. A copy's peaks lie where
# the reference's do once its timing is matched. Weak at most. On the tuning corpora and the third set of voices no
# listed right match's peaks agreed best further than 1 % away (copies 3 s long played 2-3 % faster or slower, whose
# fitted speed was off by as much), but for one of the third set's under -5 dB, 1.5 % away with harmonic z 2.5:
# whence the harmonics' condition, added after. As the benchmark lists, it takes 3 of the first adversarial
# pass's 26 listed retakes and 18 of the second's 232 (picked with those in view: not a figure of elsewhere). The
# figure was meant as 1.25 %, which float rounding made 1.5 % on the grid: the third pass showed that at exactly
# 1.25 % it would take 18 more retakes, and 5 copies (2 s clips slowed 1 %, whose fitted speed snapped to 1, and
# speed ramps), so 1.5 %, the rule as measured, is kept and said.
_RETAKE_PEAK_PITCH_OFF, _RETAKE_PEAK_PITCH_GAIN = 0.015, 1.0
# A match whose peaks agree best with the aligned query pitched this far or further from 1, and by this much
# (standard deviations) more than at 1, is aligned again at the speed that undoes that pitch (_agreement): over
# a short span the band bits barely tell speeds 1 % apart, and exactly 1 wins; the peaks can. Only a speed
# further from 1 is tried (a speed nearer 1 than the fitted line's would make another take said faster or slower at
# the same pitch look like a copy), and taken only where the bits agree at least as well. On the third
# adversarial pass's copies it took 2 s clips slowed or sped 1-1.25 % from 232 found of 240 to 240, and speed
# changes of 2-3 s with codecs and ramps from 233 to 240 (speed error 95th percentile 0.8 % -> 0.4 %); on the
# tuning corpora and the third set of voices it found one more of the benchmark's 480, of 160 queries of 2 s and
# of the third set's 300, and listed none of their 1,712 hard negatives; of the first two passes' retakes it lists
# 2 and 7 more (25 of 1,350, 221 of 2,040), of the third's 624 11 more (136; 146 when a speed nearer 1 was tried
# too, 157 with the bits' 5 % tolerance as well): chosen on the third pass's sets.
_RESPEED_PITCH_OFF, _RESPEED_GAIN = 0.0075, 3.0
# The pitches of the aligned query relative to the reference's at which the reference's peaks are looked for among
# the query's (_peaks_pitch): 0.25 % apart, a sixth of a bin at 1 kHz.
PEAK_PITCHES = np.round(np.arange(0.94, 1.0601, 0.0025), 4)
_PEAK_PITCH_TOLERANCE_BINS = 0.75  # the reference's peak bins are rounded (half a bin), with a quarter for the query's
_PEAK_PITCH_LOW_BIN = 24  # 375 Hz: below it a bin is more than 2.5 % of the frequency, too coarse to tell the pitch
# An alignment whose band bits agree less than this at the best coarse shift is not refined (a third of the
# time of matching went to refining chance): on the tuning corpora of fit_audio_score.py this left out 1 of
# 643 right alignments above the floors, and changed no query's answer.
_GIVE_UP_Z = 1.5
_COARSE_SHIFTS = np.arange(-192, 193, 64)  # samples tried around the landmark offset (8 ms apart)
_FINE_SHIFTS = np.arange(-32, 33, 8)
_MAX_CHECK_S = 12.0
_LONE_S = 2.0  # an agreeing landmark with no other this near it in the query agrees by chance (_together)


@dataclass(frozen=True, slots=True)
class Match:
    """Where a query's audio occurs in one reference; t_reference = offset_s + speed * t_query."""

    reference: str
    reference_sha256: str
    reference_stream: int
    offset_s: float  # reference time at the query's time zero
    speed: float  # reference seconds per query second
    score: float  # 0-1: the probability, measured on the benchmark, that this is the right recording and place
    confidence: Confidence  # one of CONFIDENCES
    agreement: float  # 1 - 2 x bit error rate over the verified frames: 0 chance, 1 identical
    z: float  # how many standard deviations the band bits' agreement is beyond chance
    harmonic_z: float  # the same for the harmonic bits
    pitched_z: float  # the harmonic bits' z with the query pitched 2-4 % up or down (best of those): another take
    peaks_z: float  # how far beyond chance the reference's spectral peaks have a query peak beside them
    query_range_db: float  # how clearly (dB) the query is heard above its noise over the span (Heard.range_db)
    peaks_pitch: float  # the pitch of the aligned query (1: its own) at which the reference's peaks agree best
    peaks_pitch_gain: float  # how much better (standard deviations) they agree there than at its own pitch
    votes: int  # landmarks agreeing in time and speed
    query_start_s: float
    query_end_s: float
    reference_start_s: float
    reference_end_s: float

    def to_json(self) -> dict[str, Any]:
        return {"reference": self.reference, "reference_sha256": self.reference_sha256,
                "reference_stream": self.reference_stream, "offset_s": round(self.offset_s, 4),
                "speed": round(self.speed, 5), "score": round(self.score, 4), "confidence": self.confidence,
                "agreement": round(self.agreement, 4), "z": round(self.z, 2),
                "harmonic_z": round(self.harmonic_z, 2), "pitched_z": round(self.pitched_z, 2),
                "peaks_z": round(self.peaks_z, 2), "query_range_db": round(self.query_range_db, 2),
                "peaks_pitch": round(self.peaks_pitch, 4), "peaks_pitch_gain": round(self.peaks_pitch_gain, 2),
                "votes": self.votes, "query_start_s": round(self.query_start_s, 3),
                "query_end_s": round(self.query_end_s, 3), "reference_start_s": round(self.reference_start_s, 3),
                "reference_end_s": round(self.reference_end_s, 3)}


def match_samples(library: Library, samples: NDArray[np.float32], sample_rate_hz: int, *,
                  features: Features | None = None, fanout: int = 8, min_votes: int = 4,
                  min_z: float = FLOOR_Z, min_harmonic_z: float = FLOOR_HARMONIC_Z,
                  max_candidates: int = 12, max_votes_per_s: float = MAX_VOTES_PER_S,
                  exclude_entries: frozenset[int] = frozenset()) -> list[Match]:
    """Gives back the references in which `samples` occur, best first, weak ones too; empty when none does.

    `fanout` is the query's landmarks per peak (more than the library's, to catch more);
    `min_votes` the landmarks that must agree before the audio is compared; `min_z` how far
    beyond chance (standard deviations) the aligned band bits must agree, `min_harmonic_z`
    the harmonic bits, which tell another take of the same words by the same voice apart
    (the floor under every band: raising them leaves out matches, it does not change scores).
    `max_votes_per_s` bounds the look-ups' work: the query's rarest hashes in the library are
    looked up first, and the commonest left out once their postings would pass that many votes
    a second of query, 10 s at least (only a library of many hours reaches it).
    """
    features = features if features is not None else analyse(samples, sample_rate_hz, peaks_per_s=QUERY_PEAKS_PER_S)
    options = _WindowOptions(fanout=fanout, min_votes=min_votes, min_z=min_z, min_harmonic_z=min_harmonic_z,
                             max_candidates=max_candidates, max_votes_per_s=max_votes_per_s,
                             exclude_entries=exclude_entries)
    window = int(WINDOW_S * sample_rate_hz / HOP)
    if features.n_frames <= window + window // 2:
        return _graded(_match_window(library, samples, sample_rate_hz, features, **options))
    # A long query casts votes in proportion to its length, 10 GB an hour against 100 h of library:
    # it is matched window by window, and what the windows find in the same place is joined.
    # A match already verified in the window before is only confirmed in the next, at its alignment.
    step = window - int(WINDOW_OVERLAP_S * sample_rate_hz / HOP)
    found: list[Match] = []
    for first in range(0, features.n_frames - window // 2, step):
        last = min(features.n_frames, first + window)
        if features.n_frames - last < window // 2:
            last = features.n_frames  # no short window at the end
        start_s = first * HOP / sample_rate_hz
        part = samples[first * HOP:(last - 1) * HOP + N_FFT]
        known = [_later(m, -start_s) for m in found if m.query_end_s >= start_s]
        found += [_later(m, start_s) for m in
                  _match_window(library, part, sample_rate_hz, _frames_of(features, first, last), known=known,
                                **options)]
        if last == features.n_frames:
            break
    return _graded(_joined(found))


def _graded(matches: list[Match]) -> list[Match]:
    """The matches best first, each weak at most when a far better one places the same stretch of query elsewhere,
    when its speed lies beyond what the speed search covers (_MAX_LISTED_SPEED_OFF), when its harmonics agree
    clearly, and better with the query pitched a few percent away than at its own pitch (_RETAKE_HARMONIC_Z), or
    when its peaks agree clearly better at another pitch (_RETAKE_PEAK_PITCH_OFF)."""
    graded = []
    for m in matches:
        better = [o for o in matches if o is not m and not _same_place(o, m)
                  and o.query_start_s < m.query_end_s and m.query_start_s < o.query_end_s
                  and _CONTRADICTED_SHARE * (o.z + o.harmonic_z) > m.z + m.harmonic_z]
        beyond = abs(m.speed - 1.0) > _MAX_LISTED_SPEED_OFF
        # (Pitches lie on a 0.25 % grid, where 0.985 is 1.5 % off to within a float's rounding.)
        retake = m.harmonic_z > _RETAKE_HARMONIC_Z and (
            m.pitched_z - m.harmonic_z > _RETAKE_PITCHED_MARGIN
            or (abs(m.peaks_pitch - 1.0) >= _RETAKE_PEAK_PITCH_OFF - 1e-9
                and m.peaks_pitch_gain >= _RETAKE_PEAK_PITCH_GAIN))
        graded.append(replace(m, confidence="weak") if (better or beyond or retake) and m.confidence != "weak" else m)
    return sorted(graded, key=lambda m: -m.score)


def grade(z: float, harmonic_z: float, votes: int, pitched_z: float, peaks_z: float,
          query_range_db: float) -> tuple[float, Confidence | None]:
    """Gives back (score, confidence) of a verified alignment; confidence None below the weak floor.

    `pitched_z` is the harmonic bits' best z with the query pitched 2-4 % away (Match.pitched_z),
    `peaks_z` the peaks' agreement (Match.peaks_z), `query_range_db` how clearly the query's sound
    stands above its noise there (Heard.range_db).
    """
    a, b, c, d, e, f, g = _SCORE_COEF
    x = (a + b * z + c * harmonic_z + d * math.log(max(votes, 1)) + e * (pitched_z - harmonic_z) + f * peaks_z
         + g * query_range_db)
    # To the 4 decimals a match is written with, so that its band is the one its written score falls in.
    score = round(1.0 / (1.0 + math.exp(-max(-700.0, x))), 4)
    if z < FLOOR_Z or harmonic_z < FLOOR_HARMONIC_Z:
        return score, None
    return score, next((name for lowest, name in _BANDS if score >= lowest), None)


@dataclass(frozen=True, slots=True)
class Heard:
    """What says how clearly a query is heard, frame by frame (frames of its features)."""

    level: NDArray[np.uint8]  # (frames,) voice-band level, 0.5 dB steps (Features.level)
    bands_db: NDArray[np.float32]  # (17, frames) each voice band's level (dB) less the frame's mean band level

    @classmethod
    def of(cls, samples: NDArray[np.float32], sample_rate_hz: int, level: NDArray[np.uint8]) -> Heard:
        energy_db = band_energies(power_spectrum(samples, single=True), sample_rate_hz) * np.float32(10 / math.log(10))
        return cls(level, energy_db - energy_db.mean(axis=0, keepdims=True))

    def range_db(self, first: int, last: int) -> float:
        """Gives back how clearly (dB) the query is heard over frames [first, last) (the whole query when that
        holds fewer than 16): the larger of how far its loudest sound stands above its middle (the 95th less the
        50th percentile of its level) and what its spectral shape says (_SHAPE_TO_LEVEL x the mean over bands of
        the same percentiles' difference of each band's level less the frame's mean, less _SHAPE_MARGIN_DB),
        at most RANGE_CAP_DB.

        The evidence a copy gives grows with how clearly its sound stands above the noise: a clean query
        that agrees with a reference only as well as one under -5 dB of babble does is likelier another
        take, and a query under that babble agreeing so well is the recording. Noise flattens both the
        level and the spectral shape's changes; a compressor or a phone's gain control flattens the level
        alone, so the shape keeps a squashed clean query from passing for a noisy one. Above the cap the
        range says how much of the query is pause, not how noisy it is.
        """
        first, last = max(0, first), max(0, last)
        if last - first < 16:
            first, last = 0, self.level.size
        if last <= first:
            return 0.0
        middle, loud = np.percentile(self.level[first:last], (50, 95))
        shape = np.percentile(self.bands_db[:, first:last], (50, 95), axis=1)
        by_shape = _SHAPE_TO_LEVEL * float((shape[1] - shape[0]).mean()) - _SHAPE_MARGIN_DB
        return float(min(max((loud - middle) / 2, by_shape), RANGE_CAP_DB))  # levels in 0.5 dB steps


WINDOW_S = 60.0  # a query longer than 1.5 windows is matched window by window
WINDOW_OVERLAP_S = 10.0  # so that a transmission of up to this long lies whole in one window


class _WindowOptions(TypedDict):
    """The tuning arguments match passes on to every window's _match_window, unchanged."""

    fanout: int
    min_votes: int
    min_z: float
    min_harmonic_z: float
    max_candidates: int
    max_votes_per_s: float
    exclude_entries: frozenset[int]


def _match_window(library: Library, samples: NDArray[np.float32], sample_rate_hz: int, features: Features, *,
                  fanout: int, min_votes: int, min_z: float, min_harmonic_z: float, max_candidates: int,
                  max_votes_per_s: float, exclude_entries: frozenset[int], known: Sequence[Match] = ()
                  ) -> list[Match]:
    max_votes = int(max_votes_per_s * max(BUDGET_FLOOR_S, features.n_frames * HOP / sample_rate_hz))
    votes = cast_votes(library, features, sample_rate_hz, fanout, max_votes)
    chosen, votes = candidates(votes, min_votes, max_candidates, exclude_entries)
    if not chosen:
        return []
    heard = Heard.of(samples, sample_rate_hz, features.level)
    matches: list[Match] = []
    for entry, speed_idx, offset in chosen:
        found = _verify(library, samples, sample_rate_hz, heard, votes, entry, speed_idx, offset, min_votes,
                        min_z, min_harmonic_z, known, matches)
        if found is not None and not any(_same_place(found, m) for m in matches):
            matches.append(found)
    return sorted(matches, key=lambda m: -m.score)


def _frames_of(features: Features, first: int, last: int) -> Features:
    """The features of frames [first, last), counted from the first."""
    keep = (features.peak_frames >= first) & (features.peak_frames < last)
    return Features(features.sample_rate_hz, last - first, features.peak_frames[keep] - first,
                    features.peak_bins[keep], features.peak_strength_db[keep], features.bits[first:last],
                    features.harmonics[first:last], features.level[first:last])


def _later(m: Match, start_s: float) -> Match:
    """A window's match with the query's times counted from the start of the whole query."""
    return replace(m, offset_s=m.offset_s - m.speed * start_s, query_start_s=m.query_start_s + start_s,
                   query_end_s=m.query_end_s + start_s)


def _joined(found: list[Match]) -> list[Match]:
    """The windows' matches, those in the same place of the same reference made one: the best
    verified one's alignment and scores, over the span all of them cover, with all their votes."""
    joined: list[Match] = []
    for m in sorted(found, key=lambda m: -m.z):
        same = next((i for i, j in enumerate(joined) if _same_place(m, j)), None)
        if same is None:
            joined.append(m)
            continue
        best = joined[same]
        q_start, q_end = min(best.query_start_s, m.query_start_s), max(best.query_end_s, m.query_end_s)
        joined[same] = replace(best, votes=best.votes + m.votes, query_start_s=q_start, query_end_s=q_end,
                               reference_start_s=best.offset_s + best.speed * q_start,
                               reference_end_s=best.offset_s + best.speed * q_end)
    return joined


def _verify(library: Library, samples: NDArray[np.float32], rate_hz: int, heard: Heard, votes: Votes, entry: int,
            speed_idx: int, offset: float, min_votes: int, min_z: float, min_harmonic_z: float,
            known: Sequence[Match] = (), taken: Sequence[Match] = ()) -> Match | None:
    """The candidate's match, or None.

    A candidate in the same place as one of `taken` (this query's matches so far: neighbouring
    bins of one alignment) is not verified again; one in the place of one of `known` (verified
    elsewhere in the query) is confirmed at that alignment, a sixteenth of a search, and searched
    for only when that fails."""
    inlier = ((votes.entries == entry) & (np.abs(votes.speed_idx - speed_idx) <= 1)
              & (np.abs(votes.offsets - offset) <= 3.0))
    pairs = np.unique(np.stack([votes.query_frames[inlier], votes.ref_frames[inlier].astype(np.float64)]), axis=1)
    if pairs.shape[1] < min_votes:
        return None
    # The line of time and the span come from the landmarks that agree together; each landmark on that line
    # is a vote, as the scores were fitted.
    q, r = _together(pairs[0], pairs[1], rate_hz)
    if q.size < min_votes:
        return None
    speed, intercept = _fit_line(q, r, SPEEDS[speed_idx])
    residual = np.abs(r - (intercept + speed * q))
    keep = residual <= 1.5
    if keep.sum() < min_votes:
        return None
    q, r = q[keep], r[keep]
    speed, intercept = _fit_line(q, r, speed)
    on_line = int((np.abs(pairs[1] - (intercept + speed * pairs[0])) <= 1.5).sum())
    # Reference seconds at query time zero, with frame times at the frames' centres.
    offset_s = (intercept * HOP + N_FFT / 2 - speed * N_FFT / 2) / rate_hz
    ref = library.reference(entry)

    def here(m: Match) -> bool:
        return m.reference_sha256 == ref.sha256 and m.reference_stream == ref.stream_index \
            and abs(m.offset_s - offset_s) < 0.5

    if any(here(m) for m in taken):
        return None
    reference = library.frame_features(entry)
    duration_q = len(samples) / rate_hz
    q_start = max(0.0, (q.min() * HOP) / rate_hz - 0.5)
    q_end = min(duration_q, (q.max() * HOP + N_FFT) / rate_hz + 0.5)
    # The audio is compared over at most _MAX_CHECK_S around the middle of the agreeing landmarks:
    # enough for the statistics, and an hour-long query costs no more than a short one.
    middle = float(np.median(q)) * HOP / rate_hz
    check_start = max(q_start, min(middle - _MAX_CHECK_S / 2, q_end - _MAX_CHECK_S))
    check_end = min(q_end, check_start + _MAX_CHECK_S)
    same = next((m for m in known if here(m)), None)
    checked = None
    if same is not None:
        checked = _agreement(samples, rate_hz, reference, same.offset_s, same.speed, check_start, check_end,
                             min_z, search=False)
        if checked is not None and checked.z >= min_z and checked.harmonic_z >= min_harmonic_z:
            checked = _Checked(same.offset_s, same.speed, same.z, (1.0 - same.agreement) / 2, same.harmonic_z,
                               same.pitched_z, same.peaks_z, same.peaks_pitch, same.peaks_pitch_gain)
        else:
            checked = None
    if checked is None:
        checked = _agreement(samples, rate_hz, reference, offset_s, speed, check_start, check_end, min_z)
    if checked is None or checked.z < min_z or checked.harmonic_z < min_harmonic_z:
        return None
    offset_s, speed = checked.offset_s, checked.speed
    # The span both recordings share, within what the landmarks and the bits vouched for.
    q_start = float(max(q_start, -offset_s / speed))
    q_end = float(min(q_end, (ref.duration_s - offset_s) / speed))
    clearly = heard.range_db(int(q_start * rate_hz / HOP), int(q_end * rate_hz / HOP))
    score, confidence = grade(checked.z, checked.harmonic_z, on_line, checked.pitched_z, checked.peaks_z, clearly)
    if confidence is None:
        return None
    return Match(ref.path, ref.sha256, ref.stream_index, float(offset_s), float(speed), score, confidence,
                 1.0 - 2.0 * checked.bit_error_rate, checked.z, checked.harmonic_z, checked.pitched_z, checked.peaks_z,
                 clearly, checked.peaks_pitch, checked.peaks_pitch_gain, on_line, q_start, q_end,
                 float(offset_s + speed * q_start), float(offset_s + speed * q_end))


def _together(q: NDArray[np.float64], r: NDArray[np.float64], rate_hz: int
              ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Gives the agreeing landmarks (query frames, reference frames) less those alone: none other within _LONE_S
    of it in the query (all of them when every one is alone). One that agrees alone agrees by chance; far from
    the clip (a 3 s burst in a 30 s video) it would stretch the span checked, thin the evidence, and tilt the
    fitted speed, and with it the offset."""
    order = np.argsort(q, kind="stable")
    q, r = q[order], r[order]
    apart = np.diff(q) > _LONE_S * rate_hz / HOP
    alone = np.concatenate([[True], apart]) & np.concatenate([apart, [True]])
    return (q, r) if alone.all() else (q[~alone], r[~alone])


def _fit_line(q: NDArray[np.float64], r: NDArray[np.float64], speed: float) -> tuple[float, float]:
    """Gives back (slope, intercept) of r against q; the grid speed when q spans too little to tell."""
    if q.max() - q.min() >= 60:  # about a second of landmarks
        slope, intercept = np.polyfit(q, r, 1)
        if abs(slope - 1.0) <= 0.045:
            return float(slope), float(intercept)
    return speed, float(np.median(r - speed * q))


@dataclass(frozen=True, slots=True)
class _Checked:
    """How the audio agrees at one alignment (see Match)."""

    offset_s: float
    speed: float
    z: float
    bit_error_rate: float
    harmonic_z: float
    pitched_z: float
    peaks_z: float
    peaks_pitch: float
    peaks_pitch_gain: float


def _agreement(samples: NDArray[np.float32], rate_hz: int, reference: FrameFeatures, offset_s: float, speed: float,
               q_start_s: float, q_end_s: float, min_z: float = 0.0, *, search: bool = True,
               ) -> _Checked | None:
    """Gives back how the audio agrees at the best alignment near the landmarks' estimate.

    The alignment is found with the band bits; the harmonic bits and the peaks are then checked at it.
    Without `search`, the alignment given is only scored.
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

    def aligned(offset: float, speed: float, low: int = 0, high: int = 0) -> NDArray[np.float32]:
        """The query's power spectrum on the reference's frames, the offset moved by `low` to `high` samples:
        frame k of the shift d (a whole number of hops from `high`) is frame k + (high - d) / HOP here."""
        positions = np.arange(ref_pos[0] - high, ref_pos[-1] - low + 1, dtype=np.float64)
        audio = np.interp((positions - offset) / speed, query_pos, samples, left=0.0, right=0.0)
        return power_spectrum(audio.astype(np.float32), single=True)

    def score(offset: float, speed: float) -> tuple[float, float]:
        return _weighted_z(band_changes(aligned(offset, speed), rate_hz)[:, :n][:, active], ref_sign)

    def scores(offset: float, speed: float, shifts: NDArray[np.int64]) -> dict[float, tuple[float, float]]:
        """score() of each shift of the offset, in the order of `shifts`.

        Shifts a whole number of hops apart share their frames: the audio is resampled once over
        all their spans and transformed once, and each takes its frames from that.
        """
        found: dict[int, tuple[float, float]] = {}
        for phase in sorted({int(d) % HOP for d in shifts}):
            group = [int(d) for d in shifts if int(d) % HOP == phase]
            high = max(group)
            power = aligned(offset, speed, min(group), high)
            for d in group:
                first = (high - d) // HOP
                found[d] = _weighted_z(band_changes(power[:, first:first + n], rate_hz)[:, active], ref_sign)
        return {float(offset + d): found[int(d)] for d in shifts}

    def best_shift(offset: float, speed: float, shifts: NDArray[np.int64]) -> tuple[float, float, float]:
        tried = scores(offset, speed, shifts)
        top = max(tried, key=lambda o: tried[o][0])
        return top, *tried[top]

    ref_harmonics = _signs(reference.harmonics[r_first:r_last])[:, active]

    def checked(offset: float, speed: float, z: float, ber: float) -> _Checked:
        """The band bits' agreement at this alignment with the harmonic bits' (also pitched 2-4 % up or down:
        the best of those) and the peaks' (also the pitch at which they agree best)."""
        power = aligned(offset, speed)
        harmonic = _weighted_z(harmonic_changes(power, rate_hz)[:, :n][:, active], ref_harmonics)[0]
        shifted = max(_weighted_z(harmonic_changes(_pitched(power, factor), rate_hz)[:, :n][:, active],
                                  ref_harmonics)[0] for factor in _PITCH_FACTORS)
        frames, bins, _ = peaks_of(power, rate_hz, QUERY_PEAKS_PER_S)
        return _Checked(offset / rate_hz, speed, z, ber, harmonic, shifted,
                        _peaks_z(frames, bins, power.shape[0], reference, r_first, r_last, rate_hz),
                        *_peaks_pitch(frames, bins, power.shape[1], reference, r_first, r_last, rate_hz))

    if not search:
        return checked(offset_s * rate_hz, speed, *score(offset_s * rate_hz, speed))
    # Offsets in samples on the reference's clock; the shift search first, coarse then fine.
    offset, z, ber = best_shift(offset_s * rate_hz, speed, _COARSE_SHIFTS)
    if z < max(0.6 * min_z, _GIVE_UP_Z):
        return None
    offset, z, ber = best_shift(offset, speed, _FINE_SHIFTS)
    # Speed: turned about the span's middle, where the offset is already right. A copy at its
    # own speed is the common case, so exactly 1 wins unless another speed agrees clearly better.
    pivot_s = (q_start_s + q_end_s) / 2
    at_pivot = offset + speed * pivot_s * rate_hz
    others = {round(speed + d, 4) for d in (-0.002, -0.001, 0.001, 0.002)}
    # The landmarks' speed is known to about 0.1 s over the span (over 3 s, to 3 %), so 1 is tried
    # within that; where its drift is under 50 ms the bits barely tell speeds apart, and 1 needs only
    # to come near, for an offset extrapolated to the query's zero from a short span far into it
    # moves with the speed.
    drift_s = abs(speed - 1) * (q_end_s - q_start_s)
    others |= {1.0} if drift_s < 0.1 or abs(speed - 1) < 0.005 else set()
    for other in sorted(others - {speed}):
        o = at_pivot - other * pivot_s * rate_hz
        zo, bo = score(o, other)
        if other == 1.0 and drift_s >= 0.01:  # the pivot's offset is off by up to the drift: searched again
            o, zo, bo = best_shift(best_shift(o, other, _COARSE_SHIFTS)[0], other, _FINE_SHIFTS)
        if zo > z * ((0.95 if drift_s < 0.05 else 0.99) if other == 1.0 else 1.01):
            offset, speed, z, ber = o, other, zo, bo

    def vertex(offset: float, speed: float, z: float) -> float:
        """Gives the offset below the 8-sample step: the vertex of the agreement around the best shift."""
        left, right = score(offset - 8, speed)[0], score(offset + 8, speed)[0]
        denom = left - 2 * z + right
        return offset + 8.0 * float(np.clip(0.5 * (left - right) / denom, -0.5, 0.5)) if denom < 0 else offset

    found = checked(vertex(offset, speed, z), speed, z, ber)
    respeed = speed * found.peaks_pitch  # the speed at which the aligned query's pitch would be the reference's
    if abs(found.peaks_pitch - 1.0) >= _RESPEED_PITCH_OFF - 1e-9 and found.peaks_pitch_gain >= _RESPEED_GAIN \
            and abs(speed - 1.0) < abs(respeed - 1.0) <= _MAX_LISTED_SPEED_OFF:
        o = offset + (speed - respeed) * pivot_s * rate_hz  # turned about the span's middle
        o, zo, bo = best_shift(best_shift(o, respeed, _COARSE_SHIFTS)[0], respeed, _FINE_SHIFTS)
        if zo >= z:
            again = checked(vertex(o, respeed, zo), respeed, zo, bo)
            if abs(again.peaks_pitch - 1.0) < abs(found.peaks_pitch - 1.0):
                found = again
    return found


def _peaks_z(frames: NDArray[np.float64], bins: NDArray[np.float32], n_bins: int, reference: FrameFeatures,
             r_first: int, r_last: int, rate_hz: int) -> float:
    """Gives back how far beyond chance (standard deviations) the reference's peaks over frames [r_first, r_last)
    have a peak of the aligned query within a frame and a bin (`frames`, `bins`: the query's peaks in its
    power spectrum of `n_bins` bins over those frames).

    Under noise that drowns the band bits (-5 dB of crowd or engine), a voice's formant peaks still stand
    out where it speaks. By chance a peak falls near a query peak as often as the query's peaks, each
    widened to 3 x 3 cells, cover the voice band: a binomial count against that share.
    """
    n = r_last - r_first
    lo, hi = np.searchsorted(reference.peak_frames, (r_first, r_last))
    if hi - lo < 4:
        return 0.0
    ref_frames = reference.peak_frames[lo:hi] - r_first
    ref_bins = reference.peak_bins[lo:hi].astype(np.int64)
    at = np.rint(frames).astype(np.int64)
    inside = (at >= 0) & (at < n)
    at, at_bin = at[inside], np.rint(bins[inside]).astype(np.int64)
    if at.size < 2:
        return 0.0
    # Cells a query peak covers, with a border of one cell all round so that no index wraps.
    near = np.zeros((n_bins + 2, n + 2), bool)
    for dt in (-1, 0, 1):
        for db in (-1, 0, 1):
            near[np.clip(at_bin + db + 1, 0, n_bins + 1), np.clip(at + dt + 1, 0, n + 1)] = True
    hits = int(near[ref_bins + 1, ref_frames + 1].sum())
    v_lo, v_hi = voice_bins(rate_hz)
    share = float(near[v_lo + 1:v_hi + 1, 1:n + 1].mean())
    expected = ref_frames.size * share
    return (hits - expected) / math.sqrt(max(expected * (1.0 - share), 1e-9))


def _peaks_pitch(frames: NDArray[np.float64], bins: NDArray[np.float32], n: int, reference: FrameFeatures,
                 r_first: int, r_last: int, rate_hz: int) -> tuple[float, float]:
    """Gives back (pitch, gain): the pitch of the aligned query relative to the reference's (one of PEAK_PITCHES)
    at which most of the reference's peaks over frames [r_first, r_last) above _PEAK_PITCH_LOW_BIN have a peak
    of the query within a frame and _PEAK_PITCH_TOLERANCE_BINS once its frequencies are divided by it, and how far
    (standard deviations of that count by chance) more of them have one there than at its own pitch. (1.0, 0.0)
    when too few peaks tell.

    A copy's peaks, once its timing is matched (which undoes a speed change's pitch too), lie where the
    reference's do, to the half bin the library keeps; another take's harmonics lie elsewhere, the further the
    higher they are: a pitch 1 % away moves a peak at 2 kHz by more than a bin.
    """
    lo, hi = np.searchsorted(reference.peak_frames, (r_first, r_last))
    ref_frames = reference.peak_frames[lo:hi] - r_first
    ref_bins = reference.peak_bins[lo:hi].astype(np.float64)
    high = ref_bins >= _PEAK_PITCH_LOW_BIN
    ref_frames, ref_bins = ref_frames[high], ref_bins[high]
    if ref_frames.size < 4 or frames.size < 2 or n < 1:
        return 1.0, 0.0
    order = np.argsort(frames, kind="stable")
    at, q_bins = np.rint(frames[order]).astype(np.int64), bins[order].astype(np.float64)
    # Each pair of a reference peak and a query peak within a frame of it, over every pitch at once.
    first, last = np.searchsorted(at, ref_frames - 1, "left"), np.searchsorted(at, ref_frames + 1, "right")
    per = last - first
    ref_of = np.repeat(np.arange(ref_frames.size), per)
    query_of = np.arange(ref_of.size) - np.repeat(np.cumsum(per) - per, per) + np.repeat(first, per)
    pitch_of, pair = np.nonzero(np.abs(q_bins[query_of][None, :] / PEAK_PITCHES[:, None] - ref_bins[ref_of][None, :])
                                <= _PEAK_PITCH_TOLERANCE_BINS)
    found = np.zeros((PEAK_PITCHES.size, ref_frames.size), bool)
    found[pitch_of, ref_of[pair]] = True
    counts = found.sum(axis=1)
    v_lo, v_hi = voice_bins(rate_hz)
    share = min(0.95, frames.size * 3 * 2 * _PEAK_PITCH_TOLERANCE_BINS / (n * (v_hi - max(v_lo, _PEAK_PITCH_LOW_BIN))))
    spread = math.sqrt(max(ref_frames.size * share * (1.0 - share), 1e-9))
    best, own = int(np.argmax(counts)), int(np.argmin(np.abs(PEAK_PITCHES - 1.0)))
    return float(PEAK_PITCHES[best]), float(counts[best] - counts[own]) / spread


_PITCH_FACTORS = (0.96, 0.97, 0.98, 1.02, 1.03, 1.04)


def _pitched(power: NDArray[np.float32], factor: float) -> NDArray[np.float32]:
    """Gives back the power spectrum (bins x frames) with every frequency multiplied by `factor`."""
    source = np.arange(power.shape[0]) / factor
    lo = np.minimum(source.astype(np.int64), power.shape[0] - 2)
    frac = (source - lo).astype(np.float32)[:, None]
    return power[lo] * (1 - frac) + power[lo + 1] * frac


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


