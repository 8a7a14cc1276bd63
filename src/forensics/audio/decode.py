"""Audio of any media file (every audio track, video soundtracks too) as mono float32 at one rate.

Radio voice carries nothing above 3.4 kHz, so 8 kHz keeps all of it and makes every later
step cheap. The container is read once, every audio track decoded in the same pass. Sample
counts are Python ints and times float64: no wrap-around, however long the recording.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

import av
import numpy as np
from numpy.typing import NDArray

from forensics.errors import MediaError, MediaUnreadable, ParameterError
from forensics.inputs import regular_file

if TYPE_CHECKING:
    from av.audio.stream import AudioStream

log = logging.getLogger(__name__)

SAMPLE_RATE_HZ = 8000
# After this many packets in a row that fail to decode, the rest of a track is given up:
# a fuzzed file could otherwise keep the decoder busy on garbage for a long time.
_MAX_BAD_PACKETS = 50
# No recorder samples sound slower than this: a header that says 1 Hz lies, and resampling what it
# holds to SAMPLE_RATE_HZ would make thousands of samples of each byte (gigabytes from a 16 KB file).
MIN_SOURCE_RATE_HZ = 1000
# The most of one file that is decoded (all its tracks together): 4 h at 8 kHz is 460 MB of samples,
# which the segmenter and fingerprinter can still hold. Longer recordings: split them first.
MAX_DECODED_S = 4 * 3600


@dataclass(frozen=True, slots=True)
class AudioTrack:
    """One audio track, downmixed to mono and resampled."""

    stream_index: int  # index of the stream in its container
    codec: str
    source_rate_hz: int
    channels: int
    sample_rate_hz: int
    samples: NDArray[np.float32]  # (n,) mono, about -1..1

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate_hz


@dataclass(frozen=True, slots=True)
class AudioTracks:
    """Every audio track of one file, in stream order, with the problems that cut any short."""

    path: str
    tracks: tuple[AudioTrack, ...]  # at least one
    notes: tuple[str, ...] = ()  # decode problems that ended a track early, for the record


def decode_audio(path: Path, *, sample_rate_hz: int = SAMPLE_RATE_HZ) -> AudioTracks:
    """Gives back every audio track of `path`, mono float32 at `sample_rate_hz`.

    Raises MediaUnreadable when the file cannot be opened as media, MediaError when it has
    no audio track or no track gave a single sample. Damage later in a file ends the track
    there; what was decoded before is kept and the reason noted.
    """
    if sample_rate_hz < 1000:
        raise ParameterError(f"sample_rate_hz must be at least 1000, not {sample_rate_hz}")
    path = Path(path)
    try:
        if regular_file(path).st_size == 0:  # a link, FIFO or device is refused, never opened
            raise MediaUnreadable(f"{path.name}: empty file (0 bytes); nothing to decode")
        container = av.open(str(path), mode="r", metadata_errors="replace")
    except MediaUnreadable:
        raise
    except (av.FFmpegError, OSError, ValueError, UnicodeError) as ex:
        raise MediaUnreadable(f"{path.name}: not a decodable media file ({ex}); "
                              "check that it is audio or video and not truncated") from ex
    notes: list[str] = []
    with container:
        # PyAV wraps every "audio" stream in an AudioStream.
        streams = [cast("AudioStream", s) for s in container.streams if s.type == "audio"]
        if not streams:
            raise MediaError(f"{path.name}: has no audio track; there is nothing to listen to")
        decoders = {s.index: _TrackDecoder(s, sample_rate_hz) for s in streams}
        budget = MAX_DECODED_S * sample_rate_hz
        try:
            for packet in container.demux(streams):
                decoder = decoders.get(packet.stream.index)
                if decoder is not None and not decoder.dead:
                    decoder.feed(packet, notes)
                if sum(d.kept for d in decoders.values()) > budget:
                    notes.append(f"{path.name}: only the first {MAX_DECODED_S / 3600:g} h of audio were decoded "
                                 "(the most one file may give); split a longer recording to search all of it")
                    break
        except av.FFmpegError as ex:
            notes.append(f"{path.name}: reading stopped early ({ex})")
        for decoder in decoders.values():
            if not decoder.dead:
                decoder.feed(None, notes)
    tracks = tuple(d.track() for d in decoders.values() if d.parts)
    for note in notes:
        log.warning("%s", note)
    if not tracks:
        raise MediaUnreadable(f"{path.name}: its audio tracks decoded to no samples"
                              + (f" ({notes[0]})" if notes else ""))
    return AudioTracks(str(path), tracks, tuple(notes))


class _TrackDecoder:
    """Decoder and resampler of one track, collecting its samples."""

    def __init__(self, stream: av.audio.stream.AudioStream, rate_hz: int) -> None:
        self.stream = stream
        # Read now: the stream's fields are gone once the container is closed.
        self.index = int(stream.index)
        self.codec = stream.codec_context.name if stream.codec_context else "unknown"
        self.rate_hz = rate_hz
        self.resampler = av.AudioResampler(format="flt", layout="mono", rate=rate_hz)
        self.parts: list[NDArray[np.float32]] = []
        self.kept = 0  # samples in parts
        self.bad_packets = 0
        self.dead = False
        self.source_rate_hz = 0
        self.channels = 0

    def feed(self, packet: av.Packet | None, notes: list[str]) -> None:
        try:
            frames = self.stream.decode(packet)
            self.bad_packets = 0
        except (av.FFmpegError, ValueError) as ex:
            self.bad_packets += 1
            if self.bad_packets >= _MAX_BAD_PACKETS:
                self.dead = True
                notes.append(f"track {self.index}: gave up after {_MAX_BAD_PACKETS} bad packets ({ex})")
            return
        for frame in frames:
            if not self.source_rate_hz:
                self.source_rate_hz, self.channels = int(frame.sample_rate or 0), len(frame.layout.channels)
                if self.source_rate_hz < MIN_SOURCE_RATE_HZ:
                    self.dead = True
                    notes.append(f"track {self.index}: its header says {self.source_rate_hz} samples a second, fewer "
                                 f"than any recorder makes ({MIN_SOURCE_RATE_HZ}); not decoded (the header lies, "
                                 "or this is not audio)")
                    return
            # The resampler needs only the samples; the odd timestamps of damaged files make it refuse.
            frame.pts = None
            self._keep(frame, notes)
        if packet is None:
            self._keep(None, notes)

    def _keep(self, frame: av.AudioFrame | None, notes: list[str]) -> None:
        try:
            out = self.resampler.resample(frame)
        except (av.FFmpegError, ValueError):
            # The stream changed its layout or rate mid-way (spliced or damaged files): a resampler
            # for the new format keeps the samples, and with them every later time, in place.
            self.resampler = av.AudioResampler(format="flt", layout="mono", rate=self.rate_hz)
            try:
                out = self.resampler.resample(frame)
            except (av.FFmpegError, ValueError) as ex:
                notes.append(f"track {self.index}: a frame could not be resampled ({ex})")
                return
        for o in out:
            samples = o.to_ndarray().reshape(-1).astype(np.float32, copy=False)
            # Damaged streams can decode to NaN or huge values, which would poison every statistic.
            self.parts.append(np.nan_to_num(np.clip(samples, -4.0, 4.0)))
            self.kept += samples.shape[0]

    def track(self) -> AudioTrack:
        return AudioTrack(self.index, self.codec, self.source_rate_hz, self.channels, self.rate_hz,
                          np.concatenate(self.parts).astype(np.float32, copy=False))
