"""Matching: a clip found in a longer recording with its offset, through noise, a codec and a speed change;
audio not in the library gives no match; the library file persists and grows incrementally."""

from __future__ import annotations

import shutil
from pathlib import Path

import librosa
import numpy as np
import pytest

from forensics.audio.library import Library
from forensics.audio.search import index_paths, match_paths
from forensics.errors import ParameterError
from intercept_media import Intercepts, ffmpeg, intercepts  # noqa: F401 - intercepts is a fixture
from speech import RATE_HZ, write_wav


def _clip(intercepts: Intercepts, start_s: float, length_s: float, *, speed: float = 1.0, snr_db: float | None = None,
          seed: int = 0) -> np.ndarray:
    clip = intercepts.samples[int(start_s * RATE_HZ): int((start_s + length_s) * RATE_HZ)]
    if speed != 1.0:  # played `speed` times faster: shorter and higher
        clip = librosa.resample(clip, orig_sr=RATE_HZ, target_sr=RATE_HZ / speed)
    if snr_db is not None:
        noise = np.random.default_rng(seed).standard_normal(clip.size).astype(np.float32)
        clip = clip + noise * np.sqrt(np.mean(clip ** 2) / np.mean(noise ** 2)) * 10 ** (-snr_db / 20)
    return clip.astype(np.float32)


def test_a_clip_is_found_with_its_offset_through_noise_a_codec_and_a_speed_change(intercepts: Intercepts,
                                                                                   tmp_path: Path):
    start, _end = intercepts.spans[2]
    offset = start + 0.4137
    wav = write_wav(tmp_path / "clip.wav", _clip(intercepts, offset, 5.0, speed=1.03, snr_db=5.0))
    m4a = tmp_path / "phone.m4a"
    ffmpeg("-i", str(wav), "-c:a", "aac", "-b:a", "24k", "-ar", "16000", str(m4a))
    with Library(intercepts.library) as lib:
        [result] = match_paths(lib, [m4a])
    assert result.error is None and result.matches
    best = result.matches[0]
    assert best.reference == str(intercepts.recording)
    # The m4a's edit list hides AAC's encoder delay, so the query starts where the clip was cut.
    assert abs(best.offset_s - offset) < 0.010
    assert abs(best.speed - 1.03) < 0.003
    assert best.query_start_s < 1.0 and best.query_end_s > 3.5
    assert abs(best.reference_start_s - (best.offset_s + best.speed * best.query_start_s)) < 1e-6


@pytest.mark.parametrize("speed", [0.97, 1.0])
def test_a_short_burst_is_found_at_its_offset(intercepts: Intercepts, tmp_path: Path, speed: float):
    start, _end = intercepts.spans[0]
    wav = write_wav(tmp_path / "burst.wav", _clip(intercepts, start + 0.25, 2.0, speed=speed, snr_db=10.0, seed=3))
    with Library(intercepts.library) as lib:
        [result] = match_paths(lib, [wav])
    assert result.matches and abs(result.matches[0].offset_s - (start + 0.25)) < 0.010


@pytest.mark.parametrize("speed", [0.99, 0.9875, 1.01])
def test_a_short_burst_played_a_percent_off_speed_is_given_that_speed_by_its_pitch(intercepts: Intercepts,
                                                                                  tmp_path: Path, speed: float):
    """Over 2 s the bits cannot tell 1 % of speed (20 ms), and exactly 1 won: the peaks' pitch tells it."""
    found = []
    for i, (start, _end) in enumerate(intercepts.spans[:4]):
        wav = write_wav(tmp_path / f"burst{i}.wav", _clip(intercepts, start + 0.25, 2.0, speed=speed, snr_db=10.0,
                                                          seed=i))
        with Library(intercepts.library) as lib:
            [result] = match_paths(lib, [wav])
        listed = [m for m in result.matches if m.confidence != "weak"]
        found.append(bool(listed) and abs(listed[0].offset_s - (start + 0.25)) < 0.010
                     and abs(listed[0].speed - speed) < 0.006 and abs(listed[0].peaks_pitch - 1.0) < 0.0075)
    assert all(found), found


@pytest.mark.parametrize("seed", [8, 9, 10])
def test_a_burst_late_in_a_long_recording_is_placed_by_its_own_stretch(intercepts: Intercepts, tmp_path: Path,
                                                                        seed: int):
    """A 3 s burst 15-25 s into 30 s of a scanner's recording that hears the same words said again all through:
    landmarks agreeing by chance far from the burst must neither stretch its span nor tilt speed and offset."""
    rng = np.random.default_rng(seed)
    start = intercepts.spans[int(rng.integers(0, len(intercepts.spans)))][0] + rng.uniform(0, 1)
    burst = intercepts.samples[int(start * RATE_HZ): int((start + 3) * RATE_HZ)]
    other, _rate = librosa.load(intercepts.other, sr=RATE_HZ)
    bed = np.resize(other, 30 * RATE_HZ) * 0.5 + rng.standard_normal(30 * RATE_HZ).astype(np.float32) * 0.05
    at_s = rng.uniform(15, 25)
    bed[int(at_s * RATE_HZ): int(at_s * RATE_HZ) + burst.size] += burst
    wav = write_wav(tmp_path / "scanner.wav", bed.astype(np.float32))
    with Library(intercepts.library) as lib:
        [result] = match_paths(lib, [wav])
    assert result.matches
    best = result.matches[0]
    assert abs(best.offset_s - (start - at_s)) < 0.010 and best.speed == pytest.approx(1.0, abs=0.002)
    assert at_s - 1.0 <= best.query_start_s and best.query_end_s <= at_s + 3.0 + 1.2  # within its padding


def test_audio_not_in_the_library_gives_no_match(intercepts: Intercepts, tmp_path: Path):
    """The same phrases said again (same vocabulary, other pitch and pace): the hardest negatives."""
    noise = tmp_path / "noise.wav"
    write_wav(noise, np.random.default_rng(1).standard_normal(5 * RATE_HZ).astype(np.float32) * 0.1)
    with Library(intercepts.library) as lib:
        results = match_paths(lib, [intercepts.other, noise])
    assert [r.matches for r in results] == [(), ()]
    assert all(r.error is None for r in results)


def test_a_match_carries_a_score_and_a_confidence_and_the_same_words_said_again_are_at_most_weak(
        intercepts: Intercepts, tmp_path: Path):
    start, _end = intercepts.spans[1]
    wav = write_wav(tmp_path / "clip.wav", _clip(intercepts, start + 0.3, 4.0, snr_db=10.0, seed=5))
    with Library(intercepts.library) as lib:
        found, again = match_paths(lib, [wav, intercepts.other])
    best = found.matches[0]
    assert best.confidence in ("strong", "likely") and 0.8 <= best.score <= 1.0
    assert best.to_json()["confidence"] == best.confidence and 0 < best.agreement <= 1
    # Another take of the same phrases by the same voice: nothing, or weak matches a listing leaves out.
    assert all(m.confidence == "weak" for m in again.matches)


def test_scores_grow_with_the_evidence_and_nothing_is_graded_below_the_floor():
    from forensics.audio.match import FLOOR_HARMONIC_Z, FLOOR_Z, grade

    # harmonics 1.4 sharper at its own pitch; a query heard 5 dB above its noise
    scores = [grade(z, 4.0, 10, 2.6, 8.0, 5.0)[0] for z in (3.0, 4.0, 6.0, 9.0)]
    assert scores == sorted(scores) and all(0.0 < s < 1.0 for s in scores)
    by_peaks = [grade(3.0, 2.0, 8, 1.5, peaks, 5.0)[0] for peaks in (2.0, 8.0, 16.0, 24.0)]
    assert by_peaks == sorted(by_peaks) and by_peaks[0] < 0.5 < 0.8 < by_peaks[-1]
    assert grade(9.0, 8.0, 40, 6.6, 25.0, 8.0)[1] == "strong"
    # A score written as 0.99 (to 4 decimals) is strong, as the bands say, whatever the digits after.
    for peaks in np.linspace(10.0, 20.0, 2001):
        score, confidence = grade(3.0, 2.0, 8, 1.5, float(peaks), 5.0)
        assert (confidence == "strong") == (score >= 0.99) and score == round(score, 4)
    assert grade(FLOOR_Z - 0.1, 9.0, 40, 7.6, 30.0, 2.0)[1] is None
    assert grade(9.0, FLOOR_HARMONIC_Z - 0.1, 40, -0.5, 30.0, 2.0)[1] is None


def test_the_same_agreement_counts_for_more_the_louder_the_noise_the_query_is_heard_through():
    from forensics.audio.match import grade

    # Agreement a query under -5 dB of noise gives (its sound 2-4 dB above the middle), which from a clean
    # one (8 dB and more) is what another take of the same words gives.
    by_range = [grade(3.0, 2.5, 8, 2.0, 14.0, heard)[0] for heard in (2.0, 4.0, 6.0, 8.0)]
    assert by_range == sorted(by_range, reverse=True) and len(set(by_range)) == 4
    assert grade(3.0, 2.5, 8, 2.0, 14.0, 3.0)[1] in ("strong", "likely")
    assert grade(3.0, 2.5, 8, 2.0, 14.0, 8.0)[1] in ("weak", None)


def _compressed(x: np.ndarray, *, ratio: float = 10.0, threshold_db: float = -40.0) -> np.ndarray:
    """x through a fast compressor (a 10 ms envelope), as a phone's gain control squashes a recording."""
    from scipy.ndimage import maximum_filter1d, uniform_filter1d

    envelope = uniform_filter1d(maximum_filter1d(np.abs(x), RATE_HZ // 100), RATE_HZ // 100)
    over = np.maximum(20 * np.log10(envelope + 1e-10) - threshold_db, 0.0)
    return (x * 10 ** (-over * (1 - 1 / ratio) / 20)).astype(np.float32)


def test_how_clearly_a_query_is_heard_is_measured_over_the_matched_span_and_capped(intercepts: Intercepts):
    from forensics.audio.match import RANGE_CAP_DB, Heard
    from forensics.audio.spectrum import analyse

    start, end = intercepts.spans[1]

    def heard(samples: np.ndarray) -> Heard:
        return Heard.of(samples, RATE_HZ, analyse(samples, RATE_HZ).level)

    clean = _clip(intercepts, start, end - start)
    noisy = heard(_clip(intercepts, start, end - start, snr_db=-5.0, seed=2))
    n = noisy.level.size
    clean_db, noisy_db = heard(clean).range_db(0, n), noisy.range_db(0, n)
    assert 0.0 < noisy_db < clean_db - 2.0 and clean_db <= RANGE_CAP_DB
    # Squashed by a compressor, the clean clip's level barely moves, but its spectral shape still says it is
    # clean: it is not taken for a noisy one, whose weaker agreement the score forgives.
    squashed = heard(_compressed(clean))
    level_only = np.percentile(squashed.level, 95) / 2 - np.percentile(squashed.level, 50) / 2
    assert level_only < noisy_db + 1.0 < squashed.range_db(0, n) - 1.0
    # Over a span of under 16 frames, the whole query's; a query long in pauses is capped, not unbounded.
    assert noisy.range_db(5, 10) == noisy_db
    paused = Heard(np.concatenate([np.zeros(4 * n, np.uint8), noisy.level]),
                   np.concatenate([np.zeros((17, 4 * n), np.float32), noisy.bands_db], axis=1))
    assert paused.range_db(0, 5 * n) == RANGE_CAP_DB
    assert Heard(np.zeros(0, np.uint8), np.zeros((17, 0), np.float32)).range_db(0, 0) == 0.0


def test_a_match_far_weaker_than_another_place_of_the_same_stretch_is_weak():
    from dataclasses import replace

    from forensics.audio.match import Match, _graded

    right = Match("a.wav", "a" * 64, 0, 10.0, 1.0, 0.999, "strong", 0.6, 9.0, 6.0, 2.0, 20.0, 6.0, 1.0, 0.0, 30, 0.0,
                  5.0, 10.0, 15.0)
    echo = replace(right, reference="b.wav", reference_sha256="b" * 64, offset_s=40.0, score=0.85, confidence="likely",
                   z=4.0, harmonic_z=2.5, query_start_s=1.0, query_end_s=4.0)
    elsewhere = replace(echo, query_start_s=6.0, query_end_s=9.0)  # another stretch of the query: no contradiction
    graded = _graded([echo, right, elsewhere])
    assert [(m.reference, m.confidence) for m in graded] == [("a.wav", "strong"), ("b.wav", "weak"),
                                                              ("b.wav", "likely")]


def test_a_match_faster_or_slower_than_the_speed_search_covers_is_weak():
    from forensics.audio.match import Match, _graded

    at = [Match("a.wav", "a" * 64, 0, 10.0, speed, 0.999, "strong", 0.6, 9.0, 6.0, 2.0, 20.0, 6.0, 1.0, 0.0, 30, 0.0,
                5.0, 10.0, 15.0) for speed in (0.97, 1.035, 1.043, 0.958)]
    assert [m.confidence for m in _graded(at[:1])] + [m.confidence for m in _graded(at[1:2])] == ["strong", "strong"]
    assert [m.confidence for m in _graded(at[2:3])] + [m.confidence for m in _graded(at[3:])] == ["weak", "weak"]


def test_a_match_whose_harmonics_agree_better_at_another_pitch_is_weak():
    from dataclasses import replace

    from forensics.audio.match import Match, _graded

    copy = Match("a.wav", "a" * 64, 0, 10.0, 1.0, 0.999, "strong", 0.6, 9.0, 6.0, 4.5, 20.0, 6.0, 1.0, 0.0, 30, 0.0,
                 5.0, 10.0, 15.0)  # harmonics sharper at its own pitch
    retake = replace(copy, pitched_z=6.8)  # sharper 2-4 % away: the same words said at another pitch
    noisy = replace(copy, harmonic_z=2.5, pitched_z=3.2)  # too faint to tell: left to the score
    assert [m.confidence for m in (*_graded([copy]), *_graded([retake]), *_graded([noisy]))] == [
        "strong", "weak", "strong"]


def test_a_match_whose_peaks_agree_clearly_better_at_another_pitch_is_weak():
    from dataclasses import replace

    from forensics.audio.match import Match, _graded

    copy = Match("a.wav", "a" * 64, 0, 10.0, 1.0, 0.999, "strong", 0.6, 9.0, 6.0, 2.0, 20.0, 6.0, 0.995, 2.5, 30, 0.0,
                 5.0, 10.0, 15.0)  # half a percent: within what a copy's alignment leaves
    higher = replace(copy, peaks_pitch=1.02, peaks_pitch_gain=4.0)  # another take, 2 % higher
    lower = replace(copy, peaks_pitch=0.985, peaks_pitch_gain=1.5)
    barely = replace(copy, peaks_pitch=1.02, peaks_pitch_gain=0.5)  # no clearer there than at its own pitch
    near = replace(copy, peaks_pitch=0.9875, peaks_pitch_gain=20.0)  # a grid step short of 1.5 %
    assert [_graded([m])[0].confidence for m in (copy, higher, lower, barely, near)] == [
        "strong", "weak", "weak", "strong", "strong"]


def test_the_peaks_tell_the_pitch_of_the_aligned_query_to_a_quarter_of_a_percent(intercepts: Intercepts):
    from forensics.audio.library import FrameFeatures
    from forensics.audio.match import QUERY_PEAKS_PER_S, _peaks_pitch, _pitched
    from forensics.audio.spectrum import analyse, peaks_of, power_spectrum

    start, end = intercepts.spans[1]
    speech = intercepts.samples[int(start * RATE_HZ): int(end * RATE_HZ)]
    reference = FrameFeatures.kept(analyse(speech, RATE_HZ))
    power = power_spectrum(speech, single=True)
    found = {}
    for pitch in (1.0, 0.98, 1.02, 1.035):  # the same audio, every frequency multiplied by `pitch`
        frames, bins, _ = peaks_of(_pitched(power, pitch), RATE_HZ, QUERY_PEAKS_PER_S)
        found[pitch] = _peaks_pitch(frames, bins, power.shape[1], reference, 0, power.shape[1], RATE_HZ)
    assert abs(found[1.0][0] - 1.0) <= 0.0025 and found[1.0][1] <= 1.0
    for pitch in (0.98, 1.02, 1.035):
        assert abs(found[pitch][0] - pitch) <= 0.005 and found[pitch][1] > 5.0, (pitch, found[pitch])
    # Too few peaks to tell: its own pitch, no gain.
    assert _peaks_pitch(frames[:1], bins[:1], power.shape[1], reference, 0, power.shape[1], RATE_HZ) == (1.0, 0.0)


def test_the_library_is_one_file_that_copies_and_grows_incrementally(intercepts: Intercepts, tmp_path: Path):
    copy = tmp_path / "copy.sqlite"
    shutil.copyfile(intercepts.library, copy)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.sqlite"]
    with Library(copy) as lib:
        again = index_paths(lib, [intercepts.recording])
        assert again.added == () and again.already == (str(intercepts.recording),)
        added = index_paths(lib, [intercepts.other])
        assert added.added == (str(intercepts.other),)
        assert lib.stats()["references"] == 2
        [result] = match_paths(lib, [intercepts.other])
    assert result.matches[0].reference == str(intercepts.other) and abs(result.matches[0].offset_s) < 0.005
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.sqlite"]  # no journal left beside it


def test_a_file_that_is_no_library_is_refused(tmp_path: Path):
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"x" * 4096)
    with pytest.raises(ParameterError, match="not an intercept library"):
        Library(junk)
    with pytest.raises(ParameterError, match="no such library"):
        Library(tmp_path / "missing.sqlite", create=False)


def test_times_many_hours_in_keep_their_precision(tmp_path: Path):
    """Frame numbers are int64 in the library and float64 in the hashes: nothing wraps or rounds at 2^31."""
    from forensics.audio.landmarks import landmark_hashes
    from forensics.audio.spectrum import analyse

    rng = np.random.default_rng(4)
    samples = librosa.resample(rng.standard_normal(3 * RATE_HZ).astype(np.float32), orig_sr=RATE_HZ, target_sr=8000)
    features = analyse(samples, 8000)
    far = 5_000_000_000  # frames: about 2.5 years of audio at 16 ms a frame
    near_hashes, near_anchors, _ = landmark_hashes(features.peak_frames, features.peak_bins, 8000)
    far_hashes, far_anchors, _ = landmark_hashes(features.peak_frames + far, features.peak_bins, 8000)
    assert np.array_equal(near_hashes, far_hashes)
    assert np.allclose(far_anchors - far, near_anchors, atol=1e-5)
    shifted = type(features)(features.sample_rate_hz, features.n_frames, features.peak_frames + far,
                             features.peak_bins, features.peak_strength_db, features.bits, features.harmonics,
                             features.level)
    with Library(tmp_path / "far.sqlite") as lib:
        lib.add("f" * 64, 0, "far", shifted)
        postings = lib.lookup(near_hashes)
    assert postings.frames.dtype == np.int64 and postings.frames.min() >= far
    assert set(postings.frames.tolist()) == set(np.rint(far_anchors).astype(np.int64).tolist())


def test_a_long_query_is_matched_window_by_window_and_one_match_spans_the_windows(
        intercepts: Intercepts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import forensics.audio.match as match

    # 150 s of quiet hiss with the whole recording from 55 s: across the first two windows' seam.
    rng = np.random.default_rng(8)
    query = (rng.standard_normal(150 * RATE_HZ) * 0.003).astype(np.float32)
    at = 55 * RATE_HZ
    query[at:at + intercepts.samples.size] += intercepts.samples
    wav = write_wav(tmp_path / "long.wav", query)
    windows, whole_window = [], match._match_window
    monkeypatch.setattr(match, "_match_window", lambda *a, **k: windows.append(a[3].n_frames) or whole_window(*a, **k))
    checks, agreement = [], match._agreement
    monkeypatch.setattr(match, "_agreement",
                        lambda *a, **k: checks.append((k.get("search", True), a[3])) or agreement(*a, **k))
    with Library(intercepts.library) as lib:
        [result] = match_paths(lib, [wav])
    assert len(windows) >= 3 and max(windows) * 16 / 1000 <= 1.5 * match.WINDOW_S  # 16 ms frames
    # One alignment search for the one place: its neighbouring bins are not verified again, and
    # the window after the one that found it only confirms it there (chance candidates elsewhere
    # in the query's hiss are searched too, and come to nothing).
    at_place = [search for search, offset_s in checks if abs(offset_s + 55.0) < 0.5]
    assert at_place.count(True) == 1 and any(not search for search, _ in checks)
    [found] = result.matches  # the windows' finds in the same place are one match
    assert abs(found.offset_s + 55.0) < 0.010 and found.reference == str(intercepts.recording)
    duration_s = intercepts.samples.size / RATE_HZ
    first, last = intercepts.spans[0][0], intercepts.spans[-1][1]
    assert found.query_start_s < 55.0 + first + 1.0 and found.query_end_s > 55.0 + last - 1.0
    assert found.query_end_s <= 55.0 + duration_s + 0.5
