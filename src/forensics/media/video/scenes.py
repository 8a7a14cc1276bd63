"""Shot boundaries from small pictures: hard cuts, and fades through a uniform (black, white) picture.

The detector works on pictures about 64 pixels wide, reduced straight from the decoder's
planes, so its cost next to decoding is small. A frame starts a new shot when it differs from
the one before much more than its neighbours differ from theirs (an adaptive threshold, as in
PySceneDetect's AdaptiveDetector, which keeps camera moves and shaky footage from firing), and
when the picture does not come back a few frames later (a muzzle flash, an explosion, a camera
flash is not a cut). Fades are runs of near-uniform pictures between two shots that differ.

`ShotDetector` is fed pictures in presentation order, a chunk at a time, and keeps only the
last few; `boundaries()` then decides on the whole run of per-frame scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import av
import cv2
import numpy as np
from numpy.typing import NDArray

from forensics.errors import ParameterError

_TARGET_WIDTH_PX = 64
_SIGNATURE_SHAPE = (18, 32)  # rows, columns of the tiny luma kept per frame for fade checks
_PLANAR_YUV = {"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "yuv440p", "yuvj440p"}


@dataclass(frozen=True, slots=True)
class SmallPicture:
    """One frame reduced for comparison; the chroma keeps colour changes visible in grey-alike shots."""

    pts: int  # presentation timestamp, stream time base ticks
    luma: NDArray[np.uint8]  # h x 64, Y plane, h from the coded aspect ratio
    chroma: NDArray[np.uint8]  # h/2 x 32 x 2, Cb and Cr planes
    signature: NDArray[np.uint8] | None = None  # 18 x 32 luma, kept for every frame; None: made from luma
    luma_std: float | None = None  # spread of the luma values; None: computed from luma


@dataclass(frozen=True, slots=True)
class Boundary:
    """Where a shot begins: the position of its first frame in the fed sequence, and how."""

    position: int  # index into the frames fed to the detector, presentation order
    kind: str  # "cut" or "fade"


def small_picture(frame: av.VideoFrame) -> SmallPicture:
    """Gives the SmallPicture of a decoded frame, reading its planes without a colour conversion."""
    if frame.format.name not in _PLANAR_YUV:
        frame = frame.reformat(format="yuv420p")  # rare: GIF palettes, 10-bit, RGB codecs
    luma = _shrink(_plane(frame, 0), _TARGET_WIDTH_PX)
    height = luma.shape[0]
    chroma_size = (_TARGET_WIDTH_PX // 2, max(1, height // 2))
    cb = _shrink(_plane(frame, 1), chroma_size[0], chroma_size[1])
    cr = _shrink(_plane(frame, 2), chroma_size[0], chroma_size[1])
    # The per-frame summaries are made here, in the decoding threads, rather than in the detector.
    return SmallPicture(pts=int(frame.pts if frame.pts is not None else -1), luma=luma,
                        chroma=np.stack([cb, cr], axis=-1), signature=_signature(luma),
                        luma_std=float(luma.std()))


def _signature(luma: NDArray[np.uint8]) -> NDArray[np.uint8]:
    # cv2.resize keeps the dtype.
    return cast("NDArray[np.uint8]", cv2.resize(luma, _SIGNATURE_SHAPE[::-1], interpolation=cv2.INTER_AREA))


def _plane(frame: av.VideoFrame, number: int) -> NDArray[np.uint8]:
    plane = frame.planes[number]
    # numpy's stubs list buffer types by name; a PyAV plane is a buffer too (PEP 688 __buffer__).
    rows = np.frombuffer(plane, dtype=np.uint8).reshape(plane.height, plane.line_size)  # type: ignore[call-overload]
    return rows[:, :plane.width]


def _shrink(plane: NDArray[np.uint8], width: int, height: int | None = None) -> NDArray[np.uint8]:
    rows, columns = plane.shape
    if height is None:
        height = max(1, round(width * rows / columns))
    # Sampling every k-th pixel first, so the area filter runs at ~5x on ~320 columns: a
    # fifth of the cost of filtering the full plane, with enough averaging left to damp noise.
    step = max(1, columns // (width * 5))
    # cv2.resize keeps the dtype.
    return cast("NDArray[np.uint8]",
                cv2.resize(np.ascontiguousarray(plane[::step, ::step]), (width, height), interpolation=cv2.INTER_AREA))


@dataclass(frozen=True, slots=True)
class DetectorSettings:
    """Tuning of the shot detector; the defaults were fitted on bench_frames.py compilations."""

    ratio: float = 3.0  # a cut's score over the mean score of its neighbours
    min_score: float = 6.0  # a cut's least mean absolute difference, in 8-bit levels
    window_frames: int = 4  # neighbours each side for the adaptive threshold
    still_score: float = 1.0  # below this a frame repeats the one before (duplicated frames)
    flash_frames: int = 6  # a picture that comes back within this many frames was a flash
    flash_return: float = 0.5  # ... back means nearer than this share of the jump
    uniform_std: float = 6.0  # a picture with less luma spread is uniform (black, white, blank)
    min_shot_frames: int = 6  # no two boundaries closer than this
    fade_look_frames: int = 10  # a fade is judged on the pictures this far either side of the uniform run
    fade_same_max: float = 0.5  # ... which, contrast-normalised, differ less than this if one shot

    def __post_init__(self) -> None:
        if self.ratio <= 1 or self.min_score < 0 or self.window_frames < 1 or self.flash_frames < 1:
            raise ParameterError("detector settings out of range: ratio > 1, min_score >= 0, "
                                 "window_frames >= 1, flash_frames >= 1")


class ShotDetector:
    """Scores frames fed in presentation order and finds shot boundaries among them."""

    def __init__(self, settings: DetectorSettings = DetectorSettings()) -> None:
        self.settings = settings
        self._tail: list[SmallPicture] = []  # last frames of the previous chunk, for context
        self._scores: list[NDArray[np.float32]] = []  # per chunk: (n,) difference to the previous frame
        self._returns: list[NDArray[np.float32]] = []  # per chunk: (n,) least difference across the jump
        self._spread: list[NDArray[np.float32]] = []  # per chunk: (n,) luma standard deviation
        self._signatures: list[NDArray[np.uint8]] = []  # per chunk: (n, 18, 32) tiny luma
        self._pending: list[SmallPicture] = []  # frames whose look-ahead is not complete yet
        self.count = 0

    def feed(self, pictures: Sequence[SmallPicture]) -> None:
        """Adds the next frames, in presentation order."""
        self._pending.extend(pictures)
        ahead = self.settings.flash_frames
        if len(self._pending) > ahead:
            self._score(self._pending[:-ahead], self._pending[-ahead:])
            self._pending = self._pending[-ahead:]

    def _score(self, pictures: list[SmallPicture], lookahead: list[SmallPicture]) -> None:
        flash = self.settings.flash_frames
        context = self._tail[-(flash + 1):]
        everything = context + pictures + lookahead
        stack_y = _stack([p.luma for p in everything])
        stack_c = _stack([p.chroma for p in everything])
        n, total = len(pictures), len(everything)
        at = np.arange(n) + len(context)  # where each new picture sits in the stack

        def distance(a: NDArray[np.intp], b: NDArray[np.intp], into: NDArray[np.float32]) -> None:
            ok = (a >= 0) & (b >= 0) & (a < total) & (b < total)
            if ok.any():
                into[ok] = np.minimum(into[ok], _distance(stack_y[a[ok]], stack_y[b[ok]],
                                                          stack_c[a[ok]], stack_c[b[ok]]))

        scores = np.full(n, np.inf, dtype=np.float32)
        distance(at - 1, at, scores)
        scores[np.isinf(scores)] = np.nan  # the video's first frame has no frame before it
        # A jump at j that undoes itself is a flash: some frame after j is near j-1 again (its
        # start), or j is near a frame before j-1 (its end). Only jumps big enough to be cuts
        # need the test, which keeps its cost off the other frames.
        returns = np.full(n, np.inf, dtype=np.float32)
        jumps = np.flatnonzero(np.nan_to_num(scores, nan=0.0) >= self.settings.min_score)
        if jumps.size:
            jump_returns = np.full(jumps.size, np.inf, dtype=np.float32)
            for m in range(1, flash + 1):
                distance(at[jumps] - 1, at[jumps] + m, jump_returns)
                distance(at[jumps], at[jumps] - 1 - m, jump_returns)
            returns[jumps] = jump_returns
        self._scores.append(scores)
        self._returns.append(returns)
        self._spread.append(np.array([p.luma_std if p.luma_std is not None else float(p.luma.std())
                                      for p in pictures], dtype=np.float32))
        self._signatures.append(np.stack([p.signature if p.signature is not None else _signature(p.luma)
                                          for p in pictures]))
        self._tail = (context + pictures)[-(flash + 1):]
        self.count += n

    def finish(self) -> None:
        """Scores the last frames, whose look-ahead is cut short by the end of the video."""
        if self._pending:
            self._score(self._pending, [])
            self._pending = []

    def scores(self) -> NDArray[np.float32]:
        """Gives each frame's difference to the frame before (NaN for the first)."""
        self.finish()
        return np.concatenate(self._scores) if self._scores else np.zeros(0, np.float32)

    def boundaries(self) -> list[Boundary]:
        """Gives the frames that begin a new shot (the first frame is never one)."""
        self.finish()
        if not self._scores:
            return []
        s = self.settings
        scores = np.nan_to_num(np.concatenate(self._scores), nan=0.0)
        returns = np.concatenate(self._returns)
        uniform = np.concatenate(self._spread) < s.uniform_std
        signatures = np.concatenate(self._signatures)
        cuts = _adaptive_peaks(scores, s)
        cuts = [t for t in cuts if not returns[t] < s.flash_return * scores[t]]
        found = [Boundary(t, "cut") for t in cuts if not uniform[t] and not uniform[t - 1]]
        found += _fades(uniform, signatures, s)
        return _thin(sorted(found, key=lambda b: b.position), s.min_shot_frames)


def _stack(arrays: list[NDArray[np.uint8]]) -> NDArray[np.int16]:
    return np.stack(arrays).astype(np.int16)


def _distance(y1: NDArray[np.int16], y2: NDArray[np.int16], c1: NDArray[np.int16],
              c2: NDArray[np.int16]) -> NDArray[np.float32]:
    """Gives the mean absolute difference of luma plus that of chroma, per pair, in 8-bit levels."""
    if y1.shape[0] == 0:
        return np.zeros(0, dtype=np.float32)
    dy = np.abs(y1 - y2).reshape(y1.shape[0], -1).mean(axis=1)
    dc = np.abs(c1 - c2).reshape(c1.shape[0], -1).mean(axis=1)
    return (dy + dc).astype(np.float32)


def _adaptive_peaks(scores: NDArray[np.float32], s: DetectorSettings) -> list[int]:
    """Gives frames whose score stands out from that of `window_frames` neighbours each side.

    Neighbours that repeat the frame before them (score under `still_score`) are left out of
    the mean: footage of 10 or 15 frames a second stored at 30 repeats each picture, and
    against those zeros every real change would look like a cut.
    """
    n = scores.shape[0]
    w = s.window_frames
    values = scores.astype(np.float64)
    moving = (values >= s.still_score).astype(np.float64)
    kernel = np.ones(2 * w + 1)
    window_sum = np.convolve(np.pad(values * moving, w), kernel, mode="valid") - values * moving
    window_count = np.convolve(np.pad(moving, w), kernel, mode="valid") - moving
    neighbours = np.divide(window_sum, window_count, out=np.zeros(n), where=window_count > 0)
    candidates = np.flatnonzero((values >= s.min_score) & (values >= s.ratio * neighbours))
    return [int(t) for t in candidates if 0 < t < n]


def _fades(uniform: NDArray[np.bool_], signatures: NDArray[np.uint8], s: DetectorSettings) -> list[Boundary]:
    """Gives one boundary in the middle of each uniform run that separates two different pictures."""
    found: list[Boundary] = []
    n = uniform.shape[0]
    t = 0
    while t < n:
        if not uniform[t]:
            t += 1
            continue
        start = t
        while t < n and uniform[t]:
            t += 1
        if start == 0 or t == n:
            continue  # a video that opens or closes on black has no shot on that side
        # Compared contrast-normalised, so a dimmed and a bright view of one scene look alike:
        # right beside the run (a lens covered, then uncovered: the same view) and further out
        # (the end of a fade's dimming, where near frames are too dark to tell).
        near = _normalised(signatures[start - 1]), _normalised(signatures[t])
        far = (_normalised(signatures[max(0, start - s.fade_look_frames)]),
               _normalised(signatures[min(n - 1, t - 1 + s.fade_look_frames)]))
        difference = min(float(np.abs(a - b).mean()) for a, b in (near, far))
        if difference > s.fade_same_max:
            found.append(Boundary((start + t) // 2, "fade"))
    return found


def _normalised(signature: NDArray[np.uint8]) -> NDArray[np.float32]:
    values = signature.astype(np.float32)
    return (values - values.mean()) / (values.std() + 1.0)


def _thin(found: list[Boundary], min_gap: int) -> list[Boundary]:
    """Drops boundaries closer than `min_gap` to the one kept before them; fades win over cuts."""
    kept: list[Boundary] = []
    for boundary in found:
        if kept and boundary.position - kept[-1].position < min_gap:
            if boundary.kind == "fade" and kept[-1].kind == "cut":
                kept[-1] = boundary
            continue
        kept.append(boundary)
    return kept
