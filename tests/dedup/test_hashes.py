"""Hashes as values: imagehash's pHash bit for bit, the eight orientations from one DCT, hex that parses back."""

from __future__ import annotations

import cv2
import imagehash
import numpy as np
import pytest
from PIL import Image

from forensics.dedup.hashes import ORIENTATIONS, PICTURE_SIDE, PerceptualHash, hash_pictures
from forensics.errors import ParameterError


def _picture(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = cv2.GaussianBlur(rng.integers(0, 255, (120, 160)).astype(np.uint8), (0, 0), 4)
    return cv2.normalize(image, None, 0, 255, cv2.NORM_MINMAX)


def _ours(image: np.ndarray) -> np.ndarray:
    small = np.asarray(Image.fromarray(image).resize((PICTURE_SIDE, PICTURE_SIDE), Image.Resampling.LANCZOS),
                       dtype=np.float32)
    return hash_pictures(small[None])[0]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_same_bits_as_imagehash_phash(seed: int) -> None:
    image = _picture(seed)
    assert str(PerceptualHash(int(_ours(image)[0]))) == str(imagehash.phash(Image.fromarray(image)))


def test_orientations_are_the_hashes_of_the_turned_pictures() -> None:
    image = _picture(4)
    ours = _ours(image)
    turned = {"mirrored": image[:, ::-1], "upside-down": image[::-1], "half-turn": image[::-1, ::-1],
              "quarter-turn-cw": np.rot90(image, -1), "quarter-turn-ccw": np.rot90(image, 1), "transposed": image.T}
    for name, picture in turned.items():
        expected = str(imagehash.phash(Image.fromarray(np.ascontiguousarray(picture))))
        assert str(PerceptualHash(int(ours[ORIENTATIONS.index(name)]))) == expected, name


def test_hash_is_a_value() -> None:
    a, b = PerceptualHash(0xF0F0_0000_0000_0001), PerceptualHash(0x00F0_0000_0000_0000)
    assert a - b == 5 and b - a == 5 and a - a == 0
    assert PerceptualHash.from_hex(str(a)) == a and str(a) == "f0f0000000000001"
    assert len({a, PerceptualHash.from_hex(str(a))}) == 1
    with pytest.raises(ParameterError):
        PerceptualHash.from_hex("xyz")
    with pytest.raises(ParameterError):
        PerceptualHash(1 << 64)
