"""What shows two files are the same recording, beyond close hashes: texture, motion, the still's moment.

Close hashes say two pictures look alike. Footage of one place looks alike whatever the
recording: the same fixed camera at another hour, the same person in the same room. So a
pair is called the same recording only with evidence a second take could not give:

- **texture**: a frame with little detail (sky, an empty road, a wall, night, blur) hashes to
  the shape of its lighting, which any other dull frame shares; such frames carry no weight;
- **motion** (two videos): over the matched span, what changes in one (each frame minus the
  span's mean) must change alike in the other. Two takes move differently; a copy cannot;
- **the moment** (a still and a video): the still's best frame must be clearly closer than
  the rest of the video (a still of a fixed camera's other take is as close to every
  moment); and, over a collection, closer than any other video of that scene (groups.py).

What passes the hashes but not the evidence is a `SceneMatch`: a lead, never a group.
"""

from __future__ import annotations

import functools
import weakref
from typing import Literal, get_args

import numpy as np
from numpy.typing import NDArray

from forensics.dedup.hashes import HASH_SIDE, dct_matrix

_DCT16 = dct_matrix(HASH_SIDE, 16) / 16.0  # the low 8 x 8 DCT of a 16 x 16 thumbnail, per pixel
Confidence = Literal["strong", "likely", "weak"]
CONFIDENCES: tuple[Confidence, ...] = get_args(Confidence)

# Fitted on the tuning half of benchmarks/bench_dedup.py (see its README for the figures).
MIN_TEXTURE_GREY_LEVELS = 0.2  # a frame whose thumbnail's DCT has less structure (texture()) carries no weight
STILL_GREY_LEVELS = 0.4  # below this rms change of 16 x 16 thumbnails over a span, nothing moved (rounding noise is 0.3)
MIN_MOTION_CORRELATION = 0.6  # two videos' changes must correlate this well to be one recording
STRONG_MOTION_CORRELATION = 0.8
SHORT_SPAN_S = 3.3  # a partial span longer than this needs STRONG_MOTION_CORRELATION
LOOSE_SPAN_BITS = 8  # a span whose median distance is more than this needs STRONG_MOTION_CORRELATION
MIN_MOMENT_MARGIN_BITS = 2  # hashes alone: a still's best frame this much closer than frames a second away (weak)
MOMENT_FIT = 0.3  # a still and its moment: rms difference of their normalised thumbnails at most this (likely)
MOMENT_RATIO = 1.3  # ... and frames a second or more away at least this much further
STRONG_MOMENT_FIT = 0.15
EXACT_MOMENT_FIT = 0.1  # a fit this close is the footage's own picture, whatever the ratio (likely)
STRONG_MOMENT_RATIO = 1.5
STILL_SAME_BITS = 6  # a still and a frame (or two stills) further apart than this are not one picture
STRONG_STILL_BITS = 2
MOMENT_WINDOW_S = 1.0  # frames nearer than this to the best moment are that moment


def texture(thumbs: NDArray[np.uint8]) -> NDArray[np.float64]:
    """Gives how much structure a pHash of each thumbnail (... x 16 x 16) rests on, in grey levels.

    That is the median absolute deviation of the low 8 x 8 DCT coefficients: a hash bit says
    whether a coefficient is above their median, so where most coefficients sit at the median
    (a smooth gradient of sky or road, a wall, a blur) the bits are set by coding noise and
    the hash is the lighting's, shared by any dull picture.
    """
    pictures = thumbs.astype(np.float64)
    blocks = _DCT16 @ pictures @ _DCT16.T  # batched matrix products: far faster than an einsum here
    flat = blocks.reshape(*blocks.shape[:-2], -1)
    return np.median(np.abs(flat - np.median(flat, axis=-1, keepdims=True)), axis=-1)


def textured(thumbs: NDArray[np.uint8]) -> NDArray[np.bool_]:
    """Gives which frames (N, from N x 16 x 16 whole-picture thumbnails) have structure enough to weigh."""
    # A file is compared with many others; its answer is kept while its thumbnails live.
    key = (id(thumbs.base) if thumbs.base is not None else id(thumbs), thumbs.__array_interface__["data"][0],
           thumbs.shape, thumbs.strides)  # the view's own first element: [:, 0] and [:, 1] share the rest
    held = _TEXTURED.get(key)
    if held is not None and held[0]() is (thumbs.base if thumbs.base is not None else thumbs):
        return held[1]
    found = texture(thumbs) >= MIN_TEXTURE_GREY_LEVELS
    if len(_TEXTURED) > 4096:
        _TEXTURED.clear()
    _TEXTURED[key] = (weakref.ref(thumbs.base if thumbs.base is not None else thumbs), found)
    return found


_TEXTURED: dict[tuple[object, ...], tuple[weakref.ref[np.ndarray], NDArray[np.bool_]]] = {}


def motion_correlation(left: NDArray[np.floating], right: NDArray[np.floating]) -> float | None:
    """Gives how alike two aligned spans (N x H x W each) change over time (-1..1); None when neither changes."""
    if left.shape[0] < 3:
        return None
    left = left.astype(np.float64) - left.mean(axis=0)
    right = right.astype(np.float64) - right.mean(axis=0)
    energy_left, energy_right = float(np.sqrt((left ** 2).mean())), float(np.sqrt((right ** 2).mean()))
    if energy_left < STILL_GREY_LEVELS and energy_right < STILL_GREY_LEVELS:
        return None
    return float((left * right).sum() / np.sqrt((left ** 2).sum() * (right ** 2).sum() + 1e-9))


def moment_margin_bits(profile: NDArray[np.integer], times_s: NDArray[np.float64], best: int) -> int | None:
    """Gives how much closer (bits) a still is to frame `best` than to any frame a second or more away.

    `profile` is the still's distance to each frame. None when the video has no frame that far
    (it is all one moment).
    """
    far = np.abs(times_s - times_s[best]) > MOMENT_WINDOW_S
    if not far.any():
        return None
    return int(profile[far].min()) - int(profile[best])


def picture_fit(left: NDArray[np.number], right: NDArray[np.number]) -> NDArray[np.float64]:
    """Gives the rms difference of broadcastable pictures (... x H x W), each brought to mean 0 and deviation 1."""
    return np.sqrt(((_standardised(left) - _standardised(right)) ** 2).mean(axis=-1))


def _standardised(pictures: NDArray[np.number]) -> NDArray[np.float64]:
    """Gives pictures (... x H x W) flattened (... x H*W), each brought to mean 0 and deviation 1."""
    flat = pictures.reshape(*pictures.shape[:-2], -1).astype(np.float64)
    flat = flat - flat.mean(axis=-1, keepdims=True)
    return flat / (flat.std(axis=-1, keepdims=True) + 1e-6)


def moment_fit(video: NDArray[np.uint8], still: NDArray[np.uint8],
               times_s: NDArray[np.float64]) -> tuple[int, float, float | None]:
    """Gives (frame, fit, ratio): the video frame (N x 16 x 16 thumbnails) the still (16 x 16) fits best.

    Fit is the rms difference of the two thumbnails, each brought to mean 0 and deviation 1
    (so a grade or a re-exposure does not count); ratio is how much worse the best fit a
    second or more away is (None when the video is all one moment). A copy of a frame fits
    it to coding noise and the rest of its video worse; a still of another take fits no
    frame that well, or every frame about as well.
    """
    fits = picture_fit(video, still[None])
    best = int(np.argmin(fits))
    far = np.abs(times_s - times_s[best]) > MOMENT_WINDOW_S
    ratio = float(fits[far].min() / max(float(fits[best]), 1e-3)) if far.any() else None
    return best, float(fits[best]), ratio


def registered_fit(video: NDArray[np.uint8], still: NDArray[np.uint8],
                   times_s: NDArray[np.float64]) -> tuple[int, float, None]:
    """Gives (frame, fit, None) as moment_fit does, with the still lined up on the frame first.

    Two edits of one picture (a 10% crop against a 15% one, a border, a logo banner) leave
    their thumbnails off by up to about a pixel and a tenth in scale, enough to lift the fit
    of the footage's own picture above EXACT_MOMENT_FIT. So the still is moved by up to a
    pixel and scaled by up to 12%, on a grid (_ZOOMS, _SHIFTS_PX) and then at half its steps
    around the best move, and the fit is the best over those, over the whole frame: what a
    move brings in from outside the still repeats its edge, and no part of the frame is left
    uncompared (a change at the picture's edge, another moment of a fixed camera, must count).
    Only the frames it fits best unmoved (_REGISTERED_FRAMES) are tried; the ratio to other
    moments is not measured (None): a fit this close needs none.
    """
    frames = np.argsort(picture_fit(video, still[None]), kind="stable")[:_REGISTERED_FRAMES]
    targets = _standardised(video[frames])
    picture = still.astype(np.float64)
    fits, (zoom, dx, dy) = _best_move(targets, picture, _ZOOMS, _SHIFTS_PX, _SHIFTS_PX)
    zoom_step, shift_step = (_ZOOMS[1] - _ZOOMS[0]) / 2, (_SHIFTS_PX[1] - _SHIFTS_PX[0]) / 2
    finer, _ = _best_move(targets, picture, (zoom - zoom_step, zoom, zoom + zoom_step),
                          (dx - shift_step, dx, dx + shift_step), (dy - shift_step, dy, dy + shift_step))
    fits = np.minimum(fits, finer)
    best = int(np.argmin(fits))
    return int(frames[best]), float(fits[best]), None


_ZOOMS = (0.88, 0.92, 0.96, 1.0, 1.04, 1.08, 1.12)
_SHIFTS_PX = (-1.0, -0.5, 0.0, 0.5, 1.0)
_REGISTERED_FRAMES = 8


def _best_move(targets: NDArray[np.float64], still: NDArray[np.float64], zooms: tuple[float, ...],
               shifts_x: tuple[float, ...], shifts_y: tuple[float, ...]) -> tuple[NDArray[np.float64],
                                                                                   tuple[float, float, float]]:
    """Gives the fit of each target (F x pixels, standardised) to the still under its best move, and that move.

    A move is a zoom about the middle and a shift along each axis: separable, so the still is
    resampled along its columns, then its rows, each a bilinear matrix (_resampling).
    """
    side = still.shape[-1]
    rows_by = _resampling(side, zooms, shifts_y)  # zoom x shift x out x in
    columns_by = _resampling(side, zooms, shifts_x)
    count, out = len(zooms), rows_by.shape[2]
    rows = (rows_by @ still).reshape(count, len(shifts_y) * out, side)  # zoom x (row shift, out row) x column
    both = rows @ np.swapaxes(columns_by.reshape(count, len(shifts_x) * out, side), 1, 2)
    moved = both.reshape(count, len(shifts_y), out, len(shifts_x), out).transpose(0, 1, 3, 2, 4).reshape(-1, out * out)
    # Of pictures brought to mean 0 and deviation 1, the mean squared difference is 2 - 2 x correlation;
    # against a target of mean 0, a moved still's own mean drops out of the products.
    spread = np.sqrt(np.maximum((moved ** 2).mean(axis=1) - moved.mean(axis=1) ** 2, 0.0)) + 1e-6
    correlation = (targets @ moved.T) / (moved.shape[1] * spread)
    fits = np.sqrt(np.maximum(0.0, 2.0 - 2.0 * correlation))
    z, y, x = np.unravel_index(int(np.argmin(fits.min(axis=0))), (count, len(shifts_y), len(shifts_x)))
    return fits.min(axis=1), (zooms[z], shifts_x[x], shifts_y[y])


@functools.lru_cache(maxsize=64)
def _resampling(side: int, zooms: tuple[float, ...], shifts: tuple[float, ...]) -> NDArray[np.float64]:
    """Gives the bilinear resampling matrices (zooms x shifts x side x side) of one axis, edges repeated.

    Output pixel i of zoom z and shift d reads the input at middle + (i - middle) * z + d.
    """
    middle = (side - 1) / 2.0
    out = np.zeros((len(zooms), len(shifts), side, side))
    for z, zoom in enumerate(zooms):
        for d, shift in enumerate(shifts):
            where = np.clip(middle + (np.arange(side) - middle) * zoom + shift, 0, side - 1)
            low = np.floor(where).astype(int)
            high = np.minimum(low + 1, side - 1)
            weight = where - low
            np.add.at(out[z, d], (np.arange(side), low), 1 - weight)
            np.add.at(out[z, d], (np.arange(side), high), weight)
    return out


def hash_agreement(distances: NDArray[np.integer]) -> float:
    """Gives 1 - mean Hamming distance / 32 of matched frames, in 0..1 (32 bits: unrelated pictures)."""
    return max(0.0, 1.0 - float(np.mean(distances)) / 32.0)


def combined_score(hashes: float, evidence: float) -> float:
    """Gives the pair's score: the geometric mean of hash agreement and the evidence's agreement (0..1 each)."""
    return round(float(np.sqrt(max(0.0, hashes) * min(1.0, max(0.0, evidence)))), 4)
