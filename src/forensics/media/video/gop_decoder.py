"""Decoding chosen stretches of a video stream, GOP by GOP, on every core.

FFmpeg's frame threads keep two cores only partly busy on H.264 (each frame waits on its
references). Independent GOPs have no such dependency, so this module gives each worker
thread its own container and single-threaded decoder and hands it whole runs of GOPs. PyAV
releases the GIL while demuxing, decoding and converting, so threads suffice.

Callers describe the work as `DecodeSpan`s (runs of packets in decode order, each starting
on a keyframe) built from a PacketIndex, and pass `on_frame`, run in the worker thread on
each wanted decoded frame; its results come back in span order.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Generic, Literal, TypeVar, cast

import av
import av.error

from forensics.media.video.packet_index import PacketIndex
from forensics.progress import ProgressCallback, tell

_SkipFrame = Literal["NONE", "DEFAULT", "NONREF", "BIDIR", "NONINTRA", "NONKEY", "ALL"]  # FFmpeg's AVDiscard names

log = logging.getLogger(__name__)

T = TypeVar("T")

# A worker's decoder gets one thread when several workers share the cores: more threads per
# decoder would only contend with the other workers.
_SINGLE_THREAD = 1
# Above this share of all packets in one span, splitting buys little and costs the frame
# threads that a lone decoder would have had.
_LARGEST_SPAN_SHARE_FOR_PARALLEL = 0.6
# At most this many packets in a chunk (10 s at 30 fps), so what a chunk's frames give back, held
# until the chunk is done, is bounded whatever the video's length: memory stays flat in it.
_MAX_CHUNK_PACKETS = 300


@dataclass(frozen=True, slots=True)
class DecodeSpan:
    """Packets [first_packet, end_packet) in decode order; first_packet is a keyframe or 0.

    When a span is one of several chunks of a longer run, it owns only the frames presented in
    [from_pts, to_pts): an open GOP's leading pictures come after its keyframe in the file but
    are shown before it and refer back into the previous GOP, so the chunk before decodes
    them (its end_packet reaches past them) and the chunk after drops its broken copies.
    """

    first_packet: int
    end_packet: int
    from_pts: int | None = None  # None: no lower bound
    to_pts: int | None = None  # None: no upper bound

    @property
    def packet_count(self) -> int:
        return self.end_packet - self.first_packet

    def owns(self, pts: int) -> bool:
        return (self.from_pts is None or pts >= self.from_pts) and (self.to_pts is None or pts < self.to_pts)


@dataclass(frozen=True, slots=True)
class DecodeOptions:
    """How much of each span the decoder may leave out."""

    keyframes_only: bool = False  # feed only keyframe packets, and have the decoder skip non-key ones
    skip_unwanted_nonref: bool = True  # skip pictures nothing refers to, unless wanted
    skip_loop_filter: bool = False  # faster, but the pictures are no longer bit-exact
    decoder_skip: _SkipFrame = "DEFAULT"  # the decoder's own skip_frame for every packet fed ("NONKEY": as ffmpeg)
    workers: int | None = None  # threads to decode on, in all; None: one per core
    sequential: bool = False  # one decoder reads the spans in order, whole, with `workers` frame threads


@dataclass(frozen=True, slots=True)
class SpanResult(Generic[T]):
    """What one span gave: `on_frame` results in the order the decoder output them."""

    span: DecodeSpan
    results: tuple[T, ...]
    decode_errors: int  # packets the decoder rejected (corrupt or truncated data)
    corrupt_pts: tuple[int, ...] = ()  # frames of the span output with their damage concealed (AV_FRAME_FLAG_CORRUPT)

    @property
    def corrupt_frames(self) -> int:
        return len(self.corrupt_pts)


def cores_available() -> int:
    """Gives how many cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def chunk_spans(spans: Sequence[DecodeSpan], index: PacketIndex, *, workers: int) -> list[DecodeSpan]:
    """Gives `spans` cut at keyframes into about four chunks per worker, for load balance, none much
    longer than _MAX_CHUNK_PACKETS where keyframes allow."""
    total = sum(span.packet_count for span in spans)
    target = min(_MAX_CHUNK_PACKETS, max(1, total // (workers * 4)))
    keys = set(index.keyframe_packets.tolist())
    chunks: list[DecodeSpan] = []
    for span in spans:
        start, from_pts = span.first_packet, span.from_pts
        for position in range(span.first_packet + 1, span.end_packet):
            if position in keys and position - start >= target:
                cut_pts = int(index.pts[position])
                chunks.append(DecodeSpan(start, _past_leading(index, position, span.end_packet), from_pts, cut_pts))
                start, from_pts = position, cut_pts
        chunks.append(DecodeSpan(start, span.end_packet, from_pts, span.to_pts))
    return chunks


def _past_leading(index: PacketIndex, keyframe: int, limit: int) -> int:
    """Gives the position after the leading pictures that follow `keyframe` (itself if none)."""
    position = keyframe + 1
    while position < limit and index.pts[position] < index.pts[keyframe]:
        position += 1
    return keyframe if position == keyframe + 1 else position


def decode_spans(path: Path, stream_index: int, index: PacketIndex, spans: Sequence[DecodeSpan],
                 on_frame: Callable[[av.VideoFrame], T | None], *,
                 wanted_pts: frozenset[int] | None = None, options: DecodeOptions = DecodeOptions(),
                 progress: ProgressCallback | None = None) -> Iterator[SpanResult[T]]:
    """Yields, span by span in the given order, the results of `on_frame` on the wanted frames.

    A frame is wanted when `wanted_pts` is None or holds its pts. `on_frame` runs in a worker
    thread; returning None drops the frame. Raises av.error.FFmpegError when the file cannot
    be opened; per-packet decoding errors are counted, not raised.
    """
    workers = options.workers or cores_available()
    chunks = list(spans) if options.sequential else chunk_spans(spans, index, workers=workers)
    total = sum(chunk.packet_count for chunk in chunks)
    largest = max((chunk.packet_count for chunk in chunks), default=0)
    parallel = (workers > 1 and len(chunks) > 1 and index.timestamps_known and not options.sequential
                and largest <= _LARGEST_SPAN_SHARE_FOR_PARALLEL * total)
    if not parallel:
        # Chunked too, so that a long span's results come back a chunk at a time.
        yield from _decode_sequentially(path, stream_index, index, chunks, on_frame, wanted_pts, options,
                                        progress, total)
        return
    local = threading.local()
    readers: list[_Reader] = []
    lock = threading.Lock()

    def run(chunk: DecodeSpan) -> SpanResult[T]:
        reader = getattr(local, "reader", None)
        if reader is None:
            reader = _Reader(path, stream_index, options, threads=_SINGLE_THREAD)
            with lock:
                readers.append(reader)
            local.reader = reader
        return reader.decode(index, chunk, on_frame, wanted_pts)

    done = 0
    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gop") as pool:
            pending: deque[Future[SpanResult[T]]] = deque()
            queue = iter(chunks)
            # A bounded window keeps memory flat on long videos: results wait only for the slowest.
            for chunk in queue:
                pending.append(pool.submit(run, chunk))
                if len(pending) >= workers * 2:
                    break
            try:
                while pending:
                    result = pending.popleft().result()
                    following = next(queue, None)
                    if following is not None:
                        pending.append(pool.submit(run, following))
                    done += result.span.packet_count
                    tell(progress, done, total, path.name, unit="packets")
                    yield result
            finally:
                for future in pending:  # the caller stopped early or a chunk failed: start no more
                    future.cancel()
    finally:
        for reader in readers:
            reader.close()


def _configure(stream: av.video.stream.VideoStream, options: DecodeOptions, threads: int) -> None:
    codec = stream.codec_context
    if threads == 0:
        codec.thread_type, codec.thread_count = "AUTO", 0  # frame threads: the lone decoder uses every core
    elif threads > 1:
        codec.thread_type, codec.thread_count = "AUTO", threads
    else:
        codec.thread_type, codec.thread_count = "SLICE", threads
    if options.skip_loop_filter:
        codec.options = {"skip_loop_filter": "all"}
    if options.keyframes_only:
        codec.skip_frame = "NONKEY"
    elif options.decoder_skip != "DEFAULT":
        codec.skip_frame = options.decoder_skip


class _Reader:
    """One container and decoder, used by one thread at a time; reopened when a seek fails."""

    def __init__(self, path: Path, stream_index: int, options: DecodeOptions, *, threads: int,
                 number_frames: bool = False) -> None:
        self.path, self.stream_index, self.options, self.threads = path, stream_index, options, threads
        self.number_frames = number_frames  # give frames without a pts their output number instead
        self.output_count = 0
        self.container: av.container.InputContainer | None = None
        self._open()

    def _open(self) -> None:
        self.close()
        self.container = av.open(str(self.path), mode="r", metadata_errors="replace")
        # stream_index names the video stream of the packet index (decode_spans gives VideoFrames).
        self.stream = cast("av.video.stream.VideoStream", self.container.streams[self.stream_index])
        _configure(self.stream, self.options, self.threads)
        self.at_start = True

    def close(self) -> None:
        if self.container is not None:
            self.container.close()
            self.container = None

    def decode(self, index: PacketIndex, span: DecodeSpan, on_frame: Callable[[av.VideoFrame], T | None],
               wanted_pts: frozenset[int] | None, keep: frozenset[int] | None = None) -> SpanResult[T]:
        """Decodes `span` (or, with `keep`, those packet positions of the whole file, read from the start)."""
        # Whether a seek is wanted, then whether it worked: two questions, kept apart.
        if keep is None and not (span.first_packet == 0 and self.at_start):  # noqa: SIM102
            if not _seekable(index) or not self._seek(int(index.pts[span.first_packet])):
                keep = frozenset(range(span.first_packet, span.end_packet))
        if keep is not None and not self.at_start:
            self._open()  # the only sure way back to the first packet of every container
        self.at_start = False
        result = _decode_from_current(self, index, span, on_frame, wanted_pts, keep)
        if result is None:  # the seek landed past the span: read from the start instead
            self._open()
            self.at_start = False
            result = _decode_from_current(self, index, span, on_frame, wanted_pts,
                                          frozenset(range(span.first_packet, span.end_packet)))
        assert result is not None
        return result

    def _seek(self, pts: int) -> bool:
        assert self.container is not None
        self.at_start = False  # even a failed seek may have moved the demuxer
        try:
            self.container.seek(pts, stream=self.stream, backward=True)
        except av.error.FFmpegError as ex:
            log.debug("%s: seeking to pts %d failed (%s); reading from the start", self.path.name, pts, ex)
            return False
        return True


def _decode_sequentially(path: Path, stream_index: int, index: PacketIndex, spans: Sequence[DecodeSpan],
                         on_frame: Callable[[av.VideoFrame], T | None], wanted_pts: frozenset[int] | None,
                         options: DecodeOptions, progress: ProgressCallback | None,
                         total: int) -> Iterator[SpanResult[T]]:
    """One container, frame threads (options.workers of them; None: every core), spans in file order; also the
    way for unseekable streams."""
    if not index.timestamps_known:
        # Every packet must reach the decoder, so that counting its output numbers the frames.
        options = replace(options, keyframes_only=False, skip_unwanted_nonref=False, decoder_skip="DEFAULT")
        spans = [DecodeSpan(0, index.count)]
    # Frame threads, as many as the caller allows: in a pool of analysis workers sharing the cores,
    # more would only contend with the other workers' decoders.
    threads = 0 if options.workers is None else options.workers
    reader = _Reader(path, stream_index, options, threads=threads, number_frames=not index.timestamps_known)
    try:
        if not index.timestamps_known or not _seekable(index):
            # Without timestamps or positions a span cannot be found after a seek; read once.
            whole = DecodeSpan(0, index.count)
            result = reader.decode(index, whole, on_frame, wanted_pts, keep=frozenset(_positions(spans)))
            tell(progress, total, total, path.name, unit="packets")
            yield result
            return
        done = 0
        for span in spans:
            result = reader.decode(index, span, on_frame, wanted_pts)
            done += span.packet_count
            tell(progress, done, total, path.name, unit="packets")
            yield result
    finally:
        reader.close()


def _positions(spans: Sequence[DecodeSpan]) -> Iterator[int]:
    for span in spans:
        yield from range(span.first_packet, span.end_packet)


def _seekable(index: PacketIndex) -> bool:
    return bool(index.count) and bool((index.pos >= 0).all())


def _decode_from_current(reader: _Reader, index: PacketIndex, span: DecodeSpan,
                         on_frame: Callable[[av.VideoFrame], T | None], wanted_pts: frozenset[int] | None,
                         keep: frozenset[int] | None) -> SpanResult[T] | None:
    """Decodes packets of `span` from wherever the container stands; None if it stands past the span.

    After a seek, the span's first packet is found by its byte offset, which the index
    recorded from the same demuxer. With `keep`, the container is at its start and only
    packets at those positions are fed.
    """
    assert reader.container is not None
    codec = reader.stream.codec_context
    options = reader.options
    results: list[T] = []
    errors = 0
    corrupt: list[int] = []
    position = -1 if keep is None else 0
    target_pos = int(index.pos[span.first_packet]) if keep is None else -1

    def take(frames: Sequence[av.VideoFrame]) -> None:
        for frame in frames:
            if reader.number_frames:
                frame.pts = reader.output_count
                reader.output_count += 1
            if frame.is_corrupt and (frame.pts is None or span.owns(frame.pts)):
                corrupt.append(frame.pts if frame.pts is not None else -1)  # decoded from damaged data, concealed
            if (wanted_pts is None or frame.pts in wanted_pts) and (frame.pts is None or span.owns(frame.pts)):
                value = on_frame(frame)
                if value is not None:
                    results.append(value)

    try:
        for packet in reader.container.demux(reader.stream):
            if packet.size == 0:
                continue
            if position < 0:
                if packet.pos is None or packet.pos < target_pos:
                    continue
                if packet.pos > target_pos:
                    log.debug("seek landed past packet %d", span.first_packet)
                    return None
                position = span.first_packet
            if position >= span.end_packet:
                break
            feed = keep is None or position in keep
            if feed and options.keyframes_only:
                # Unwanted keyframes are left out too: a cap may have chosen a few of many.
                feed = bool(index.key[position]) and (wanted_pts is None or int(index.pts[position]) in wanted_pts)
            elif feed and options.skip_unwanted_nonref and wanted_pts is not None:
                codec.skip_frame = "DEFAULT" if int(index.pts[position]) in wanted_pts else "NONREF"
            if feed:
                try:
                    take(codec.decode(packet))
                    if options.keyframes_only:
                        # Drained one by one: fed only keyframes, the H.264 decoder's reorder
                        # buffer of an open-GOP stream holds the last ones back for good (ffmpeg
                        # -skip_frame nokey loses them the same way). Intra pictures lose nothing.
                        take(codec.decode(None))
                        codec.flush_buffers()
                except av.error.InvalidDataError as ex:
                    errors += 1
                    log.debug("packet %d rejected by the decoder: %s", position, ex)
            position += 1
    except (av.error.InvalidDataError, av.error.EOFError) as ex:
        log.warning("%s: demuxing stopped at packet %d: %s", reader.path.name, position, ex)
        errors += 1
    try:
        take(codec.decode(None))
    except (av.error.InvalidDataError, av.error.EOFError) as ex:
        errors += 1
        log.debug("draining the decoder failed: %s", ex)
    codec.flush_buffers()
    return SpanResult(span, tuple(results), errors, tuple(corrupt))
