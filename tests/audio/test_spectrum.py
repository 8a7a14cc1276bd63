"""The STFT the audio analysis rests on: librosa's numbers, without importing librosa in the library."""

from __future__ import annotations

import librosa
import numpy as np
from scipy import signal

from forensics.audio import spectrum


def test_the_window_is_scipys_periodic_hann_to_the_last_bit():
    assert np.array_equal(spectrum._WINDOW, signal.get_window("hann", spectrum.N_FFT, fftbins=True).astype(np.float32))


def test_the_power_spectrum_is_librosas_stft_squared():
    x = np.random.default_rng(7).standard_normal(8000 * 3 + 77).astype(np.float32)
    ours = spectrum.power_spectrum(x)
    theirs = np.abs(librosa.stft(x, n_fft=spectrum.N_FFT, hop_length=spectrum.HOP, window="hann", center=False)) ** 2
    assert ours.shape == theirs.shape and np.allclose(ours, theirs, rtol=1e-4, atol=1e-4 * float(theirs.max()))


def _pulse_train(pitch_hz: float, seconds: float, rate_hz: int = 8000) -> np.ndarray:
    """A voice-like sound: a pulse train at `pitch_hz` through a vowel's resonances."""
    n = int(seconds * rate_hz)
    pulses = np.zeros(n)
    pulses[(np.arange(0, seconds, 1 / pitch_hz) * rate_hz).astype(int)] = 1.0
    sos = signal.butter(2, [400, 1400], "bandpass", fs=rate_hz, output="sos")
    return signal.sosfilt(sos, pulses).astype(np.float32)


def test_the_pitch_of_a_voiced_sound_is_read_to_a_percent_and_noise_and_silence_are_unvoiced():
    rate = 8000
    rng = np.random.default_rng(3)
    quiet = np.zeros(rate, np.float32)
    noise = (0.05 * rng.standard_normal(rate)).astype(np.float32)
    for pitch in (95.0, 150.0, 230.0):
        voiced = _pulse_train(pitch, 1.5)
        codes = spectrum.pitch_codes(np.concatenate([quiet, voiced, noise]), rate)
        hz = spectrum.pitch_hz(codes)
        inside = slice(int(1.1 * rate / spectrum.HOP), int(2.4 * rate / spectrum.HOP))  # well inside the voiced part
        assert (codes[inside] > 0).mean() > 0.95
        assert abs(np.median(hz[inside]) / pitch - 1) < 0.01
        assert (codes[: int(0.8 * rate / spectrum.HOP)] == 0).all()  # silence
        assert (codes[-int(0.8 * rate / spectrum.HOP):] > 0).mean() < 0.1  # white noise


def test_features_keep_the_pitch_and_those_written_without_it_read_without_it():
    x = np.concatenate([_pulse_train(140.0, 2.0), np.zeros(4000, np.float32)])
    with_pitch = spectrum.analyse(x, 8000)
    without = spectrum.analyse(x, 8000, with_pitch=False)
    assert with_pitch.pitch is not None and with_pitch.pitch.shape == (with_pitch.n_frames,) and without.pitch is None
    again = spectrum.features_from_bytes(spectrum.features_to_bytes(with_pitch))
    assert again.pitch is not None and np.array_equal(again.pitch, with_pitch.pitch)
    assert spectrum.features_from_bytes(spectrum.features_to_bytes(without)).pitch is None
    # Everything else is as it was without the pitch, to the byte.
    assert np.array_equal(without.bits, with_pitch.bits) and np.array_equal(without.peak_frames, with_pitch.peak_frames)
