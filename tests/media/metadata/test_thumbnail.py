"""The EXIF thumbnail check and its bounded 1/8 decode (jpeg_sample), on JPEGs encoded here in each layout."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from forensics.media.metadata.formats.jpeg_sample import reduced_image
from forensics.media.metadata.thumbnail import compare_thumbnail

WIDTH, HEIGHT = 1280, 960  # 80 x 60 MCUs of 16 x 16 (4:2:0)


def _picture(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    phase = rng.uniform(0, 6.3, 3)
    image = np.dstack([127 + 120 * np.sin(x / (40 + 30 * seed) + phase[0]),
                       127 + 120 * np.cos(y / (35 + 20 * seed) + phase[1]),
                       127 + 60 * np.sin((x + y) / 50 + phase[2])])
    return cv2.add(image.astype(np.uint8), rng.integers(0, 40, image.shape, dtype=np.uint8))


def _jpeg(image: np.ndarray, *params: int) -> bytes:
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90, *params])
    assert ok
    return encoded.tobytes()


def _full(jpeg: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_REDUCED_GRAYSCALE_8)


@pytest.fixture(scope="module")
def picture() -> np.ndarray:
    return _picture(0)


def test_a_scan_within_the_budget_is_decoded_whole(picture: np.ndarray) -> None:
    jpeg = _jpeg(picture)
    got = reduced_image(jpeg, budget_bytes=len(jpeg))
    assert got is not None and (got.coverage, got.top_fraction) == ("whole", 1.0)
    assert np.array_equal(got.pixels, _full(jpeg))


def test_a_plain_baseline_file_gives_the_exact_top_rows(picture: np.ndarray) -> None:
    jpeg = _jpeg(picture)
    got = reduced_image(jpeg, budget_bytes=len(jpeg) // 4)
    full = _full(jpeg)
    assert got is not None and got.coverage == "top"
    rows = got.pixels.shape[0]
    assert rows % 2 == 0 and 0.1 < got.top_fraction < 0.3  # whole MCU rows, about a quarter of the data
    assert (got.full_rows, got.full_cols) == full.shape
    assert np.array_equal(got.pixels, full[:rows])


@pytest.mark.parametrize("interval_mcus", [80, 160, 4, 20])  # one row, two rows, and 20 or 4 intervals a row
def test_restart_markers_give_an_even_sample_of_exact_rows_across_the_picture(
        picture: np.ndarray, interval_mcus: int) -> None:
    jpeg = _jpeg(picture, cv2.IMWRITE_JPEG_RST_INTERVAL, interval_mcus)
    got = reduced_image(jpeg, budget_bytes=len(jpeg) // 5)
    full = _full(jpeg)
    assert got is not None and (got.coverage, got.top_fraction) == ("sampled rows", 1.0)
    assert (got.full_rows, got.full_cols) == full.shape
    # Each sampled unit (the MCU rows of one interval, or one MCU row; an MCU row is 2 rows at 1/8)
    # is one of the picture's, in order and evenly spaced.
    unit = 2 * max(1, interval_mcus // 80)
    starts = []
    for at in range(0, got.pixels.shape[0], unit):
        same = [r for r in range(0, full.shape[0] - unit + 1, 2)
                if np.array_equal(full[r:r + unit], got.pixels[at:at + unit])]
        assert len(same) == 1
        starts.append(same[0])
    steps = set(np.diff(starts))
    assert len(steps) == 1 and steps.pop() >= 4 * unit  # 1 unit in 4 or more
    assert starts[0] < 16 and starts[-1] > full.shape[0] - 24  # from the top to the bottom


def test_a_progressive_file_is_read_from_its_dc_scans(picture: np.ndarray) -> None:
    jpeg = _jpeg(picture, cv2.IMWRITE_JPEG_PROGRESSIVE, 1)
    got = reduced_image(jpeg, budget_bytes=len(jpeg) // 4)
    full = _full(jpeg)
    assert got is not None and got.coverage == "whole" and got.pixels.shape == full.shape
    # The DC scan holds all but the last bit of each DC coefficient, which its refinement scan adds.
    assert np.abs(got.pixels.astype(int) - full).max() <= 4


def test_markers_that_do_not_add_up_fall_back_to_the_top_rows(picture: np.ndarray) -> None:
    jpeg = bytearray(_jpeg(picture, cv2.IMWRITE_JPEG_RST_INTERVAL, 80))
    at = jpeg.index(b"\xff\xd3")  # the fourth restart marker
    jpeg[at:at + 2] = b"\x00\x00"
    got = reduced_image(bytes(jpeg), budget_bytes=len(jpeg) // 4)
    assert got is not None and got.coverage == "top"


def test_a_marker_that_damage_put_in_mid_scan_ends_the_rows_read_there(picture: np.ndarray) -> None:
    clean = _jpeg(picture)
    damaged = bytearray(clean)
    at = len(clean) // 10
    damaged[at:at + 2] = b"\xff\xc4"  # a table marker, where no marker can be
    got = reduced_image(bytes(damaged), budget_bytes=len(clean) // 3)
    assert got is not None and got.coverage == "top" and got.top_fraction < 0.2
    assert np.array_equal(got.pixels, _full(clean)[:got.pixels.shape[0]])


def test_a_preview_after_the_scan_does_not_count_against_the_budget(picture: np.ndarray) -> None:
    main = _jpeg(cv2.resize(picture, (320, 240)))
    preview = _jpeg(picture)  # as phones append a large preview after the main image (MPF)
    got = reduced_image(main + preview, budget_bytes=len(main))
    assert got is not None and got.coverage == "whole" and np.array_equal(got.pixels, _full(main))


@pytest.mark.parametrize("damage", ["empty", "not a jpeg", "header only", "cut in the scan", "noise in the scan"])
def test_damaged_files_give_none_or_what_libjpeg_reads(picture: np.ndarray, damage: str) -> None:
    jpeg = _jpeg(picture, cv2.IMWRITE_JPEG_RST_INTERVAL, 80)
    rng = np.random.default_rng(1)
    data = {"empty": b"", "not a jpeg": b"GIF89a" + jpeg[6:], "header only": jpeg[:700],
            "cut in the scan": jpeg[:len(jpeg) // 2],
            "noise in the scan": jpeg[:2000] + rng.integers(0, 256, len(jpeg) - 2000, dtype=np.uint8).tobytes()}[damage]
    got = reduced_image(data, budget_bytes=20_000)
    assert got is None or (got.pixels.ndim == 2 and got.pixels.size > 0)


def _with_thumbnail_of(image: np.ndarray) -> bytes:
    return _jpeg(cv2.resize(image, (160, 120), interpolation=cv2.INTER_AREA))


def test_thumbnail_check_over_the_top_rows(picture: np.ndarray) -> None:
    jpeg = _jpeg(picture)
    same = compare_thumbnail(_with_thumbnail_of(picture), jpeg, budget_bytes=len(jpeg) // 3)
    other = compare_thumbnail(_with_thumbnail_of(_picture(1)), jpeg, budget_bytes=len(jpeg) // 3)
    assert same is not None and same.matches and same.coverage.startswith("top ") and same.coverage.endswith("% of the picture") and same.similarity > 0.95
    assert other is not None and not other.matches


def test_sampled_rows_see_a_replaced_bottom_half(picture: np.ndarray) -> None:
    edited = picture.copy()
    edited[HEIGHT // 2:] = _picture(1)[HEIGHT // 2:]
    jpeg = _jpeg(edited, cv2.IMWRITE_JPEG_RST_INTERVAL, 80)
    check = compare_thumbnail(_with_thumbnail_of(picture), jpeg, budget_bytes=len(jpeg) // 5)
    whole = compare_thumbnail(_with_thumbnail_of(picture), jpeg, budget_bytes=len(jpeg))
    assert check is not None and whole is not None and check.coverage == "rows sampled across the picture"
    assert check.similarity == pytest.approx(whole.similarity, abs=0.05)
    assert whole.similarity < 0.9 and check.similarity < 0.9


@pytest.mark.parametrize("turn", [90, 180, 270])
def test_a_main_image_turned_after_the_thumbnail_was_made(picture: np.ndarray, turn: int) -> None:
    turned = np.ascontiguousarray(np.rot90(picture, k=-turn // 90))  # clockwise
    check = compare_thumbnail(_with_thumbnail_of(picture), _jpeg(turned))
    # rotation_cw_deg is the clockwise turn that makes the main image fit its thumbnail again
    assert check is not None and (check.rotation_cw_deg, check.matches) == (360 - turn, False)
    assert check.similarity > 0.9


def test_a_thumbnail_of_another_picture_is_a_mismatch_not_a_turn(picture: np.ndarray) -> None:
    for seed in (1, 2, 3):
        check = compare_thumbnail(_with_thumbnail_of(_picture(seed)), _jpeg(picture))
        assert check is not None and (check.rotation_cw_deg, check.matches) == (0, False), seed
