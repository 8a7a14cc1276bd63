"""Landmark hashes: pairs of spectral peaks, quantised, at a chosen speed.

A speed or pitch change of a few percent moves every peak: times scale by the speed and
frequencies by its inverse. The library stores hashes of the audio as it is; a query is
hashed again at each speed of a grid (`SPEEDS`) by scaling its peak coordinates, which costs
a few milliseconds, not a new analysis. The grid step (0.5 %) keeps the residual error of the
highest voice peak below a quarter of a frequency bucket.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from forensics.audio.spectrum import voice_bins

SPEEDS = tuple(round(1.0 + 0.005 * k, 3) for k in range(-7, 8))  # 0.965 ... 1.035
_BUCKET_BINS = 2.0  # frequency buckets of two FFT bins (31 Hz at 8 kHz)
_MAX_DT_FRAMES = 63  # pair targets up to ~1 s after their anchor
_MAX_DF_BUCKETS = 31
_LOOK_AHEAD = 32  # peaks after an anchor examined for its targets
HASH_BITS = 19


def landmark_hashes(frames: NDArray[np.float64], bins: NDArray[np.float32], sample_rate_hz: int, *,
                    speed: float = 1.0, fanout: int = 3) -> tuple[NDArray[np.int64], NDArray[np.float64],
                                                                  NDArray[np.int64]]:
    """Gives back (hash, anchor frame on the reference's clock, anchor peak index) for each landmark.

    `speed` is reference seconds per second of this audio: the peaks are mapped onto the clock
    and the pitch of a reference that plays `speed` times slower before they are hashed.
    """
    n = frames.size
    if n < 2:
        return np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64)
    t = frames * speed
    f = (bins / speed - voice_bins(sample_rate_hz)[0]) / _BUCKET_BINS
    ahead = np.arange(1, min(_LOOK_AHEAD, n - 1) + 1)
    anchor = np.arange(n)[:, None]
    target = anchor + ahead[None, :]
    inside = target < n
    target = np.minimum(target, n - 1)
    dt = np.rint(t[target] - t[anchor]).astype(np.int64)
    df = np.floor(f[target] - f[anchor]).astype(np.int64)
    valid = inside & (dt >= 1) & (dt <= _MAX_DT_FRAMES) & (np.abs(df) <= _MAX_DF_BUCKETS)
    # The nearest `fanout` valid targets in time.
    valid &= np.cumsum(valid, axis=1) <= fanout
    a_idx, k_idx = np.nonzero(valid)
    f1 = np.clip(np.floor(f[a_idx]), 0, 127).astype(np.int64)
    hashes = (f1 << 12) | ((df[a_idx, k_idx] + 32) << 6) | dt[a_idx, k_idx]
    return hashes, t[a_idx], a_idx.astype(np.int64)
