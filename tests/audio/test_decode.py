"""Decoding: every audio track of any media, mono at 8 kHz, and clear errors for the rest."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import FIXTURES
from forensics.audio.decode import decode_audio
from forensics.errors import MediaError, MediaUnreadable
from intercept_media import ffmpeg


def test_a_stereo_wav_becomes_mono_8khz_of_the_same_length(tmp_path: Path):
    path = tmp_path / "tone.wav"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=3", "-ac", "2", str(path))
    tracks = decode_audio(path).tracks
    assert len(tracks) == 1
    track = tracks[0]
    assert (track.sample_rate_hz, track.source_rate_hz, track.channels) == (8000, 44100, 2)
    assert track.samples.dtype == np.float32 and track.samples.ndim == 1
    assert abs(track.duration_s - 3.0) < 0.01
    spectrum = np.abs(np.fft.rfft(track.samples[8000:16000]))
    assert abs(np.argmax(spectrum) - 440) <= 1  # 1 Hz bins over one second


def test_every_audio_track_of_a_video_is_decoded(tmp_path: Path):
    path = tmp_path / "two-tracks.mkv"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10:duration=2",
           "-f", "lavfi", "-i", "sine=frequency=300:duration=2", "-f", "lavfi", "-i", "sine=frequency=1200:duration=2",
           "-map", "0", "-map", "1", "-map", "2", "-c:v", "mpeg4", "-c:a", "aac", "-b:a", "64k", str(path))
    tracks = decode_audio(path).tracks
    assert [t.stream_index for t in tracks] == [1, 2]
    peaks = [np.argmax(np.abs(np.fft.rfft(t.samples[4000:12000]))) for t in tracks]
    assert abs(peaks[0] - 300) <= 1 and abs(peaks[1] - 1200) <= 1


def test_a_video_without_sound_and_a_file_that_is_not_media_are_refused_clearly(tmp_path: Path):
    silent = tmp_path / "silent.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10:duration=1", "-c:v", "mpeg4", str(silent))
    with pytest.raises(MediaError, match=r"silent\.mp4: has no audio track"):
        decode_audio(silent)
    junk = tmp_path / "junk.m4a"
    junk.write_bytes(b"not audio at all" * 100)
    with pytest.raises(MediaUnreadable, match=r"junk\.m4a"):
        decode_audio(junk)
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(MediaUnreadable, match="empty"):
        decode_audio(empty)


def test_the_real_aac_track_and_m4a_files_decode(shared_data: Path):
    car = decode_audio(shared_data / "footage" / "car-detection.mp4").tracks
    assert [(t.codec, t.source_rate_hz) for t in car] == [("aac", 48000)]
    assert abs(car[0].duration_s - 30.16) < 0.1
    m4a = sorted((shared_data / "metadata-extractor-images" / "m4a").glob("*.m4a"))
    assert m4a
    for path in m4a:
        track = decode_audio(path).tracks[0]
        assert track.duration_s > 1.0 and np.abs(track.samples).max() > 0.01


def test_decoding_stops_at_the_budget_of_one_file_and_says_so(monkeypatch):
    import forensics.audio.decode as decode

    monkeypatch.setattr(decode, "MAX_DECODED_S", 2)
    audio = decode.decode_audio(FIXTURES / "incident" / "audio" / "intercept_full.wav")
    kept_s = sum(t.duration_s for t in audio.tracks)
    assert 2.0 <= kept_s < 2.5  # stopped at the first packet past the budget
    assert any("only the first" in note for note in audio.notes)
