"""Seeded scenes and the edits copies of footage go through, made with ffmpeg and OpenCV.

Used by bench_dedup.py and by tests/dedup (small sizes there). Every function writes a file
and returns its path; the same arguments give the same pictures.
"""

from __future__ import annotations

import itertools
import subprocess
from collections.abc import Iterable, Sequence
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
    "crop_80_scaled": "crop=trunc(iw*0.8/2)*2:trunc(ih*0.8/2)*2,scale=trunc(iw/0.8/2)*2:trunc(ih/0.8/2)*2",
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

    return encode_frames((picture(n) for n in range(round(duration_s * fps))), path, fps=fps)


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
                size: tuple[int, int] = (854, 480), fps: int = 25,
                part_lengths_s: Sequence[float] | None = None) -> Path:
    """Writes the concatenation of `part_s` excerpts (source, start) fitted into one frame size.

    `part_lengths_s` gives each excerpt its own length instead (one per part).
    """
    width, height = size
    lengths = [part_s] * len(parts) if part_lengths_s is None else list(part_lengths_s)
    if len(lengths) != len(parts):
        raise ValueError("part_lengths_s needs one length per part")
    inputs, chains = [], []
    for n, ((source, start_s), length_s) in enumerate(zip(parts, lengths)):
        inputs += ["-ss", f"{start_s:.3f}", "-t", f"{length_s:.3f}", "-i", str(source)]
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


def cut(source: Path, start_s: float, length_s: float, out: Path) -> Path:
    """Writes `length_s` seconds of `source` from `start_s`, re-encoded without any filter."""
    return ffmpeg(source, out, [], before=["-ss", f"{start_s:.3f}"], after=["-t", f"{length_s:.3f}"])


def ken_burns(photo: Path | None, out: Path, *, seed: int, duration_s: float = 10.0, fps: int = 25,
              size: tuple[int, int] = (640, 360)) -> Path:
    """Writes a slow pan and zoom over a photograph (a seeded texture when `photo` is None).

    A window of the output's aspect ratio glides and narrows (or widens) across the picture,
    the way documentaries film stills; nothing in the picture itself moves.
    """
    rng = np.random.default_rng(seed)
    width, height = size
    if photo is None:
        picture = _texture(rng, height * 2, width * 2)
    else:
        picture = cv2.cvtColor(cv2.imread(str(photo)), cv2.COLOR_BGR2RGB)
        scale = 2 * width / picture.shape[1]
        picture = cv2.resize(picture, (2 * width, round(picture.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    rows, cols = picture.shape[:2]
    widest = min(cols, rows * width / height)
    zoom = rng.uniform(0.55, 0.7), rng.uniform(0.85, 1.0)  # window width as a share of the widest window
    if rng.random() < 0.5:
        zoom = zoom[::-1]
    centre = [(rng.uniform(0.35, 0.65), rng.uniform(0.35, 0.65)) for _ in range(2)]
    count = round(duration_s * fps)

    def frame(n: int) -> np.ndarray:
        u = n / max(1, count - 1)
        u = u * u * (3 - 2 * u)  # eased
        w = widest * (zoom[0] + (zoom[1] - zoom[0]) * u)
        h = w * height / width
        cx = cols * (centre[0][0] + (centre[1][0] - centre[0][0]) * u)
        cy = rows * (centre[0][1] + (centre[1][1] - centre[0][1]) * u)
        x0 = float(np.clip(cx - w / 2, 0, cols - w))
        y0 = float(np.clip(cy - h / 2, 0, rows - h))
        # Sub-pixel window: an affine warp, so the glide does not step a pixel at a time.
        matrix = np.array([[width / w, 0, -x0 * width / w], [0, height / h, -y0 * height / h]])
        return cv2.warpAffine(picture, matrix, (width, height), flags=cv2.INTER_AREA)

    return encode_frames((frame(n) for n in range(count)), out, fps=fps)


LOW_TEXTURE_KINDS = ("grey_road", "fog", "night")


def low_texture_video(out: Path, kind: str, *, seed: int, duration_s: float = 6.0, fps: int = 25,
                      size: tuple[int, int] = (640, 360)) -> Path:
    """Writes footage with almost nothing to hash: an empty grey road, fog, or a street at night."""
    rng = np.random.default_rng(seed)
    width, height = size
    base, drift = _low_texture_base(rng, kind, width, height)
    lights = _night_lights(rng, width, height) if kind == "night" else []
    headlight = (rng.uniform(0.55, 0.85) * height, rng.uniform(40, 90) * rng.choice([-1, 1]))

    def frame(n: int) -> np.ndarray:
        t = n / fps
        dx, dy = drift[0] * t, drift[1] * t
        moved = cv2.warpAffine(base, np.array([[1.0, 0, dx], [0, 1.0, dy]]), (width, height),
                               borderMode=cv2.BORDER_REFLECT)
        picture = moved + rng.normal(0, 1.5, moved.shape).astype(np.float32)
        if kind == "grey_road":  # a faint dashed centre line coming closer
            for k in range(6):
                y = (k * height / 6 + 30 * t) % height
                cv2.line(picture, (width // 2, int(y)), (width // 2, int(y + height / 20)), (150, 150, 150), 2)
        if kind == "night":
            for x, y, w, h, colour in lights:
                cv2.rectangle(picture, (x, y), (x + w, y + h), colour, -1)
            x = (width / 2 + headlight[1] * t) % width
            for side in (-12, 12):
                cv2.circle(picture, (int(x + side), int(headlight[0])), 4, (255, 250, 220), -1)
        return np.clip(picture, 0, 255).astype(np.uint8)

    return encode_frames((frame(n) for n in range(round(duration_s * fps))), out, fps=fps)


def low_texture_photo(out: Path, kind: str, *, seed: int, size: tuple[int, int] = (640, 360)) -> Path:
    """Writes a JPEG photo with almost nothing to hash (see low_texture_video); "night": a building's lit windows."""
    rng = np.random.default_rng(seed)
    width, height = size
    base, _ = _low_texture_base(rng, kind, width, height)
    picture = base + rng.normal(0, 3 if kind == "night" else 1.5, base.shape).astype(np.float32)
    if kind == "night":
        left, right = int(width * rng.uniform(0.15, 0.35)), int(width * rng.uniform(0.6, 0.85))
        top = int(height * rng.uniform(0.2, 0.4))
        picture[top:, left:right] += 10  # the building, a shade lighter than the sky
        for x, y, w, h, colour in _night_lights(rng, right - left, height - top):
            cv2.rectangle(picture, (left + x, top + y), (left + x + w, top + y + h), colour, -1)
    image = np.clip(picture, 0, 255).astype(np.uint8)
    cv2.imwrite(str(out), cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
    return out


def _low_texture_base(rng: np.random.Generator, kind: str, width: int, height: int
                      ) -> tuple[np.ndarray, tuple[float, float]]:
    """Gives a smooth RGB float picture of `kind` and its drift in pixels per second."""
    rows = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    blobs = cv2.resize(rng.normal(0, 1, (6, 10)).astype(np.float32), (width, height),
                       interpolation=cv2.INTER_CUBIC)[:, :, None]
    if kind == "grey_road":
        level, tint, blob = 95 + 45 * rows, np.array([1.0, 1.0, 1.02]), 3.0
    elif kind == "fog":
        level, tint, blob = 185 + 10 * rows, np.array([1.0, 1.0, 1.03]), 6.0
    elif kind == "night":
        level, tint, blob = 8 + 22 * rows, np.array([0.9, 0.95, 1.2]), 2.0
    else:
        raise ValueError(f"unknown low-texture kind {kind!r}")
    base = (level + blob * blobs) * tint[None, None, :].astype(np.float32)
    drift = (float(rng.uniform(-4, 4)), float(rng.uniform(-2, 2)))
    return base.astype(np.float32), drift


def _night_lights(rng: np.random.Generator, width: int, height: int) -> list[tuple[int, int, int, int, tuple]]:
    """Gives a few small lit windows: (x, y, w, h, RGB colour)."""
    out = []
    for _ in range(int(rng.integers(4, 9))):
        w, h = int(rng.integers(4, 9)), int(rng.integers(5, 11))
        x, y = int(rng.uniform(0, max(1, width - w))), int(rng.uniform(0, max(1, height - h)))
        out.append((x, y, w, h, (int(rng.integers(200, 256)), int(rng.integers(170, 220)), int(rng.integers(80, 140)))))
    return out
