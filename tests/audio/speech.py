"""A small seeded formant synthesiser of speech-like audio, and a radio channel, for tests and benchmarks.

Not speech anyone could understand, but with what fingerprints meet in speech: a glottal
pulse train with a moving pitch, formant resonances that move from syllable to syllable,
fricative noise, pauses between words. A phrase is a list of syllable numbers, so the same
phrase can be said again with another voice, pitch and rate (the hard negatives).
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy import signal

RATE_HZ = 16000
# (F1, F2, F3) in Hz of a few vowels.
_VOWELS = ((730, 1090, 2440), (270, 2290, 3010), (530, 1840, 2480), (570, 840, 2410), (300, 870, 2240),
           (660, 1720, 2410), (490, 1350, 1690), (440, 1020, 2240), (400, 1920, 2560), (640, 1190, 2390))
_CONSONANTS = ("none", "fricative", "stop", "nasal")


def syllables(rng: np.random.Generator, n: int) -> list[tuple[int, int]]:
    """Gives back `n` random syllables as (vowel, consonant) numbers."""
    return [(int(rng.integers(len(_VOWELS))), int(rng.integers(len(_CONSONANTS)))) for _ in range(n)]


def say(phrase: list[tuple[int, int]], rng: np.random.Generator, *, pitch_hz: float = 120.0,
        rate: float = 1.0, formant_scale: float = 1.0) -> NDArray[np.float32]:
    """Gives back the phrase spoken at RATE_HZ: `pitch_hz` the voice's mean pitch, `rate` syllables' pace."""
    pieces = []
    for i, (vowel, consonant) in enumerate(phrase):
        if i and rng.random() < 0.25:  # a pause between words
            pieces.append(np.zeros(int(RATE_HZ * rng.uniform(0.08, 0.25) / rate), np.float32))
        if consonant == 1:
            noise = rng.standard_normal(int(RATE_HZ * rng.uniform(0.05, 0.12) / rate))
            sos = signal.butter(4, [rng.uniform(2000, 3000), 3800], "bandpass", fs=RATE_HZ, output="sos")
            pieces.append((0.25 * signal.sosfilt(sos, noise)).astype(np.float32))
        elif consonant == 2:
            pieces.append(np.zeros(int(RATE_HZ * 0.04 / rate), np.float32))
            burst = rng.standard_normal(int(RATE_HZ * 0.015)) * 0.4
            pieces.append(burst.astype(np.float32))
        duration_s = rng.uniform(0.12, 0.26) / rate
        target = np.array(_VOWELS[vowel], float) * formant_scale
        pieces.append(_voiced(duration_s, target, pitch_hz * rng.uniform(0.85, 1.2), rng,
                              nasal=consonant == 3))
    audio = np.concatenate(pieces)
    return (0.5 * audio / (np.abs(audio).max() + 1e-9)).astype(np.float32)


def _voiced(duration_s: float, formants: NDArray[np.float64], pitch_hz: float, rng: np.random.Generator,
            *, nasal: bool) -> NDArray[np.float32]:
    n = int(duration_s * RATE_HZ)
    t = np.arange(n) / RATE_HZ
    # Pitch glides within the syllable, as intonation does, with a little jitter.
    f0 = pitch_hz * (1 + 0.15 * (rng.random() - 0.5) * t / max(duration_s, 1e-3)) * (1 + 0.01 * rng.standard_normal(n))
    phase = np.cumsum(f0) / RATE_HZ
    pulses = np.diff(np.floor(phase), prepend=0.0)
    source = signal.lfilter([1.0], [1.0, -0.95], pulses)  # glottal roll-off
    out = np.zeros(n)
    start = formants * rng.uniform(0.9, 1.1, size=3)
    for k in range(3):
        # A formant moves from the consonant's locus to the vowel's target: two halves, two filters.
        for half, centre in ((slice(0, n // 2), start[k]), (slice(n // 2, n), formants[k])):
            bw = 60.0 + 40.0 * k
            r = np.exp(-np.pi * bw / RATE_HZ)
            theta = 2 * np.pi * centre / RATE_HZ
            out[half] += signal.lfilter([1 - r], [1, -2 * r * np.cos(theta), r * r], source[half]) / (k + 1)
    if nasal:
        out = signal.lfilter([1.0, -0.9], [1.0], out)
    envelope = np.minimum(1.0, np.minimum(t, duration_s - t) / 0.02)
    return (out * envelope).astype(np.float32)


def radio(speech: NDArray[np.float32], rng: np.random.Generator, *, rate_hz: int = RATE_HZ,
          hiss_db: float = -30.0, tail_s: float = 0.2) -> NDArray[np.float32]:
    """Gives back speech as a handheld scanner gives it: band 300-3400 Hz, clipped, hiss, a click and a squelch tail."""
    sos = signal.butter(6, [300, 3400], "bandpass", fs=rate_hz, output="sos")
    voice = signal.sosfilt(sos, speech)
    voice = np.tanh(3.0 * voice / (np.abs(voice).max() + 1e-9)) * 0.6  # the transmitter's clipper
    hiss = rng.standard_normal(voice.size) * 10 ** (hiss_db / 20)
    click = np.zeros(int(0.01 * rate_hz))
    click[:20] = rng.uniform(-0.8, 0.8, 20)
    tail = rng.standard_normal(int(tail_s * rate_hz)) * 0.3  # the squelch opening on noise after the carrier drops
    return np.concatenate([click, voice + hiss, tail]).astype(np.float32)


def recording(rng: np.random.Generator, transmissions: list[NDArray[np.float32]], *, rate_hz: int = RATE_HZ,
              gap_s: tuple[float, float] = (1.0, 4.0), floor_db: float = -60.0,
              ) -> tuple[NDArray[np.float32], list[tuple[float, float]]]:
    """Gives back a spotter's recording of the transmissions with gaps, and each one's (start_s, end_s)."""
    parts, spans, at = [], [], 0
    for tx in transmissions:
        gap = int(rng.uniform(*gap_s) * rate_hz)
        parts.append(rng.standard_normal(gap) * 10 ** (floor_db / 20))
        at += gap
        parts.append(tx)
        spans.append((at / rate_hz, (at + tx.size) / rate_hz))
        at += tx.size
    parts.append(rng.standard_normal(int(gap_s[0] * rate_hz)) * 10 ** (floor_db / 20))
    return np.concatenate(parts).astype(np.float32), spans


def write_wav(path: Path, samples: NDArray[np.floating], rate_hz: int = RATE_HZ) -> Path:
    """Writes samples in [-1, 1] as mono 16-bit PCM; gives back the path."""
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate_hz)
        w.writeframes(pcm.tobytes())
    return path
