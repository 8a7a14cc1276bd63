"""Full-size pictures of two files lined up: a similarity transform from ORB features, RANSAC.

Both checks at full size (verify.moving_agreement on two videos, still_check.unexplained_change on
a still) register one file's picture onto the other's this way, which undoes a crop, a scale or
a border.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import cast

import cv2
import numpy as np
from numpy.typing import NDArray

from forensics.dedup.last_used import LastUsed

SIDE_PX = 320  # the longer side full-size pictures are compared at
NEIGHBOUR_S = 0.04  # frames this far either side of an instant are tried too (a frame at 25 fps)
_MIN_INLIERS = 12
_ENOUGH_INLIERS = 40  # a registration this well supported is not tried on other frames
_FEATURES = 500
_ENOUGH_FEATURES = 100
_CORNER_THRESHOLDS = (20, 10, 5)  # FAST thresholds tried in turn until a picture gives enough features


def registration(left: NDArray[np.float32], right: NDArray[np.uint8]) -> NDArray[np.float64] | None:
    """Gives the similarity transform taking right's pictures onto left's, from the middle frame pair (or others)."""
    best, most = None, 0
    count = left.shape[0]
    for n in dict.fromkeys((count // 2, count // 4, (3 * count) // 4)):  # the middle first; others if it fails
        keys_l, found_l = features(left[n].astype(np.uint8))
        keys_r, found_r = features(np.ascontiguousarray(right[n]))
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


def features(picture: NDArray[np.uint8]) -> tuple[Sequence[cv2.KeyPoint], NDArray[np.uint8] | None]:
    """Gives ORB keypoints and descriptors; a smooth picture (fog, a wall, a cloudy scene) is asked for fainter corners.

    A photo is registered against each of its matches: its features are kept for the pictures seen last.
    """
    key = (picture.shape, hashlib.blake2b(np.ascontiguousarray(picture).data, digest_size=16).digest())
    return _FEATURES_HELD.get(key, lambda: _features_of(picture))


_FEATURES_HELD: LastUsed[tuple[object, ...], tuple[Sequence[cv2.KeyPoint], NDArray[np.uint8] | None]] = \
    LastUsed(64)


def _features_of(picture: NDArray[np.uint8]) -> tuple[Sequence[cv2.KeyPoint], NDArray[np.uint8] | None]:
    keys: Sequence[cv2.KeyPoint] = ()
    found = None
    for threshold in _CORNER_THRESHOLDS:
        keys, found = cv2.ORB.create(_FEATURES, fastThreshold=threshold).detectAndCompute(picture, None)
        if len(keys) >= _ENOUGH_FEATURES:
            break
    return keys, cast("NDArray[np.uint8] | None", found)  # ORB's descriptors are 32 bytes a corner, or None
