"""The picture a hash is taken of: borders trimmed, then the whole and a centre crop, at 32 x 32.

Copies of footage gain borders: black letterbox or pillarbox bars when a clip is fitted into
another frame, and the flat bars of a player or phone around a screen recording. A border is
a run of edge rows (or columns) that are flat across their width in (almost) every frame and
keep their level over time; the trim stops at the first row that is not. A flat strip of the
picture's own (a floor, the plain part of a news banner) passes that test, but runs on into
the picture where a border ends in a step: a run is trimmed to its innermost step, and a run
with none only when the opposite side has one too (dark footage in a letterbox). Trimming
once per video, from all its sampled frames, keeps a dark scene from being cut away in one
frame only.

Crops, logos in a corner, banners and burnt-in subtitles all change the edges of the picture
most. So besides the whole trimmed picture, centre crops of 85% and 70% of each side are
hashed (SCALES): a copy cropped by ~15% shows about what the original's 85% crop shows, and
the 70% crop of either is free of most corner logos and of bottom banners and subtitles.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from forensics.dedup.hashes import PICTURE_SIDE

SCALES = (1.0, 0.85, 0.7)  # sides of the hashed regions, as fractions of the trimmed picture
_FLAT_ROW_STD = 6.0  # grey levels (0-255): a row whose pixels vary less than this is flat
_STEADY_ROW_STD = 5.0  # ... and a border row keeps its mean level within this over time
_FLAT_SHARE = 0.95  # share of frames in which a border row must be flat (fades are flat too)
_MIN_KEPT_SHARE = 0.25  # a trim leaving less than this of a side is taken for a blank picture
_BORDER_STEP = 24.0  # grey levels: a border's level and the picture beside it differ this much ...
_BORDER_STEP_SHARE = 0.5  # ... over this share of the row


@dataclass(frozen=True, slots=True)
class ContentBox:
    """The part of the picture that is not border: rows [top, bottom), columns [left, right)."""

    top: int
    bottom: int
    left: int
    right: int
    height: int  # of the whole picture, to express the box as shares
    width: int

    @property
    def trimmed(self) -> bool:
        return (self.top, self.left, self.bottom, self.right) != (0, 0, self.height, self.width)

    def shares(self) -> tuple[float, float, float, float]:
        """Gives (top, bottom, left, right) as shares of the picture's height and width."""
        return (self.top / self.height, self.bottom / self.height, self.left / self.width, self.right / self.width)


def content_box(grey: NDArray[np.float32]) -> ContentBox:
    """Gives the box inside the borders common to a stack of grey pictures (N x H x W, 0-255)."""
    if grey.ndim == 2:
        grey = grey[None]
    _, height, width = grey.shape
    top, bottom, left, right = 0, height, 0, width
    # Rows are judged across the kept columns and columns down the kept rows, until neither
    # moves: a screenshot's title bar above a light margin leaves no column flat down the whole
    # height, though every column beside the picture is flat once the bar is trimmed.
    for _ in range(3):
        first, end = _trim_axis(grey[:, top:bottom, left:right])  # rows
        top, bottom = top + first, top + end
        first, end = _trim_axis(np.swapaxes(grey[:, top:bottom, left:right], 1, 2))  # columns
        if (first, end) == (0, right - left):
            break
        left, right = left + first, left + end
    if bottom - top < _MIN_KEPT_SHARE * height or right - left < _MIN_KEPT_SHARE * width:
        return ContentBox(0, height, 0, width, height, width)
    return ContentBox(top, bottom, left, right, height, width)


_STRETCH_S = 0.75  # half the window over which a stretch's own bars are looked for
_BAR_LEVEL = 50.0  # grey level under which a stretch's extra border is a padding bar (black, dark grey)
_STRETCH_EXTRA_SHARE = 0.05  # a stretch's bars must trim this much more of a side than the whole video's


def stretch_boxes(grey: NDArray[np.float32], times_s: NDArray[np.float64], whole: ContentBox) -> list[ContentBox]:
    """Gives each frame's box: the video's, or its stretch's where that stretch alone is padded with dark bars.

    A compilation fits clips of other shapes into one frame, so one stretch carries pillar- or
    letterbox bars the rest does not; trimmed once for the whole video, those bars would stay
    in its hashes. Only dark, flat bars that last the stretch count, so a dark scene is not cut.
    """
    out = []
    # Most videos have no such stretch: a frame is looked at closely only if, on its own, it shows
    # flat dark edges beyond the video's box (cheap: one pass over each frame's rows and columns).
    suspects = _frames_with_dark_edges(grey, whole)
    for index in range(grey.shape[0]):
        if not suspects[index]:
            out.append(whole)
            continue
        chosen = whole
        # The stretch the frame opens or closes: a window on either side, so a cut is not blurred over.
        for near in ((times_s >= times_s[index]) & (times_s <= times_s[index] + _STRETCH_S),
                     (times_s <= times_s[index]) & (times_s >= times_s[index] - _STRETCH_S)):
            if near.sum() < 2:
                continue
            box = content_box(grey[near])
            extra = [(box.top - whole.top) / whole.height, (whole.bottom - box.bottom) / whole.height,
                     (box.left - whole.left) / whole.width, (whole.right - box.right) / whole.width]
            if max(extra) >= _STRETCH_EXTRA_SHARE and min(extra) >= -0.01 and _dark_bars(grey[index], box, whole):
                chosen = box
                break
        out.append(chosen)
    return out


def _frames_with_dark_edges(grey: NDArray[np.float32], whole: ContentBox) -> NDArray[np.bool_]:
    """Gives which frames have flat, dark rows or columns at an edge of `whole`, a share of a side deep."""
    inner = grey[:, whole.top:whole.bottom, whole.left:whole.right]
    _count, height, width = inner.shape
    rows = (inner.std(axis=2) < _FLAT_ROW_STD) & (inner.mean(axis=2) < _BAR_LEVEL)  # N x H
    cols = (inner.std(axis=1) < _FLAT_ROW_STD) & (inner.mean(axis=1) < _BAR_LEVEL)  # N x W
    depth_rows = max(1, int(_STRETCH_EXTRA_SHARE * height))
    depth_cols = max(1, int(_STRETCH_EXTRA_SHARE * width))
    return (rows[:, :depth_rows].all(axis=1) | rows[:, height - depth_rows:].all(axis=1)
            | cols[:, :depth_cols].all(axis=1) | cols[:, width - depth_cols:].all(axis=1))


def _dark_bars(picture: NDArray[np.float32], box: ContentBox, whole: ContentBox) -> bool:
    """Whether what `box` trims beyond `whole` in one picture is dark padding."""
    region = picture[whole.top:whole.bottom, whole.left:whole.right]
    mask = np.ones(region.shape, dtype=bool)
    mask[box.top - whole.top:box.bottom - whole.top, box.left - whole.left:box.right - whole.left] = False
    return bool(mask.any()) and float(region[mask].mean()) < _BAR_LEVEL


def _trim_axis(grey: NDArray[np.float32]) -> tuple[int, int]:
    """Gives [first, end) of the rows of N x H x W pictures that are not border rows."""
    flat = grey.std(axis=2) < _FLAT_ROW_STD  # N x H
    level = grey.mean(axis=2)
    steady = level.std(axis=0) < _STEADY_ROW_STD  # H
    border = (flat.mean(axis=0) >= _FLAT_SHARE) & steady
    size = border.shape[0]
    first = 0
    while first < size and border[first]:
        first += 1
    end = size
    while end > first and border[end - 1]:
        end -= 1
    if end <= first:
        return 0, size
    # A flat band of the picture's own passes as well: a floor or a sky in one picture, the
    # plain strip under a news banner's text in every frame. Such a band runs on into the
    # picture; a border mostly ends in a step. So a run ends at its innermost step (a letterbox
    # bar below a floor stops at the floor; a title bar, then a margin, then the picture, at the
    # picture). A run without a step is a border only when the opposite side has one too (a
    # letterbox or a screen's frame around dark footage); alone (a banner's strip) it is not.
    top = max((c for c in range(1, first + 1)
               if _steps(grey, c - 1, c if c < first else min(first + 1, end - 1))), default=None)
    bottom = min((c for c in range(end, size) if _steps(grey, c, c - 1 if c > end else max(end - 2, first))),
                 default=None)
    both_sides = first > 0 and end < size
    first = top if top is not None else first if both_sides else 0
    end = bottom if bottom is not None else end if both_sides else size
    # A border row bleeds into the first picture row when the copy was scaled into its frame.
    return (first + 1 if first else 0), (end - 1 if end < size else end)


def _steps(grey: NDArray[np.float32], border_row: int, picture_row: int) -> bool:
    """Whether most of a row of N x H x W pictures (past the row a scaled border bleeds into) stands off a border row's level."""
    level = float(grey[:, border_row].mean())
    return float((np.abs(grey[:, picture_row] - level) > _BORDER_STEP).mean()) >= _BORDER_STEP_SHARE


def hash_inputs(grey: NDArray[np.float32], box: ContentBox, *, side_px: int = PICTURE_SIDE) -> NDArray[np.float32]:
    """Gives the pictures to hash (N x len(SCALES) x side x side) of N grey pictures inside `box`."""
    inner = grey[:, box.top:box.bottom, box.left:box.right]
    count, height, width = inner.shape
    out = np.empty((count, len(SCALES), side_px, side_px), dtype=np.float32)
    for s, scale in enumerate(SCALES):
        h = max(1, round(height * scale))
        w = max(1, round(width * scale))
        y, x = (height - h) // 2, (width - w) // 2
        for n in range(count):
            region = np.ascontiguousarray(inner[n, y:y + h, x:x + w])
            # INTER_AREA averages every source pixel, as imagehash's antialiased resize does.
            out[n, s] = cv2.resize(region, (side_px, side_px), interpolation=cv2.INTER_AREA)
    return out
