"""The simulated intercept corpus of bench_audio.py: radio traffic, spotters' recordings, and queries made from them.

Speech is espeak-ng's, through the library the `espeakng-loader` wheel carries (no system
package): voices of several languages (English, Russian, Ukrainian, Arabic) and variants,
pitch and pace varied per transmission; without that wheel, the formant synthesiser of
tests/audio/speech.py. Voices and each language's words are split into two halves by
source: `tuning` (which thresholds may be fitted on) and `held-out` (the figures of record).
Each transmission goes through a radio channel (300-3400 Hz, clipping, hiss, key-up click,
squelch tail); a spotter's recording holds several with gaps. A query is a cut of a
recording re-recorded through a room (reverberation) and a phone, with engine, wind, crowd
(babble) or hiss noise at a set SNR, coded with AAC, Opus or MP3 at a low bit rate, perhaps
sped up or slowed down, perhaps laid under a video. Hard negatives are made the same way from
recordings that are not in the library: the same voices saying the same phrases again
(another take, other pitch and pace) and new phrases.
"""

from __future__ import annotations

import ctypes
import subprocess
import sys
import wave
import zlib
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg
import librosa
import numpy as np
from numpy.typing import NDArray
from scipy import signal

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "audio"))
from speech import radio, say, syllables, write_wav  # the tests' synthesiser, shared

RATE_HZ = 16000
FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
CODECS = {"aac": ("-c:a", "aac", "-b:a", "24k", ".m4a"), "opus": ("-c:a", "libopus", "-b:a", "12k", ".ogg"),
          "mp3": ("-c:a", "libmp3lame", "-b:a", "24k", ".mp3")}
HALVES = ("tuning", "held-out")
# Voices by half: no voice, and no variant of a language, is in both. Only variants espeak-ng
# synthesises the same way every run (f2, f3 and f5 breathe with noise of their own each time, which
# made two builds of one half differ): a corpus built twice is the same corpus.
_VOICES = {
    "tuning": ("en-us+m1", "en-gb-x-rp+m3", "en+f4", "en-us+klatt2", "ru+m4", "ru+f1", "ar+m2", "uk+Denis"),
    "held-out": ("en-us+f1", "en+m7", "en-gb-scotland+m5", "en-029+m2", "ru+m6", "ru+klatt4", "ar+f1", "uk+m3"),
}
_WORDS = {
    "en": "viper falcon eagle hawk raven cobra one two three four five six seven eight nine zero niner target "
          "bearing heading cleared hot copy roger wilco approach north south east west grid hospital school "
          "market bridge road village tower engaging rolling in off dry pass second confirm negative "
          "affirmative altitude angels descending climbing tango mike alpha bravo",
    "ru": "один два три четыре пять шесть семь восемь девять ноль цель курс высота заход атака повтор "
          "подтверждаю понял работаю выход вход левый правый север юг восток запад мост школа рынок больница "
          "дорога деревня башня сброс пуск второй первый борт сокол орёл беркут кобра",  # noqa: RUF001 - Russian, Cyrillic on purpose
    "uk": "один два три чотири пять шість сім вісім девять нуль ціль курс висота захід атака повтор "
          "підтверджую зрозумів працюю вихід вхід лівий правий північ південь схід міст школа ринок лікарня "
          "дорога село вежа скидання пуск другий перший борт сокіл орел беркут",
    "ar": "واحد اثنان ثلاثة أربعة خمسة ستة سبعة ثمانية تسعة صفر هدف اتجاه ارتفاع هجوم تأكيد مفهوم جسر "
          "مدرسة سوق مستشفى طريق قرية برج شمال جنوب شرق غرب صقر نسر كوبرا الأول الثاني إطلاق ضرب منعطف "
          "يسار يمين اقتراب مغادرة تكرار",
}


def words_of(voice: str, half: str) -> tuple[str, ...]:
    """Gives back the half's words of the voice's language: every other word, from the first or the second."""
    words = _WORDS[voice.split("+")[0].split("-")[0]].split()
    return tuple(words[HALVES.index(half)::2])


def voices(half: str) -> tuple[str, ...]:
    return _VOICES[half]


@dataclass(frozen=True)
class Take:
    """One transmission as said: the phrase, the voice, and how."""

    words: tuple[str, ...]
    voice: str
    pitch: int  # espeak's 0-99, or Hz for the formant synthesiser
    pace: int  # espeak's words per minute, or a rate in percent
    gap: int = 0  # espeak's pause between words, in 10 ms
    tune: int = 50  # espeak's intonation range, 0-100 (50 its own)


@dataclass(frozen=True)
class Recording:
    path: Path
    samples: NDArray[np.float32]  # at RATE_HZ
    spans: tuple[tuple[float, float], ...]  # each transmission's (start_s, end_s)
    takes: tuple[Take, ...]


class _Espeak:
    """espeak-ng's library, loaded from the espeakng-loader wheel, synthesising into memory."""

    _CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)
    _RATE, _PITCH, _RANGE, _WORDGAP = 1, 3, 4, 7  # espeak_PARAMETER

    def __init__(self) -> None:
        import espeakng_loader

        self.lib = ctypes.CDLL(espeakng_loader.get_library_path())
        self.rate_hz = self.lib.espeak_Initialize(2, 0, espeakng_loader.get_data_path().encode(), 0)  # synchronous
        if self.rate_hz <= 0:
            raise RuntimeError("espeak-ng did not start")
        self.chunks: list[NDArray[np.int16]] = []

        def keep(wav: ctypes.Array, n: int, _events: int) -> int:
            if wav and n > 0:
                self.chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
            return 0

        self._keep = self._CALLBACK(keep)  # held, or ctypes frees it under espeak's feet
        self.lib.espeak_SetSynthCallback(self._keep)

    def say(self, take: Take) -> NDArray[np.float32]:
        if self.lib.espeak_SetVoiceByName(take.voice.encode()) != 0:
            raise ValueError(f"espeak-ng has no voice {take.voice!r}")
        for parameter, value in ((self._RATE, take.pace), (self._PITCH, take.pitch), (self._RANGE, take.tune),
                                 (self._WORDGAP, take.gap)):
            self.lib.espeak_SetParameter(parameter, value, 0)
        text = " ".join(take.words).encode()
        self.chunks = []
        self.lib.espeak_Synth(text, len(text) + 1, 0, 1, 0, 0, None, None)  # POS_CHARACTER, espeakCHARS_AUTO
        self.lib.espeak_Synchronize()
        pcm = np.concatenate(self.chunks).astype(np.float32) / 32768 if self.chunks else np.zeros(0, np.float32)
        return librosa.resample(pcm, orig_sr=self.rate_hz, target_sr=RATE_HZ).astype(np.float32)


def _espeak() -> _Espeak | None:
    try:
        return _Espeak()
    except (ImportError, OSError, RuntimeError):
        return None


ESPEAK = _espeak()


def speak(take: Take, rng: np.random.Generator) -> NDArray[np.float32]:
    """Gives back the take said at RATE_HZ."""
    if ESPEAK:
        return ESPEAK.say(take)
    # The formant synthesiser: each word is a fixed syllable sequence, so a phrase said again is the same words.
    phrase = [s for w in take.words for s in syllables(np.random.default_rng(zlib.crc32(w.encode())), 1 + len(w) // 4)]
    audio = say(phrase, rng, pitch_hz=float(take.pitch), rate=take.pace / 100)
    return librosa.resample(audio, orig_sr=16000, target_sr=RATE_HZ) if RATE_HZ != 16000 else audio


def random_take(rng: np.random.Generator, half: str, voice: str | None = None) -> Take:
    """Gives back a new phrase of 6-14 of the half's words in one of its voices (or `voice`)."""
    voice = voice or str(rng.choice(voices(half)))
    words = tuple(rng.choice(words_of(voice, half), size=int(rng.integers(6, 15))))
    if ESPEAK:
        return Take(words, voice, int(rng.integers(25, 75)), int(rng.integers(140, 200)), int(rng.integers(0, 4)))
    return Take(words, voice, int(rng.integers(90, 190)), int(rng.integers(85, 115)))


def another_take(rng: np.random.Generator, take: Take) -> Take:
    """Gives back the same words by the same voice, said again as a person says them again.

    A synthesiser repeats itself to the sample where a person never does (the same formant
    tracks, scaled); another take is 4 to 20 pitch steps (espeak's 0-99 scale) and 3 to 15 % in
    pace away, each way, with an intonation range of its own (30-70) and its own pauses. Closer
    than that, with the same timing, a take is what a pitch-shifted copy of the first would be.
    """
    sign = rng.choice([-1, 1], size=2)
    pitch = int(np.clip(take.pitch + sign[0] * rng.integers(4, 21), 5, 95))
    pace = int(take.pace * (1 + sign[1] * rng.uniform(0.03, 0.15)))
    if ESPEAK:
        return Take(take.words, take.voice, pitch, pace, int(rng.integers(0, 4)), int(rng.integers(30, 71)))
    return Take(take.words, take.voice, int(take.pitch * (1 + sign[0] * rng.uniform(0.06, 0.15))), pace)


def make_recording(path: Path, takes: list[Take], rng: np.random.Generator) -> Recording:
    """Writes a spotter's recording of the takes (16 kHz WAV) and gives back what is in it."""
    parts, spans, at = [], [], 0
    floor = 10 ** (rng.uniform(-65, -45) / 20)
    for take in takes:
        gap = int(rng.uniform(1.0, 4.0) * RATE_HZ)
        parts.append(rng.standard_normal(gap) * floor)
        tx = radio(speak(take, rng), rng, rate_hz=RATE_HZ, hiss_db=rng.uniform(-40, -25), tail_s=rng.uniform(0.1, 0.3))
        spans.append((at + gap) / RATE_HZ)
        parts.append(tx)
        at += gap + tx.size
        spans[-1] = (spans[-1], at / RATE_HZ)
    parts.append(rng.standard_normal(RATE_HZ) * floor)
    samples = np.concatenate(parts).astype(np.float32)
    write_wav(path, samples)
    return Recording(path, samples, tuple(spans), tuple(takes))


# --- re-recording ------------------------------------------------------------------------------
class NoiseBank:
    """A minute of each noise, made once; queries take random stretches of it."""

    def __init__(self, rng: np.random.Generator, half: str, seconds: float = 60.0) -> None:
        n = int(seconds * RATE_HZ)
        t = np.arange(n) / RATE_HZ
        f0 = 32.0 * (1 + 0.05 * np.sin(2 * np.pi * 0.2 * t))
        phase = 2 * np.pi * np.cumsum(f0) / RATE_HZ
        engine = sum(np.sin(k * phase + rng.uniform(0, 6.3)) / k for k in range(1, 60))
        engine = engine + 3 * signal.sosfilt(signal.butter(2, 300, fs=RATE_HZ, output="sos"), rng.standard_normal(n))
        gusts = np.interp(t, np.arange(0, seconds + 1, 0.5), rng.uniform(0.2, 1.0, int(seconds * 2) + 2))
        wind = gusts * signal.sosfilt(signal.butter(2, 600, fs=RATE_HZ, output="sos"), rng.standard_normal(n))
        crowd = np.zeros(n)
        # Babble: eight talkers at once, three of them real voices of the half (whose speech has the
        # peaks and harmonics a transmission has, the hardest interference for both).
        for k in range(8):
            if ESPEAK and k < 3:
                voice = np.concatenate([speak(random_take(rng, half), rng) for _ in range(int(seconds / 3))])
            else:
                voice = say(syllables(rng, int(seconds * 5)), rng, pitch_hz=rng.uniform(90, 230),
                            rate=rng.uniform(0.8, 1.2))
            voice = np.resize(voice, n) / (np.sqrt(np.mean(voice ** 2)) + 1e-12)
            crowd += np.roll(voice, int(rng.integers(n)))
        hiss = rng.standard_normal(n)  # a scanner's open squelch, a tape's hiss: white, shaped only by the phone
        self.kinds = {"engine": engine, "wind": wind, "crowd": crowd, "hiss": hiss}

    def excerpt(self, kind: str, n: int, rng: np.random.Generator) -> NDArray[np.float64]:
        source = self.kinds[kind]
        start = int(rng.integers(0, source.size - n)) if n < source.size else 0
        out = np.resize(source[start:], n)
        return out / (np.sqrt(np.mean(out ** 2)) + 1e-12)


def active_power(x: NDArray[np.float64]) -> float:
    """Gives back the mean power of the 20 ms frames that hold the speech (not the gaps)."""
    frames = x[: x.size // 320 * 320].reshape(-1, 320)
    power = (frames ** 2).mean(axis=1)
    loud = power > 0.05 * np.percentile(power, 95)
    return float(power[loud].mean()) if loud.any() else float(power.mean())


def re_record(clip: NDArray[np.float32], rng: np.random.Generator, noise: NoiseBank, *, snr_db: float | None,
              noise_kind: str) -> NDArray[np.float64]:
    """Gives back the clip as a phone in a room hears it, with noise at `snr_db` (None: no added noise)."""
    rt60_s = rng.uniform(0.2, 0.9)
    n_ir = int(rt60_s * RATE_HZ)
    tail = rng.standard_normal(n_ir) * np.exp(-6.9 * np.arange(n_ir) / n_ir)
    tail[:16] = 0.0  # the first reflection 1 ms after the direct sound
    # A phone near the scanner or across the room: the direct sound 3 dB below to 8 dB above the echo.
    tail *= np.sqrt(10 ** (-rng.uniform(-3.0, 8.0) / 10) / np.sum(tail ** 2))
    ir = tail
    ir[0] = 1.0  # the direct sound: the room adds no delay to the alignment
    wet = signal.fftconvolve(clip, ir)[: clip.size]
    phone = signal.sosfiltfilt(signal.butter(4, [200, 3600], "bandpass", fs=RATE_HZ, output="sos"), wet)
    phone /= np.abs(phone).max() + 1e-9
    if snr_db is not None:
        n = noise.excerpt(noise_kind, phone.size, rng)
        phone = phone + n * np.sqrt(active_power(phone) / 10 ** (snr_db / 10))
    return np.tanh(1.5 * phone / (np.abs(phone).max() + 1e-9)) * 0.7  # the phone's limiter


def change_speed(x: NDArray[np.float64], speed: float) -> NDArray[np.float64]:
    """Gives back x played `speed` times faster (shorter, higher), as a resampling tape or app does."""
    return librosa.resample(np.asarray(x, dtype=np.float32), orig_sr=RATE_HZ, target_sr=RATE_HZ / speed)


def encode(samples: NDArray[np.float64], dest_stem: Path, codec: str) -> Path:
    """Writes the samples coded with `codec` ("aac", "opus", "mp3"); gives back the file."""
    *args, suffix = CODECS[codec]
    wav = dest_stem.with_suffix(".wav")
    write_wav(wav, samples)
    out = dest_stem.with_suffix(suffix)
    subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-y", "-i", str(wav), *args, str(out)], check=True)
    wav.unlink()
    return out


def in_video(samples: NDArray[np.float64], dest: Path, rng: np.random.Generator, noise: NoiseBank,
             *, duration_s: float = 30.0) -> tuple[Path, float]:
    """Writes an MP4 whose soundtrack has the samples at a random time; gives back (file, that time in s)."""
    n = int(duration_s * RATE_HZ)
    at = float(rng.uniform(2.0, duration_s - samples.size / RATE_HZ - 2.0))
    bed = noise.excerpt("crowd", n, rng) * 0.3 + noise.excerpt("engine", n, rng) * 0.2
    bed *= np.sqrt(active_power(samples) / 10 ** (10 / 10)) / (np.sqrt(np.mean(bed ** 2)) + 1e-12)
    start = int(at * RATE_HZ)
    bed[start:start + samples.size] += samples
    wav = dest.with_suffix(".wav")
    write_wav(wav, bed / (np.abs(bed).max() + 1e-9) * 0.8)
    subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    f"testsrc2=size=96x64:rate=5:duration={duration_s}", "-i", str(wav), "-c:v", "libx264",
                    "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "32k", "-shortest",
                    str(dest)], check=True)
    wav.unlink()
    return dest, at


def read_wav(path: Path) -> tuple[int, NDArray[np.float32]]:
    with wave.open(str(path), "rb") as w:
        rate, data = w.getframerate(), w.readframes(w.getnframes())
    return rate, np.frombuffer(data, "<i2").astype(np.float32) / 32768
