"""Display rotation: the angle as ffprobe reports it, and pictures turned exactly as ffmpeg's autorotate does."""

from __future__ import annotations

import subprocess
from pathlib import Path

import av
import imageio_ffmpeg
import numpy as np
import pytest

from forensics.errors import MediaUnreadable, ParameterError
from forensics.media.video.rotation import (
    DisplayTransform,
    apply_display_transform,
    display_rotation_cw_deg,
    display_transform_of_stream,
    rotate_image,
    transform_from_matrix,
)

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rotation") / "plain.mp4"
    # Lossless 4:4:4, so ffmpeg's turned picture and ours can be compared pixel for pixel.
    subprocess.run([FFMPEG, "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=5:duration=1",
                    "-c:v", "libx264", "-pix_fmt", "yuv444p", "-qp", "0", str(path)], check=True)
    return path


def tagged(plain: Path, rotation: int, hflip: bool) -> Path:
    path = plain.with_name(f"rot{rotation}{'-flip' if hflip else ''}.mp4")
    flags = ["-display_hflip"] if hflip else []
    subprocess.run([FFMPEG, "-v", "error", "-y", "-display_rotation", str(rotation), *flags, "-i", str(plain),
                    "-c", "copy", str(path)], check=True)
    return path


def ffmpeg_first_frame(path: Path, height: int, width: int) -> np.ndarray:
    raw = subprocess.run([FFMPEG, "-v", "error", "-i", str(path), "-frames:v", "1", "-f", "rawvideo",
                          "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(height, width, 3)


@pytest.mark.parametrize("rotation", [0, 90, -90, 180])
@pytest.mark.parametrize("hflip", [False, True])
def test_turned_picture_equals_ffmpegs_autorotate(plain: Path, rotation: int, hflip: bool) -> None:
    path = tagged(plain, rotation, hflip)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        transform = display_transform_of_stream(stream)
        image = apply_display_transform(next(container.decode(stream)).to_ndarray(format="rgb24"), transform)
    # ffmpeg's -display_rotation counts counter-clockwise; the record clockwise.
    assert (transform.rotation_cw_deg, transform.hflip) == (-rotation % 360, hflip)
    expected = ffmpeg_first_frame(path, *image.shape[:2])
    assert np.abs(expected.astype(int) - image).max() <= 2  # swscale rounding only


def test_rotation_is_read_without_moving_the_callers_container(plain: Path) -> None:
    path = tagged(plain, -90, False)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        first = next(container.demux(stream))
        assert display_rotation_cw_deg(stream) == 90
        assert next(container.demux(stream)).pts > first.pts


def test_matrices_give_ffprobes_angles() -> None:
    one = 1 << 16
    iphone_portrait = np.array([0, one, 0, -one, 0, 0, 320 << 16, 0, 1 << 30], dtype=np.int32)
    assert transform_from_matrix(iphone_portrait) == DisplayTransform(90, False, True)  # ffprobe: -90
    upside_down = np.array([-one, 0, 0, 0, -one, 0, 0, 0, 1 << 30], dtype=np.int32)
    assert transform_from_matrix(upside_down).rotation_cw_deg == 180
    assert transform_from_matrix(np.zeros(9, dtype=np.int32)).is_identity


def test_rotate_image_turns_clockwise() -> None:
    image = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    assert np.array_equal(rotate_image(image, 90), np.rot90(image, -1))  # np.rot90 turns counter-clockwise
    assert np.array_equal(rotate_image(image, -90), np.rot90(image))
    assert np.array_equal(rotate_image(image, 270), np.rot90(image))
    assert np.array_equal(rotate_image(image, 90), image.transpose(1, 0, 2)[:, ::-1])  # top row becomes right column
    assert rotate_image(image, 0) is image
    with pytest.raises(ParameterError):
        rotate_image(image, 45)


def test_stream_of_an_unreadable_file_is_a_clear_error(tmp_path: Path, plain: Path) -> None:
    copy = tmp_path / "copy.mp4"
    copy.write_bytes(plain.read_bytes())
    with av.open(str(copy)) as container:
        stream = container.streams.video[0]
        copy.unlink()
        with pytest.raises(MediaUnreadable, match=r"copy\.mp4"):
            display_rotation_cw_deg(stream)


def test_side_data_pyav_cannot_name_falls_back_to_its_own_rotation() -> None:
    """PyAV 18 with FFmpeg 8 raises `ValueError: 31 is not a valid Type` listing a JPEG frame's side data."""
    from forensics.media.video.rotation import transform_of_frame

    class Frame:
        rotation = -90

        @property
        def side_data(self) -> list[object]:
            raise ValueError("31 is not a valid Type")

    assert transform_of_frame(Frame()) == DisplayTransform(rotation_cw_deg=90, hflip=False, has_matrix=True)


def test_frames_of_a_jpeg_with_exif_are_taken(tmp_path: Path) -> None:
    from conftest import FIXTURES
    from forensics.media.video.frames import extract_frames

    frames = extract_frames(FIXTURES / "incident" / "photo" / "IMG_0001.jpg", mode="keyframes")
    assert len(frames.frames) == 1 and frames.frames[0].image.ndim == 3
