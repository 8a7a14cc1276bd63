"""Whether the EXIF thumbnail still shows the main image.

Editors that crop, retouch or replace the picture often leave the camera's thumbnail
alone, so a preview that shows something else is a classic lead. Both pictures are
shrunk to a tiny grey square and compared by correlation, which ignores the brightness
and contrast changes that a re-save or a tone curve brings. The main image is decoded
from a bounded share of its data (jpeg_sample), and the check says what it compared.
"""

from __future__ import annotations

import mmap
from dataclasses import dataclass
from typing import cast

import cv2
import numpy as np
from numpy.typing import NDArray

from forensics.media.metadata.formats.jpeg_sample import BUDGET_BYTES, reduced_image

_DECODE_FLAGS = cv2.IMREAD_GRAYSCALE | cv2.IMREAD_IGNORE_ORIENTATION


@dataclass(frozen=True, slots=True)
class ThumbnailCheck:
    """How alike the embedded thumbnail and the main image are."""

    similarity: float  # correlation of the two tiny grey images, -1..1
    matches: bool
    rotation_cw_deg: int  # clockwise turn of the main image that fits the thumbnail best
    thumbnail_width_px: int
    thumbnail_height_px: int
    # What of the main image was compared (see jpeg_sample): "whole picture", "rows sampled across the
    # picture", or "top 23% of the picture" where a scan without restart markers ran past the budget.
    coverage: str = "whole picture"


def compare_thumbnail(thumbnail_jpeg: bytes, image_jpeg: bytes | mmap.mmap, *, min_similarity: float = 0.6,
                      size_px: int = 16, min_contrast: float = 4.0,
                      budget_bytes: int = BUDGET_BYTES) -> ThumbnailCheck | None:
    """Compares a JPEG thumbnail with the main image (the whole JPEG file, bytes or a memory map); None
    when either cannot be decoded or is too flat (a blank sky, a black frame) for a comparison to mean anything.

    The main image is decoded from at most about `budget_bytes` of its scan data (see jpeg_sample):
    where that covers only the top of the picture, the top of the thumbnail is compared with it.
    """
    # An IMREAD_GRAYSCALE read: OpenCV gives uint8 pixels.
    thumb = cast("NDArray[np.uint8] | None",
                 cv2.imdecode(np.frombuffer(thumbnail_jpeg, dtype=np.uint8), _DECODE_FLAGS))
    if thumb is None or thumb.size == 0 or float(thumb.std()) < min_contrast:
        return None
    main = reduced_image(image_jpeg, budget_bytes=budget_bytes)
    if main is None or float(main.pixels.std()) < min_contrast:
        return None
    height, width = thumb.shape[:2]
    candidates = [thumb]
    if _aspect_differs(thumb.shape, (main.full_rows, main.full_cols)):
        trimmed = _trim_bars(thumb)
        if trimmed.shape[0] >= 4 and trimmed.shape[1] >= 4:
            candidates.append(trimmed)
    grid = (size_px, max(4, min(size_px, round(size_px * main.top_fraction))))  # columns, rows
    small_main = _tiny(main.pixels, grid)
    if small_main is None:
        return None
    scores: dict[int, float] = {}
    for rotation in (0, 90, 180, 270):
        for candidate in candidates:
            # The main image turned clockwise fits the thumbnail as the thumbnail turned back fits the
            # main image; turning the thumbnail lets the comparison keep to the rows the main one has.
            turned = candidate if rotation == 0 else np.rot90(candidate, k=rotation // 90)
            band = turned[:max(1, round(turned.shape[0] * main.top_fraction))]
            small_thumb = _tiny(band, grid)
            if small_thumb is not None:
                scores[rotation] = max(scores.get(rotation, -1.0), float(np.mean(small_thumb * small_main)))
    if not scores:
        return None
    unturned = scores.get(0, -1.0)
    turn = max((r for r in scores if r), key=scores.__getitem__, default=0)
    # A turn counts only where it fits, and clearly better than the picture as it is: a thumbnail
    # of another picture is a mismatch, not a rotation.
    if turn and scores[turn] >= min_similarity and scores[turn] > unturned + (0.1 if unturned >= min_similarity else 0):
        best_rotation, best = turn, scores[turn]
    else:
        best_rotation, best = 0, unturned
    if best < -0.99:
        return None
    coverage = {"whole": "whole picture", "sampled rows": "rows sampled across the picture"}.get(
        main.coverage, f"top {main.top_fraction:.0%} of the picture")
    return ThumbnailCheck(round(best, 4), best >= min_similarity and best_rotation == 0, best_rotation,
                          width, height, coverage)


def _tiny(image: NDArray[np.uint8], grid: tuple[int, int]) -> NDArray[np.float64] | None:
    """The image shrunk to grid (columns, rows), as floats with zero mean and unit variance; None when flat."""
    small = cv2.resize(np.ascontiguousarray(image), grid, interpolation=cv2.INTER_AREA).astype(np.float64)
    std = small.std()
    if std < 1e-6:
        return None
    return (small - small.mean()) / std


def _aspect_differs(thumb: tuple[int, ...], main: tuple[int, ...], *, tolerance: float = 0.05) -> bool:
    thumb_ratio = thumb[1] / thumb[0]
    main_ratio = main[1] / main[0]
    return min(abs(thumb_ratio / main_ratio - 1), abs(thumb_ratio * main_ratio - 1)) > tolerance


def _trim_bars(image: NDArray[np.uint8], *, dark_level: int = 16) -> NDArray[np.uint8]:
    # Cameras letterbox 16:9 photos into 4:3 thumbnails with black bars; cut them off first,
    # but only when the shapes differ: a dark sky or a black backdrop is no bar.
    rows = np.where(image.mean(axis=1) > dark_level)[0]
    cols = np.where(image.mean(axis=0) > dark_level)[0]
    if rows.size == 0 or cols.size == 0:
        return image
    return image[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
