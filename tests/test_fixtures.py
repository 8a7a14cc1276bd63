"""The shipped demo incident: its bytes match SHA256SUMS, its ground truth holds, the script remakes it."""

from __future__ import annotations

import hashlib
import itertools
import subprocess
import sys
import wave
from pathlib import Path

import av
import exifread
import imageio_ffmpeg
import numpy as np
import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
INCIDENT = FIXTURES / "incident"


def listed_digests() -> dict[str, str]:
    rows = (line.split(maxsplit=1) for line in (FIXTURES / "SHA256SUMS").read_text().splitlines() if line)
    return {name: digest for digest, name in rows}


def test_shipped_files_match_sha256sums() -> None:
    listed = listed_digests()
    shipped = {p.relative_to(FIXTURES).as_posix() for p in INCIDENT.rglob("*") if p.is_file()}
    assert shipped == set(listed)
    for name, digest in listed.items():
        assert hashlib.sha256((FIXTURES / name).read_bytes()).hexdigest() == digest, name


def test_fixtures_stay_small() -> None:
    assert sum(p.stat().st_size for p in INCIDENT.rglob("*") if p.is_file()) < 1_200_000


def video_frames(path: Path) -> tuple[list[float], list[float], list[np.ndarray]]:
    """Gives back keyframe times (s), every frame's time (s) and every frame as H x W x 3 RGB."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        keys = sorted(float(p.pts * p.time_base) for p in container.demux(stream) if p.is_keyframe and p.pts is not None)
        container.seek(0)
        frames = list(container.decode(stream))
    return keys, [float(f.time) for f in frames], [f.to_ndarray(format="rgb24") for f in frames]


def test_original_video_ground_truth() -> None:
    path = INCIDENT / "video" / "strike_original.mp4"
    with av.open(str(path)) as container:
        assert container.metadata["creation_time"] == "2024-03-14T09:26:54.000000Z"
        assert container.metadata["location"] == "+36.2021+037.1343/"
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert (video.codec_context.name, video.width, video.height, video.average_rate) == ("h264", 640, 360, 25)
        assert (audio.codec_context.name, audio.rate, audio.channels) == ("aac", 48000, 1)
    keys, times, images = video_frames(path)
    assert keys == [0.0, 2.0, 4.0, 6.0]
    assert len(times) == 200 and times[0] == 0.0 and times[-1] == pytest.approx(7.96)
    change = [np.abs(b.astype(int) - a.astype(int)).mean() for a, b in itertools.pairwise(images)]
    cuts = sorted(int(i) + 1 for i in np.argsort(change)[-2:])
    assert cuts == [75, 140]  # 3.00 s and 5.60 s
    assert sorted(change)[-3] < sorted(change)[-2] / 3


def test_copies_ground_truth() -> None:
    keys, times, _ = video_frames(INCIDENT / "video" / "strike_whatsapp.mp4")
    assert len(times) == 200 and keys == [0.0, 3.0, 5.6]
    with av.open(str(INCIDENT / "video" / "strike_whatsapp.mp4")) as container:
        assert (container.streams.video[0].width, container.streams.video[0].height) == (320, 180)
        assert "creation_time" not in container.metadata and "location" not in container.metadata
    keys, times, _ = video_frames(INCIDENT / "video" / "strike_excerpt.mp4")
    assert len(times) == 75 and keys == [0.0, 1.0, 2.0]


def test_photo_exif_ground_truth() -> None:
    with (INCIDENT / "photo" / "IMG_0001.jpg").open("rb") as f:
        tags = {k: str(v) for k, v in exifread.process_file(f, details=False).items()}
    assert tags["Image Make"] == "samsung"
    assert tags["EXIF DateTimeOriginal"] == "2024:03:14 12:26:58"
    assert tags["EXIF OffsetTimeOriginal"] == "+03:00"
    assert tags["GPS GPSLatitude"] == "[36, 12, 1917/250]" and tags["GPS GPSLatitudeRef"] == "N"
    assert tags["GPS GPSLongitude"] == "[37, 8, 879/250]" and tags["GPS GPSLongitudeRef"] == "E"
    assert tags["GPS GPSDate"] == "2024:03:14" and tags["GPS GPSTimeStamp"] == "[9, 26, 58]"
    with (INCIDENT / "photo" / "IMG_0001_edited.jpg").open("rb") as f:
        tags = {k: str(v) for k, v in exifread.process_file(f, details=False).items()}
    assert tags["Image Software"] == "Adobe Photoshop 25.0 (Windows)"
    assert tags["Image DateTime"] == "2024:03:15 18:42:07"
    assert tags["EXIF DateTimeOriginal"] == "2024:03:14 12:26:58"


def test_intercept_bursts_where_the_readme_says() -> None:
    with wave.open(str(INCIDENT / "audio" / "intercept_full.wav")) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes()) == (8000, 1, 2, 160000)
        x = np.frombuffer(w.readframes(w.getnframes()), "<i2") / 32768

    def rms(from_s: float, to_s: float) -> float:
        return float(np.sqrt(np.mean(x[int(from_s * 8000):int(to_s * 8000)] ** 2)))

    hiss = rms(0.0, 0.9)
    for key_up_s, end_s in ((1.00, 3.40), (5.20, 8.20), (10.00, 12.60), (14.60, 18.00)):
        assert rms(key_up_s + 0.1, end_s - 0.1) > 10 * hiss
        assert rms(end_s + 0.01, end_s + 0.17) > 10 * hiss  # squelch tail
        assert rms(end_s + 0.25, end_s + 0.8) < 2 * hiss


@pytest.mark.slow
def test_make_fixtures_check_reproduces_the_shipped_files() -> None:
    script = FIXTURES / "make_fixtures.py"
    build = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-version"], capture_output=True, text=True,
                           check=False).stdout.split()[2]
    pinned = next(line for line in script.read_text().splitlines() if line.startswith("FFMPEG_BUILD"))
    if build not in pinned:
        pytest.skip(f"ffmpeg {build} is not the build the fixtures were made with ({pinned}); bytes may differ")
    done = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr
