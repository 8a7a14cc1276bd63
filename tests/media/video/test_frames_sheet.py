"""Contact sheets, thumbnails and the PNG/JPEG bytes stored as derived files."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from forensics.errors import ParameterError
from forensics.media.video.contact_sheet import contact_sheet, format_time, thumbnail
from forensics.media.video.frames import ExtractionParameters, Frame, FrameSet, Shot
from forensics.media.video.image_encoding import decode_image, encode_image, encode_images


def frame(index: int, height: int = 90, width: int = 160, value: int = 0) -> Frame:
    rng = np.random.default_rng(index)
    image = rng.integers(0, 255, size=(height, width, 3), dtype=np.uint8) if value < 0 else \
        np.full((height, width, 3), value, dtype=np.uint8)
    return Frame(pts_s=10.0 + index / 25, index=index, frame_type="I", key_frame=True, image=image, pts=index)


def frameset(frames: list[Frame], shots: tuple[Shot, ...] = ()) -> FrameSet:
    return FrameSet(source=Path("clip.mp4"), parameters=ExtractionParameters("scenes", None, None, None, True, False),
                    frames=tuple(frames), shots=shots, rotation_cw_deg=0, mirrored=False, rotation_applied=False,
                    start_s=10.0, duration_s=4.0, frame_count=100, time_base=Fraction(1, 25))


def test_sheet_is_a_grid_with_room_for_captions() -> None:
    frames = [frame(i, value=-1) for i in range(5)]
    sheet = contact_sheet(frames, columns=2, thumb_width_px=160)
    assert sheet.dtype == np.uint8 and sheet.ndim == 3 and sheet.shape[2] == 3
    assert sheet.shape[1] == 2 * (160 + 2 * 6) + 6  # two cells with margins, and a margin
    assert sheet.shape[0] > 3 * 90  # three rows of pictures plus their captions
    assert np.array_equal(sheet[6:96, 6:166], frames[0].image)  # pictures are placed untouched
    assert np.array_equal(sheet[6:96, 178:338], frames[1].image)


def test_sheet_prints_times_from_the_start_of_the_video() -> None:
    frames = [frame(i, value=255) for i in range(2)]
    with_start = contact_sheet(frameset(frames), columns=2, thumb_width_px=160)
    without = contact_sheet(frames, columns=2, thumb_width_px=160)
    assert with_start.shape == without.shape
    assert not np.array_equal(with_start, without)  # "00:00.040" against "00:10.040"
    assert format_time(0.04) == "00:00.040" and format_time(3725.5) == "1:02:05.500"


def test_portrait_and_landscape_share_a_row() -> None:
    sheet = contact_sheet([frame(0, 90, 160), frame(1, 160, 90)], columns=2, thumb_width_px=160)
    assert sheet.shape[0] >= 160


def test_thumbnail_shows_the_longest_shot() -> None:
    short, long = frame(0, value=10), frame(1, value=250)
    shots = (Shot(10.0, 11.0, 0, 25, "start", short), Shot(11.0, 14.0, 25, 75, "cut", long))
    picture = thumbnail(frameset([short, long], shots), width_px=80)
    assert picture.shape == (45, 80, 3) and (picture == 250).all()
    assert thumbnail(frameset([short, long, short]), width_px=80).mean() == 250  # the middle frame


def test_empty_selections_are_parameter_errors() -> None:
    with pytest.raises(ParameterError):
        contact_sheet([])
    with pytest.raises(ParameterError):
        thumbnail(frameset([]))


def test_png_is_lossless_and_the_same_bytes_every_time() -> None:
    image = frame(3, value=-1).image
    data = encode_image(image, format="png")
    assert data.startswith(b"\x89PNG") and np.array_equal(decode_image(data), image)
    assert encode_image(image.copy(), format="png") == data


def test_jpeg_is_close_and_deterministic() -> None:
    image = np.zeros((64, 64, 3), np.uint8)
    image[:, :, 0] = 200  # red: a channel-order mistake would show as blue
    data = encode_image(image, format="jpeg")
    assert data.startswith(b"\xff\xd8") and encode_image(image, format="jpeg") == data
    assert np.abs(decode_image(data).astype(int) - image).max() <= 4
    assert encode_images([image, image], format="jpeg", workers=2) == [data, data]


def test_bad_encoding_requests_are_parameter_errors() -> None:
    with pytest.raises(ParameterError):
        encode_image(np.zeros((4, 4), np.uint8))
    with pytest.raises(ParameterError):
        encode_image(np.zeros((4, 4, 3), np.uint8), format="gif")


def test_a_sheet_of_thousands_of_frames_shows_a_readable_spread_of_them() -> None:
    from forensics.media.video.contact_sheet import MAX_SHEET_FRAMES

    many = [Frame(index=n, pts=n, pts_s=n / 1000, frame_type="I", key_frame=True,
                  image=np.full((9, 16, 3), n % 256, np.uint8)) for n in range(5000)]
    sheet = contact_sheet(many)
    few = contact_sheet(many[:MAX_SHEET_FRAMES])
    assert sheet.shape == few.shape  # as tall as MAX_SHEET_FRAMES frames, not 5000
