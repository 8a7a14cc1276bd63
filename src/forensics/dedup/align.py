"""Whether two photos or videos show the same recording, and where: `compare()` and what it gives.

Videos are aligned in time the way audio landmarks are: every pair of frames whose hashes
are close votes for the time offset between the two files (and for the orientation and the
pair of regions, see normalise.SCALES, that made them close). The winning offset pairs each
frame of one file with the frame of the other shown at the same moment of the footage; the
longest run of such pairs that stay close is the matched span, and the votes left once it is
taken away find the other stretches the two share (a compilation may hold several).

Close hashes are not enough: footage of one place looks alike in any recording. A pair is a
`PairMatch` (the same recording) only with the evidence of evidence.py (texture, motion, the
still's moment); otherwise, if the hashes are close, it is a `SceneMatch`, a lead to check.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, cast, get_args

import numpy as np
from numpy.typing import NDArray

from forensics.dedup import evidence as ev, timeline as tl
from forensics.dedup.hashes import HASH_BITS, ORIENTATION_COUNT, hamming
from forensics.dedup.media_hashes import MediaHashes
from forensics.dedup.normalise import SCALES

Relation = Literal["same", "a_contains_b", "b_contains_a", "overlap"]
RELATIONS: tuple[Relation, ...] = get_args(Relation)
_SWAPPED: dict[Relation, Relation] = {"a_contains_b": "b_contains_a", "b_contains_a": "a_contains_b"}
# The orientation that undoes each of hashes.ORIENTATIONS: the quarter turns undo each other.
_INVERSE = (0, 1, 2, 3, 4, 6, 5, 7)
Segment = tuple[float, float, float, float]  # a_start_s, a_end_s, b_start_s, b_end_s
_FAR = HASH_BITS  # the distance given to frames with too little texture to weigh
_Pixel = TypeVar("_Pixel", bound=np.generic)  # the pictures' type, kept by orient
_MAX_SEGMENTS = 8


@dataclass(frozen=True, slots=True)
class PairMatch:
    """Two files shown to be the same recording (or one holding part of the other), and which part of each."""

    a: str  # MediaHashes.key
    b: str
    kind: str  # "image" when either is a photo, else "video"
    relation: Relation  # one of RELATIONS: "same" footage, one holds the whole of the other, or a shared part
    score: float  # 0..1: geometric mean of hash agreement and the evidence's agreement (evidence.combined_score)
    a_start_s: float | None  # the (longest) matched span in a; None for a photo
    a_end_s: float | None
    b_start_s: float | None
    b_end_s: float | None
    orientation: int = 0  # how b was turned or mirrored to look like a (hashes.ORIENTATIONS)
    offset_s: float | None = None  # a's time minus b's time for the same moment of the footage
    motion_correlation: float | None = None  # two videos: of the spans' changes over time
    confidence: ev.Confidence = "likely"  # evidence.CONFIDENCES: "strong", "likely" or "weak"
    distance_bits: float | None = None  # median Hamming distance of the matched frames
    moment_margin_bits: int | None = None  # a still in a video: how much closer its moment is than the rest
    moment_fit: float | None = None  # a still in a video: rms difference of normalised thumbnails (evidence.moment_fit)
    segments: tuple[Segment, ...] = ()  # two videos: every shared stretch, the longest first
    moving_agreement: float | None = None  # two videos checked at full size: how alike what moves moves (verify.py)
    registered_fit: float | None = None  # a still matched on its thumbnail lined up first (evidence.registered_fit)
    moment_ratio: float | None = None  # a still in a video: how much worse its best fit a second away is (moment_fit)
    unexplained_change: float | None = None  # a still checked at full size: how much of it changed (still_check.py)

    def swapped(self) -> PairMatch:
        """Gives the same match with a and b the other way round."""
        return dataclasses.replace(
            self, a=self.b, b=self.a, relation=_SWAPPED.get(self.relation, self.relation),
            a_start_s=self.b_start_s, a_end_s=self.b_end_s, b_start_s=self.a_start_s, b_end_s=self.a_end_s,
            orientation=_INVERSE[self.orientation], offset_s=None if self.offset_s is None else -self.offset_s,
            segments=tuple((b0, b1, a0, a1) for a0, a1, b0, b1 in self.segments))

    def to_json(self) -> dict[str, object]:
        return {"a": self.a, "b": self.b, "kind": self.kind, "relation": self.relation, "score": self.score,
                "confidence": self.confidence, "a_start_s": self.a_start_s, "a_end_s": self.a_end_s,
                "b_start_s": self.b_start_s, "b_end_s": self.b_end_s,
                "segments": [list(s) for s in self.segments],
                "evidence": {"distance_bits": self.distance_bits, "motion_correlation": self.motion_correlation,
                             "moment_margin_bits": self.moment_margin_bits, "moment_fit": self.moment_fit,
                             "registered_fit": self.registered_fit, "moment_ratio": self.moment_ratio,
                             "unexplained_change": self.unexplained_change,
                             "moving_agreement": self.moving_agreement, "orientation": self.orientation,
                             "offset_s": self.offset_s}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PairMatch:
        """Gives back the match `to_json` wrote; what a match recorded before it was kept reads as unknown
        (None), a confidence as "likely". Raises KeyError, TypeError or ValueError when `data` is not one."""
        if data["relation"] not in RELATIONS or data.get("confidence", "likely") not in ev.CONFIDENCES:
            raise ValueError(f"unknown relation or confidence: {data['relation']!r}, {data.get('confidence')!r}")
        evidence = data.get("evidence") or {}
        return cls(a=str(data["a"]), b=str(data["b"]), kind=str(data["kind"]), relation=data["relation"],
                   score=data["score"], a_start_s=data.get("a_start_s"), a_end_s=data.get("a_end_s"),
                   b_start_s=data.get("b_start_s"), b_end_s=data.get("b_end_s"),
                   orientation=evidence.get("orientation", 0), offset_s=evidence.get("offset_s"),
                   motion_correlation=evidence.get("motion_correlation"),
                   confidence=data.get("confidence", "likely"), distance_bits=evidence.get("distance_bits"),
                   moment_margin_bits=evidence.get("moment_margin_bits"), moment_fit=evidence.get("moment_fit"),
                   segments=tuple(cast("Segment", tuple(s)) for s in data.get("segments") or ()),
                   moving_agreement=evidence.get("moving_agreement"), registered_fit=evidence.get("registered_fit"),
                   moment_ratio=evidence.get("moment_ratio"), unexplained_change=evidence.get("unexplained_change"))


@dataclass(frozen=True, slots=True)
class SceneMatch:
    """Two files that look alike (same place, camera, person or framing) but are not shown to be one recording."""

    a: str
    b: str
    kind: str  # "image" when either is a photo, else "video"
    score: float  # 0..1: hash agreement of the closest frames (no evidence of one recording)
    reason: str  # why it is not a PairMatch, in a sentence
    a_time_s: float | None = None  # where in a the closest frame is; None for a photo
    b_time_s: float | None = None
    distance_bits: float | None = None  # of the closest frames
    moment_fit: float | None = None  # a photo and a video: how closely the photo fits its best frame (PairMatch)

    def swapped(self) -> SceneMatch:
        """Gives the same lead with a and b the other way round."""
        return dataclasses.replace(self, a=self.b, b=self.a, a_time_s=self.b_time_s, b_time_s=self.a_time_s)

    def to_json(self) -> dict[str, object]:
        return {"a": self.a, "b": self.b, "kind": self.kind, "relation": "same_scene", "score": self.score,
                "reason": self.reason, "a_time_s": self.a_time_s, "b_time_s": self.b_time_s}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SceneMatch:
        """Gives back the lead `to_json` wrote (which leaves out the closest frames' distance and fit: None)."""
        return cls(a=str(data["a"]), b=str(data["b"]), kind=str(data["kind"]), score=data["score"],
                   reason=str(data["reason"]), a_time_s=data.get("a_time_s"), b_time_s=data.get("b_time_s"))


@dataclass(frozen=True, slots=True)
class _Config:
    orientation: int
    scale_a: int
    scale_b: int
    distances: NDArray[np.uint8]  # Na x Nb Hamming distances under this configuration
    nearest: int = 0  # the smallest of them
    close: int = 0  # how many are within the voting limit


def compare(a: MediaHashes, b: MediaHashes, *, max_distance_bits: int = 10, span_distance_bits: int | None = None,
            min_span_s: float = 1.8, whole_share: float = 0.85, max_gap_s: float = 1.0,
            min_close_share: float = 0.6) -> PairMatch | SceneMatch | None:
    """Gives how `a` and `b` match: the same recording, the same scene only, or None.

    Photos match when some region and orientation of each are within `max_distance_bits`.
    Video frames within `max_distance_bits` vote for an offset; a matched span is a run of
    frames paired at that offset within `span_distance_bits` (default 4 bits more; gaps up
    to `max_gap_s`) that lasts `min_span_s` or `whole_share` of the shorter video. Where the
    two overlap over `whole_share` of the shorter one and `min_close_share` of the textured
    pairs are close, the whole overlap is the span (a whole copy, whatever its crop). A file
    covered to `whole_share` (or within a second of its ends) is held whole by the other.
    Frames with too little texture neither vote nor count (evidence.textured).
    """
    if span_distance_bits is None:
        span_distance_bits = max_distance_bits + 4  # a frame of a run may drift further than a voter
    if a.frame_count * b.frame_count > MAX_FRAME_PAIRS:
        # Two long videos: every frame against every other would take gigabytes. Every k-th frame of
        # each is compared (a 4-fps sampling of two hours at 1 fps and less), a coarser alignment.
        stride = int(np.ceil(np.sqrt(a.frame_count * b.frame_count / MAX_FRAME_PAIRS)))
        a, b = _thinned(a, stride), _thinned(b, stride)
    if (b.frame_count, a.key) > (a.frame_count, b.key):
        # The same answer whichever way round: the file with more frames is always the one
        # the other is aligned and interpolated to.
        found = compare(b, a, max_distance_bits=max_distance_bits, span_distance_bits=span_distance_bits,
                        min_span_s=min_span_s, whole_share=whole_share, max_gap_s=max_gap_s,
                        min_close_share=min_close_share)
        return None if found is None else found.swapped()
    configs = _configs(a, b, max_distance_bits)
    if not configs:
        return None
    if a.kind == "image" or b.kind == "image":
        return _still_match(a, b, configs, max_distance_bits)
    return _video_match(a, b, configs, max_distance_bits=max_distance_bits, span_distance_bits=span_distance_bits,
                        min_span_s=min_span_s, whole_share=whole_share, max_gap_s=max_gap_s,
                        min_close_share=min_close_share)


MAX_FRAME_PAIRS = 4000 * 4000  # two videos' sampled frames compared, at most (compare)


def _thinned(media: MediaHashes, stride: int) -> MediaHashes:
    """Gives every `stride`-th frame of a video's hashes (a photo's one frame as it is)."""
    if stride <= 1 or media.frame_count <= 1:
        return media
    return dataclasses.replace(media, times_s=media.times_s[::stride], hashes=media.hashes[::stride],
                               thumbs=media.thumbs[::stride])


def _configs(a: MediaHashes, b: MediaHashes, limit: int = 10) -> list[_Config]:
    """Gives the distance matrices for every orientation of b and every pair of regions of a and b.

    Two long videos would need more memory for all of them than a worker has (two 15-minute
    videos: 0.9 GB, and eight times that on the way): their distances are worked out a stretch of
    a's frames at a time, and only the configurations alignment can use are kept (the most close
    pairs, down to half as many: _video_match; at most _KEPT_CONFIGS).
    """
    if a.frame_count == 0 or b.frame_count == 0:
        return []
    dull_a, dull_b = ~ev.textured(a.thumbs[:, 0]), ~ev.textured(b.thumbs[:, 0])
    shape = (a.hashes.shape[0], b.hashes.shape[0], len(SCALES), len(SCALES), ORIENTATION_COUNT)
    rows = max(1, _DISTANCE_BYTES // (8 * int(np.prod(shape[1:]))))  # the XOR works in 8-byte words

    def distances(start: int, stop: int, config: tuple[int, int, int] | None = None) -> NDArray[np.uint8]:
        """Gives a's frames start:stop against every frame of b: in every configuration, or in `config` alone
        (region of a, region of b, orientation of b)."""
        if config is None:
            part = hamming(a.hashes[start:stop, None, :, None, 0:1], b.hashes[None, :, None, :, :])
        else:
            part = hamming(a.hashes[start:stop, None, config[0], 0], b.hashes[None, :, config[1], config[2]])
        part[dull_a[start:stop]] = _FAR
        part[:, dull_b] = _FAR
        return part

    if int(np.prod(shape)) <= _DISTANCE_BYTES:
        every = np.empty(shape, np.uint8)
        for start in range(0, shape[0], rows):  # one broadcast for a stretch of a's frames
            every[start:start + rows] = distances(start, start + rows)
        nearest, close = every.min(axis=(0, 1)), (every <= limit).sum(axis=(0, 1))
        kept = np.ones(shape[2:], bool)
    else:
        nearest = np.full(shape[2:], 255, np.uint8)
        close = np.zeros(shape[2:], np.int64)
        for start in range(0, shape[0], rows):
            part = distances(start, start + rows)
            nearest = np.minimum(nearest, part.min(axis=(0, 1)))
            close += (part <= limit).sum(axis=(0, 1))
        ranked = np.argsort(-close, axis=None, kind="stable")[:_KEPT_CONFIGS]
        kept = np.zeros(shape[2:], bool)
        kept.flat[ranked] = close.flat[ranked] >= max(1, close.max() / 2)
        every = None
    out = []
    for orientation in range(ORIENTATION_COUNT):
        for scale_a in range(len(SCALES)):
            for scale_b in range(len(SCALES)):  # a copy cropped to 70% is the source's 70% region whole
                if not kept[scale_a, scale_b, orientation]:
                    continue
                if every is not None:
                    matrix = every[:, :, scale_a, scale_b, orientation]
                else:
                    step = rows * int(np.prod(shape[2:]))  # one configuration: that many more rows at once
                    matrix = np.concatenate([distances(start, start + step, (scale_a, scale_b, orientation))
                                             for start in range(0, shape[0], step)])
                out.append(_Config(orientation, scale_a, scale_b, matrix, int(nearest[scale_a, scale_b, orientation]),
                                   int(close[scale_a, scale_b, orientation])))
    return out


_DISTANCE_BYTES = 256 * 2**20  # distances of two videos held at once (and the XOR's words of a stretch)
_KEPT_CONFIGS = 12


def _still_match(a: MediaHashes, b: MediaHashes, configs: list[_Config], limit: int) -> PairMatch | SceneMatch | None:
    best = min(configs, key=lambda c: c.nearest)
    distance = best.nearest
    if distance > limit:
        return None
    hashes = ev.hash_agreement(np.array([distance]))
    video_is_a = a.kind == "video"
    video = a if video_is_a else b if b.kind == "video" else None
    fit = _best_fit(a, b, configs, limit)  # (fit, ratio, moment, config) of the thumbnails
    fitted = fit is not None and (fit[0] <= ev.EXACT_MOMENT_FIT or (
        fit[0] <= ev.MOMENT_FIT and (fit[1] is None or fit[1] >= ev.MOMENT_RATIO)))
    if video is None:
        # Two photos: close hashes, or (a crop moves the hashed regions) thumbnails that fit.
        if distance > ev.STILL_SAME_BITS and not fitted:
            return SceneMatch(a.key, b.key, "image", round(hashes, 4),
                              f"the closest pictures differ by {distance} of 64 hash bits, more than copies of one "
                              "picture do: alike, not shown to be the same", None, None, float(distance))
        confidence: ev.Confidence = "strong" if distance <= ev.STRONG_STILL_BITS else "likely"
        return PairMatch(a.key, b.key, "image", "same",
                         ev.combined_score(hashes, 1.0 - fit[0] if fitted and fit else 0.75),
                         None, None, None, None, orientation=best.orientation, confidence=confidence,
                         distance_bits=float(distance), moment_fit=None if fit is None else round(fit[0], 3))
    # A photo and a video: the photo must fit one moment of the video, and that moment stand out.
    plain_fit, registered = None if fit is None else fit[0], False
    plain_ratio = None if fit is None else fit[1]
    if fit is not None and not fitted:
        # Two edits of one picture (a crop against another crop, a border) sit up to a pixel and
        # a tenth in scale apart: lined up, the footage's own picture fits it to coding noise,
        # which no other moment or take does, however still the footage.
        lined_up = _best_fit(a, b, configs, limit, measure=ev.registered_fit)
        if lined_up is not None and lined_up[0] <= ev.EXACT_MOMENT_FIT:
            fit, fitted, registered = lined_up, True, True
    stacked = np.stack([c.distances.min(axis=1 if video_is_a else 0) for c in configs])
    profile = stacked.min(axis=0)  # the still's distance to each frame of the video, any region or turn
    margin = ev.moment_margin_bits(profile, video.times_s, int(np.argmin(profile)))
    moment = fit[2] if fitted and fit else int(np.argmin(profile))
    when = float(video.times_s[moment])
    a_time, b_time = (when, None) if video_is_a else (None, when)
    stands_out = distance <= ev.STILL_SAME_BITS and (margin is None or margin >= ev.MIN_MOMENT_MARGIN_BITS)
    # A still that fits a moment as closely as a frame of it does, where that moment does not stand out (nothing
    # moves), is one the full size alone can tell from another moment: a likely match only that check confirms
    # (thumbnails_unsure); without the files, the lead below.
    unsure = not fitted and fit is not None and fit[0] <= ev.MOMENT_FIT
    if not fitted and not stands_out and not unsure:
        return SceneMatch(a.key, b.key, "image", round(hashes, 4), no_moment_reason(plain_fit, distance, margin),
                          a_time, b_time, float(distance), None if fit is None else round(fit[0], 3))
    if unsure and fit:
        confidence, evidence = "likely", 1.0 - fit[0]
    elif fitted and fit:
        strong = (not registered and distance <= 2 * ev.STRONG_STILL_BITS and fit[0] <= ev.STRONG_MOMENT_FIT
                  and (fit[1] is None or fit[1] >= ev.STRONG_MOMENT_RATIO))
        confidence, evidence = ("strong" if strong else "likely"), 1.0 - fit[0]
    else:
        confidence, evidence = "weak", 0.5  # the hashes single out a moment, the pictures do not confirm it
    relation: Relation = "a_contains_b" if video_is_a else "b_contains_a"  # a photo as a frame of a video
    return PairMatch(a.key, b.key, "image", relation, ev.combined_score(hashes, evidence), a_time, a_time,
                     b_time, b_time, orientation=(fit[3] if fitted and fit else best).orientation,
                     confidence=confidence, distance_bits=float(distance), moment_margin_bits=margin,
                     moment_fit=None if plain_fit is None else round(plain_fit, 3),
                     registered_fit=round(fit[0], 3) if registered and fit else None,
                     moment_ratio=None if plain_ratio is None else round(plain_ratio, 3))


def no_moment_reason(fit: float | None, distance: float, margin: int | None) -> str:
    """Gives why a still is a lead, not a match: it fits no moment of the video closely enough to be a frame of it."""
    shown = "no fit" if fit is None else f"fit {fit:.2f}"
    return (f"the photo fits no moment of the video closely ({shown}; {distance:g} bits at best, within {margin} bits "
            f"of frames more than {ev.MOMENT_WINDOW_S:g} s away): the same scene, not shown to be taken from this "
            "video")


def thumbnails_unsure(match: PairMatch) -> bool:
    """Whether a still's match stands on the full-size check alone: its thumbnails fit a moment of the video (within
    MOMENT_FIT), but not closer than other moments (MOMENT_RATIO) nor as exactly as the footage's own picture does."""
    return (match.kind == "image" and (match.a_start_s is not None or match.b_start_s is not None)
            and match.registered_fit is None and match.moment_fit is not None
            and match.moment_fit >= ev.EXACT_MOMENT_FIT and match.moment_ratio is not None
            and match.moment_ratio <= ev.MOMENT_RATIO and match.confidence == "likely")  # rounded: bounds unsure


def _best_fit(a: MediaHashes, b: MediaHashes, configs: list[_Config], limit: int,
              measure: Callable[..., tuple[int, float, float | None]] = ev.moment_fit,
              ) -> tuple[float, float | None, int, _Config] | None:
    """Gives (fit, ratio, video frame, config) of the closest thumbnails over the configs with hashes within `limit`.

    `measure` is evidence.moment_fit, or evidence.registered_fit to line the two up first.
    """
    best = None
    nearest = min(c.nearest for c in configs)
    for config in configs:
        # Regions and turns far worse than the best one are not how the two line up.
        if config.nearest > min(limit, nearest + 4):
            continue
        ia, ib = np.unravel_index(int(np.argmin(config.distances)), config.distances.shape)
        if a.kind == "video":
            found = measure(a.thumbs[:, config.scale_a], orient(b.thumbs[ib, config.scale_b], config.orientation),
                            a.times_s)
        elif b.kind == "video":
            found = measure(orient(b.thumbs[:, config.scale_b], config.orientation), a.thumbs[ia, config.scale_a],
                            b.times_s)
        else:
            found = measure(a.thumbs[ia:ia + 1, config.scale_a],
                            orient(b.thumbs[ib, config.scale_b], config.orientation), np.zeros(1))
        moment, fit, ratio = found
        if best is None or fit < best[0]:
            best = (fit, ratio, moment, config)
    return best


@dataclass(frozen=True, slots=True)
class _Span:
    pairs: NDArray[np.intp]  # (index in a, index in b) of the span's frames
    offset_s: float
    distances: NDArray[np.uint8]


def _video_match(a: MediaHashes, b: MediaHashes, configs: list[_Config], *, max_distance_bits: int,
                 span_distance_bits: int, min_span_s: float, whole_share: float, max_gap_s: float,
                 min_close_share: float) -> PairMatch | SceneMatch | None:
    step_s = tl.step_s(a.times_s, b.times_s)
    best = None
    counts = [c.close for c in configs]
    # The true orientation and regions have by far the most close pairs; the rest need no vote.
    for config, count in zip(configs, counts):
        if count == 0 or count < 0.5 * max(counts):
            continue
        voted = tl.vote(a.times_s, b.times_s, config.distances, max_distance_bits, step_s)
        if voted is not None and (best is None or voted[0] > best[0]):
            best = (voted[0], voted[1], config)
    if best is None:
        return None
    config = best[2]
    duration_a, duration_b = a.duration_s or 0.0, b.duration_s or 0.0
    shortest = min(duration_a, duration_b)
    spans: list[_Span] = []
    distances = config.distances.copy()
    candidates: NDArray[np.float64] | None = best[1]
    while candidates is not None and len(spans) < _MAX_SEGMENTS:
        span = _span_at(a, b, distances, candidates, max_distance_bits=max_distance_bits,
                        span_distance_bits=span_distance_bits, step_s=step_s, max_gap_s=max_gap_s,
                        whole=not spans, whole_share=whole_share, min_close_share=min_close_share)
        if span is None:
            break
        length = _b_end(b, span, step_s, duration_b) - float(b.times_s[span.pairs[0, 1]])
        if length < min(min_span_s, whole_share * shortest):
            break
        spans.append(span)
        # What this stretch holds is taken; what is left votes for the next one.
        distances[span.pairs[:, 0].min():span.pairs[:, 0].max() + 1, :] = _FAR
        distances[:, span.pairs[:, 1].min():span.pairs[:, 1].max() + 1] = _FAR
        voted = tl.vote(a.times_s, b.times_s, distances, max_distance_bits, step_s)
        candidates = None if voted is None else voted[1]
    if not spans:
        return None
    # A stretch runs on past a cut to another take of the same place (the room looks alike), where
    # what moves jumps: the motion is judged on the stretch without those end frames.
    spans = [_trimmed_at_cuts(a, b, span, config, step_s) for span in spans]
    checked = [_motion_fitted(a, b, span, config, step_s, span_distance_bits) for span in spans]
    # Frames that are far apart on their hashes need the motion to agree all the better, unless
    # the two line up end to end (a whole copy under a logo or a crop): a partial stretch picks
    # its own ends and offset, so it can find a chance agreement a whole alignment cannot.
    def whole_copy(span: _Span) -> bool:
        segment = _segment(a, b, span, step_s, duration_a, duration_b)
        return (_whole(segment[0], segment[1], duration_a, whole_share)
                and _whole(segment[2], segment[3], duration_b, whole_share))

    # A short stretch has few frames to correlate, so its bar is lower; a longer partial stretch
    # (it picks its own ends) that moves only loosely alike is two recordings whose motions happen
    # to resemble each other (a conveyor). Whole copies line up end to end and keep the lower bar.
    def span_s(span: _Span) -> float:
        return float(b.times_s[span.pairs[-1, 1]] - b.times_s[span.pairs[0, 1]]) + step_s

    proven = [(s, c) for s, c in checked if c is not None and c >= ev.MIN_MOTION_CORRELATION
              and (_median_bits(s) <= ev.LOOSE_SPAN_BITS or c >= ev.STRONG_MOTION_CORRELATION or whole_copy(s))
              and (span_s(s) <= ev.SHORT_SPAN_S or c >= ev.STRONG_MOTION_CORRELATION or whole_copy(s))]
    if not proven:
        span, correlation = checked[0]
        ia, ib = span.pairs[int(np.argmin(span.distances))]
        reason = ("nothing moves in the shared stretch, so the same scene cannot be told from the same recording"
                  if correlation is None else
                  f"the frames look alike but change differently over time (motion correlation {correlation:.2f}): "
                  "the same scene, not shown to be the same recording")
        return SceneMatch(a.key, b.key, "video", round(ev.hash_agreement(_weighed(span)), 4), reason,
                          round(float(a.times_s[ia]), 3), round(float(b.times_s[ib]), 3))
    proven.sort(key=lambda sc: -(sc[0].pairs.shape[0]))
    span, correlation = proven[0]
    segments = tuple(_segment(a, b, s, step_s, duration_a, duration_b) for s, _ in proven)
    a_start, a_end, b_start, b_end = segments[0]
    whole_a = _whole(a_start, a_end, duration_a, whole_share)
    whole_b = _whole(b_start, b_end, duration_b, whole_share)
    relation: Relation = ("same" if whole_a and whole_b else "a_contains_b" if whole_b
                          else "b_contains_a" if whole_a else "overlap")
    hashes = ev.hash_agreement(_weighed(span))
    strong = correlation >= ev.STRONG_MOTION_CORRELATION and b_end - b_start >= 3.0 and hashes >= 0.75
    return PairMatch(a.key, b.key, "video", relation, ev.combined_score(hashes, correlation), a_start, a_end,
                     b_start, b_end, orientation=config.orientation, offset_s=round(span.offset_s, 3),
                     motion_correlation=round(correlation, 3), confidence="strong" if strong else "likely",
                     distance_bits=_median_bits(span), segments=segments)


def _span_at(a: MediaHashes, b: MediaHashes, distances: NDArray[np.uint8], candidates: NDArray[np.float64], *,
             max_distance_bits: int, span_distance_bits: int, step_s: float, max_gap_s: float, whole: bool,
             whole_share: float, min_close_share: float) -> _Span | None:
    """Gives the span two videos share at the best of the candidate offsets, or None."""
    offset_s, pairs = tl.refined(a.times_s, b.times_s, candidates, distances, span_distance_bits, step_s)
    if pairs.shape[0] == 0:
        return None
    found = distances[pairs[:, 0], pairs[:, 1]]
    close = found <= span_distance_bits
    weighed = found < _FAR
    overlap_s = float(b.times_s[pairs[-1, 1]] - b.times_s[pairs[0, 1]]) + step_s
    shortest = min(a.duration_s or 0.0, b.duration_s or 0.0)
    if whole and overlap_s >= whole_share * shortest and weighed.any() \
            and close[weighed].mean() >= min_close_share and tl.longest_miss_s(b.times_s[pairs[:, 1]], close, weighed) <= max_gap_s:
        # A whole copy: a crop or a logo may spoil frames inside it, not where the two sit in time.
        keep = np.flatnonzero(close)
        pairs = pairs[keep[0]:keep[-1] + 1]
        return _Span(pairs, offset_s, distances[pairs[:, 0], pairs[:, 1]])
    run = tl.longest_run(b.times_s[pairs[:, 1]], close, max_gap_s)
    if run is None:
        return None
    pairs = pairs[run[0]:run[1]]
    return _Span(pairs, offset_s, distances[pairs[:, 0], pairs[:, 1]])


def _b_end(b: MediaHashes, span: _Span, step_s: float, duration_b: float) -> float:
    return min(duration_b, float(b.times_s[span.pairs[-1, 1]]) + step_s)


def _segment(a: MediaHashes, b: MediaHashes, span: _Span, step_s: float, duration_a: float,
             duration_b: float) -> Segment:
    b_start = float(b.times_s[span.pairs[0, 1]])
    b_end = _b_end(b, span, step_s, duration_b)
    a_start = max(0.0, b_start + span.offset_s)
    a_end = min(duration_a, b_end + span.offset_s)
    return round(a_start, 3), round(a_end, 3), round(b_start, 3), round(b_end, 3)


def _motion_fitted(a: MediaHashes, b: MediaHashes, span: _Span, config: _Config, step_s: float,
                   limit: int) -> tuple[_Span, float | None]:
    """Gives the span at the offset (within half a sample of its own) where the two move most alike, and that correlation.

    Hashes place a stretch to the sample; motion places it finer, and a wrong sub-sample offset
    would make fast motion look unlike itself. A short stretch (evidence.SHORT_SPAN_S) that moves
    unlike itself there is tried up to _WIDER_SHIFT_STEPS samples either side (fitted on the
    tuning half: 1-2 samples give the same figures; 3 let two same-scene pairs through). Frames
    whose hashes disagree (a cut, a banner) are left out of the motion.
    """
    close = span.distances <= limit
    if close.sum() < 3:
        return span, None
    kept = _Span(span.pairs[close], span.offset_s, span.distances[close])
    best: tuple[float, float] | None = None
    for shift in np.linspace(-step_s / 2, step_s / 2, 5):
        trial = _Span(kept.pairs, span.offset_s + float(shift), kept.distances)
        correlation = ev.motion_correlation(*_thumbs(a, b, trial, config, step_s))
        if correlation is None:
            return span, None
        if best is None or correlation > best[0] + 1e-9 or (abs(correlation - best[0]) <= 1e-9 and abs(shift) < abs(best[1])):
            best = (correlation, float(shift))
    assert best is not None
    span_s = float(b.times_s[span.pairs[-1, 1]] - b.times_s[span.pairs[0, 1]]) + step_s
    if best[0] < ev.MIN_MOTION_CORRELATION and span_s <= ev.SHORT_SPAN_S:
        # Slow footage (a signer between signs) looks alike a sample or more either side, so
        # the hashes may place a short stretch that far off: its motion is sought that far too.
        for shift in np.linspace(-_WIDER_SHIFT_STEPS * step_s, _WIDER_SHIFT_STEPS * step_s, 13):
            trial = _Span(kept.pairs, span.offset_s + float(shift), kept.distances)
            correlation = ev.motion_correlation(*_thumbs(a, b, trial, config, step_s))
            if correlation is not None and correlation > best[0] + 1e-9:
                best = (correlation, float(shift))
    return _Span(span.pairs, span.offset_s + best[1], span.distances), best[0]


_CUT_BITS = 8  # frames this many bits further than a stretch's closest, two in a row at an end, are past a cut
_CUT_FIT = 0.35  # a span's end frame fitting its partner this much worse than the span's median is past a cut
# Fitted on the tuning half (4-7 bits give the same figures; 8 misses a segment):
_STEP_BITS = 6  # an end whose hashes sit this much further on average, all above the rest, is a step ...
_STEP_END_FRAMES = 3  # ... of this many frames or more, leaving this many or more:
_STEP_INNER_FRAMES = 4
_STEP_MOTION_GAIN = 0.1  # ... and without it, the rest moves this much more alike (motion correlation)
_WIDER_SHIFT_STEPS = 1.5  # a short stretch moving unlike itself is tried this many samples either side


def _trimmed_at_cuts(a: MediaHashes, b: MediaHashes, span: _Span, config: _Config, step_s: float) -> _Span:
    """Gives the span without end frames that look alike only in what does not move.

    At a cut to another take of the same fixed camera the hashes stay close (the room is the
    same) while what moves jumps: those end frames fit their partners far worse than the rest.
    A longer run past the cut shows as a step: its hashes sit further, and stay there
    (_step_at_ends); that end goes when the rest moves clearly more alike without it (a
    banner or subtitle steps the hashes too, but what moves moves alike on both sides of it).
    """
    first, end = _step_at_ends(span.distances)
    if (first, end) != (0, span.distances.shape[0]):
        cut = _Span(span.pairs[first:end], span.offset_s, span.distances[first:end])
        whole = _motion_fitted(a, b, span, config, step_s, _FAR)[1]
        without = _motion_fitted(a, b, cut, config, step_s, _FAR)[1]
        if whole is None or (without is not None and without >= whole + _STEP_MOTION_GAIN):
            span = cut
    left, right = _thumbs(a, b, span, config, step_s)

    fits = ev.picture_fit(left, right)
    limit = float(np.median(fits)) + _CUT_FIT
    # Or its hashes jump: past a cut to another take the frames sit far from the closest ones,
    # however many of them the stretch took in (then the median fit is theirs as much as its own).
    far = span.distances > int(span.distances.min()) + _CUT_BITS
    first, end = 0, fits.shape[0]
    while first < end - 2 and (fits[first] > limit or far[first:first + 2].all()):
        first += 1
    while end > first + 2 and (fits[end - 1] > limit or far[end - 2:end].all()):
        end -= 1
    if (first, end) == (0, fits.shape[0]):
        return span
    return _Span(span.pairs[first:end], span.offset_s, span.distances[first:end])


def _step_at_ends(distances: NDArray[np.uint8]) -> tuple[int, int]:
    """Gives (first, end): a stretch's frames without an end whose hash distances step up and stay up.

    Each end is where the stretch splits best (least squares) into a part and an end of
    _STEP_END_FRAMES or more; it counts when every distance of the end is above every one of
    the part, by _STEP_BITS or more on average.
    """
    found = distances.astype(np.float64)
    first, end = 0, found.shape[0]
    split = _best_split(found, _STEP_INNER_FRAMES, end - _STEP_END_FRAMES)
    if split is not None and found[split:].mean() - found[:split].mean() >= _STEP_BITS \
            and found[split:].min() > found[:split].max():
        end = split
    split = _best_split(found[:end], _STEP_END_FRAMES, end - _STEP_INNER_FRAMES)
    if split is not None and found[:split].mean() - found[split:end].mean() >= _STEP_BITS \
            and found[:split].min() > found[split:end].max():
        first = split
    return first, end


def _best_split(values: NDArray[np.float64], low: int, high: int) -> int | None:
    """Gives the k in low..high that splits values into [:k] and [k:] each closest to its own mean, or None."""
    if high < low or low < 1 or high >= values.shape[0]:
        return None
    at = np.arange(low, high + 1)
    sums, squares, count = np.cumsum(values), np.cumsum(values ** 2), values.shape[0]
    before = squares[at - 1] - sums[at - 1] ** 2 / at
    after = (squares[-1] - squares[at - 1]) - (sums[-1] - sums[at - 1]) ** 2 / (count - at)
    return int(at[int(np.argmin(before + after))])


def _thumbs(a: MediaHashes, b: MediaHashes, span: _Span, config: _Config,
            step_s: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Gives the aligned thumbnails of a span: a's, and b's turned as the hashes matched them.

    The two files were sampled at their own instants, up to half a sample apart at the same
    moment of the footage; b's thumbnails are interpolated to a's instants, so fast motion
    is compared at one moment, not at two.
    """
    times_b = a.times_s[span.pairs[:, 0]] - span.offset_s
    right = np.clip(np.searchsorted(b.times_s, times_b), 1, max(1, b.frame_count - 1))
    left = right - 1
    if b.frame_count < 2:
        left = right = np.zeros_like(right)
    gap = b.times_s[right] - b.times_s[left]
    weight = np.where(gap > 0, np.clip((times_b - b.times_s[left]) / np.where(gap > 0, gap, 1.0), 0.0, 1.0), 0.0)
    # Only between neighbours that are one sample apart: across a gap the nearest frame is kept.
    far = gap > 1.5 * step_s
    nearest = np.where(np.abs(times_b - b.times_s[left]) <= np.abs(b.times_s[right] - times_b), left, right)
    frames_b = b.thumbs[:, config.scale_b]  # only the frames used are converted (float64 weights promote them)
    mixed = (1 - weight)[:, None, None] * frames_b[left] + weight[:, None, None] * frames_b[right]
    mixed = np.where(far[:, None, None], frames_b[nearest].astype(np.float64), mixed)
    return a.thumbs[span.pairs[:, 0], config.scale_a].astype(np.float64), orient(mixed, config.orientation)


def _whole(start_s: float, end_s: float, duration_s: float, share: float) -> bool:
    if duration_s <= 0:
        return True
    slack_s = min(1.0, (1.0 - share) * duration_s)  # a short clip's ends are not a second away from its middle
    return (end_s - start_s) >= share * duration_s or (start_s <= slack_s and end_s >= duration_s - slack_s)


def _weighed(span: _Span) -> NDArray[np.uint8]:
    """Gives the distances of the span's frames that have texture enough to weigh (all of them if none has)."""
    weighed = span.distances[span.distances < _FAR]
    return weighed if weighed.size else span.distances


def _median_bits(span: _Span) -> float:
    return float(np.median(_weighed(span)))


def orient(pictures: NDArray[_Pixel], orientation: int) -> NDArray[_Pixel]:
    """Gives pictures (... x H x W) in orientation `orientation` (hashes.ORIENTATIONS), as the hashes do."""
    out = pictures
    if orientation & 4:
        out = np.swapaxes(out, -1, -2)
    if orientation & 2:
        out = out[..., :, ::-1]
    if orientation & 1:
        out = out[..., ::-1, :]
    return out
