"""read_container skips decoding during stream analysis; what it records must not change."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import imageio_ffmpeg
import pytest

from forensics.media.metadata.formats import container as container_module
from forensics.media.metadata.formats.container import read_container

# Codecs and containers a verifier receives, each small; MPEG-TS and raw H.264 have no index.
_FORMATS = [("libx264", "mp4"), ("mpeg4", "avi"), ("mjpeg", "avi"), ("libvpx", "webm"), ("mpeg2video", "ts"),
            ("h263", "3gp"), ("libx264", "h264")]


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("formats")
    made = []
    for codec, ext in _FORMATS:
        path = folder / f"{codec}.{ext}"
        audio = [] if ext in ("h264", "3gp") else ["-f", "lavfi", "-i", "sine=frequency=440:duration=1"]
        subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-y", "-f", "lavfi",
                        "-i", "testsrc=size=352x288:rate=10:duration=1", *audio, "-c:v", codec, str(path)],
                       check=True)
        made.append(path)
    return made


def test_the_same_facts_with_and_without_decoding(videos: list[Path]) -> None:
    for path in videos:
        fast, decoded = read_container(path), read_container(path, skip_frames=False)
        assert fast == decoded, path.name
        video = next(s for s in fast.streams if s.kind == "video")
        assert (video.coded_width_px, video.coded_height_px) == (352, 288), path.name


def test_the_same_facts_on_the_real_videos(shared_data: Path) -> None:
    folders = ["metadata-extractor-images/mp4", "metadata-extractor-images/mov", "metadata-extractor-images/mts",
               "metadata-extractor-images/3gp", "metadata-extractor-images/avi", "footage"]
    paths = sorted(p for f in folders for p in (shared_data / f).glob("*.*") if p.suffix.lower() not in (".txt", ".md"))
    assert len(paths) > 10
    for path in paths:
        fast, decoded = read_container(path), read_container(path, skip_frames=False)
        assert fast == decoded, path.name


def test_a_picture_size_left_unknown_opens_again_decoding(videos: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    real_open, calls = container_module._open, []

    def open_forgetting_sizes(path: Path, *, skip_frames: bool):
        calls.append(skip_frames)
        opened = real_open(path, skip_frames=skip_frames)
        if skip_frames:  # as a codec that states its size only in decoded frames would leave it
            for stream in opened.streams.video:
                stream.codec_context.width = 0
        return opened

    monkeypatch.setattr(container_module, "_open", open_forgetting_sizes)
    read = read_container(videos[0])
    assert calls == [True, False]
    assert next(s for s in read.streams if s.kind == "video").coded_width_px == 352
    assert dataclasses.asdict(read) == dataclasses.asdict(read_container(videos[0], skip_frames=False))
