"""Flat pictures (blank test images, black frames) say nothing about footage: they match nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from forensics.dedup.groups import find_duplicates
from forensics.dedup.media_hashes import hash_media


def test_blank_photos_are_not_the_same_footage(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    made = {"grey.png": np.full((90, 120), 128, np.uint8), "white.jpg": np.full((48, 64), 250, np.uint8),
            "speck.png": np.clip(rng.normal(60, 1.0, (80, 80)), 0, 255).astype(np.uint8),  # sensor noise only
            "scene.png": (rng.random((96, 128)) * 255).astype(np.uint8)}
    for name, pixels in made.items():
        Image.fromarray(pixels).save(tmp_path / name)
    media = [hash_media(tmp_path / name, key=name) for name in made]
    assert [len(m.times_s) for m in media[:3]] == [0, 0, 0]  # nothing to hash in a flat picture
    assert len(media[3].times_s) >= 1
    scene_copy = tmp_path / "scene-copy.jpg"
    Image.fromarray(made["scene.png"]).save(scene_copy, quality=60)
    result = find_duplicates([*media, hash_media(scene_copy, key="scene-copy.jpg")])
    assert [{m.a, m.b} for m in result.matches] == [{"scene-copy.jpg", "scene.png"}]


def test_all_intra_footage_is_sampled_like_any_other_not_frame_by_frame(tmp_path):
    """Every frame a keyframe (a hostile file at 1000 fps took 11 minutes and then ran out of memory)."""
    import subprocess

    import imageio_ffmpeg

    from forensics.dedup.media_hashes import hash_media

    clip = tmp_path / "intra.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "testsrc=s=64x64:r=500",
                    "-t", "4", "-c:v", "libx264", "-g", "1", "-pix_fmt", "yuv420p", str(clip)], check=True)
    hashed = hash_media(clip, every_s=0.25)
    assert hashed.frame_count <= 2 * 4 / 0.25 + 2  # samples, and keyframes no closer than a sample apart
    assert hashed.duration_s == pytest.approx(4.0, abs=0.01)
