"""Generated intercepts shared by the audio tests: a spotter's recording, its transmissions, a library.

A module, not a conftest.py: tests/conftest.py is imported by name, and a second one would shadow it.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from numpy.typing import NDArray

from speech import radio, recording, say, syllables, write_wav

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


def ffmpeg(*arguments: str) -> None:
    subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-y", *arguments], check=True)


@dataclass(frozen=True)
class Intercepts:
    recording: Path  # a spotter's recording of several transmissions, 16 kHz WAV
    samples: NDArray[np.float32]  # its samples at RATE_HZ
    spans: list[tuple[float, float]]  # each transmission's (start_s, end_s)
    other: Path  # the same phrases said again, another take: not in the library
    library: Path  # holds `recording` only


@pytest.fixture(scope="session")
def intercepts(tmp_path_factory: pytest.TempPathFactory) -> Intercepts:
    from forensics.audio.library import Library
    from forensics.audio.search import index_paths

    folder = tmp_path_factory.mktemp("intercepts")
    rng = np.random.default_rng(20261201)
    phrases = [syllables(rng, 16) for _ in range(5)]
    takes = [radio(say(p, rng, pitch_hz=rng.uniform(95, 170), rate=rng.uniform(0.9, 1.1)), rng) for p in phrases]
    samples, spans = recording(rng, takes)
    again = [radio(say(p, rng, pitch_hz=rng.uniform(95, 170), rate=rng.uniform(0.9, 1.1)), rng) for p in phrases]
    other, _ = recording(rng, again)
    rec = write_wav(folder / "spotter.wav", samples)
    library = folder / "library.sqlite"
    with Library(library) as lib:
        index_paths(lib, [rec])
    return Intercepts(rec, samples, spans, write_wav(folder / "other.wav", other), library)
