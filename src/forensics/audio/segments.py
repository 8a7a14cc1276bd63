"""Push-to-talk transmissions in a recording, told apart from squelch tails, hiss and silence.

Per 16 ms frame, two measures of the voice band: its level against the recording's own quiet
floor, and its spectral flatness (voice has harmonics and formants, so it is far from flat;
hiss and the noise burst of a squelch tail are nearly flat). Voiced frames, smoothed, are
joined across the pauses of one speaker's turn; what lies between turns is labelled silence
when it is quiet, a squelch tail when it is a short noise burst right after a transmission,
and hiss otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage  # type: ignore[import-untyped]  # SciPy ships no type stubs

from forensics.audio.spectrum import CHUNK_FRAMES, HOP, N_FFT, frame_count, power_spectrum, voice_bins

KINDS = ("speech", "squelch_tail", "hiss", "silence")
_DIGITAL_SILENCE_DB = -90.0
_KEY_UP_S = 0.15  # the longest key-up click and carrier before the first word


@dataclass(frozen=True, slots=True)
class Segment:
    """One labelled stretch of a recording."""

    kind: str  # one of KINDS; "speech" is a transmission
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def to_json(self) -> dict[str, object]:
        return {"kind": self.kind, "start_s": round(self.start_s, 3), "end_s": round(self.end_s, 3)}


def segment_samples(samples: NDArray[np.float32], sample_rate_hz: int, *, max_pause_s: float = 0.7,
                    min_speech_s: float = 0.25, max_tail_s: float = 0.8, sound_db: float = 6.0,
                    max_voiced_flatness: float = 0.3) -> tuple[Segment, ...]:
    """Gives back the labelled segments covering the whole recording, in time order.

    `max_pause_s` is the longest pause kept inside one transmission; `min_speech_s` the least
    voiced time a transmission has; `sound_db` how far above the quiet floor a frame must be
    to hold sound; `max_voiced_flatness` the flatness (0 a pure tone, about 0.56 white noise)
    below which a sounding frame counts as voice.
    """
    n = frame_count(len(samples))
    if n == 0:
        return (Segment("silence", 0.0, len(samples) / sample_rate_hz),) if len(samples) else ()
    level_db, flatness = _voice_band(samples, sample_rate_hz, n)
    # Digital silence (a muted scanner, padding) is quiet, and no measure of the floor.
    live = level_db > _DIGITAL_SILENCE_DB
    floor_db = np.percentile(level_db[live], 10) if live.any() else _DIGITAL_SILENCE_DB
    sound = live & (level_db > floor_db + sound_db)
    voiced = ndimage.median_filter((sound & (flatness < max_voiced_flatness)).astype(np.uint8), size=5) > 0
    frame_s = HOP / sample_rate_hz
    labels = np.where(sound, 2, 3)  # hiss, silence
    for first, last in _turns(voiced, round(max_pause_s / frame_s), round(min_speech_s / frame_s)):
        # The push-to-talk click and carrier just before the voice belong to the transmission.
        lead = first
        while lead > 0 and sound[lead - 1] and labels[lead - 1] != 1 and first - lead < round(_KEY_UP_S / frame_s):
            lead -= 1
        labels[lead:last] = 0
        tail = last
        while tail < n and sound[tail] and not voiced[tail] and tail - last < round(max_tail_s / frame_s):
            tail += 1
        if tail > last and (tail >= n or not sound[tail]):
            labels[last:tail] = 1  # a short burst that ends in quiet: the squelch closing
    return _runs(labels, sample_rate_hz, len(samples) / sample_rate_hz)


def _voice_band(samples: NDArray[np.float32], sample_rate_hz: int,
                n: int) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Gives each frame's voice-band level (dB) and spectral flatness, a chunk of frames at a time.

    Each frame's spectrum rests on its own samples only, so chunking changes no value; it keeps
    the spectrum of hours of audio (2 KB a frame) from being held at once.
    """
    lo, hi = voice_bins(sample_rate_hz)
    level_db = np.empty(n, np.float32)
    flatness = np.empty(n, np.float32)
    for first in range(0, n, CHUNK_FRAMES):
        last = min(first + CHUNK_FRAMES, n)
        band = power_spectrum(samples[first * HOP:(last - 1) * HOP + N_FFT])[lo:hi] + 1e-12
        mean = band.mean(axis=0)
        level_db[first:last] = 10.0 * np.log10(mean)
        flatness[first:last] = np.exp(np.log(band).mean(axis=0)) / mean
    return level_db, flatness


def transmissions(segments: tuple[Segment, ...]) -> tuple[Segment, ...]:
    """Gives back only the speech segments."""
    return tuple(s for s in segments if s.kind == "speech")


def _turns(voiced: NDArray[np.bool_], max_gap: int, min_voiced: int) -> list[tuple[int, int]]:
    """Gives back [first, last) frames of runs of voice joined across gaps up to `max_gap` frames."""
    idx = np.flatnonzero(voiced)
    if idx.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(idx) > max_gap + 1)
    starts = np.concatenate([[idx[0]], idx[breaks + 1]])
    ends = np.concatenate([idx[breaks], [idx[-1]]]) + 1
    turns = []
    for s, e in zip(starts, ends):
        if voiced[s:e].sum() >= min_voiced:
            turns.append((int(s), int(e)))
    return turns


def _runs(labels: NDArray[np.int64], rate_hz: int, duration_s: float) -> tuple[Segment, ...]:
    change = np.flatnonzero(np.diff(labels)) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [labels.size]])
    # A frame's label holds for the hop around its centre; the first from time zero, the last to the end.
    def edge(frame: int) -> float:
        return (frame * HOP + N_FFT / 2 - HOP / 2) / rate_hz

    out = []
    for s, e in zip(starts, ends):
        start = 0.0 if s == 0 else edge(int(s))
        end = duration_s if e == labels.size else edge(int(e))
        out.append(Segment(KINDS[int(labels[s])], start, end))
    return tuple(out)
