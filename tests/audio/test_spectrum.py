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
