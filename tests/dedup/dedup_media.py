"""Small seeded media for the dedup tests, made once per run with the benchmark's own edits.

A module of fixtures, not a conftest.py: tests/conftest.py is imported by name as `conftest`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))

import dedup_edits  # noqa: E402  (benchmarks/ is not a package)

EDITS = tuple(dedup_edits.VIDEO_EDITS)


@pytest.fixture(scope="session")
def scenes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 9 s source scene, each video edit of it, a photo of it with each photo edit, and two negatives."""
    d = tmp_path_factory.mktemp("dedup-media")
    out = {"source": dedup_edits.make_scene(d / "source.mp4", seed=11, duration_s=9, size=(320, 180))}
    for edit in EDITS:
        out[edit] = dedup_edits.edit_video(out["source"], edit, d / f"{edit}.mp4")
    out["other"] = dedup_edits.make_scene(d / "other.mp4", seed=12, duration_s=9, size=(320, 180))
    # The same room, a fixed camera, different things happening: different footage.
    out["room_a"] = dedup_edits.make_scene(d / "room_a.mp4", seed=13, duration_s=6, size=(320, 180),
                                           static_camera=True, motion_seed=1)
    out["room_b"] = dedup_edits.make_scene(d / "room_b.mp4", seed=13, duration_s=6, size=(320, 180),
                                           static_camera=True, motion_seed=2)
    out["photo"] = dedup_edits.still_of(out["source"], 4.0, d / "photo.png")
    for edit in dedup_edits.PHOTO_EDITS:
        out[f"photo_{edit}"] = dedup_edits.edit_photo(out["photo"], edit, d / f"photo_{edit}.jpg")
    out["other_photo"] = dedup_edits.still_of(out["other"], 4.0, d / "other_photo.png")
    return out


@pytest.fixture(scope="session")
def hashed(scenes: dict[str, Path]):
    from forensics.dedup.media_hashes import hash_media

    return {name: hash_media(path, key=name) for name, path in scenes.items()}
