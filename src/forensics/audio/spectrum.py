"""Short-time spectra of 8 kHz voice audio, and the four things fingerprints take from them.

One STFT (512-point frames of 64 ms, a hop of 128 samples = 16 ms) gives: spectral peaks
(the landmarks), 16 sub-band energy-difference bits per frame (Haitsma-Kalker style, for the
aligned-audio check), 16 harmonic bits per frame (where the voice's harmonics lie, which
tells two takes of one phrase apart) and a voice-band level per frame (which frames hold
sound at all).
Long tracks are analysed in chunks with overlap, so memory stays flat however long they are;
frame numbers are int64 throughout.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import scipy.fft  # type: ignore[import-untyped]  # SciPy ships no type stubs
from numpy.typing import NDArray
from scipy import ndimage  # type: ignore[import-untyped]

from forensics.errors import ParameterError

N_FFT = 512
HOP = 128
LOW_HZ, HIGH_HZ = 300.0, 3400.0  # the radio voice band
N_BANDS = 17  # 17 band energies give 16 difference bits per frame
_HARMONIC_STEP_BINS, _HARMONIC_GAP_BINS = 4, 2
# The bits compare band energies smoothed over 80 ms, 32 ms apart: a room's echo and a codec
# smear the finer detail, and the bits must survive both.
BITS_SMOOTH_FRAMES = 5
BITS_STEP_FRAMES = 2
# A peak is the maximum of +-4 bins (+-62 Hz: narrower than the spacing of voice harmonics)
# and +-3 frames (+-48 ms, about a phone's steady part).
_PEAK_SPAN_BINS, _PEAK_SPAN_FRAMES = 9, 7
# A peak must stand this far (dB) above the noise floor of its bin.
_MIN_PEAK_DB = 6.0
# Landmarks a second a recording keeps (the strongest): more survive a noisy query's own, at a cost in
# library size (24: about 820 bytes a second of speech with gaps, 18 gave 700 and found a 5 s clip under
# -5 dB noise three times in four instead of 0.85 on the benchmark's tuning half).
LIBRARY_PEAKS_PER_S = 24.0
CHUNK_FRAMES = 3750  # 60 s per STFT at 16 ms: bounded memory for recordings of many hours
_MARGIN_FRAMES = 8  # context on each side of a chunk, for the peak neighbourhood and the bits' time step


@dataclass(frozen=True, slots=True)
class Features:
    """What fingerprints take from one track, frames counted from its first sample."""

    sample_rate_hz: int
    n_frames: int
    peak_frames: NDArray[np.float64]  # (p,) frame position of each peak, sub-frame, ascending
    peak_bins: NDArray[np.float32]  # (p,) FFT bin of each peak, sub-bin (15.625 Hz a bin at 8 kHz)
    peak_strength_db: NDArray[np.float32]  # (p,) dB above the bin's noise floor
    bits: NDArray[np.uint16]  # (n_frames,) sub-band energy-difference bits
    harmonics: NDArray[np.uint16]  # (n_frames,) fine-spectrum bits: where the voice's harmonics lie
    level: NDArray[np.uint8]  # (n_frames,) voice-band level, 0.5 dB steps from -100 dB


def frame_count(n_samples: int) -> int:
    """Gives back how many whole STFT frames `n_samples` samples hold."""
    return 0 if n_samples < N_FFT else 1 + (n_samples - N_FFT) // HOP


def voice_bins(sample_rate_hz: int) -> tuple[int, int]:
    """Gives back the FFT bins [lo, hi) of the voice band."""
    freqs = np.fft.rfftfreq(N_FFT, 1.0 / sample_rate_hz)
    return int(np.searchsorted(freqs, LOW_HZ)), int(np.searchsorted(freqs, HIGH_HZ))


def analyse(samples: NDArray[np.float32], sample_rate_hz: int, *, peaks_per_s: float = LIBRARY_PEAKS_PER_S) -> Features:
    """Gives back the peaks, bits and levels of a whole track.

    `peaks_per_s` caps the landmarks kept in each second (the strongest), so a loud second
    does not crowd out a quiet one and the library grows at a bounded rate.
    """
    if sample_rate_hz < 6800:
        raise ParameterError(f"the voice band needs a sample rate of at least 6800 Hz, not {sample_rate_hz}")
    n_frames = frame_count(len(samples))
    parts: list[tuple[NDArray[np.float64], NDArray[np.float32], NDArray[np.float32]]] = []
    bits = np.zeros(n_frames, np.uint16)
    harmonics = np.zeros(n_frames, np.uint16)
    level = np.zeros(n_frames, np.uint8)
    for first in range(0, n_frames, CHUNK_FRAMES):
        last = min(first + CHUNK_FRAMES, n_frames)
        lo = max(0, first - _MARGIN_FRAMES)
        hi = min(n_frames, last + _MARGIN_FRAMES)
        chunk = samples[lo * HOP: (hi - 1) * HOP + N_FFT]
        power = power_spectrum(chunk)
        keep = slice(first - lo, last - lo)
        bits[first:last] = band_bits(power, sample_rate_hz)[keep]
        harmonics[first:last] = to_bits(harmonic_changes(power, sample_rate_hz))[keep]
        level[first:last] = band_level(power, sample_rate_hz)[keep]
        parts.append(_peaks(power, sample_rate_hz, lo, first, last, peaks_per_s))
    if parts:
        frames, bins_, strength = (np.concatenate(p) for p in zip(*parts))
    else:
        frames, bins_, strength = np.zeros(0), np.zeros(0, np.float32), np.zeros(0, np.float32)
    return Features(sample_rate_hz, n_frames, frames, bins_, strength, bits, harmonics, level)


def power_spectrum(samples: NDArray[np.float32], *, single: bool = False) -> NDArray[np.float32]:
    """Gives back the power STFT (bins x frames; a transposed view of frames x bins) on the module's frame grid.

    The same numbers as librosa.stft(center=False, window="hann"), framed by a strided view and
    NumPy's FFT called directly: the aligned-audio check calls this dozens of times a query,
    and stft's own checks and padding cost more than the transform on 10 s of 8 kHz audio (and
    importing librosa, with numba, cost each worker process most of a second).
    With `single`, the transform is done in single precision (SciPy's FFT, a seventh of the
    time; the powers differ by about 1e-7 of the largest): for that check, whose statistics
    weigh each bit by its size, not for the features a library or a record keeps.
    """
    n = frame_count(len(samples))
    if n == 0:
        return np.zeros((N_FFT // 2 + 1, 0), np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(np.ascontiguousarray(samples, np.float32), N_FFT)[::HOP][:n]
    spec = (scipy.fft.rfft if single else np.fft.rfft)(frames * _WINDOW, axis=1)
    return (spec.real ** 2 + spec.imag ** 2).astype(np.float32).T


# The periodic Hann window (scipy.signal.get_window("hann", N_FFT), to the same float32 values), written out:
# scipy.signal imports scipy.stats, half a second of every worker's start for one window.
_WINDOW = (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)


def band_level(power: NDArray[np.float32], sample_rate_hz: int) -> NDArray[np.uint8]:
    """Gives back the voice-band level of each frame, 0.5 dB steps from -100 dB."""
    lo, hi = voice_bins(sample_rate_hz)
    db = 10.0 * np.log10(power[lo:hi].mean(axis=0) + 1e-10)
    return np.clip(np.round((db + 100.0) * 2.0), 0, 255).astype(np.uint8)


def band_bits(power: NDArray[np.float32], sample_rate_hz: int) -> NDArray[np.uint16]:
    """Gives back 16 bits per frame: the signs of the band energies' differences across bands and time."""
    return to_bits(band_changes(power, sample_rate_hz))


def to_bits(changes: NDArray[np.float32]) -> NDArray[np.uint16]:
    """Gives back one 16-bit word per frame from (16, frames) values: bit j set where row j is positive."""
    weights = (1 << np.arange(16, dtype=np.uint32))[:, None]
    return ((changes > 0).astype(np.uint32) * weights).sum(axis=0).astype(np.uint16)


def harmonic_changes(power: NDArray[np.float32], sample_rate_hz: int) -> NDArray[np.float32]:
    """Gives back (16, frames): log power at 16 bins from 300 Hz, 62 Hz apart, less that 31 Hz above each.

    Band energies cannot tell one take of a phrase from another by the same voice; the
    harmonics of that voice's pitch, resolved below 1.3 kHz, can: another take at another
    pitch puts them elsewhere, while a copy keeps them where they were.
    """
    lo = voice_bins(sample_rate_hz)[0]
    at = lo + _HARMONIC_STEP_BINS * np.arange(16)
    level = np.log(power[lo: at[-1] + _HARMONIC_GAP_BINS + 1] + 1e-10)
    level = ndimage.uniform_filter1d(level, 3, axis=1, mode="nearest")  # 48 ms: a codec's frame of noise
    return level[at - lo] - level[at - lo + _HARMONIC_GAP_BINS]


def band_changes(power: NDArray[np.float32], sample_rate_hz: int) -> NDArray[np.float32]:
    """Gives back (16, frames): how each band's energy, less the next band's, changed since the frame before.

    Their signs are the bits; their sizes say how sure each bit is, which the aligned-audio
    check uses to weigh the bits of a noisy query.
    """
    energy = ndimage.uniform_filter1d(band_energies(power, sample_rate_hz), BITS_SMOOTH_FRAMES, axis=1, mode="nearest")
    across = energy[:-1] - energy[1:]  # (16, frames)
    change = np.zeros_like(across)
    d = BITS_STEP_FRAMES
    change[:, d:] = across[:, d:] - across[:, :-d]
    return change


def band_energies(power: NDArray[np.float32], sample_rate_hz: int) -> NDArray[np.float32]:
    """Gives back (17, frames): the natural log of each voice band's energy (bands log-spaced over the voice band)."""
    edges = _band_edges(sample_rate_hz)
    # Sums over each band's bins of the frames x bins layout power_spectrum's FFT leaves in
    # memory; no BLAS call, which costs more to start than this work on a busy machine.
    return np.log(np.add.reduceat(power.T[:, edges[0]:edges[-1]], edges[:-1] - edges[0], axis=1).T + 1e-10)


_EDGES: dict[int, NDArray[np.int64]] = {}


def _band_edges(sample_rate_hz: int) -> NDArray[np.int64]:
    """Gives back the first FFT bin of each band and the end of the last: log-spaced over the voice band."""
    if sample_rate_hz not in _EDGES:
        freqs = np.fft.rfftfreq(N_FFT, 1.0 / sample_rate_hz)
        _EDGES[sample_rate_hz] = np.searchsorted(freqs, np.geomspace(LOW_HZ, HIGH_HZ, N_BANDS + 1))
    return _EDGES[sample_rate_hz]


def _peaks(power: NDArray[np.float32], rate_hz: int, frame0: int, keep_from: int, keep_to: int,
           peaks_per_s: float) -> tuple[NDArray[np.float64], NDArray[np.float32], NDArray[np.float32]]:
    """Peaks of frames [keep_from, keep_to); `power`'s column 0 is frame `frame0`."""
    lo, hi = voice_bins(rate_hz)
    level_db = 10.0 * np.log10(power[lo:hi] + 1e-10)
    # Whitening by each bin's floor makes the strongest peaks those of the voice, not of a steady
    # engine hum or of the bins a codec happens to keep.
    white = level_db - np.percentile(level_db, 25, axis=1, keepdims=True)
    local_max = ndimage.maximum_filter(white, size=(_PEAK_SPAN_BINS, _PEAK_SPAN_FRAMES), mode="nearest")
    is_peak = (white == local_max) & (white > _MIN_PEAK_DB)
    is_peak[[0, -1], :] = False
    is_peak[:, : max(keep_from - frame0, 1)] = False
    is_peak[:, min(keep_to - frame0, white.shape[1] - 1):] = False
    f_idx, t_idx = np.nonzero(is_peak)
    empty = np.zeros(0), np.zeros(0, np.float32), np.zeros(0, np.float32)
    if f_idx.size == 0:
        return empty
    strength = white[f_idx, t_idx]
    # The strongest peaks of each second, so a quiet burst keeps its share of landmarks.
    second = ((t_idx + frame0) * HOP) // rate_hz
    order = np.lexsort((-strength, second))
    ranked = second[order]
    rank = np.arange(order.size) - np.searchsorted(ranked, ranked, side="left")
    chosen = np.sort(order[rank < max(1, round(peaks_per_s))])
    chosen = chosen[np.lexsort((f_idx[chosen], t_idx[chosen]))]
    f_idx, t_idx, strength = f_idx[chosen], t_idx[chosen], strength[chosen]
    # Parabolic interpolation: sub-bin frequency and sub-frame time, which speed changes need.
    df = _vertex(level_db[f_idx - 1, t_idx], level_db[f_idx, t_idx], level_db[f_idx + 1, t_idx])
    t_prev = np.maximum(t_idx - 1, 0)
    t_next = np.minimum(t_idx + 1, level_db.shape[1] - 1)
    dt = _vertex(level_db[f_idx, t_prev], level_db[f_idx, t_idx], level_db[f_idx, t_next])
    frames = (t_idx + frame0).astype(np.float64) + dt
    return frames, (f_idx + lo + df).astype(np.float32), strength.astype(np.float32)


def peaks_of(power: NDArray[np.float32], sample_rate_hz: int, peaks_per_s: float) -> tuple[
        NDArray[np.float64], NDArray[np.float32], NDArray[np.float32]]:
    """Gives back (frame, bin, dB above the floor) of the spectral peaks of a power STFT (bins x frames), as
    `analyse` picks them, frames counted from its first column (the first and last columns hold none)."""
    return _peaks(power, sample_rate_hz, 0, 0, power.shape[1], peaks_per_s)


def _vertex(a: NDArray[np.float32], b: NDArray[np.float32], c: NDArray[np.float32]) -> NDArray[np.float32]:
    denom = a - 2 * b + c
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.where(denom < 0, 0.5 * (a - c) / denom, 0.0)
    return np.clip(shift, -0.5, 0.5).astype(np.float32)


def features_to_bytes(features: Features) -> bytes:
    """Gives back the features as a compressed .npz, the same bytes for the same features."""
    out = io.BytesIO()
    np.savez_compressed(out, sample_rate_hz=np.int64(features.sample_rate_hz), n_frames=np.int64(features.n_frames),
                        peak_frames=features.peak_frames, peak_bins=features.peak_bins,
                        peak_strength_db=features.peak_strength_db, bits=features.bits,
                        harmonics=features.harmonics, level=features.level)
    return out.getvalue()


def features_from_bytes(data: bytes) -> Features:
    """Reads features written by features_to_bytes."""
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        return Features(int(z["sample_rate_hz"]), int(z["n_frames"]), z["peak_frames"], z["peak_bins"],
                        z["peak_strength_db"], z["bits"], z["harmonics"], z["level"])


def sound_frames(level: NDArray[np.uint8]) -> NDArray[np.bool_]:
    """Gives back which frames hold sound: a level 8 dB above the track's quiet (its 10th percentile)."""
    if level.size == 0:
        return np.zeros(0, bool)
    return level >= np.percentile(level, 10) + 16  # 16 steps of 0.5 dB
