"""Seeded scenes and the edits copies of footage go through, made with ffmpeg and OpenCV.

Used by bench_dedup.py and by tests/dedup (small sizes there). Every function writes a file
and returns its path; the same arguments give the same pictures.
"""

from __future__ import annotations

import itertools
import subprocess
from collections.abc import Iterable
from pathlib import Path

import av
import cv2
import imageio_ffmpeg
import numpy as np

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()

# Video edits: name -> ffmpeg filter chain (None: made with OpenCV, see edit_video).
VIDEO_EDITS = {
    "reencode_360p": "scale=-2:360",
    "crop_15": "crop=trunc(iw*0.85/2)*2:trunc(ih*0.85/2)*2",
    "logo_banner": None,
    "subtitles": None,
    "mirror": "hflip",
    "letterbox_16x9": ("scale=trunc(iw*0.75/2)*2:trunc(ih*0.75/2)*2,"
                       "pad=w=trunc(max(ih*16/9\\,iw)/0.75/2)*2:h=trunc(max(iw*9/16\\,ih)/0.75/2)*2:"
                       "x=(ow-iw)/2:y=(oh-ih)/2:color=black"),
    "grade_fps": "eq=contrast=1.25:brightness=0.04:saturation=1.5:gamma=0.85,fps=15",
    "screen_recording": ("scale=trunc(iw*0.7/2)*2:trunc(ih*0.7/2)*2,"
                         "pad=w=trunc(iw/0.7*1.1/2)*2:h=trunc(ih/0.7*1.25/2)*2:x=(ow-iw)/2:y=(oh-ih)*0.6:"
                         "color=0x2a2d33"),
    "rotate_90": "transpose=1",
    "excerpt_6s": None,
}
PHOTO_EDITS = ("jpeg_q30", "half_size", "crop_10", "logo", "screenshot_border", "mirror")


def make_scene(path: Path, *, seed: int, duration_s: float = 8.0, fps: int = 25, size: tuple[int, int] = (640, 360),
               static_camera: bool = False, motion_seed: int | None = None) -> Path:
    """Writes an H.264 scene: a camera panning over seeded texture, objects crossing it.

    `motion_seed` (default `seed`) drives the objects alone: two scenes of one `seed`, a
    static camera and two motion seeds are different footage filmed in the same place.
    """
    rng = np.random.default_rng(seed)
    width, height = size
    world = _texture(rng, height * 3, width * 3)
    if motion_seed is not None:
        rng = np.random.default_rng([seed, motion_seed])
    objects = [(rng.uniform(0, width), rng.uniform(0, height), rng.uniform(-90, 90), rng.uniform(-60, 60),
                rng.uniform(12, 50), tuple(int(v) for v in rng.integers(0, 255, 3))) for _ in range(6)]
    path_x = np.cumsum(rng.normal(0, 3, 10_000)) + width
    path_y = np.cumsum(rng.normal(0, 2, 10_000)) + height

    def picture(n: int) -> np.ndarray:
        t = n / fps
        x0 = 0 if static_camera else int(np.clip(path_x[n], 0, 2 * width))
        y0 = 0 if static_camera else int(np.clip(path_y[n], 0, 2 * height))
        frame = world[y0:y0 + height, x0:x0 + width].copy()
        for ox, oy, vx, vy, radius, colour in objects:
            cx, cy = int((ox + vx * t) % width), int((oy + vy * t) % height)
            cv2.circle(frame, (cx, cy), int(radius), colour, -1)
        return frame

    return encode_frames((picture(n) for n in range(int(round(duration_s * fps)))), path, fps=fps)


def _texture(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    layers = []
    for channel in range(3):
        noise = rng.normal(0, 1, (height // 8 + 1, width // 8 + 1)).astype(np.float32)
        coarse = cv2.resize(cv2.GaussianBlur(noise, (0, 0), 2.5), (width, height), interpolation=cv2.INTER_CUBIC)
        fine = cv2.GaussianBlur(rng.normal(0, 1, (height, width)).astype(np.float32), (0, 0), 2)
        layers.append(coarse * 3 + fine * 0.6 + channel * 0.3)
    image = np.stack(layers, axis=-1)
    image = (image - image.min()) / (np.ptp(image) + 1e-9) * 255
    return image.astype(np.uint8)


def encode_frames(frames: Iterable[np.ndarray], path: Path, *, fps: float, crf: int = 23) -> Path:
    """Writes RGB frames (H x W x 3, all one size) as H.264 yuv420p, streaming them to ffmpeg."""
    frames = iter(frames)
    first = next(frames)
    height, width = first.shape[:2]
    command = [FFMPEG, "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
               "-s", f"{width}x{height}", "-r", str(fps), "-i", "-", "-c:v", "libx264", "-preset", "veryfast",
               "-crf", str(crf), "-pix_fmt", "yuv420p", "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", str(path)]
    with subprocess.Popen(command, stdin=subprocess.PIPE) as process:
        for frame in itertools.chain([first], frames):
            process.stdin.write(np.ascontiguousarray(frame).tobytes())
        process.stdin.close()
        if process.wait() != 0:
            raise RuntimeError(f"ffmpeg could not write {path}")
    return path


def duration_s(path: Path) -> float:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        count = sum(1 for _ in container.demux(stream))
        return count / float(stream.average_rate or 25)


def edit_video(source: Path, edit: str, out: Path, *, excerpt_start_s: float = 2.0) -> Path:
    """Writes `source` through one of VIDEO_EDITS."""
    chain = VIDEO_EDITS[edit]
    if edit == "excerpt_6s":
        return ffmpeg(source, out, [], before=["-ss", f"{excerpt_start_s:.3f}"], after=["-t", "6"])
    if edit == "reencode_360p":
        return ffmpeg(source, out, ["-vf", chain, "-b:v", "250k", "-maxrate", "300k", "-bufsize", "600k"])
    if chain is not None:
        return ffmpeg(source, out, ["-vf", chain])
    draw = _logo_and_banner if edit == "logo_banner" else _subtitle
    with av.open(str(source)) as container:
        stream = container.streams.video[0]
        rate = float(stream.average_rate or 25)
        frames = (draw(frame.to_ndarray(format="rgb24"), n / rate) for n, frame in enumerate(container.decode(stream)))
        return encode_frames(frames, out, fps=rate, crf=26)


def ffmpeg(source: Path, out: Path, options: list[str], *, before: list[str] = (), after: list[str] = ()) -> Path:
    command = [FFMPEG, "-hide_banner", "-loglevel", "error", "-y", *before, "-i", str(source), *after, "-an",
               *options, "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", str(out)]
    subprocess.run(command, check=True)
    return out


def _logo_and_banner(frame: np.ndarray, _t: float) -> np.ndarray:
    height, width = frame.shape[:2]
    frame = frame.copy()
    cv2.rectangle(frame, (int(width * 0.03), int(height * 0.04)), (int(width * 0.2), int(height * 0.14)),
                  (200, 30, 30), -1)
    cv2.putText(frame, "NEWS24", (int(width * 0.04), int(height * 0.12)), cv2.FONT_HERSHEY_SIMPLEX,
                height / 500, (255, 255, 255), 2)
    cv2.rectangle(frame, (0, int(height * 0.86)), (width, height), (20, 20, 120), -1)
    cv2.putText(frame, "BREAKING: footage from the scene", (int(width * 0.03), int(height * 0.95)),
                cv2.FONT_HERSHEY_SIMPLEX, height / 600, (255, 255, 255), 2)
    return frame


_LINES = ("They came from the north", "The building was hit twice", "Nobody could get out", "Then it went quiet")


def _subtitle(frame: np.ndarray, t: float) -> np.ndarray:
    height, width = frame.shape[:2]
    frame = frame.copy()
    text = _LINES[int(t // 2) % len(_LINES)]
    org = (int(width * 0.12), int(height * 0.9))
    cv2.putText(frame, text, org, cv2.FONT_HERSHEY_SIMPLEX, height / 450, (0, 0, 0), 5)
    cv2.putText(frame, text, org, cv2.FONT_HERSHEY_SIMPLEX, height / 450, (255, 255, 255), 2)
    return frame


def compilation(parts: list[tuple[Path, float]], out: Path, *, part_s: float = 5.0,
                size: tuple[int, int] = (854, 480), fps: int = 25) -> Path:
    """Writes the concatenation of `part_s` excerpts (source, start) fitted into one frame size."""
    width, height = size
    inputs, chains = [], []
    for n, (source, start_s) in enumerate(parts):
        inputs += ["-ss", f"{start_s:.3f}", "-t", f"{part_s:.3f}", "-i", str(source)]
        chains.append(f"[{n}:v]scale={width}:{height}:force_original_aspect_ratio=decrease,"
                      f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2,fps={fps},setsar=1[v{n}]")
    graph = (";".join(chains) + ";" + "".join(f"[v{n}]" for n in range(len(parts)))
             + f"concat=n={len(parts)}:v=1:a=0[out]")
    subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-y", *inputs, "-filter_complex", graph,
                    "-map", "[out]", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", str(out)],
                   check=True)
    return out


def still_of(source: Path, at_s: float, out: Path) -> Path:
    """Writes the frame of `source` shown at `at_s` as a PNG photo."""
    subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-y", "-ss", f"{at_s:.3f}", "-i", str(source),
                    "-frames:v", "1", str(out)], check=True)
    return out


def edit_photo(source: Path, edit: str, out: Path) -> Path:
    """Writes the photo `source` through one of PHOTO_EDITS (as JPEG)."""
    image = cv2.imread(str(source))
    height, width = image.shape[:2]
    quality = 85
    if edit == "jpeg_q30":
        quality = 30
    elif edit == "half_size":
        image = cv2.resize(image, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
    elif edit == "crop_10":
        dy, dx = int(height * 0.05), int(width * 0.05)
        image = image[dy:height - dy, dx:width - dx]
    elif edit == "logo":
        image = _logo_and_banner(image, 0.0)
    elif edit == "screenshot_border":
        canvas = np.full((int(height * 1.4), int(width * 1.1), 3), (245, 245, 245), dtype=np.uint8)
        y, x = int(height * 0.15), int(width * 0.05)
        canvas[y:y + height, x:x + width] = image
        cv2.rectangle(canvas, (0, 0), (canvas.shape[1], int(height * 0.06)), (40, 40, 40), -1)
        image = canvas
    elif edit == "mirror":
        image = image[:, ::-1]
    else:
        raise ValueError(f"unknown photo edit {edit!r}")
    cv2.imwrite(str(out), image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return out
