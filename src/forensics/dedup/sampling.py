"""Small grey pictures of a photo or video, as a player shows them, for hashing.

A video gives the frame on screen at every multiple of `every_s` plus every keyframe, each
with its exact presentation time. The plan comes from the packet index (no decoding), and
only the GOPs holding a wanted frame are decoded, on every core (forensics.media.video.gop_decoder).
The luma plane is shrunk in the decoding thread, so no colour conversion is ever made, and
the display rotation is applied, as forensics.media.video.frames does for full frames.

Ingest decodes every frame of a video anyway for its scene scan: there, a VideoSampler takes
its frames from that pass (a FrameTap of extract_frames) rather than decoding them again, and
gives the same pictures (the same frames, decoded with the same options, shrunk the same way).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import cast

import av
import av.error
import cv2
import numpy as np
from av.video.reformatter import VideoReformatter
from numpy.typing import NDArray

from forensics.errors import MediaUnreadable, ParameterError
from forensics.inputs import regular_file
from forensics.media.video.frame_plan import every_pts, keyframe_pts, spans_for
from forensics.media.video.frames import concealed_note, read_video_index, stream_duration_s
from forensics.media.video.gop_decoder import DecodeOptions, decode_spans
from forensics.media.video.packet_index import PacketIndex
from forensics.media.video.rotation import IDENTITY, DisplayTransform, apply_display_transform, transform_of_frame
from forensics.progress import ProgressCallback

log = logging.getLogger(__name__)

_PLANAR_YUV = {"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12", "gray"}


@dataclass(frozen=True, slots=True)
class Pictures:
    """The grey pictures taken from one file, with when they are shown."""

    kind: str  # "image" (one picture) or "video"
    times_s: NDArray[np.float64] = field(repr=False)  # N, seconds from the first frame; [0.0] for a photo
    grey: NDArray[np.uint8] = field(repr=False)  # N x H x W luma, display rotation applied
    duration_s: float | None  # from the first frame to the end of the last; None for a photo
    notes: tuple[str, ...] = ()


def read_pictures(path: Path, *, every_s: float = 0.25, size_px: int = 128, with_keyframes: bool = True,
                  workers: int | None = None, progress: ProgressCallback | None = None) -> Pictures:
    """Gives the grey pictures of a photo (one) or a video (sampled), the longer side at most `size_px`.

    Raises MediaUnreadable for a file that is neither a decodable still nor a video.
    """
    path = Path(path)
    _check_sampling(every_s, size_px)
    failures: list[str] = []
    still = _read_still(path, size_px, failures)
    if still is not None:
        return still
    sampler = VideoSampler(every_s=every_s, size_px=size_px, with_keyframes=with_keyframes)
    return _noted(sampler.decode(path, workers=workers, progress=progress), failures)


def _check_sampling(every_s: float, size_px: int) -> None:
    if not every_s > 0:
        raise ParameterError(f"every_s must be a positive number of seconds, not {every_s}")
    if size_px < 32:
        raise ParameterError(f"size_px must be at least 32 pixels, not {size_px}")


def _read_still(path: Path, size_px: int, failures: list[str]) -> Pictures | None:
    """Gives the one picture of a still, or None for a file to read as a video (why Pillow failed: `failures`)."""
    if regular_file(path).st_size == 0:  # a link, FIFO or device is refused, never opened
        raise MediaUnreadable(f"{path.name}: empty file (0 bytes)")
    still = _still_image(path, size_px, failures=failures)
    return None if still is None else Pictures("image", np.zeros(1), still[None], None)


def _noted(pictures: Pictures, failures: list[str]) -> Pictures:
    if pictures.kind == "image" and failures:
        # A picture Pillow will not read whole (a JPEG cut short, a damaged PNG) that FFmpeg decodes:
        # what is missing may be filled in, and what it matches must be read with that in mind.
        note = f"the picture could not be read whole ({failures[0]}); FFmpeg decoded what it could"
        pictures = dataclasses.replace(pictures, notes=(note, *pictures.notes))
    return pictures


def still_in_colour(path: Path, *, size_px: int = 320) -> NDArray[np.uint8]:
    """Gives the RGB picture (H x W x 3) of a one-frame image file as shown, turned as read_pictures turns it.

    Raises MediaUnreadable for a file that is not a one-frame still.
    """
    path = Path(path)
    regular_file(path)
    picture = _still_image(path, size_px, mode="RGB")
    if picture is None:
        raise MediaUnreadable(f"{path.name}: not a still picture")
    return picture


def _still_image(path: Path, size_px: int, *, mode: str = "L", failures: list[str] | None = None
                 ) -> NDArray[np.uint8] | None:
    """Gives the picture (grey, or `mode`) of a one-frame image file as shown, or None when it is not one.

    Why Pillow failed on a file it recognised as a picture is added to `failures`.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            if getattr(image, "n_frames", 1) > 1:
                return None  # an animated GIF or WebP: a video
            image.draft("RGB", (size_px * 2, size_px * 2))  # JPEG decodes at 1/2..1/8 size directly
            shown = ImageOps.exif_transpose(image).convert(mode)
            shown.thumbnail((size_px, size_px), Image.Resampling.BOX)
            return np.asarray(shown, dtype=np.uint8)
    except UnidentifiedImageError as ex:
        log.debug("%s: not a still image to Pillow (%s)", path, ex)
        return None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as ex:
        log.debug("%s: not a still image to Pillow (%s)", path, ex)
        if failures is not None:
            failures.append(str(ex) or type(ex).__name__)
        return None
    except Exception as ex:  # noqa: BLE001 - Pillow raises TypeError and others on hostile TIFFs
        log.debug("%s: Pillow failed on it (%r); trying it as a video", path, ex)
        if failures is not None:
            failures.append(repr(ex))
        return None


class _Shrinker:
    """Turns decoded frames into (pts, small grey picture, or RGB one); runs in the decoder's worker threads."""

    def __init__(self, size_px: int, aspect: Fraction, *, colour: bool = False) -> None:
        self.size_px = size_px
        self.colour = colour
        self.aspect = aspect if aspect > 0 else Fraction(1)
        self._lock = threading.Lock()
        self.transform: DisplayTransform | None = None
        # One scaler per decoder thread, kept across frames: a frame's own reformat() builds a new one each
        # time, which costs three times the scaling of a 320-pixel picture.
        self._scalers = threading.local()

    def __call__(self, frame: av.VideoFrame) -> tuple[int, NDArray[np.uint8]]:
        if self.transform is None:
            with self._lock:
                try:
                    self.transform = transform_of_frame(frame)
                except ValueError as ex:
                    # PyAV raises on side data types newer than itself (HEIF's type 31, say).
                    log.warning("side data of a frame could not be read (%s); shown as coded", ex)
                    self.transform = IDENTITY
        if frame.format.name not in _PLANAR_YUV:
            frame = self._scaler("planar").reformat(frame, format="yuv420p")  # GIF palettes, RGB and 10-bit codecs
        plane = frame.planes[0]
        # numpy's stubs list buffer types by name; a PyAV plane is a buffer too (PEP 688 __buffer__).
        luma = np.frombuffer(plane, dtype=np.uint8).reshape(  # type: ignore[call-overload]
            plane.height, plane.line_size)[:, :plane.width]
        display_width = float(plane.width * self.aspect)
        scale = min(1.0, self.size_px / max(display_width, plane.height))
        width, height = max(2, round(display_width * scale)), max(2, round(plane.height * scale))
        if self.colour:
            small = cast("NDArray[np.uint8]", self._scaler("rgb").reformat(
                frame, width=width, height=height, format="rgb24", interpolation="AREA").to_ndarray())
        else:
            small = cv2.resize(luma, (width, height), interpolation=cv2.INTER_AREA)
        small = apply_display_transform(small, self.transform)
        return (int(frame.pts) if frame.pts is not None else -1), small

    def _scaler(self, purpose: str) -> VideoReformatter:
        """Gives this decoder thread's scaler for `purpose`, made on first use."""
        scaler = getattr(self._scalers, purpose, None)
        if scaler is None:
            scaler = VideoReformatter()
            setattr(self._scalers, purpose, scaler)
        return scaler


def _spaced(pts: list[int], gap_ticks: float) -> list[int]:
    """Gives the sorted timestamps with none closer than `gap_ticks` to the one kept before it.

    Keyframes mark where shots start, a few seconds apart; in all-intra footage (every frame a
    keyframe: MJPEG, some screen recorders, a hostile file at 1000 fps) they would be hashed frame
    by frame, without bound. Spaced by the sampling interval, such footage costs what any other does.
    """
    kept: list[int] = []
    for value in pts:
        if not kept or value - kept[-1] >= gap_ticks:
            kept.append(value)
    return kept


class VideoSampler:
    """The frames of a video that read_pictures samples, planned from its packet index, shrunk as decoded.

    Used once: either `decode()` decodes them itself, or a scene scan's pass hands them over
    (frames.extract_frames with this as its tap), after which `pictures()` gives the same answer
    read_pictures would.
    """

    def __init__(self, *, every_s: float = 0.25, size_px: int = 128, with_keyframes: bool = True) -> None:
        _check_sampling(every_s, size_px)
        self.every_s, self.size_px, self.with_keyframes = every_s, size_px, with_keyframes
        self._shrinker: _Shrinker | None = None
        self._index: PacketIndex | None = None
        self._by_pts: Mapping[int, tuple[int, NDArray[np.uint8]]] = {}
        self.decode_errors: int | None = None  # None until the frames were handed over
        self.corrupt_frames = 0  # frames its own pass decoded with their damage concealed

    def plan(self, index: PacketIndex, aspect: Fraction) -> frozenset[int]:
        """Gives the pts of the frames to sample: one on screen every `every_s`, and keyframes, spaced."""
        self._index, self._shrinker = index, _Shrinker(self.size_px, aspect)
        wanted = set(every_pts(index, self.every_s))
        if self.with_keyframes:
            wanted |= set(_spaced(keyframe_pts(index), self.every_s / float(index.time_base)))
        return frozenset(wanted)

    def __call__(self, frame: av.VideoFrame) -> tuple[int, NDArray[np.uint8]]:
        assert self._shrinker is not None, "plan() first"
        return self._shrinker(frame)

    def take(self, values: Mapping[int, tuple[int, NDArray[np.uint8]]], decode_errors: int) -> None:
        self._by_pts, self.decode_errors = values, decode_errors

    def decode(self, path: Path, *, workers: int | None = None, progress: ProgressCallback | None = None) -> Pictures:
        """Gives the sampled pictures of the video at `path`, decoding only the GOPs that hold them."""
        stream_index, index, aspect, _size = read_video_index(path)
        wanted = self.plan(index, aspect)
        assert self._shrinker is not None
        # Deblocking changes nothing a 128-pixel picture can show; leaving it out saves a third.
        options = DecodeOptions(skip_unwanted_nonref=True, skip_loop_filter=True, workers=workers)
        by_pts, errors, self.corrupt_frames = _decoded(path, stream_index, index, set(wanted), self._shrinker, options,
                                                       progress)
        self.take({pts: (pts, small) for pts, small in by_pts.items()}, errors)
        return self.pictures(path)

    def pictures(self, path: Path) -> Pictures:
        """Gives the pictures handed over; raises MediaUnreadable when none could be decoded."""
        index = self._index
        if index is None or self.decode_errors is None:
            raise MediaUnreadable(f"{path.name}: no frames were handed over to sample")
        if not self._by_pts:
            raise MediaUnreadable(f"{path.name}: none of the sampled frames could be decoded")
        notes = []
        if self.decode_errors:
            notes.append(f"{self.decode_errors} damaged packet(s) could not be decoded; frames near them may be missing")
        if self.corrupt_frames:
            notes.append(concealed_note(self.corrupt_frames))
        if not index.timestamps_known:
            notes.append("the file carries no timestamps: times assume the declared frame rate")
        ordered = sorted(self._by_pts)
        pictures = [self._by_pts[pts][1] for pts in ordered]
        shape = pictures[0].shape
        if any(p.shape != shape for p in pictures):
            notes.append("the picture size changes within the stream")
            # cv2.resize keeps the dtype.
            pictures = [p if p.shape == shape else cast("NDArray[np.uint8]",
                                                         cv2.resize(p, shape[::-1], interpolation=cv2.INTER_AREA))
                        for p in pictures]
        first = int(index.pts.min())
        times = np.array([index.seconds(pts - first) for pts in ordered], dtype=np.float64)
        if index.count == 1:
            return Pictures("image", np.zeros(1), np.stack(pictures[:1]), None, tuple(notes))
        return Pictures("video", times, np.stack(pictures), stream_duration_s(index), tuple(notes))


def sampled_pictures(path: Path, sampler: VideoSampler) -> Pictures:
    """Gives what read_pictures gives for `path`, a video whose sampled frames a scene scan handed to `sampler`.

    A file Pillow reads as a still is read as read_pictures reads it. Raises MediaUnreadable as it does.
    """
    path = Path(path)
    failures: list[str] = []
    still = _read_still(path, sampler.size_px, failures)
    if still is not None:
        return still
    return _noted(sampler.pictures(path), failures)


def _decoded(path: Path, stream_index: int, index: PacketIndex, wanted: set[int], shrinker: _Shrinker,
             options: DecodeOptions, progress: ProgressCallback | None = None,
             ) -> tuple[dict[int, NDArray[np.uint8]], int, int]:
    """Gives the wanted frames, shrunk, by pts, how many packets could not be decoded, and how many frames were
    decoded with their damage concealed.

    Raises MediaUnreadable when decoding fails or gives none of them.
    """
    by_pts: dict[int, NDArray[np.uint8]] = {}
    errors = corrupt = 0
    try:
        for result in decode_spans(path, stream_index, index, spans_for(index, wanted), shrinker,
                                   wanted_pts=frozenset(wanted), options=options, progress=progress):
            errors += result.decode_errors
            corrupt += result.corrupt_frames
            for pts, small in result.results:
                by_pts.setdefault(pts, small)
    except av.error.FFmpegError as ex:
        raise MediaUnreadable(f"{path.name}: decoding failed ({ex})") from ex
    if not by_pts:
        raise MediaUnreadable(f"{path.name}: none of the sampled frames could be decoded")
    return by_pts, errors, corrupt


def frames_at(path: Path, times_s: NDArray[np.float64], *, size_px: int = 320, workers: int | None = 1,
              colour: bool = False) -> tuple[NDArray[np.float64], NDArray[np.uint8]]:
    """Gives (times, grey pictures, or RGB ones with `colour`) of the frames on screen at `times_s` (seconds
    from the first frame).

    Only the GOPs holding them are decoded; a frame on screen at two of the times is given once,
    so there may be fewer pictures than times. Raises MediaUnreadable when none can be decoded.
    """
    path = Path(path)
    regular_file(path)
    stream_index, index, aspect, _size = read_video_index(path)
    ordered = index.sorted_pts()
    if ordered.size == 0:
        raise MediaUnreadable(f"{path.name}: no video frames")
    first = int(ordered[0])
    ticks = np.asarray(times_s, dtype=np.float64) / float(index.time_base) + first
    at = np.clip(np.searchsorted(ordered, ticks, side="right") - 1, 0, ordered.size - 1)
    wanted = {int(p) for p in ordered[at]}
    shrinker = _Shrinker(size_px, aspect, colour=colour)
    by_pts, _errors, _corrupt = _decoded(path, stream_index, index, wanted, shrinker,
                               DecodeOptions(skip_unwanted_nonref=True, workers=workers))
    kept = sorted(by_pts)
    shape = by_pts[kept[0]].shape
    kept = [pts for pts in kept if by_pts[pts].shape == shape]
    times = np.array([index.seconds(pts - first) for pts in kept], dtype=np.float64)
    return times, np.stack([by_pts[pts] for pts in kept])
