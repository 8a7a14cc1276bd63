"""Shot detection: hard cuts and fades found, flashes, covered lenses and repeated frames left alone."""

from __future__ import annotations

import subprocess
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np
import pytest

from forensics.errors import ParameterError
from forensics.media.video.frames import extract_frames
from forensics.media.video.scenes import DetectorSettings, ShotDetector, SmallPicture

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


def scene(seed: int) -> np.ndarray:
    """A smooth random 'view' at four times the picture's scale, wide enough to pan across."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 255, size=(5, 16, 3), dtype=np.uint8)
    return cv2.resize(coarse, (1024, 144), interpolation=cv2.INTER_CUBIC)


def shot(seed: int, frames: int, *, first: int = 0, pan_px: int = 2,
         gain: list[float] | None = None) -> list[np.ndarray]:
    """Frames of a camera panning across a view (pan_px / 4 pixels a frame), as 64 x 36 pictures.

    `first` continues a pan from that frame; `gain` dims each frame (a fade).
    """
    view = scene(seed)
    out = []
    rng = np.random.default_rng(seed * 1000 + first)
    for t in range(first, first + frames):
        crop = view[:, t * pan_px:t * pan_px + 256].astype(np.float32)
        picture = cv2.resize(crop, (64, 36), interpolation=cv2.INTER_AREA)
        picture += rng.normal(0, 1.5, picture.shape)  # sensor noise
        if gain is not None:
            picture *= gain[t - first]
        out.append(np.clip(picture, 0, 255).astype(np.uint8))
    return out


def pictures(frames: list[np.ndarray]) -> list[SmallPicture]:
    return [SmallPicture(pts=t, luma=f[:, :, 0].copy(), chroma=np.ascontiguousarray(f[::2, ::2, 1:]))
            for t, f in enumerate(frames)]


def detect(frames: list[np.ndarray], chunk: int = 1000) -> list[tuple[int, str]]:
    detector = ShotDetector()
    items = pictures(frames)
    for start in range(0, len(items), chunk):
        detector.feed(items[start:start + chunk])
    return [(b.position, b.kind) for b in detector.boundaries()]


def test_hard_cuts_are_found_on_the_frame() -> None:
    frames = shot(1, 40) + shot(2, 30) + shot(3, 25)
    assert detect(frames) == [(40, "cut"), (70, "cut")]


def test_chunked_feeding_finds_the_same() -> None:
    frames = shot(1, 40) + shot(2, 30) + shot(3, 25)
    assert detect(frames, chunk=7) == detect(frames, chunk=1000) == detect(frames, chunk=1)


def test_a_flash_is_not_a_cut() -> None:
    view = shot(4, 60)
    for t in (30, 31):  # a muzzle flash or an explosion washes out two frames
        view[t] = np.clip(view[t].astype(int) + 120, 0, 255).astype(np.uint8)
    assert detect(view) == []


def test_repeated_frames_of_low_rate_footage_are_not_cuts() -> None:
    moving = shot(5, 60, pan_px=8)
    stuttering = [moving[(t // 3) * 3] for t in range(60)]  # 10 fps stored at 30
    assert detect(stuttering) == []


def test_a_fade_through_black_is_one_boundary_in_the_black() -> None:
    down = [max(0.0, 1 - t / 9) for t in range(10)]  # ten frames down to black
    up = [min(1.0, t / 9) for t in range(10)]
    frames = shot(6, 30) + shot(6, 10, first=30, gain=down) + shot(7, 10, gain=up) + shot(7, 30, first=10)
    found = detect(frames)
    assert len(found) == 1 and found[0][1] == "fade" and abs(found[0][0] - 40) <= 2


def test_a_covered_lens_is_not_a_new_shot() -> None:
    frames = shot(8, 30) + [np.zeros((36, 64, 3), np.uint8)] * 6 + shot(8, 30, first=36)
    assert detect(frames) == []


def test_settings_are_checked() -> None:
    with pytest.raises(ParameterError):
        DetectorSettings(ratio=0.5)


@pytest.fixture(scope="module")
def edited(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three shots: a hard cut at frame 50, a fade through black centred on frame 100 (25 fps)."""
    path = tmp_path_factory.mktemp("scenes") / "edited.mp4"
    graph = ("[0:v]trim=end_frame=50,setpts=PTS-STARTPTS[a];"
             "[1:v]trim=end_frame=50,setpts=PTS-STARTPTS,fade=t=out:start_frame=40:n=10[b];"
             "[2:v]trim=end_frame=50,setpts=PTS-STARTPTS,fade=t=in:start_frame=0:n=10[c];"
             "[a][b][c]concat=n=3:v=1:a=0,format=yuv420p[out]")
    subprocess.run([FFMPEG, "-v", "error", "-y",
                    "-f", "lavfi", "-i", "testsrc2=size=192x108:rate=25",
                    "-f", "lavfi", "-i", "mandelbrot=size=192x108:rate=25",
                    "-f", "lavfi", "-i", "life=size=192x108:rate=25:mold=10:ratio=0.3:seed=7",
                    "-filter_complex", graph, "-map", "[out]", "-c:v", "libx264", "-preset", "ultrafast",
                    "-g", "60", str(path)], check=True)
    return path


def test_shots_of_an_edited_video(edited: Path) -> None:
    frameset = extract_frames(edited, mode="scenes")
    starts = [(s.first_index, s.began_with) for s in frameset.shots]
    assert starts[0] == (0, "start") and starts[1] == (50, "cut")
    assert starts[2][1] == "fade" and abs(starts[2][0] - 100) <= 2
    assert sum(s.frame_count for s in frameset.shots) == 150
    for shot_ in frameset.shots:
        picture = shot_.representative
        assert picture is not None and picture.image.shape == (108, 192, 3)
        quarter = shot_.frame_count // 4
        assert shot_.first_index + quarter <= picture.index < shot_.first_index + shot_.frame_count - quarter
    assert [s.start_s for s in frameset.shots][:2] == [0.0, 2.0]
    assert frameset.shots[-1].end_s == pytest.approx(6.0)
