"""64-bit perceptual hashes (DCT pHash) as values, computed in batches, in all eight orientations.

The hash is imagehash's `phash` (the low 8 x 8 block of the 32 x 32 DCT-II of the luma,
each bit "coefficient above the block's median", first coefficient in the most significant
bit), so `str(h)` is the same hex as `str(imagehash.phash(img))` when both see the same
32 x 32 picture. It is computed with two small matrix products over a whole stack of
frames at once, which is what makes hashing cost microseconds per frame.

Mirroring and quarter turns need no second picture: flipping a picture left-right negates
the DCT coefficients of odd horizontal frequency, flipping it upside down those of odd
vertical frequency, and transposing it transposes the block. So the eight orientations of
the dihedral group come from one DCT, and a rotated or mirrored copy is found by comparing
against the variant of the same index (see ORIENTATIONS).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from forensics.errors import ParameterError

HASH_BITS = 64
HASH_SIDE = 8  # the low-frequency block kept: 8 x 8 coefficients, one bit each
PICTURE_SIDE = 32  # the picture the DCT runs on, as imagehash: hash size x highfreq factor 4
# Luma weights of ITU-R BT.601, as Pillow's convert("L") uses.
_LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)

# Orientation i is (transpose, flip left-right, flip upside-down) = bits (4, 2, 1) of i,
# applied to the picture in that order. 0 is the picture as given; 2 is its mirror image;
# 6 is a quarter turn clockwise, 5 a quarter turn counter-clockwise, 3 a half turn.
ORIENTATIONS = ("as-is", "upside-down", "mirrored", "half-turn", "transposed", "quarter-turn-ccw",
                "quarter-turn-cw", "anti-transposed")
ORIENTATION_COUNT = len(ORIENTATIONS)


def dct_matrix(rows: int, size: int) -> NDArray[np.float64]:
    """Gives the first `rows` rows of scipy.fftpack's unnormalised DCT-II matrix for `size` points."""
    k = np.arange(rows)[:, None]
    n = np.arange(size)[None, :]
    return 2.0 * np.cos(np.pi * k * (2 * n + 1) / (2 * size))


_DCT = dct_matrix(HASH_SIDE, PICTURE_SIDE)
_ODD = (np.arange(HASH_SIDE) % 2 == 1)
_BIT_WEIGHTS = (np.uint64(1) << np.arange(HASH_BITS - 1, -1, -1, dtype=np.uint64))  # first bit is the MSB


@dataclass(frozen=True, slots=True, order=True)
class PerceptualHash:
    """A 64-bit pHash: `a - b` is the Hamming distance, `str(h)` is 16 hex digits that parse back."""

    value: int  # 0 <= value < 2**64; bit 63 is the DCT's (0, 0) coefficient test

    def __post_init__(self) -> None:
        if not 0 <= self.value < 1 << HASH_BITS:
            raise ParameterError(f"a perceptual hash is a 64-bit unsigned number, not {self.value}")

    def __sub__(self, other: PerceptualHash) -> int:
        if not isinstance(other, PerceptualHash):
            return NotImplemented
        return (self.value ^ other.value).bit_count()

    def __str__(self) -> str:
        return f"{self.value:016x}"

    def __int__(self) -> int:
        return self.value

    @classmethod
    def from_hex(cls, text: str) -> PerceptualHash:
        """Gives the hash that `str()` printed; raises ParameterError for anything else."""
        text = text.strip().lower()
        if len(text) != HASH_BITS // 4:
            raise ParameterError(f"{text!r}: a pHash is written as {HASH_BITS // 4} hex digits")
        try:
            return cls(int(text, 16))
        except ValueError:
            raise ParameterError(f"{text!r}: not a hexadecimal pHash") from None


def luma(images: NDArray[np.uint8]) -> NDArray[np.float32]:
    """Gives the luma (..., H, W) float32 of RGB images (..., H, W, 3); a 2-D array passes through."""
    if images.ndim >= 3 and images.shape[-1] == 3:
        return images.astype(np.float32) @ _LUMA_WEIGHTS
    return images.astype(np.float32)


def dct_blocks(pictures: NDArray[np.floating]) -> NDArray[np.float64]:
    """Gives the low 8 x 8 DCT-II blocks (N x 8 x 8) of grey pictures (N x 32 x 32)."""
    if pictures.ndim != 3 or pictures.shape[1:] != (PICTURE_SIDE, PICTURE_SIDE):
        raise ParameterError(f"pictures must be N x {PICTURE_SIDE} x {PICTURE_SIDE}, not {pictures.shape}")
    # C @ X @ C.T per picture: the same numbers as dct(dct(X, axis=0), axis=1)[:8, :8].
    return np.einsum("kh,nhw,lw->nkl", _DCT, pictures.astype(np.float64), _DCT, optimize=True)


def oriented_blocks(blocks: NDArray[np.float64]) -> NDArray[np.float64]:
    """Gives the blocks of the eight orientations (N x 8 orientations x 8 x 8) of N DCT blocks."""
    out = np.empty((blocks.shape[0], ORIENTATION_COUNT, HASH_SIDE, HASH_SIDE), dtype=np.float64)
    flip_x = np.where(_ODD, -1.0, 1.0)[None, None, :]  # columns: horizontal frequency
    flip_y = np.where(_ODD, -1.0, 1.0)[None, :, None]  # rows: vertical frequency
    for index in range(ORIENTATION_COUNT):
        b = blocks
        if index & 4:
            b = np.swapaxes(b, 1, 2)
        if index & 2:
            b = b * flip_x
        if index & 1:
            b = b * flip_y
        out[:, index] = b
    return out


def bits_of(blocks: NDArray[np.float64]) -> NDArray[np.uint64]:
    """Gives the hashes (shape of blocks without the last two axes, uint64) of 8 x 8 DCT blocks."""
    flat = blocks.reshape(*blocks.shape[:-2], HASH_BITS)
    median = np.median(flat, axis=-1, keepdims=True)
    return ((flat > median).astype(np.uint64) * _BIT_WEIGHTS).sum(axis=-1, dtype=np.uint64)


def hash_pictures(pictures: NDArray[np.floating]) -> NDArray[np.uint64]:
    """Gives the pHashes (N x 8 orientations, uint64) of grey pictures (N x 32 x 32)."""
    return bits_of(oriented_blocks(dct_blocks(pictures)))


def hamming(a: NDArray[np.uint64], b: NDArray[np.uint64]) -> NDArray[np.uint8]:
    """Gives the bitwise Hamming distances of two broadcastable uint64 arrays."""
    return np.bitwise_count(np.bitwise_xor(a, b))
