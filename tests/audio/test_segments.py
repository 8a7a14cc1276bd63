"""Segments: transmissions found with their times, squelch tails, hiss and silence told apart."""

from __future__ import annotations

import numpy as np
from speech import RATE_HZ, radio, recording, say, syllables

from forensics.audio.segments import segment_samples, transmissions


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
    assert all(a.end_s == b.start_s for a, b in zip(segments, segments[1:]))


def test_an_open_squelch_is_hiss_and_a_muted_scanner_is_silence():
    rng = np.random.default_rng(8)
    hiss = rng.standard_normal(3 * RATE_HZ).astype(np.float32) * 0.2
    muted = np.zeros(2 * RATE_HZ, np.float32)
    quiet = rng.standard_normal(2 * RATE_HZ).astype(np.float32) * 0.001
    segments = segment_samples(np.concatenate([quiet, hiss, muted]), RATE_HZ)
    assert [s.kind for s in segments] == ["silence", "hiss", "silence"]
    assert abs(segments[1].start_s - 2.0) < 0.05 and abs(segments[1].end_s - 5.0) < 0.05
    assert transmissions(segments) == ()
