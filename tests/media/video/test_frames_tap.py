"""The dedup sampler fed by the scene scan's pass (a FrameTap) gives, byte for byte, the pictures of its own pass."""

from __future__ import annotations

import itertools
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from test_frames import ffmpeg, media  # noqa: F401 - media is the fixture of seeded videos

from forensics.dedup.sampling import VideoSampler, read_pictures, sampled_pictures
from forensics.errors import MediaUnreadable, ParameterError
from forensics.media.video.frames import INGEST_MAX_FRAMES, INGEST_MODE, extract_frames
from forensics.media.video.gop_decoder import _MAX_CHUNK_PACKETS, DecodeSpan, chunk_spans
from forensics.media.video.packet_index import PacketIndex

TAPPED = ["closed_gop", "open_gop", "hevc", "mpeg4_avi", "vfr", "single", "rotated", "faststart"]


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("name", TAPPED)
def test_tapped_pictures_are_those_of_the_samplers_own_pass(media: dict[str, Path], name: str,
                                                            workers: int) -> None:
    own = read_pictures(media[name], workers=workers)
    sampler = VideoSampler()
    tapped = extract_frames(media[name], mode=INGEST_MODE, max_frames=INGEST_MAX_FRAMES, workers=workers,
                            tap=sampler)
    shared = sampled_pictures(media[name], sampler)
    assert sampler.decode_errors == 0
    assert (shared.kind, shared.duration_s, shared.notes) == (own.kind, own.duration_s, own.notes)
    assert np.array_equal(shared.times_s, own.times_s)
    assert shared.grey.dtype == own.grey.dtype and shared.grey.shape == own.grey.shape
    assert shared.grey.tobytes() == own.grey.tobytes()
    # The tap changes nothing of the frames themselves.
    alone = extract_frames(media[name], mode=INGEST_MODE, max_frames=INGEST_MAX_FRAMES, workers=workers)
    assert [f.pts for f in tapped.frames] == [f.pts for f in alone.frames]
    assert all(a.image.tobytes() == b.image.tobytes() for a, b in zip(tapped.frames, alone.frames))
    assert [(s.start_s, s.began_with) for s in tapped.shots] == [(s.start_s, s.began_with) for s in alone.shots]


def test_raw_stream_without_timestamps_is_tapped_alike(media: dict[str, Path], tmp_path: Path) -> None:
    raw = tmp_path / "clip.h264"
    ffmpeg("-i", str(media["closed_gop"]), "-c", "copy", "-bsf:v", "h264_mp4toannexb", "-f", "h264", str(raw))
    own = read_pictures(raw)
    sampler = VideoSampler()
    extract_frames(raw, mode=INGEST_MODE, tap=sampler)
    shared = sampled_pictures(raw, sampler)
    assert shared.notes == own.notes and any("no timestamps" in note for note in shared.notes)
    assert np.array_equal(shared.times_s, own.times_s) and shared.grey.tobytes() == own.grey.tobytes()


def test_a_tap_needs_a_scene_scan(media: dict[str, Path]) -> None:
    with pytest.raises(ParameterError, match="scene scan"):
        extract_frames(media["closed_gop"], mode="keyframes", tap=VideoSampler())


def test_a_sampler_never_handed_frames_says_so(media: dict[str, Path]) -> None:
    with pytest.raises(MediaUnreadable, match="handed over"):
        sampled_pictures(media["closed_gop"], VideoSampler())


@pytest.mark.parametrize("workers", [1, 2, 8])
def test_chunks_stay_bounded_whatever_the_length(workers: int) -> None:
    # An hour at 30 fps, a keyframe every 2 s: what a chunk's results hold must not grow with the hour.
    count = 30 * 3600
    index = PacketIndex(time_base=Fraction(1, 30), pts=np.arange(count, dtype=np.int64),
                        key=np.arange(count) % 60 == 0, pos=np.arange(count, dtype=np.int64) * 1000,
                        timestamps_known=True, assumed_rate=None, truncated=False)
    chunks = chunk_spans([DecodeSpan(0, count)], index, workers=workers)
    assert max(c.packet_count for c in chunks) <= _MAX_CHUNK_PACKETS
    assert chunks[0].first_packet == 0 and chunks[-1].end_packet == count
    assert all(a.end_packet == b.first_packet for a, b in itertools.pairwise(chunks))
