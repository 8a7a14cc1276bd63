"""The moving parts at full size: what tells a copy from another take when thumbnails cannot.

At 16 x 16 pixels two takes of one signer in one room, or two stretches of a fixed camera,
move alike: a raised hand is a cell or two. A copy and its source show the same hand in the
same place at the same instant. So where a short stretch is in doubt, the frames of both
files are decoded again at `SIDE_PX`, the copy's frames registered onto the other's (a
similarity transform from ORB features, which undoes a crop, a scale, a border), and what
moves is compared where both move: a logo, a banner or a frame added to a copy does not
move, so it takes no part, and neither does a background both share.

`moving_agreement` gives the correlation of the two files' departures from their own still
picture, over the pixels that move in both: near 1 for a copy, far lower for another take.
It needs the files themselves, so it runs only where the caller can give their paths.

A still whose moment its thumbnails cannot single out is checked the same way, by
still_check.unexplained_change; `check_at_full_size` acts on both checks.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from forensics.dedup.align import PairMatch, SceneMatch, no_moment_reason, orient, thumbnails_unsure
from forensics.dedup.evidence import SHORT_SPAN_S, Confidence, hash_agreement
from forensics.dedup.registration import NEIGHBOUR_S, SIDE_PX, registration
from forensics.dedup.sampling import frames_at
from forensics.dedup.still_check import MAX_UNEXPLAINED_SHARE, Moments, Photos, still_in_doubt, unexplained_change
from forensics.errors import MediaUnreadable

log = logging.getLogger(__name__)

STEP_S = 0.25  # frames compared this far apart at least ...
MAX_FRAMES = 48  # ... and no more than this many
EDGE_S = 0.25  # a stretch's ends, left out (its ends are known to a sampling step)
MOVING_GREY = 25.0  # a pixel moves where it departs this far from its still picture at some instant
MIN_MOVING_SHARE = 0.002  # fewer moving pixels (of the picture) than this: nothing to compare
# Set on the tuning half of benchmarks/bench_dedup.py, whose 16 matches in doubt are all true: 12
# of the 13 that can be checked agree 0.9 or more (one 0.84). Two takes of one signer agree 0.71
# (no.mkv / yes.mkv), and 0.78-0.79 once one is re-encoded (found by an adversarial pass): a match
# in doubt is confirmed only at CONFIRMING_AGREEMENT, refused under MIN_MOVING_AGREEMENT, weak between.
CONFIRMING_AGREEMENT = 0.9
MIN_MOVING_AGREEMENT = 0.75
SURE_MOTION_CORRELATION = 0.95  # thumbnails that move this alike leave no doubt to check ...
SAME_PICTURE_BITS = 3  # ... nor do frames this close in hash bits (median): another take differs more
SHORT_CLIP_S = 2 * SHORT_SPAN_S  # a video this short is a clip: a part two of them share is in doubt


@dataclass(frozen=True, slots=True)
class Check:
    """A match to check on the files themselves, picklable for a worker: two videos' `moving_agreement`, or
    (`kind` "image") a still's `unexplained_change` against a frame or another still."""

    path_a: Path
    path_b: Path
    segment: tuple[float, float, float, float]  # a still's: the instant in each file, twice; NaN for a photo
    orientation: int
    kind: str = "video"


def measure(checks: Sequence[Check]) -> list[float | None]:
    """Gives each check's figure, in order: `moving_agreement` of two videos, `unexplained_change` of a still
    (each file's stretch decoded, each photo read, once for all its checks)."""
    frames, moments, photos = _Frames(), Moments(), Photos()
    found: dict[int, float | None] = {}
    # A still's checks against one video run together, so that video's moments are read once.
    for number in sorted(range(len(checks)), key=lambda n: (checks[n].kind, _video_of(checks[n]), n)):
        check = checks[number]
        found[number] = (unexplained_change(check.path_a, check.path_b, check.segment, check.orientation,
                                            moments=moments, photos=photos) if check.kind == "image"
                         else moving_agreement(check.path_a, check.path_b, check.segment, check.orientation,
                                               frames=frames))
    return [found[number] for number in range(len(checks))]


def shares(checks: Sequence[Check], count: int) -> list[list[int]]:
    """Splits checks (their numbers) into at most `count` shares of about equal work for `measure` to run apart,
    the checks that read one video (or one file's stretch) in one share, so each reads it once."""
    together: dict[str, list[int]] = {}
    for number, check in enumerate(checks):
        together.setdefault(_video_of(check) or str(check.path_a), []).append(number)

    def cost(numbers: list[int]) -> float:
        # A still against a video costs about two against a photo, and reading the video's moments fifteen.
        return 15.0 + 2.0 * len(numbers) if _video_of(checks[numbers[0]]) else float(len(numbers))

    work: list[tuple[float, list[int]]] = [(0.0, []) for _ in range(max(1, min(count, len(together))))]
    for numbers in sorted(together.values(), key=cost, reverse=True):
        lightest = min(range(len(work)), key=lambda n: work[n][0])
        work[lightest] = (work[lightest][0] + cost(numbers), work[lightest][1] + numbers)
    return [sorted(share) for _, share in work if share]


def _video_of(check: Check) -> str:
    """Gives the video of a still's check ('' for two photos, and for two videos: their order is kept)."""
    if check.kind != "image":
        return ""
    return str(check.path_a if not np.isnan(check.segment[0]) else check.path_b if not np.isnan(check.segment[2])
               else "")


def check_at_full_size(matches: Sequence[PairMatch], scenes: Sequence[SceneMatch],
                       files: Callable[[str], Path | None], *,
                       measured: Callable[[Sequence[Check]], Sequence[float | None]] = measure,
                       short_clips: Collection[str] = frozenset(),
                       ) -> tuple[list[PairMatch], list[SceneMatch]]:
    """Gives the matches and leads once the matches in doubt are checked on the files themselves.

    In doubt is a `likely` match of a short clip held whole by another (two takes in one
    room are exactly that; so is an excerpt of one against the other), or a short stretch two
    `short_clips` share, whose thumbnails neither move nearly alike nor show nearly the same
    pictures. Such a match stays `likely` only when
    the files confirm it (agreement at least CONFIRMING_AGREEMENT); one whose moving parts
    disagree (under MIN_MOVING_AGREEMENT) becomes a lead; one between, or that cannot be
    checked (`files` gives None: not at hand, changed since it was hashed; or the check cannot
    tell), is `weak`: kept, not grouped, not listed by default.

    A still whose moment its thumbnails do not single out (two photos, or a still of footage
    where nothing moves: still_check.still_in_doubt) is in doubt too, for another moment of a still scene
    hashes alike. It stays a match only when the files show no change an overlay does not
    explain (`unexplained_change` at most MAX_UNEXPLAINED_SHARE); one with more becomes a lead;
    one whose files cannot be checked (a file that will not decode whole, pictures that do not
    register) or are not at hand is weak, and a lead if only the check could have made it a match
    (align.thumbnails_unsure). `measured` runs the checks (here, or in a worker process: a caller
    that must not decode user files itself).
    """
    checks: dict[int, Check] = {}
    doubtful, stills = set(), set()
    for number, match in enumerate(matches):
        still = still_in_doubt(match)
        if not still and not _in_doubt(match, short_clips):
            continue
        doubtful.add(number)
        if still:
            stills.add(number)
        # The check registers b onto a, which gives another figure the other way round: the two always go in
        # key order, so a pair gets one answer whichever file was indexed first (adversarial pass).
        pair = match if match.a <= match.b else match.swapped()
        path_a, path_b = files(pair.a), files(pair.b)
        if path_a is None or path_b is None:
            continue
        if still:
            at_a, at_b = (float("nan") if t is None else t for t in (pair.a_start_s, pair.b_start_s))  # a photo's
            checks[number] = Check(path_a, path_b, (at_a, at_a, at_b, at_b), pair.orientation, "image")
        else:
            longest = max(pair.segments, key=lambda s: s[1] - s[0])
            checks[number] = Check(path_a, path_b, longest, pair.orientation)
    agreements = dict(zip(checks, measured(list(checks.values())))) if checks else {}
    kept, leads = [], list(scenes)
    for number, match in enumerate(matches):
        agreement = agreements.get(number)
        if number not in doubtful:
            kept.append(match)
        elif number in stills and number not in checks:
            # The files are not at hand: the thumbnails alone cannot tell another moment of a still scene.
            if thumbnails_unsure(match):
                hashes = hash_agreement(np.array([match.distance_bits or 0.0]))
                leads.append(SceneMatch(match.a, match.b, match.kind, round(hashes, 4),
                                        no_moment_reason(match.moment_fit, match.distance_bits or 0.0,
                                                         match.moment_margin_bits),
                                        match.a_start_s, match.b_start_s, match.distance_bits, match.moment_fit))
            else:
                kept.append(dataclasses.replace(match, confidence="weak"))
        elif agreement is None:
            kept.append(dataclasses.replace(match, confidence="weak"))
        elif number in stills:
            if agreement <= MAX_UNEXPLAINED_SHARE:
                kept.append(dataclasses.replace(match, unexplained_change=round(agreement, 4)))
            else:
                leads.append(SceneMatch(
                    match.a, match.b, match.kind, match.score,
                    f"at full size {100 * agreement:.1f}% of the picture differs, and not as a logo, banner or "
                    f"caption box laid over a copy does (copies: {100 * MAX_UNEXPLAINED_SHARE:g}% or less): another "
                    "moment of a still scene, not shown to be one picture", match.a_start_s, match.b_start_s,
                    match.distance_bits, match.moment_fit))
        elif agreement >= MIN_MOVING_AGREEMENT:
            confidence: Confidence = "likely" if agreement >= CONFIRMING_AGREEMENT else "weak"
            kept.append(dataclasses.replace(match, moving_agreement=round(agreement, 3), confidence=confidence))
        else:
            leads.append(SceneMatch(
                match.a, match.b, match.kind, match.score,
                f"at full size what moves moves differently (agreement {agreement:.2f}; copies agree "
                f"{CONFIRMING_AGREEMENT:g} or more): the same scene, not shown to be the same recording",
                match.a_start_s, match.b_start_s, match.distance_bits))
    return kept, leads


def _in_doubt(match: PairMatch, short_clips: Collection[str]) -> bool:
    # The relation is the span's: a clip held whole by another (an excerpt) is in doubt as a same pair
    # is; so is a part two short clips share (re-encodes of two takes). A part of a longer file (a
    # compilation's segment) is left alone: the check costs true segments there and refutes none.
    held = match.relation != "overlap" or (match.a in short_clips and match.b in short_clips)
    return (match.kind == "video" and match.confidence == "likely" and held
            and (match.motion_correlation or 0.0) < SURE_MOTION_CORRELATION
            and (match.distance_bits or 0.0) > SAME_PICTURE_BITS
            and bool(match.segments) and max(s[1] - s[0] for s in match.segments) <= SHORT_SPAN_S)


def moving_agreement(path_a: Path, path_b: Path, segment: tuple[float, float, float, float], orientation: int, *,
                     frames: Callable[[Path, NDArray[np.float64]], tuple[NDArray[np.float64], NDArray[np.uint8]]]
                     | None = None) -> float | None:
    """Gives how alike the moving parts of two files' shared stretch move, at full size (-1..1).

    `segment` is (start, end) in a, then (start, end) in b, in seconds from each first frame;
    `orientation` turns b's pictures as the hashes matched them. None when it cannot tell: a
    file cannot be decoded there, the pictures cannot be registered, or nothing moves in both.
    """
    a0, a1, b0, _b1 = segment
    if a1 - a0 > 4 * EDGE_S:
        # A stretch's ends are known to a sampling step: a compilation's cut may lie inside.
        a0, a1, b0 = a0 + EDGE_S, a1 - EDGE_S, b0 + EDGE_S
    count = int(min(MAX_FRAMES, max(3, np.floor((a1 - a0) / STEP_S) + 1)))
    wanted_a = np.linspace(a0, a1, count)
    wanted_b = b0 + (wanted_a - a0)
    # b's frames just before and after each instant too: two files rarely show a frame at the
    # same instant (another frame rate, a cut between frames), and the nearer picture is its own.
    around_b = np.concatenate([wanted_b - NEIGHBOUR_S, wanted_b, wanted_b + NEIGHBOUR_S])
    read = frames or (lambda path, times: frames_at(path, times, size_px=SIDE_PX))
    try:
        times_a, pictures_a = read(path_a, wanted_a)
        times_b, pictures_b = read(path_b, np.clip(around_b, 0.0, None))
    except (MediaUnreadable, OSError, ValueError) as ex:
        log.info("full-size frames of %s or %s could not be read (%s)", path_a, path_b, ex)
        return None
    left = pictures_a[_on_screen(times_a, wanted_a)].astype(np.float32)
    pictures_b = orient(pictures_b, orientation)
    right = pictures_b[_on_screen(times_b, wanted_b)]
    transform = registration(left, right)
    if transform is None:
        return None
    height, width = left.shape[1:]
    every = np.stack([cv2.warpAffine(np.ascontiguousarray(p), transform, (width, height), flags=cv2.INTER_AREA)
                      for p in pictures_b]).astype(np.float32)
    # Of b's frames within a frame of each instant, the one nearest a's picture.
    choices = np.stack([_on_screen(times_b, wanted_b - NEIGHBOUR_S), _on_screen(times_b, wanted_b),
                        _on_screen(times_b, wanted_b + NEIGHBOUR_S)])
    misfit = np.stack([np.abs(every[c] - left).mean(axis=(1, 2)) for c in choices])
    warped = every[choices[np.argmin(misfit, axis=0), np.arange(count)]]
    inside = cv2.warpAffine(np.full(right.shape[1:], 255, np.uint8), transform, (width, height)) == 255
    inside = cv2.erode(inside.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    moves_left = left - np.median(left, axis=0)
    moves_right = warped - np.median(warped, axis=0)
    both = (np.abs(moves_left).max(axis=0) > MOVING_GREY) & (np.abs(moves_right).max(axis=0) > MOVING_GREY) & inside
    if both.sum() < max(50, MIN_MOVING_SHARE * both.size):
        return None
    x, y = moves_left[:, both].astype(np.float64), moves_right[:, both].astype(np.float64)
    return float((x * y).sum() / np.sqrt((x * x).sum() * (y * y).sum() + 1e-9))


class _Frames:
    """Reads frames at full size, each short stretch of a file decoded once for all the pairs it is in.

    Pairs come sorted by file, so the last few files read are kept (a short clip at 320 pixels
    is a few MB); a longer stretch, or one outside what is kept, is read on its own.
    """

    _KEPT = 4
    _LONGEST_S = 6.0
    _SLACK_S = 0.5

    def __init__(self) -> None:
        self._held: dict[Path, tuple[NDArray[np.float64], NDArray[np.uint8], float, float]] = {}

    def __call__(self, path: Path, wanted: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.uint8]]:
        first, last = float(wanted.min()), float(wanted.max())
        held = self._held.get(path)
        if held is None or first < held[2] or last > held[3]:
            start, end = max(0.0, first - self._SLACK_S), last + self._SLACK_S
            if end - start > self._LONGEST_S:
                return frames_at(path, wanted, size_px=SIDE_PX)
            # Every frame of the stretch: the one on screen at each hundredth of a second.
            times, pictures = frames_at(path, np.arange(start, end, 0.01), size_px=SIDE_PX)
            held = (times, pictures, start, end)
            if len(self._held) >= self._KEPT and path not in self._held:
                self._held.pop(next(iter(self._held)))  # the one used longest ago
        self._held.pop(path, None)
        self._held[path] = held
        times, pictures = held[0], held[1]
        chosen = np.unique(_on_screen(times, wanted))
        return times[chosen], pictures[chosen]


def _on_screen(times: NDArray[np.float64], wanted: NDArray[np.float64]) -> NDArray[np.intp]:
    """Gives, for each wanted time, the index of the decoded picture on screen then."""
    return np.clip(np.searchsorted(times, wanted + 1e-6, side="right") - 1, 0, times.size - 1)
