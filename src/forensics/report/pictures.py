"""Pictures a report draws itself: spectrograms of audio spans, and small previews of photos.

Drawn with NumPy and OpenCV into PNG or JPEG bytes, so the report needs no
plotting library and no network. PyAV decodes the audio of any container.
HEIF, HEIC and AVIF stills, which OpenCV cannot read, are decoded by the FFmpeg
program that imageio-ffmpeg ships (already a dependency): it puts a phone's
tiled picture together from its grid and turns it as the file says, which
PyAV's streams alone do not (a tiled HEIC is 48 streams of 512 px tiles there).
"""

from __future__ import annotations

import logging
import os
import resource
import subprocess
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, cast

import av
import cv2
import numpy as np
from numpy.typing import NDArray

from forensics.errors import MediaUnreadable

if TYPE_CHECKING:
    from av.audio.stream import AudioStream

log = logging.getLogger(__name__)

SPECTROGRAM_RATE_HZ = 8000  # voice radio is band-limited to 300-3400 Hz: 8 kHz keeps all of it


def decode_mono(path: Path, *, start_s: float = 0.0, duration_s: float = 30.0,
                sample_rate_hz: int = SPECTROGRAM_RATE_HZ) -> NDArray[np.float32]:
    """Gives `duration_s` of the first audio track from `start_s`, mono float32 in -1..1 at `sample_rate_hz`."""
    try:
        with av.open(str(path), metadata_errors="replace") as container:
            # PyAV wraps every stream of type "audio" in an AudioStream.
            stream = cast("AudioStream | None", next((s for s in container.streams if s.type == "audio"), None))
            if stream is None:
                raise MediaUnreadable(f"{path.name}: has no audio track")
            resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate_hz)
            # A stream whose time base PyAV cannot give (a numerator of 0: a damaged or crafted file) is
            # decoded from its start; the samples before `start_s` are dropped below either way.
            if start_s > 1.0 and stream.time_base is not None:
                container.seek(int(max(0.0, start_s - 1.0) / stream.time_base), stream=stream, backward=True)
            chunks: list[NDArray[np.float32]] = []
            first_s: float | None = None
            wanted = int(duration_s * sample_rate_hz)
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    if first_s is None:
                        # A filter graph's frames carry its output link's time base, always set.
                        first_s = float(out.pts * cast(Fraction, out.time_base)) if out.pts is not None else 0.0
                    # format="flt" above: float32 samples.
                    chunks.append(cast("NDArray[np.float32]", out.to_ndarray()).reshape(-1))
                if first_s is not None and sum(len(c) for c in chunks) >= wanted + (start_s - first_s) * sample_rate_hz:
                    break
    except av.error.FFmpegError as ex:
        raise MediaUnreadable(f"{path.name}: its audio cannot be decoded ({ex})") from ex
    if not chunks:
        return np.zeros(0, np.float32)
    samples = np.concatenate(chunks)
    # int(round()): `start_s` may be a NumPy float, which round() leaves a float before NumPy 2.
    skip = max(0, int(round((start_s - (first_s or 0.0)) * sample_rate_hz)))  # noqa: RUF046
    return np.ascontiguousarray(samples[skip:skip + wanted], dtype=np.float32)


def spectrogram_png(samples: NDArray[np.float32], *, start_s: float, title: str,
                    sample_rate_hz: int = SPECTROGRAM_RATE_HZ, width_px: int = 720, height_px: int = 180,
                    marks_s: tuple[tuple[float, float], ...] = ()) -> bytes:
    """Gives a PNG spectrogram (0-4 kHz, 70 dB range) of `samples` with a time axis from `start_s`.

    `marks_s` are spans (absolute seconds) outlined on the picture, e.g. the matched span.
    """
    window = 256
    hop = 64
    axis_px = 22
    if len(samples) < window:
        samples = np.pad(samples, (0, window - len(samples)))
    count = 1 + (len(samples) - window) // hop
    frames = np.lib.stride_tricks.as_strided(samples, (count, window), (samples.strides[0] * hop, samples.strides[0]))
    power = np.abs(np.fft.rfft(frames * np.hanning(window).astype(np.float32), axis=1)) ** 2
    db = 10 * np.log10(power.T[::-1] + 1e-12)  # low frequencies at the bottom
    db = np.clip(db, db.max() - 70, None)
    scaled = ((db - db.min()) / max(float(np.ptp(db)), 1e-9) * 255).astype(np.uint8)
    picture = cv2.applyColorMap(cv2.resize(scaled, (width_px, height_px), interpolation=cv2.INTER_AREA),
                                cv2.COLORMAP_INFERNO)
    canvas = np.full((height_px + axis_px, width_px, 3), 255, np.uint8)
    canvas[:height_px] = picture
    length_s = len(samples) / sample_rate_hz
    # int(round()): the times may be NumPy floats (`tick` is one), which round() leaves floats before NumPy 2.
    for start, end in marks_s:
        x0 = int(round((start - start_s) / length_s * width_px))  # noqa: RUF046
        x1 = int(round((end - start_s) / length_s * width_px))  # noqa: RUF046
        cv2.rectangle(canvas, (max(0, x0), 1), (min(width_px - 1, x1), height_px - 2), (255, 255, 0), 2)
    step = _tick_step(length_s)
    tick = np.ceil(start_s / step) * step
    while tick <= start_s + length_s + 1e-9:
        x = int(round((tick - start_s) / length_s * (width_px - 1)))  # noqa: RUF046
        cv2.line(canvas, (x, height_px), (x, height_px + 5), (0, 0, 0), 1)
        cv2.putText(canvas, f"{tick:.1f}s", (min(max(0, x - 14), width_px - 40), height_px + 18),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
        tick += step
    cv2.putText(canvas, title[:90], (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
    ok, encoded = cv2.imencode(".png", canvas, [cv2.IMWRITE_PNG_COMPRESSION, 6])
    if not ok:  # OpenCV only fails here on an empty picture, which this never draws
        raise MediaUnreadable("could not encode the spectrogram")
    return encoded.tobytes()


def _tick_step(length_s: float) -> float:
    for step in (0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 300, 600, 1800, 3600):
        if length_s / step <= 10:
            return float(step)
    return 7200.0


def photo_preview_jpeg(data: bytes, *, longest_side_px: int = 480) -> bytes | None:
    """Gives a small JPEG of a photo (EXIF orientation applied), or None when OpenCV cannot decode it."""
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        return None
    scale = longest_side_px / max(image.shape[:2])
    if scale < 1:
        image = cv2.resize(image, (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale))),
                           interpolation=cv2.INTER_AREA)
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return encoded.tobytes() if ok else None


MAX_STILL_PIXELS = 120_000_000  # a still decoded for a preview; the largest phone and camera photos are ~100 MP
STILL_DECODE_TIMEOUT_S = 60.0
_STILL_DECODER_MEMORY_BYTES = 2 << 30  # the FFmpeg process's address space: a crafted grid cannot take the machine


def still_preview_jpeg(data: bytes, *, width_px: int | None = None, height_px: int | None = None,
                       longest_side_px: int = 480) -> bytes | None:
    """Gives a small JPEG of a HEIF, HEIC or AVIF still (or another still FFmpeg reads), or None when it cannot.

    `width_px` and `height_px`, the picture's size as its metadata states it, keep a
    picture too large for a preview from being decoded at all. The bytes are
    decoded from a private temporary file: the bytes checked against the case's
    digest, never the case's file, which could change in between.
    """
    if width_px and height_px and width_px * height_px > MAX_STILL_PIXELS:
        log.info("still of %d x %d px not decoded for a preview", width_px, height_px)
        return None
    import imageio_ffmpeg  # type: ignore[import-untyped]

    handle, name = tempfile.mkstemp(prefix="forensics-still-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        # The composed picture of a grid comes out of a filter graph, where no -vf may be added: taken whole as
        # BMP (no compression to spend time on), scaled here.
        done = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-v", "error", "-threads", "1", "-i", name,
                               "-frames:v", "1", "-filter_threads", "1", "-f", "image2pipe", "-c:v", "bmp", "-pix_fmt", "bgr24", "-"],
                              capture_output=True, timeout=STILL_DECODE_TIMEOUT_S, check=False,
                              preexec_fn=_limit_memory)
    except (OSError, subprocess.TimeoutExpired) as ex:
        log.info("still not decoded for a preview: %s", ex)
        return None
    finally:
        os.unlink(name)
    if done.returncode != 0 or not done.stdout:
        log.info("FFmpeg could not decode a still: %s", done.stderr[-300:].decode("utf-8", "replace"))
        return None
    return photo_preview_jpeg(done.stdout, longest_side_px=longest_side_px)


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (_STILL_DECODER_MEMORY_BYTES, _STILL_DECODER_MEMORY_BYTES))
