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


def _scene(seed: int) -> np.ndarray:
    """A 72 x 128 grey picture: seeded texture fading into a flat floor (its bottom sixth)."""
    rng = np.random.default_rng(seed)
    picture = cv2.resize(rng.uniform(40, 200, (9, 16)).astype(np.float32), (128, 72), interpolation=cv2.INTER_CUBIC)
    level = picture[44].mean()
    fade = np.linspace(1, 0, 16)[:, None]  # the scene fades into a floor that continues its level, as a floor does
    picture[44:60] = picture[44] * fade + level * (1 - fade)
    picture[60:] = level + np.linspace(0, 3, 12)[:, None]
    return picture


def test_a_single_pictures_own_flat_band_is_not_a_border() -> None:
    from forensics.dedup.normalise import content_box

    picture = _scene(3)
    assert content_box(picture[None]).shares() == (0.0, 1.0, 0.0, 1.0)
    # The same picture in a black letterbox and a light screenshot margin under a dark title bar.
    boxed = np.zeros((100, 128), np.float32)
    boxed[14:86] = picture
    top, bottom, _, _ = content_box(boxed[None]).shares()
    assert abs(top - 0.15) < 0.02 and abs(bottom - 0.85) < 0.02
    shot = np.full((110, 150), 245.0, np.float32)
    shot[:6] = 40.0
    shot[20:92, 11:139] = picture
    top, bottom, left, right = content_box(shot[None]).shares()
    assert abs(top - 21 / 110) < 0.02 and abs(bottom - 91 / 110) < 0.02
    assert abs(left - 12 / 150) < 0.02 and abs(right - 138 / 150) < 0.02
