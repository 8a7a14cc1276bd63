"""Segments: transmissions found with their times, squelch tails, hiss and silence told apart."""

from __future__ import annotations

import itertools

import numpy as np

from forensics.audio.segments import segment_samples, transmissions
from speech import RATE_HZ, radio, recording, say, syllables


def test_each_transmission_is_found_with_its_times_and_its_squelch_tail():
    rng = np.random.default_rng(7)
    takes = [radio(say(syllables(rng, 10), rng, pitch_hz=rng.uniform(90, 180)), rng, tail_s=0.25) for _ in range(4)]
    samples, spans = recording(rng, takes, floor_db=-50.0)
    segments = segment_samples(samples, RATE_HZ)
    found = transmissions(segments)
    assert len(found) == len(spans)
    for seg, (start, end) in zip(found, spans):
        assert abs(seg.start_s - start) < 0.1
        # The transmission ends where the voice ends, before the 0.25 s squelch tail.
        assert end - 0.25 - 0.15 < seg.end_s < end - 0.1
    tails = [s for s in segments if s.kind == "squelch_tail"]
    assert len(tails) == len(spans)
    for tail, (_start, end) in zip(tails, spans):
        assert abs(tail.end_s - end) < 0.08
    assert {s.kind for s in segments} == {"speech", "squelch_tail", "silence"}
    # The segments tile the recording.
    assert segments[0].start_s == 0.0 and abs(segments[-1].end_s - len(samples) / RATE_HZ) < 1e-9
    assert all(a.end_s == b.start_s for a, b in itertools.pairwise(segments))


def test_an_open_squelch_is_hiss_and_a_muted_scanner_is_silence():
    rng = np.random.default_rng(8)
    hiss = rng.standard_normal(3 * RATE_HZ).astype(np.float32) * 0.2
    muted = np.zeros(2 * RATE_HZ, np.float32)
    quiet = rng.standard_normal(2 * RATE_HZ).astype(np.float32) * 0.001
    segments = segment_samples(np.concatenate([quiet, hiss, muted]), RATE_HZ)
    assert [s.kind for s in segments] == ["silence", "hiss", "silence"]
    assert abs(segments[1].start_s - 2.0) < 0.05 and abs(segments[1].end_s - 5.0) < 0.05
    assert transmissions(segments) == ()


def test_an_hour_of_audio_is_segmented_in_bounded_memory(tmp_path):
    """The spectrum of a whole recording was held at once: 5.2 GB for 2 h, and 4 h of Opus ran out of memory."""
    import subprocess
    import sys
    import wave

    recording = tmp_path / "hour.wav"
    noise = (np.random.default_rng(0).normal(0, 300, 8000 * 60)).astype("<i2").tobytes()
    with wave.open(str(recording), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        for _ in range(60):
            out.writeframes(noise)
    # A child runs the command and reports its own child's peak, so no other test's process counts.
    measure = ("import resource, subprocess, sys; "
               "done = subprocess.run([sys.executable, '-m', 'forensics_cli.main', 'audio', 'segments', '--json', '-q', "
               "sys.argv[1]], capture_output=True); "
               "print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    code, peak_kb = subprocess.run([sys.executable, "-c", measure, str(recording)], capture_output=True, text=True,
                                   check=True).stdout.split()
    assert code == "0"
    assert int(peak_kb) < 900_000  # 1 h at 8 kHz is 115 MB of samples; before, its spectrum alone took 1.4 GB
