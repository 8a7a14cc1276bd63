"""Pictures a report draws itself: spectrograms of audio spans, and small previews of photos.

Drawn with NumPy and OpenCV into PNG or JPEG bytes, so the report needs no
plotting library and no network. The audio is decoded by the project's one audio
decoder, forensics.audio.decode, as the audio step decoded it (the caller's).
HEIF, HEIC and AVIF stills, which OpenCV cannot read, are decoded by the FFmpeg
program that imageio-ffmpeg ships (already a dependency): it puts a phone's
tiled picture together from its grid and turns it as the file says, which
PyAV's streams alone do not (a tiled HEIC is 48 streams of 512 px tiles there).
A still with no preview says why: a format not decoded here, or a file of a
format decoded here that is damaged (truncated, when its boxes run past its end).
"""

from __future__ import annotations

import logging
import os
import resource
import subprocess
import tempfile
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from forensics.errors import MediaUnreadable

log = logging.getLogger(__name__)

SPECTROGRAM_RATE_HZ = 8000  # voice radio is band-limited to 300-3400 Hz: 8 kHz keeps all of it


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
# Formats OpenCV or FFmpeg decode whole here: one of them that does not decode is damaged, not unsupported. TIFF is
# not among them: camera raws (DNG, NEF, ARW...) are TIFF too, and many of them are not decoded here.
_DECODED_HERE = frozenset({"jpeg", "png", "gif", "webp", "bmp", "heif", "avif"})
_NOT_DECODED = "this picture format cannot be decoded here"


@dataclass(frozen=True, slots=True)
class Preview:
    """A small JPEG of a still, or why there is none."""

    jpeg: bytes | None
    why_not: str = ""  # a clause for "no preview: ...", when `jpeg` is None


def picture_preview(data: bytes, *, width_px: int | None = None, height_px: int | None = None,
                    longest_side_px: int = 480) -> Preview:
    """Gives a small JPEG of a still (OpenCV's formats, then HEIF, HEIC and AVIF through FFmpeg), or why not: a
    format not decoded here, a picture too large, or a file of a format decoded here that is damaged or truncated.

    `width_px` and `height_px`, the picture's size as its metadata states it, keep a
    picture too large for a preview from being decoded at all.
    """
    jpeg = photo_preview_jpeg(data, longest_side_px=longest_side_px)
    if jpeg is not None:
        return Preview(jpeg)
    if width_px and height_px and width_px * height_px > MAX_STILL_PIXELS:
        log.info("still of %d x %d px not decoded for a preview", width_px, height_px)
        return Preview(None, f"the picture is {width_px:,} x {height_px:,} px, more than a preview decodes "
                             f"({MAX_STILL_PIXELS // 1_000_000} million pixels)")
    jpeg, decoder_says = _ffmpeg_still(data, longest_side_px=longest_side_px)
    if jpeg is not None:
        return Preview(jpeg)
    return Preview(None, _why_not_decoded(data, decoder_says))


def _why_not_decoded(data: bytes, decoder_says: str) -> str:
    """Gives why a still did not decode: its format is not one decoded here, or the file is damaged (truncated)."""
    from forensics.media.content_type import sniff

    kind = sniff(data[:4096])
    # Canon's CR3 raw is an ISO BMFF file like HEIF, with the brand "crx ": a format, not a damage.
    if kind.format not in _DECODED_HERE or data[8:12] == b"crx ":
        return _NOT_DECODED + (f" ({kind.mime})" if kind.mime else "")
    name = (kind.format or "").upper()
    short = _truncated_box(data) if kind.format in ("heif", "avif") else None
    if short is not None:
        box, end = short
        return (f"the file is damaged: truncated, its {box!r} box runs to byte {end:,} and the file ends at "
                f"{len(data):,}; a {name} picture, which is decoded here when whole")
    if "partial file" in decoder_says:
        return f"the file is damaged: truncated (the decoder found a partial file); a {name} picture, decoded here when whole"
    said = f" (the decoder says: {decoder_says})" if decoder_says else ""
    return f"the file is damaged: a {name} picture, a format decoded here, that does not decode{said}"


def _truncated_box(data: bytes) -> tuple[str, int] | None:
    """Gives the first top-level ISO BMFF box that runs past the end of `data` (its type and end byte), or None."""
    at = 0
    while at + 8 <= len(data):
        size = int.from_bytes(data[at:at + 4], "big")
        kind = data[at + 4:at + 8].decode("latin-1")
        if size == 1 and at + 16 <= len(data):  # a 64-bit size follows the type
            size = int.from_bytes(data[at + 8:at + 16], "big")
        elif size == 0:  # the box runs to the end of the file, whatever its length
            return None
        if size < 8:
            return None  # not a box: damaged some other way
        if at + size > len(data):
            return kind, at + size
        at += size
    return None


def _ffmpeg_still(data: bytes, *, longest_side_px: int) -> tuple[bytes | None, str]:
    """Gives a small JPEG of a still FFmpeg decodes, or None with the decoder's first line of complaint.

    The bytes are decoded from a private temporary file: the bytes checked against the
    case's digest, never the case's file, which could change in between.
    """
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
    except subprocess.TimeoutExpired:
        log.info("still not decoded for a preview in %g s", STILL_DECODE_TIMEOUT_S)
        return None, f"not decoded in {STILL_DECODE_TIMEOUT_S:g} s"
    except OSError as ex:
        log.info("still not decoded for a preview: %s", ex)
        return None, ""
    finally:
        os.unlink(name)
    if done.returncode == 0 and done.stdout:
        jpeg = photo_preview_jpeg(done.stdout, longest_side_px=longest_side_px)
        if jpeg is not None:
            return jpeg, ""
    said = done.stderr.decode("utf-8", "replace")
    log.info("FFmpeg could not decode a still: %s", said[-300:])
    # FFmpeg's lines start with the component in brackets and may name the temporary file: both left out.
    lines = [line.rsplit("] ", 1)[-1].replace(name, "the file").strip() for line in said.splitlines()]
    useful = [line for line in lines if line and "partial file" in line] or [line for line in lines if line]
    return None, (useful[0][:200] if useful else "")


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (_STILL_DECODER_MEMORY_BYTES, _STILL_DECODER_MEMORY_BYTES))
