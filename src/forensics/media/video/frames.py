"""Frames from video: keyframes, one frame per shot, or a fixed rate, with exact presentation times.

    frameset = extract_frames(Path("clip.mp4"), mode="scenes", size_px=1280)
    for frame in frameset.frames:
        frame.pts_s, frame.frame_type, frame.image  # seconds, "I", H x W x 3 RGB

Each mode plans from the packet index first (packet_index.py: timestamps and keyframe flags
of every packet, no decoding), then decodes only what it needs (gop_decoder.py):

- keyframes: only keyframe packets reach the decoder, which also skips non-key pictures;
- every: the frame on screen at each multiple of the interval; each GOP is decoded up to its
  last wanted frame, skipping pictures nothing refers to, and skipped when it holds none;
- scenes: every frame, reduced to 64 pixels wide, goes through the shot detector (scenes.py),
  then one frame from the middle half of each shot is decoded exactly;
- keyframes+scenes (what ingest uses): both, the shots' frames first when capped.

The scenes modes decode every frame once; a FrameTap (the dedup sampler, ingest's other reader
of small pictures) may take the frames it wants from that pass instead of decoding them again.

Frames come back in presentation order, with the display rotation applied.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar, cast, get_args

import av
import av.error
import numpy as np
from numpy.typing import NDArray

from forensics.errors import MediaError, MediaUnreadable, ParameterError
from forensics.inputs import regular_file
from forensics.media.video.frame_plan import evenly, every_pts, keyframe_pts, spans_for
from forensics.media.video.gop_decoder import DecodeOptions, DecodeSpan, SpanResult, decode_spans
from forensics.media.video.packet_index import PacketIndex, index_packets
from forensics.media.video.rotation import IDENTITY, DisplayTransform, apply_display_transform, transform_of_frame
from forensics.media.video.scenes import DetectorSettings, ShotDetector, SmallPicture, small_picture
from forensics.progress import ProgressCallback

log = logging.getLogger(__name__)
T = TypeVar("T")  # what a decode step makes of each frame

FrameMode = Literal["keyframes", "scenes", "every", "keyframes+scenes"]
MODES: tuple[FrameMode, ...] = get_args(FrameMode)
INGEST_MODE = "keyframes+scenes"  # what `forensics ingest` extracts from each video
INGEST_MAX_FRAMES = 48  # ... at most this many, so a long video does not flood the case
_PICTURE_TYPES = {1: "I", 2: "P", 3: "B", 4: "S", 5: "SI", 6: "SP", 7: "BI"}


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded frame, as a player shows it."""

    pts_s: float  # presentation time in seconds: pts x stream time base, as ffprobe's pts_time
    index: int  # frame number in presentation order, 0 = first frame of the stream
    frame_type: str  # picture type from the decoder: "I", "P", "B" ("?" when it does not say)
    key_frame: bool  # the decoder marked it a keyframe (a point where decoding can start)
    image: NDArray[np.uint8] = field(repr=False)  # H x W x 3, RGB, display rotation applied
    pts: int = 0  # presentation timestamp in stream time base ticks, exact


@dataclass(frozen=True, slots=True)
class Shot:
    """A run of frames between two shot boundaries."""

    start_s: float  # pts_s of its first frame
    end_s: float  # pts_s of the next shot's first frame, or the end of the stream
    first_index: int  # presentation index of its first frame
    frame_count: int
    began_with: str  # "start" (of the video), "cut", or "fade" (through a uniform picture)
    representative: Frame | None  # a frame from its middle half (see _representative); None if capped out


@dataclass(frozen=True, slots=True)
class ExtractionParameters:
    """What was asked for; recorded with every derived frame."""

    mode: FrameMode
    every_s: float | None
    max_frames: int | None
    size_px: int | None
    apply_rotation: bool
    skip_loop_filter: bool


class FrameTap(Protocol):
    """Another reader of the frames a scene scan decodes: it plans from the packet index, converts the frames
    it wants in the decoder's threads, and is handed what it made once the scan is over."""

    def plan(self, index: PacketIndex, aspect: Fraction) -> frozenset[int]:
        """Gives the pts of the frames wanted; `aspect` is the stream's sample aspect ratio (0: unknown)."""
        ...

    def __call__(self, frame: av.VideoFrame) -> Any:
        """Gives this reader's value of one wanted frame (runs in a decoder thread)."""
        ...

    def take(self, values: Mapping[int, Any], decode_errors: int) -> None:
        """Is given each wanted frame's value by pts, and the packets the scan could not decode."""
        ...


@dataclass(frozen=True, slots=True)
class FrameSet:
    """The frames taken from one video, and what a verifier needs to know about how."""

    source: Path
    parameters: ExtractionParameters
    frames: tuple[Frame, ...]  # presentation order
    shots: tuple[Shot, ...]  # scenes modes only; empty otherwise
    rotation_cw_deg: int  # the clockwise turn the display matrix asks for (0, 90, 180, 270)
    mirrored: bool  # the display matrix also mirrors the picture
    rotation_applied: bool  # the images were turned (and mirrored) as a player would
    start_s: float  # pts_s of the stream's first frame
    duration_s: float  # from the first frame to the end of the last
    frame_count: int  # coded pictures in the stream
    time_base: Fraction  # seconds per pts tick
    notes: tuple[str, ...] = ()  # fallbacks taken, truncation, decoding errors: say these in a report


def parse_mode(text: str) -> tuple[str, float | None]:
    """Gives (mode, every_s) from "keyframes", "scenes", "keyframes+scenes" or "every:SECONDS"."""
    name, _, argument = text.strip().partition(":")
    name = name.lower()
    if name == "every":
        try:
            every_s = float(argument)
        except ValueError:
            raise ParameterError(f"mode {text!r}: write every:SECONDS, e.g. every:1 or every:0.5") from None
        if not 0 < every_s < float("inf"):
            raise ParameterError(f"mode {text!r}: the interval must be a positive, finite number of seconds")
        return "every", every_s
    if name in MODES and not argument:
        return name, None
    raise ParameterError(f"unknown mode {text!r}: use keyframes, scenes, keyframes+scenes or every:SECONDS")


def extract_frames(path: Path, *, mode: str = "keyframes", every_s: float | None = None,
                   max_frames: int | None = None, size_px: int | None = None,
                   progress: ProgressCallback | None = None, apply_rotation: bool = True,
                   skip_loop_filter: bool = False, workers: int | None = None,
                   detector: DetectorSettings = DetectorSettings(), max_memory_bytes: int = 4 << 30,
                   tap: FrameTap | None = None) -> FrameSet:
    """Gives the frames of the first video stream of `path` that `mode` selects.

    `mode` is one of MODES, or "every:SECONDS" (then `every_s` may be left out). `max_frames`
    caps the count, keeping frames spread over the whole video. `size_px` bounds the longer
    side of each image (never enlarged). `skip_loop_filter` speeds up "every" by leaving out
    H.264/HEVC deblocking; its frames then differ slightly from what players show.
    All images are held in memory: a selection whose images would exceed `max_memory_bytes`
    is refused before decoding (every:1 on an hour of 1080p would need 22 GB). `tap` (scenes modes
    only) is given the frames it plans for from the scene scan's decoding, before the exact frames are
    decoded: those it is given are the frames its own pass with skip_loop_filter would give.
    Raises MediaUnreadable (not media, no video stream, nothing decodable) and ParameterError.
    """
    path = Path(path)
    if mode.startswith("every:"):
        mode, every_s = parse_mode(mode)
    if mode not in MODES:
        raise ParameterError(f"unknown mode {mode!r}: use one of {', '.join(MODES)}")
    if mode == "every" and (every_s is None or not every_s > 0):
        raise ParameterError("mode every needs every_s, a positive number of seconds")
    if max_frames is not None and max_frames < 1:
        raise ParameterError(f"max_frames must be at least 1, not {max_frames}")
    if size_px is not None and size_px < 16:
        raise ParameterError(f"size_px must be at least 16 pixels, not {size_px}")
    if tap is not None and mode not in ("scenes", "keyframes+scenes"):
        raise ParameterError(f"a frame tap reads the scene scan: mode {mode!r} has none")
    parameters = ExtractionParameters(mode, every_s if mode == "every" else None, max_frames, size_px,
                                      apply_rotation, skip_loop_filter)
    stream_index, index, aspect, coded_size = read_video_index(path)
    maker = _FrameMaker(index, size_px=size_px, apply_rotation=apply_rotation, aspect=aspect)
    job = _Job(path, stream_index, index, maker, parameters, progress, workers, detector,
               memory_check=(coded_size, max_memory_bytes), tap=(tap, aspect) if tap is not None else None)
    frames, shots = job.run()
    notes = list(job.notes)
    if job.corrupt_pts:  # each frame once, however many passes met it
        notes.append(concealed_note(len(job.corrupt_pts)))
    if index.assumed_rate is not None:
        notes.append(f"the file carries no timestamps (a raw stream): frames are numbered as decoded and "
                     f"times assume {float(index.assumed_rate):g} frames per second")
    if index.truncated:
        notes.append(f"the file ends inside a packet (truncated?): frames up to "
                     f"{index.seconds(int(index.pts.max())):.3f} s only")
    transform = maker.transform
    return FrameSet(
        source=path, parameters=parameters, frames=tuple(frames), shots=tuple(shots),
        rotation_cw_deg=transform.rotation_cw_deg, mirrored=transform.hflip,
        rotation_applied=apply_rotation and not transform.is_identity,
        start_s=index.seconds(int(index.pts.min())), duration_s=stream_duration_s(index),
        frame_count=index.count, time_base=index.time_base, notes=tuple(notes))


def read_video_index(path: Path) -> tuple[int, PacketIndex, Fraction, tuple[int, int]]:
    """Gives the first video stream's number, packet index, sample aspect ratio and coded width, height.

    Raises MediaUnreadable when the file holds no decodable video stream or no picture.
    """
    regular_file(path)  # a link, FIFO or device is refused, never opened
    try:
        # Tag text is not what frames need: a tag that is not UTF-8 must not make the file unopenable.
        with av.open(str(path), mode="r", metadata_errors="replace") as container:
            videos = [s for s in container.streams.video
                      if not s.disposition & av.stream.Disposition.attached_pic]
            if not videos:
                kinds: list[str] = sorted({s.type for s in container.streams}) or ["no streams"]
                raise MediaUnreadable(f"{path.name}: no video stream to take frames from "
                                      f"(it holds {', '.join(kinds)})")
            stream = videos[0]
            if stream.codec_context is None:
                raise MediaUnreadable(f"{path.name}: this ffmpeg has no decoder for its video codec")
            aspect = Fraction(stream.sample_aspect_ratio) if stream.sample_aspect_ratio else Fraction(1)
            index = index_packets(container, stream)
            number = stream.index
            coded_size = (stream.codec_context.width, stream.codec_context.height)
    except av.error.FileNotFoundError as ex:
        raise MediaUnreadable(f"{path.name}: no such file") from ex
    except av.error.FFmpegError as ex:
        raise MediaUnreadable(f"{path.name}: not a decodable media file, or damaged ({ex})") from ex
    if index.count == 0:
        raise MediaUnreadable(f"{path.name}: the video stream holds no pictures (empty or truncated file)")
    return number, index, aspect, coded_size


def stream_duration_s(index: PacketIndex) -> float:
    """Gives the time from the first frame to the end of the last (which lasts as long as the others)."""
    ordered = index.sorted_pts()
    if ordered.shape[0] < 2:
        return 0.0
    step = int(np.median(np.diff(ordered)))  # the last frame lasts about as long as the others
    return index.seconds(int(ordered[-1] - ordered[0] + step))


class _FrameMaker:
    """Turns decoded frames into Frame values; runs in the decoder's worker threads."""

    def __init__(self, index: PacketIndex, *, size_px: int | None, apply_rotation: bool, aspect: Fraction) -> None:
        ordered = index.sorted_pts().tolist()
        self._rank = {pts: number for number, pts in reversed(list(enumerate(ordered)))}
        self._time_base = index.time_base
        self._size_px = size_px
        self._apply_rotation = apply_rotation
        self._aspect = aspect if aspect > 0 else Fraction(1)
        self._lock = threading.Lock()
        self.transform: DisplayTransform = IDENTITY
        self._seen_transform = False

    def rank(self, pts: int) -> int:
        return self._rank.get(pts, -1)

    def make(self, frame: av.VideoFrame) -> Frame:
        transform = transform_of_frame(frame)
        with self._lock:
            if not self._seen_transform:
                self.transform, self._seen_transform = transform, True
        width, height = self.output_size(frame.width, frame.height)
        # rgb24: H x W x 3 uint8.
        if (width, height) == (frame.width, frame.height):
            image = cast("NDArray[np.uint8]", frame.to_ndarray(format="rgb24"))
        else:
            image = cast("NDArray[np.uint8]",
                         frame.to_ndarray(format="rgb24", width=width, height=height, interpolation="AREA"))
        if self._apply_rotation:
            image = apply_display_transform(image, transform)
        pts = int(frame.pts) if frame.pts is not None else -1
        return Frame(pts_s=float(pts * self._time_base), index=self.rank(pts),
                     frame_type=_PICTURE_TYPES.get(int(frame.pict_type), "?"), key_frame=bool(frame.key_frame),
                     image=image, pts=pts)

    def output_size(self, width: int, height: int) -> tuple[int, int]:
        """Gives the coded-orientation size to convert to: square pixels, longer side capped."""
        display_width = width * self._aspect  # anamorphic video (DV, some broadcast) is shown wider
        scale = Fraction(1)
        if self._size_px is not None:
            scale = min(Fraction(1), Fraction(self._size_px) / max(display_width, Fraction(height)))
        if scale == 1 and self._aspect == 1:
            return width, height
        # Even sizes keep swscale's chroma siting exact; one pixel is not worth a shift.
        return _even(display_width * scale), _even(height * scale)


def concealed_note(count: int) -> str:
    """Gives the note of frames decoded from damaged data whose damage the decoder concealed."""
    return (f"{count} frame(s) were decoded from damaged data, the damage concealed by the decoder: what they show "
            "near it may be filled in, not recorded")


def _mebibytes(count: int) -> str:
    return f"{count / 2**20:,.0f} MiB"


def _even(length: Fraction) -> int:
    return max(2, round(length / 2) * 2)


class _Job:
    """One extraction: the mode's plan, its decoding passes, and the notes they leave."""

    def __init__(self, path: Path, stream_index: int, index: PacketIndex, maker: _FrameMaker,
                 parameters: ExtractionParameters, progress: ProgressCallback | None, workers: int | None,
                 detector: DetectorSettings, *, memory_check: tuple[tuple[int, int], int],
                 tap: tuple[FrameTap, Fraction] | None = None) -> None:
        self.path, self.stream_index, self.index, self.maker = path, stream_index, index, maker
        self.parameters, self.progress, self.workers, self.detector = parameters, progress, workers, detector
        self.memory_check = memory_check  # (coded width, height), bytes the selected images may take
        self.tap = tap  # another reader of the scan's frames, and the stream's sample aspect ratio
        self.notes: list[str] = []
        self.decode_errors = 0  # packets rejected by the decoder, over every pass
        self.corrupt_pts: set[int] = set()  # frames output with their damage concealed, over every pass

    def _check_memory(self, count: int) -> None:
        """Refuses, before decoding, a selection whose images would not fit in the memory allowed."""
        (width, height), limit = self.memory_check
        out_w, out_h = self.maker.output_size(max(width, 2), max(height, 2))
        need = count * out_w * out_h * 3
        if need > limit:
            raise MediaError(f"{self.path.name}: {count} frames of {out_w} x {out_h} would take "
                             f"{_mebibytes(need)} of memory (the limit is {_mebibytes(limit)}); "
                             "ask for fewer (--max) or smaller (--size) frames")

    def run(self) -> tuple[list[Frame], list[Shot]]:
        mode = self.parameters.mode
        if mode == "keyframes":
            return self._keyframes(), []
        if mode == "every":
            wanted = evenly(every_pts(self.index, self.parameters.every_s or 1.0), self.parameters.max_frames)
            return self._decode_exactly(set(wanted)), []
        return self._scenes(with_keyframes=mode == "keyframes+scenes")

    def _decode(self, spans: list[DecodeSpan], on_frame: Callable[[av.VideoFrame], T | None], wanted: set[int] | None,
                options: DecodeOptions) -> Iterator[SpanResult[T]]:
        errors = 0
        try:
            for result in decode_spans(self.path, self.stream_index, self.index, spans, on_frame,
                                       wanted_pts=frozenset(wanted) if wanted is not None else None,
                                       options=options, progress=self.progress):
                errors += result.decode_errors
                self.decode_errors += result.decode_errors
                self.corrupt_pts.update(result.corrupt_pts)
                yield result
        except av.error.FFmpegError as ex:
            raise MediaUnreadable(f"{self.path.name}: decoding failed ({ex})") from ex
        if errors:
            self.notes.append(f"{errors} damaged packet(s) could not be decoded; frames near them may be missing")

    def _keyframes(self) -> list[Frame]:
        keys = keyframe_pts(self.index)
        if not self.index.timestamps_known:
            return self._decoder_keyframes(None)  # the timestamps note says enough
        if not keys:
            return self._decoder_keyframes("the container flags no keyframes")
        if len(keys) == 1 and self.index.count > 1:
            # One flag, on the first packet, is all some demuxers give (GIF, raw streams in a
            # container): let the decoder judge every packet, as ffmpeg -skip_frame nokey does.
            return self._decoder_keyframes(None)
        if len(keys) == self.index.count and self.index.count > 1:
            self.notes.append("every picture is a keyframe (an intra-only codec): 'keyframes' is every frame")
        chosen = set(evenly(keys, self.parameters.max_frames))
        self._check_memory(len(chosen))
        positions = [p for p in self.index.keyframe_packets.tolist() if int(self.index.pts[p]) in chosen]
        spans = [DecodeSpan(min(positions), max(positions) + 1)]
        options = DecodeOptions(keyframes_only=True, workers=self.workers)
        frames = self._collect(self._decode(spans, self.maker.make, chosen, options))
        if len(frames) < len(chosen):
            self.notes.append(f"{len(chosen) - len(frames)} packet(s) flagged as keyframes by the container were "
                              "not keyframes to the decoder and were left out, as ffprobe -skip_frame nokey does")
        if not frames:
            return self._decoder_keyframes("no flagged keyframe could be decoded on its own")
        return frames

    def _decoder_keyframes(self, reason: str | None) -> list[Frame]:
        """Feeds every packet to a decoder that skips non-key pictures itself, as ffmpeg does."""
        if reason:
            self.notes.append(f"{reason}; the frames the decoder marks as keyframes were taken instead")

        def keep(frame: av.VideoFrame) -> Frame | None:
            return self.maker.make(frame) if frame.key_frame or frame.pict_type == 1 else None

        spans = [DecodeSpan(0, self.index.count)]
        options = DecodeOptions(sequential=True, workers=self.workers, decoder_skip="NONKEY")
        frames = self._collect(self._decode(spans, keep, None, options))
        if not frames:
            raise MediaUnreadable(f"{self.path.name}: no keyframe or intra picture could be decoded")
        picks = set(evenly([f.pts for f in frames], self.parameters.max_frames))
        return [f for f in frames if f.pts in picks]

    def _decode_exactly(self, wanted: set[int]) -> list[Frame]:
        if not wanted:
            return []
        self._check_memory(len(wanted))
        options = DecodeOptions(skip_unwanted_nonref=True, skip_loop_filter=self.parameters.skip_loop_filter,
                                workers=self.workers)
        frames = self._collect(self._decode(spans_for(self.index, wanted), self.maker.make, wanted, options))
        missing = len(wanted) - len(frames)
        if missing > 0:
            self.notes.append(f"{missing} selected frame(s) could not be decoded (damaged or truncated data)")
        if not frames:
            raise MediaUnreadable(f"{self.path.name}: none of the selected frames could be decoded")
        return frames

    def _collect(self, results: Iterable[SpanResult[Frame]]) -> list[Frame]:
        by_pts: dict[int, Frame] = {}
        for result in results:
            for frame in result.results:
                by_pts.setdefault(frame.pts, frame)
        return [by_pts[pts] for pts in sorted(by_pts)]

    def _scenes(self, *, with_keyframes: bool) -> tuple[list[Frame], list[Shot]]:
        detector = ShotDetector(self.detector)
        fed: list[int] = []
        tap, aspect = self.tap if self.tap is not None else (None, Fraction(0))
        tap_wanted = tap.plan(self.index, aspect) if tap is not None else frozenset()
        tapped: dict[int, Any] = {}

        def scan(frame: av.VideoFrame) -> tuple[SmallPicture, Any]:
            # Each frame is converted once for each reader, at its own size, while it is decoded.
            return small_picture(frame), (tap(frame) if tap is not None and frame.pts in tap_wanted else None)

        # Deblocking changes nothing a 64-pixel picture can show, so the scan skips it; the
        # frames kept are decoded again, exactly, below.
        options = DecodeOptions(skip_unwanted_nonref=False, skip_loop_filter=True, workers=self.workers)
        for result in self._decode([DecodeSpan(0, self.index.count)], scan, None, options):
            for picture, value in result.results:
                if value is not None:
                    tapped.setdefault(picture.pts, value)
            pictures = sorted((picture for picture, _value in result.results), key=lambda p: p.pts)
            fresh = [p for p in pictures if not fed or p.pts > fed[-1]]
            detector.feed(fresh)
            fed.extend(p.pts for p in fresh)
        if tap is not None:
            # Damage the sampler's own pass would count in its own GOPs: handed over as damage, so it decodes them
            # itself and its record says what it met there.
            tap.take(tapped, self.decode_errors + len(self.corrupt_pts))
        if not fed:
            raise MediaUnreadable(f"{self.path.name}: no frame could be decoded")
        boundaries = detector.boundaries()
        starts = [0] + [b.position for b in boundaries]
        kinds = ["start"] + [b.kind for b in boundaries]
        ends = [*starts[1:], len(fed)]
        keyframes = set(keyframe_pts(self.index))
        middles = [_representative(fed, a, b, keyframes) for a, b in zip(starts, ends)]
        cap = self.parameters.max_frames
        chosen_middles = set(evenly(middles, cap))
        wanted = set(chosen_middles)
        if with_keyframes:
            room = None if cap is None else max(0, cap - len(chosen_middles))
            keys = [k for k in keyframe_pts(self.index) if k not in wanted]
            wanted |= set(evenly(keys, room))
        frames = self._decode_exactly(wanted)
        by_pts = {frame.pts: frame for frame in frames}
        end_of_stream = self.index.seconds(int(self.index.pts.min())) + stream_duration_s(self.index)
        shots = []
        for a, b, kind, middle in zip(starts, ends, kinds, middles):
            shots.append(Shot(start_s=self.index.seconds(fed[a]),
                              end_s=self.index.seconds(fed[b]) if b < len(fed) else end_of_stream,
                              first_index=self.maker.rank(fed[a]), frame_count=b - a, began_with=kind,
                              representative=by_pts.get(middle)))
        return frames, shots


def _representative(fed: list[int], first: int, end: int, keyframes: set[int]) -> int:
    """Gives the pts of the frame that stands for the shot fed[first:end]: one from its middle half.

    The middle half keeps clear of the transitions at either end. Within it, the keyframe
    nearest the middle if there is one, as it decodes on its own; otherwise the half's first
    frame, which needs the fewest frames decoded before it (encoders start a GOP at a cut,
    so decoding runs from the shot's start), at half the cost of the exact middle.
    """
    middle = (first + end - 1) // 2
    quarter = (end - first) // 4
    inside = [p for p in range(first + quarter, end - quarter) if fed[p] in keyframes]
    if inside:
        return fed[min(inside, key=lambda p: abs(p - middle))]
    return fed[first + quarter]
