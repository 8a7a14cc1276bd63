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

`unexplained_change` does the same for a still whose moment its thumbnails cannot single out:
another moment of a room where nothing moves (an object added, moved or gone) hashes as the
same picture. At full size and in colour, the two are registered and what differs is found;
what an overlay explains (a banner, a box, a line of text) is set aside, and what is left is
the share of the picture that changed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import cv2
import numpy as np
from numpy.typing import NDArray

from forensics.dedup.align import PairMatch, SceneMatch, orient
from forensics.dedup.evidence import MOMENT_RATIO, SHORT_SPAN_S
from forensics.dedup.sampling import frames_at, still_in_colour
from forensics.media.frames import read_video_index, stream_duration_s
from forensics.errors import MediaUnreadable

log = logging.getLogger(__name__)

SIDE_PX = 320  # the longer side the frames are compared at
STEP_S = 0.25  # frames compared this far apart at least ...
MAX_FRAMES = 48  # ... and no more than this many
EDGE_S = 0.25  # a stretch's ends, left out (its ends are known to a sampling step)
NEIGHBOUR_S = 0.04  # b's frames this far either side of an instant are tried too (a frame at 25 fps)
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
# A still in doubt (_still_in_doubt) is kept as one picture only when, at full size, what differs
# between it and its frame (or the other still) is coding noise or an overlay: set on the tuning half
# of benchmarks/bench_dedup.py (see its README), where copies leave none (8 of 358: 0.2-2.5%, a logo
# box over a patch of like colour, two overlays at once) and other moments of a still room 0.42% or more.
# The shapes of overlays below were set there and against an adversarial pass of real photographs.
MAX_UNEXPLAINED_SHARE = 0.002
_CHANGE_LEVEL = 12.0  # a pixel differs where its distance (CIELAB, L in grey levels) is over this ...
_CHANGE_NOISE = 4.0  # ... and this many times the picture's median distance (coding noise) ...
_CHANGE_EDGE = 0.5  # ... plus this share of the gradient both pictures have there (resampling at edges)
_CHANGE_BLUR_PX = 1.5
_COLOURLESS_LEVELS = 3.0  # a picture whose a and b (CIELAB) spread less than this has no colour (`_in_grey`)
_CHANGE_REACH_PX = 1  # a pixel is compared with the other picture's this far around it (registration error)
_MIN_PATCH_SHARE = 0.0005  # of the picture: a differing patch smaller than this is noise
_BANNER_SHARE = 0.8  # a row (column) that differs over this much of its length is a banner's
_BOX_CORNERS = 0.5  # a patch whose corners are each this full ...
_BOX_SIDES = 0.8  # ... or each of whose sides is this straight is a box laid over the picture (`_box`)
_BOX_INSET_PX = 1
_CAPTION_ASPECT = 4.0  # a patch this many times as wide as high ...
_CAPTION_HEIGHT = 0.1  # ... and no higher than this share of the picture is a line of text laid over it
_OVERLAY_ZONE = 0.25  # overlays are set aside only this near the picture's edge (_unexplained_share) ...
_COVER_TEXTURE = 0.8  # ... where one picture's texture is at most this share of the other's (`_covered`) ...
_FLAT_LEVELS = 3.0  # ... or both are this flat (grey levels a pixel): a logo over the sky
_WORD_GAP = 0.03  # of the picture's width: patches closer than this side by side are one (the words of a line)
_MARGIN_LEVELS = 3.0  # an edge row or column whose grey levels spread less than this is a border, not picture
_MIN_OVERLAP = 0.3  # of a's picture: less than this registered is not a comparison
_NO_TIME = float("nan")  # a photo's instant
_SPARSE = 7  # quantiles of a picture's pixels taken over every this many
MOMENT_STEP_S = 0.04  # a video's frames this far apart (every frame at 25 fps) are searched for a still's moment ...
_MOMENTS_SEARCHED = 150  # ... or this many, spread over a longer one (at 320 pixels, about 26 MB)
_MOMENTS_COMPARED = 3  # of those, the pairs that look most alike are compared in full
_INSTANT_REACH_S = 0.16  # ... with, in a longer one, every frame this near the thumbnails' instant ...
_MOMENTS_REFINED = 2  # ... and near the moments that rank closest, this many
_INSTANTS_KEPT = 8
_ROUGH_CAP_LEVELS = 20.0
_ROUGH_SPARSE = 29  # moments are ranked on every this many pixels
_MIN_INLIERS = 12
_ENOUGH_INLIERS = 40  # a registration this well supported is not tried on other frames
_FEATURES = 500
_ENOUGH_FEATURES = 100
_CORNER_THRESHOLDS = (20, 10, 5)  # FAST thresholds tried in turn until a picture gives enough features


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
    frames, moments, photos = _Frames(), _Moments(), _Photos()
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
    where nothing moves: _still_in_doubt) is in doubt too, for another moment of a still scene
    hashes alike. It stays a match only when the files show no change an overlay does not
    explain (`unexplained_change` at most MAX_UNEXPLAINED_SHARE); one with more becomes a lead;
    one whose files cannot be checked (a file that will not decode whole, pictures that do not
    register) is weak; one whose files are not at hand stays as its thumbnails made it. `measured` runs the checks
    (here, or in a worker process: a caller that must not decode user files itself).
    """
    checks: dict[int, Check] = {}
    doubtful = set()
    for number, match in enumerate(matches):
        still = _still_in_doubt(match)
        if not still and not _in_doubt(match, short_clips):
            continue
        doubtful.add(number)
        path_a, path_b = files(match.a), files(match.b)
        if path_a is None or path_b is None:
            continue
        if still:
            at_a, at_b = (_NO_TIME if t is None else t for t in (match.a_start_s, match.b_start_s))
            checks[number] = Check(path_a, path_b, (at_a, at_a, at_b, at_b), match.orientation, "image")
        else:
            longest = max(match.segments, key=lambda s: s[1] - s[0])
            checks[number] = Check(path_a, path_b, longest, match.orientation)
    agreements = dict(zip(checks, measured(list(checks.values())))) if checks else {}
    kept, leads = [], list(scenes)
    for number, match in enumerate(matches):
        agreement = agreements.get(number)
        if number not in doubtful:
            kept.append(match)
        elif _still_in_doubt(match) and number not in checks:
            kept.append(match)  # the files are not at hand: as the thumbnails made it
        elif agreement is None:
            kept.append(dataclasses.replace(match, confidence="weak"))
        elif _still_in_doubt(match):
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
            confidence = "likely" if agreement >= CONFIRMING_AGREEMENT else "weak"
            kept.append(dataclasses.replace(match, moving_agreement=round(agreement, 3), confidence=confidence))
        else:
            leads.append(SceneMatch(
                match.a, match.b, match.kind, match.score,
                f"at full size what moves moves differently (agreement {agreement:.2f}; copies agree "
                f"{CONFIRMING_AGREEMENT:g} or more): the same scene, not shown to be the same recording",
                match.a_start_s, match.b_start_s, match.distance_bits))
    return kept, leads


def _still_in_doubt(match: PairMatch) -> bool:
    # A still's moment singled out by its fit (the rest of the video fits clearly worse, lined up or
    # not) is a frame of that video; one that fits every moment alike (nothing moves), or two photos,
    # may be another moment of a still scene, which 16-pixel thumbnails cannot see (an object moved,
    # added or gone). A weak match is not worth the check: it is not listed or grouped.
    if match.kind != "image" or match.confidence == "weak":
        return False
    photos = match.a_start_s is None and match.b_start_s is None
    return photos or match.moment_ratio is None or match.moment_ratio < MOMENT_RATIO


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
    transform = _registration(left, right)
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


def unexplained_change(path_a: Path, path_b: Path, segment: tuple[float, float, float, float], orientation: int,
                       *, moments: _Moments | None = None,
                       photos: Callable[[Path], NDArray[np.uint8]] | None = None) -> float | None:
    """Gives the share of the picture (0-1) in which a still and a frame (or two stills) differ other than a copy can.

    `segment` holds the instant of each in its file (NaN: the file is a photo); `orientation`
    turns b's picture as the hashes matched it. b is registered onto a (ORB features, RANSAC: a
    crop, scale or border undone; borders of one tone left out) and brought to a's brightness
    and contrast, fitted where the two agree best. A pixel differs where its distance to b's
    picture, the nearest within _CHANGE_REACH_PX and smoothed, passes coding noise and what
    resampling leaves at edges (`_differing`; in lightness only when either has no colour: a
    copy in grey or sepia). Near the picture's edge, where overlays go, a banner, a line of text
    or a box laid over the picture is set aside (`_unexplained_share`): overlays a copy may
    carry. What is left, in patches of _MIN_PATCH_SHARE or more, is the answer: another
    moment of a still scene (an object added, moved or gone) differs in the shape of what
    changed. A video's moment is searched: the thumbnails of a scene where nothing moves fit
    every moment alike, so its frames (`moments`: spread over it, in colour) are ranked by how
    alike they look and the closest compared in full. None when it cannot tell: a file cannot
    be read, or the pictures cannot be registered.
    """
    spread = moments or _Moments()
    look = photos or _Photos()

    def pictures(path: Path, at_s: float) -> tuple[NDArray[np.uint8], NDArray[np.uint8], int, NDArray[np.float64]]:
        """Gives the pictures (N x H x W x 3) of a photo (one) or a video (its moments), in grey too (N x H x W),
        which is at the instant, and their times (empty for a photo)."""
        if np.isnan(at_s):
            photo = look(path)[None]
            return photo, _grey(photo), 0, np.zeros(0)
        return spread(path, at_s)

    try:
        (left, grey_l, at_l, times_l), (right, grey_r, at_r, times_r) = (pictures(path_a, segment[0]),
                                                                         pictures(path_b, segment[2]))
    except (MediaUnreadable, OSError, ValueError) as ex:
        log.info("full-size pictures of %s or %s could not be read (%s)", path_a, path_b, ex)
        return None
    right = np.moveaxis(orient(np.moveaxis(right, -1, 1), orientation), 1, -1)  # turned as the hashes matched it
    grey_r = orient(grey_r, orientation)
    transform = _registration(grey_l[at_l:at_l + 1].astype(np.float32), np.ascontiguousarray(grey_r[at_r:at_r + 1]))
    if transform is None:
        return None
    height, width = left.shape[1:3]
    inside = cv2.warpAffine(_content(grey_r[at_r]), transform, (width, height)) == 255
    inside &= _content(grey_l[at_l]) == 255
    inside = cv2.erode(inside.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
    if inside.sum() < _MIN_OVERLAP * inside.size:
        return None

    def moved(picture: NDArray[np.uint8]) -> NDArray[np.uint8]:
        return cast("NDArray[np.uint8]", cv2.warpAffine(np.ascontiguousarray(picture), transform, (width, height),
                                                          flags=cv2.INTER_LINEAR))

    def compared(rough: NDArray[np.float64], skip: set[int]) -> tuple[float | None, set[int]]:
        """Gives the least share of the closest pairs (by `rough`) not compared yet, and those now compared."""
        best, done = None, set(skip)
        for n in (int(n) for n in np.argsort(rough, axis=None, kind="stable")):
            if n in done:
                continue
            if len(done) - len(skip) >= _MOMENTS_COMPARED:
                break
            done.add(n)
            share = _unexplained_share(*_differing(_lab(left[n // len(right)]), _lab(moved(right[n % len(right)])),
                                                   inside), inside)
            best = share if best is None else min(best, share)
            if best <= MAX_UNEXPLAINED_SHARE:
                break  # a moment that is this picture: the rest need not be compared
        return best, done

    # Every pair of pictures (a still against each moment of a video) is ranked by how alike their
    # lightness looks, and the closest are compared in full.
    rough = _rough_fits(grey_l, grey_r, inside, transform)
    best, done = compared(rough, set())
    if best is not None and best <= MAX_UNEXPLAINED_SHARE:
        return best
    # A longer video's moments are spread out: every frame near the thumbnails' instant (known to a
    # sampling step), and about the two closest moments, is ranked too.
    for video, times, at_s, on_left in ((path_a, times_l, segment[0], True), (path_b, times_r, segment[2], False)):
        step = float(np.median(np.diff(times))) if times.size > 1 else 0.0
        if step <= MOMENT_STEP_S + 1e-6:
            continue
        fits = rough.min(axis=1 if on_left else 0)
        wanted = [(at_s, _INSTANT_REACH_S)] + [(float(times[n]), step)
                                               for n in np.argsort(fits, kind="stable")[:_MOMENTS_REFINED]]
        for around_s, reach_s in wanted:
            extra, extra_grey = spread.around(video, around_s, reach_s)
            if extra.shape[1:] != (left if on_left else right).shape[1:]:
                continue
            if on_left:
                more = _rough_fits(extra_grey, grey_r, inside, transform)  # rows: numbers stay
                left, grey_l = np.concatenate([left, extra]), np.concatenate([grey_l, extra_grey])
                rough = np.concatenate([rough, more])
            else:
                extra = np.moveaxis(orient(np.moveaxis(extra, -1, 1), orientation), 1, -1)
                extra_grey = orient(extra_grey, orientation)
                more = _rough_fits(grey_l, extra_grey, inside, transform)
                # columns are appended: a pair's number (row x columns + column) moves with the width
                done = {(n // len(right)) * (len(right) + len(extra)) + n % len(right) for n in done}
                right, grey_r = np.concatenate([right, extra]), np.concatenate([grey_r, extra_grey])
                rough = np.concatenate([rough, more], axis=1)
    if len(rough.flat) > len(done):
        more_best, done = compared(rough, done)
        if more_best is not None:
            best = more_best if best is None else min(best, more_best)
    return best


def _rough_fits(left: NDArray[np.uint8], right: NDArray[np.uint8], inside: NDArray[np.bool_],
                transform: NDArray[np.float64]) -> NDArray[np.float64]:
    """Gives how unlike each of left's grey pictures (N x H x W) is to each of right's (M x h x w, registered
    onto left's by `transform`): the mean difference, each pixel's capped at _ROUGH_CAP_LEVELS, once the typical
    difference is taken off (so a banner or a logo on one adds the same to every frame it is compared with, and
    a change of exposure nothing). Taken over every _ROUGH_SPARSE-th pixel of `inside`, right's nearest to it."""
    where = np.flatnonzero(inside)[::_ROUGH_SPARSE]
    ys, xs = np.divmod(where, inside.shape[1])
    back = cv2.invertAffineTransform(transform)  # left's pixel -> right's
    xs_r = np.clip(np.rint(back[0, 0] * xs + back[0, 1] * ys + back[0, 2]), 0, right.shape[2] - 1).astype(np.intp)
    ys_r = np.clip(np.rint(back[1, 0] * xs + back[1, 1] * ys + back[1, 2]), 0, right.shape[1] - 1).astype(np.intp)
    ours = left.reshape(left.shape[0], -1)[:, where].astype(np.float32)
    theirs = right[:, ys_r, xs_r].astype(np.float32)
    difference = ours[:, None, :] - theirs[None, :, :]
    difference -= np.median(difference, axis=-1, keepdims=True)
    return np.minimum(np.abs(difference), _ROUGH_CAP_LEVELS).mean(axis=-1)


def _content(grey: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Gives 255 where a grey picture (H x W) shows something, 0 on its borders: bars or a canvas of one tone."""
    grey = grey.astype(np.float32)
    rows, columns = grey.std(axis=1) >= _MARGIN_LEVELS, grey.std(axis=0) >= _MARGIN_LEVELS
    shown = np.zeros(grey.shape, np.uint8)
    if rows.any() and columns.any():
        top, bottom = int(np.argmax(rows)), len(rows) - int(np.argmax(rows[::-1]))
        left, right = int(np.argmax(columns)), len(columns) - int(np.argmax(columns[::-1]))
        shown[top:bottom, left:right] = 255
    return shown


def _area_of(x: int, y: int, across: int, down: int, shape: tuple[int, ...]) -> NDArray[np.bool_]:
    """Gives the box (x, y, across, down) of a picture of `shape` as a mask."""
    area = np.zeros(shape[:2], bool)
    area[y:y + down, x:x + across] = True
    return area


def _covered(where: NDArray[np.bool_], textures: tuple[NDArray[np.float32], NDArray[np.float32]]) -> bool:
    """Tells whether one of two pictures is flat over the area an overlay would cover (`where`: a banner's rows,
    a box), as a graphic laid over the other is: its texture there (median gradient, over the whole area: where
    the two differ is mostly a graphic's letters) at most _COVER_TEXTURE of the other's, or both all but flat."""
    flatter, busier = sorted(float(np.median(texture[where])) for texture in textures)
    return flatter <= _COVER_TEXTURE * busier or busier <= _FLAT_LEVELS


def _box(shape: NDArray[np.uint8]) -> bool:
    """Tells whether a patch (1 inside, 0 out) is a rectangle, not a blob: each side of its bounding box, taken in
    by _BOX_INSET_PX (the smoothing rounds a box's corners and bulges its sides a pixel), is almost all patch; a
    disc's, or a disc cut by the picture's edge, is not on its round sides."""
    shape = cast("NDArray[np.uint8]", cv2.morphologyEx(np.pad(shape, 1), cv2.MORPH_OPEN,
                                                       np.ones((3, 3), np.uint8)))  # burrs a pixel wide off
    rows, columns = np.flatnonzero(shape.any(axis=1)), np.flatnonzero(shape.any(axis=0))
    if rows.size < 3 or columns.size < 3:
        return True  # nothing but burrs
    shape = shape[rows[0]:rows[-1] + 1, columns[0]:columns[-1] + 1]
    side = max(2, round(0.25 * min(shape.shape)))
    if min(float(shape[:side, :side].mean()), float(shape[:side, -side:].mean()), float(shape[-side:, :side].mean()),
           float(shape[-side:, -side:].mean())) >= _BOX_CORNERS:
        return True
    inset = _BOX_INSET_PX
    inner = shape[inset:shape.shape[0] - inset, inset:shape.shape[1] - inset]
    if inner.size == 0:
        return True
    return min(float(inner[0].mean()), float(inner[-1].mean()), float(inner[:, 0].mean()),
               float(inner[:, -1].mean())) >= _BOX_SIDES


def _grey(pictures: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Gives RGB pictures (N x H x W x 3) in grey (N x H x W)."""
    return np.stack([cv2.cvtColor(np.ascontiguousarray(p), cv2.COLOR_RGB2GRAY) for p in pictures])


def _lab(picture: NDArray[np.uint8]) -> NDArray[np.float32]:
    """Gives an RGB picture (H x W x 3) in CIELAB, L in grey levels (0-255) and a, b about 128."""
    return cv2.cvtColor(np.ascontiguousarray(picture), cv2.COLOR_RGB2LAB).astype(np.float32)


def _differing(left: NDArray[np.float32], right: NDArray[np.float32], inside: NDArray[np.bool_]
               ) -> tuple[NDArray[np.bool_], tuple[NDArray[np.float32], NDArray[np.float32]]]:
    """Gives where two registered pictures (H x W x 3, `_lab`) differ more than coding and resampling make them,
    and the texture of each (its lightness's smoothed gradient)."""
    planes_l = [np.ascontiguousarray(left[..., c]) for c in range(left.shape[-1])]
    planes_r = [np.ascontiguousarray(right[..., c]) for c in range(right.shape[-1])]
    # Brightness and contrast (and a colour cast) fitted where the two agree best, so that a logo or
    # a changed object does not pull the fit: three rounds, each on the 70% of pixels nearest (of a
    # sample of the picture: two numbers a channel need no more).
    where = np.flatnonzero(inside)[::_SPARSE]
    samples_l = [plane.reshape(-1)[where].astype(np.float64) for plane in planes_l]
    samples_r = [plane.reshape(-1)[where].astype(np.float64) for plane in planes_r]
    if _in_grey(samples_l, samples_r, _interior(inside)[inside][::_SPARSE]):
        # A copy in grey carries no colour to compare: lightness only.
        planes_l, planes_r, samples_l, samples_r = planes_l[:1], planes_r[:1], samples_l[:1], samples_r[:1]
    use = np.ones(where.size, bool)
    fit: list[tuple[float, float]] = []
    for _round in range(3):
        fit = []
        for channel, (x_all, y_all) in enumerate(zip(samples_r, samples_l)):
            x, y = x_all[use], y_all[use]
            gain = 1.0  # colour: a cast only (fitting its strength too, a logo's red pulls it: copies lost on tuning)
            if channel == 0:
                centred = x - x.mean()
                gain = float(np.dot(centred, y - y.mean()) / (np.dot(centred, centred) + 1e-9))
            fit.append((gain, float(y.mean() - gain * x.mean())))
        distance = np.sqrt(sum((y_all - (gain * x_all + offset)) ** 2
                               for (gain, offset), x_all, y_all in zip(fit, samples_r, samples_l)))
        use = distance <= np.quantile(distance, 0.7)
    fitted = [(np.float32(gain) * plane + np.float32(offset)).astype(np.float32)
              for (gain, offset), plane in zip(fit, planes_r)]
    reach = _CHANGE_REACH_PX
    height, width = inside.shape
    padded = [cast("NDArray[np.float32]", cv2.copyMakeBorder(plane, reach, reach, reach, reach, cv2.BORDER_REPLICATE))
              for plane in fitted]
    nearest = _distance(planes_l, fitted, squared=True)
    for dy in range(2 * reach + 1):
        for dx in range(2 * reach + 1):
            if (dy, dx) != (reach, reach):  # unmoved: `nearest` already
                moved = [plane[dy:dy + height, dx:dx + width] for plane in padded]
                nearest = np.minimum(nearest, _distance(planes_l, moved, squared=True))
    residual = cv2.GaussianBlur(np.sqrt(nearest), (0, 0), _CHANGE_BLUR_PX)
    textures = _gradient(planes_l[0]), _gradient(fitted[0])
    edge = np.minimum(*textures)
    noise = float(np.median(residual[inside][::_SPARSE]))
    return (residual > max(_CHANGE_LEVEL, _CHANGE_NOISE * noise) + _CHANGE_EDGE * edge) & inside, textures


def _in_grey(left: list[NDArray[np.float64]], right: list[NDArray[np.float64]], interior: NDArray[np.bool_]) -> bool:
    """Tells whether one picture is a copy in grey of the other: no colour in it (its CIELAB a and b spread
    under _COLOURLESS_LEVELS), where the other has colour away from the edges (not just an overlay's: a
    coloured logo on a copy of a grey scene is a change of colour to compare, and set aside as an overlay)."""
    def coloured(samples: list[NDArray[np.float64]], where: NDArray[np.bool_] | slice) -> bool:
        return max(float(samples[1][where].std()), float(samples[2][where].std())) >= _COLOURLESS_LEVELS

    whole = slice(None)
    if not interior.any():
        return not (coloured(left, whole) and coloured(right, whole))
    return ((not coloured(left, whole) and coloured(right, interior))
            or (not coloured(right, whole) and coloured(left, interior)))


def _interior(inside: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Gives the part of the compared picture (`inside`) away from its edges: within _OVERLAY_ZONE of none."""
    rows, columns = np.flatnonzero(inside.any(axis=1)), np.flatnonzero(inside.any(axis=0))
    interior = np.zeros_like(inside)
    if rows.size and columns.size:
        zone_y = int(_OVERLAY_ZONE * (rows[-1] + 1 - rows[0]))
        zone_x = int(_OVERLAY_ZONE * (columns[-1] + 1 - columns[0]))
        interior[rows[0] + zone_y:rows[-1] + 1 - zone_y, columns[0] + zone_x:columns[-1] + 1 - zone_x] = True
    return interior & inside


def _distance(left: list[NDArray[np.float32]], right: list[NDArray[np.float32]], *,
              squared: bool = False) -> NDArray[np.float32]:
    """Gives the distance, pixel by pixel, of two pictures given as planes (one per channel)."""
    total = np.zeros_like(left[0])
    for plane_l, plane_r in zip(left, right):
        difference = plane_l - plane_r
        total += difference * difference
    return total if squared else np.sqrt(total)


def _gradient(picture: NDArray[np.float32]) -> NDArray[np.float32]:
    """Gives the smoothed gradient magnitude of a picture, in its levels per pixel."""
    across = cv2.Sobel(picture, cv2.CV_32F, 1, 0, ksize=3)
    down = cv2.Sobel(picture, cv2.CV_32F, 0, 1, ksize=3)
    return cast("NDArray[np.float32]", cv2.GaussianBlur(np.sqrt(across * across + down * down) / 8, (0, 0),
                                                        _CHANGE_BLUR_PX))


def _unexplained_share(changed: NDArray[np.bool_], textures: tuple[NDArray[np.float32], NDArray[np.float32]],
                       inside: NDArray[np.bool_]) -> float:
    """Gives the share of `inside` that differs (`changed`) in patches no overlay explains (unexplained_change).

    Overlays are where platforms and editors put them, in the outer _OVERLAY_ZONE of the picture
    (banners and captions at its top or bottom, logos in its corners, side bars): there, a wide low
    patch is a line of text, and rows or columns that differ almost whole (a banner's) or a patch
    with filled corners or straight sides (a box's) are an overlay when one picture is flat there
    (`_covered`: a graphic hides the scene's texture; a shadow, a tram, a poster do not).
    Elsewhere, every change counts.
    """
    changed = changed.copy()
    height, width = changed.shape
    rows, columns = inside.sum(axis=1), inside.sum(axis=0)
    shown_rows, shown_columns = np.flatnonzero(rows), np.flatnonzero(columns)
    if shown_rows.size == 0 or shown_columns.size == 0:
        return 0.0
    top, bottom = int(shown_rows[0]), int(shown_rows[-1]) + 1
    left, right = int(shown_columns[0]), int(shown_columns[-1]) + 1
    zone_y, zone_x = _OVERLAY_ZONE * (bottom - top), _OVERLAY_ZONE * (right - left)

    def at_the_edge(x: int, y: int, across: int, down: int) -> bool:
        return (y + down <= top + zone_y or y >= bottom - zone_y
                or x + across <= left + zone_x or x >= right - zone_x)

    row_zone = (np.arange(height) < top + zone_y) | (np.arange(height) >= bottom - zone_y)
    column_zone = (np.arange(width) < left + zone_x) | (np.arange(width) >= right - zone_x)
    banner_rows = (changed.sum(axis=1) >= _BANNER_SHARE * np.maximum(rows, 1)) & (rows > width / 2) & row_zone
    banner_columns = ((changed.sum(axis=0) >= _BANNER_SHARE * np.maximum(columns, 1)) & (columns > height / 2)
                      & column_zone)
    for banner in (banner_rows[:, None] & inside, banner_columns[None, :] & inside):
        if (banner & changed).any() and _covered(banner, textures):
            changed &= ~banner
    # A line of text laid over a copy (a caption, a subtitle) is a wide, low patch once its words are
    # joined: gaps narrower than _WORD_GAP of the width closed.
    gap = max(3, round(_WORD_GAP * width))
    joined = cv2.morphologyEx(changed.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((1, gap), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    for patch in range(1, count):
        x, y, across, down, _area = (int(v) for v in stats[patch])
        if across >= _CAPTION_ASPECT * down and down <= _CAPTION_HEIGHT * height and at_the_edge(x, y, across, down):
            changed[y:y + down, x:x + across] &= labels[y:y + down, x:x + across] != patch
    count, labels, stats, _ = cv2.connectedComponentsWithStats(changed.astype(np.uint8), connectivity=8)
    total = float(inside.sum())
    unexplained = 0
    for patch in range(1, count):
        x, y, across, down, area = (int(v) for v in stats[patch])
        if area < _MIN_PATCH_SHARE * total:
            continue
        if at_the_edge(x, y, across, down):
            shape = (labels[y:y + down, x:x + across] == patch).astype(np.uint8)
            outlines, _ = cv2.findContours(shape, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
            filled = np.zeros_like(shape)
            cv2.drawContours(filled, outlines, -1, 1, -1)  # holes (a logo's letters) filled
            if _box(filled) and _covered(_area_of(x, y, across, down, changed.shape), textures):
                continue
        unexplained += area
    return unexplained / total


def _moments_of(path: Path) -> tuple[NDArray[np.float64], NDArray[np.uint8], NDArray[np.uint8]]:
    """Gives (times, RGB pictures, grey pictures) of a video's frames every MOMENT_STEP_S, or _MOMENTS_SEARCHED
    spread over a longer one: where a still of it may have been taken."""
    length = stream_duration_s(read_video_index(path)[1])
    count = min(_MOMENTS_SEARCHED, max(1, int(length / MOMENT_STEP_S)))
    times, pictures = frames_at(path, np.linspace(0.0, max(0.0, length - 0.001), count), size_px=SIDE_PX, colour=True)
    return times, pictures, _grey(pictures)


class _Moments:
    """Gives a video's moments to search for a still's (`_moments_of`, read once for all the stills checked
    against it: they come together), and (`around`) every frame near a time (read once for all the copies of
    one still)."""

    _KEPT = 2

    def __init__(self) -> None:
        self._held: dict[Path, tuple[NDArray[np.float64], NDArray[np.uint8], NDArray[np.uint8]]] = {}
        self._near: dict[tuple[Path, float, float], tuple[NDArray[np.float64], NDArray[np.uint8],
                                                          NDArray[np.uint8]]] = {}

    def __call__(self, path: Path, at_s: float) -> tuple[NDArray[np.uint8], NDArray[np.uint8], int,
                                                        NDArray[np.float64]]:
        """Gives (RGB pictures, grey pictures, which is nearest the instant `at_s`, their times)."""
        held = self._held.pop(path, None)
        if held is None:
            held = _moments_of(path)
            if len(self._held) >= self._KEPT:
                self._held.pop(next(iter(self._held)))  # the one used longest ago
        self._held[path] = held
        times, found, grey = held
        return found, grey, int(np.argmin(np.abs(times - at_s))), times

    def around(self, path: Path, at_s: float, reach_s: float) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
        """Gives (RGB, grey) of every frame within `reach_s` of `at_s`."""
        _times, found, grey = self._read_near(path, at_s, reach_s)
        return found, grey

    def _read_near(self, path: Path, at_s: float, reach_s: float
                   ) -> tuple[NDArray[np.float64], NDArray[np.uint8], NDArray[np.uint8]]:
        key = (path, round(at_s, 3), round(reach_s, 3))
        if key not in self._near:
            near = np.clip(at_s + np.arange(-reach_s, reach_s + 1e-9, NEIGHBOUR_S), 0.0, None)
            times, found = frames_at(path, near, size_px=SIDE_PX, colour=True)
            if len(self._near) >= _INSTANTS_KEPT:
                self._near.pop(next(iter(self._near)))  # the one read longest ago
            self._near[key] = times, found, _grey(found)
        return self._near[key]


class _Photos:
    """Reads photos at full size, in colour, each once for all the pairs it is in."""

    def __init__(self) -> None:
        self._held: dict[Path, NDArray[np.uint8]] = {}

    def __call__(self, path: Path) -> NDArray[np.uint8]:
        if path not in self._held:
            try:
                self._held[path] = still_in_colour(path, size_px=SIDE_PX)
            except MediaUnreadable:  # what Pillow will not read whole, FFmpeg may, as the hashes read it
                self._held[path] = frames_at(path, np.zeros(1), size_px=SIDE_PX, colour=True)[1][0]
        return self._held[path]


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


def _registration(left: NDArray[np.float32], right: NDArray[np.uint8]) -> NDArray[np.float64] | None:
    """Gives the similarity transform taking right's pictures onto left's, from the middle frame pair (or others)."""
    best, most = None, 0
    count = left.shape[0]
    for n in dict.fromkeys((count // 2, count // 4, (3 * count) // 4)):  # the middle first; others if it fails
        keys_l, found_l = _features(left[n].astype(np.uint8))
        keys_r, found_r = _features(np.ascontiguousarray(right[n]))
        if found_l is None or found_r is None or len(keys_l) < _MIN_INLIERS or len(keys_r) < _MIN_INLIERS:
            continue
        pairs = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True).match(found_r, found_l)
        if len(pairs) < _MIN_INLIERS:
            continue
        source = np.array([keys_r[p.queryIdx].pt for p in pairs], dtype=np.float32)
        target = np.array([keys_l[p.trainIdx].pt for p in pairs], dtype=np.float32)
        transform, inliers = cv2.estimateAffinePartial2D(source, target, method=cv2.RANSAC,
                                                         ransacReprojThreshold=3.0)
        held = 0 if inliers is None else int(inliers.sum())
        if transform is not None and held >= _MIN_INLIERS and held > most:
            best, most = cast("NDArray[np.float64]", transform), held  # OpenCV gives the 2 x 3 matrix in float64
        if most >= _ENOUGH_INLIERS:
            break
    return best


def _features(picture: NDArray[np.uint8]) -> tuple[Sequence[cv2.KeyPoint], NDArray[np.uint8] | None]:
    """Gives ORB keypoints and descriptors; a smooth picture (fog, a wall, a cloudy scene) is asked for fainter corners.

    A photo is registered against each of its matches: its features are kept for the pictures seen last.
    """
    key = (picture.shape, hashlib.blake2b(np.ascontiguousarray(picture).data, digest_size=16).digest())
    held = _FEATURES_HELD.pop(key, None)
    if held is None:
        held = _features_of(picture)
        if len(_FEATURES_HELD) >= 64:
            _FEATURES_HELD.pop(next(iter(_FEATURES_HELD)))  # the one used longest ago
    _FEATURES_HELD[key] = held
    return held


_FEATURES_HELD: dict[tuple[object, ...], tuple[Sequence[cv2.KeyPoint], NDArray[np.uint8] | None]] = {}


def _features_of(picture: NDArray[np.uint8]) -> tuple[Sequence[cv2.KeyPoint], NDArray[np.uint8] | None]:
    keys: Sequence[cv2.KeyPoint] = ()
    found = None
    for threshold in _CORNER_THRESHOLDS:
        keys, found = cv2.ORB.create(_FEATURES, fastThreshold=threshold).detectAndCompute(picture, None)
        if len(keys) >= _ENOUGH_FEATURES:
            break
    return keys, cast("NDArray[np.uint8] | None", found)  # ORB's descriptors are 32 bytes a corner, or None
