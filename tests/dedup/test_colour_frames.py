"""Frames read in colour for the check at full size are the pictures FFmpeg's scaler gives each frame alone,
though one scaler serves a decoder thread's every frame."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from dedup_media import dedup_edits
from forensics.dedup.sampling import frames_at


def test_colour_frames_are_each_frames_own_scaled_picture(tmp_path: Path) -> None:
    video = dedup_edits.make_scene(tmp_path / "scene.mp4", seed=31, duration_s=2, size=(640, 360))
    times, pictures = frames_at(video, np.arange(0.0, 2.0, 0.04), size_px=320, colour=True, workers=2)
    assert pictures.shape[1:] == (180, 320, 3) and len(pictures) >= 45
    with av.open(str(video)) as container:
        alone = [frame.reformat(width=320, height=180, format="rgb24", interpolation="AREA").to_ndarray()
                 for frame in container.decode(video=0)]
    assert all(np.array_equal(picture, alone[round(t * 25)]) for t, picture in zip(times, pictures))
