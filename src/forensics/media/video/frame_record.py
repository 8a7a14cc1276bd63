"""The JSON of a frame set, built once for the frames record ingest keeps in a case and the
frames.json `forensics frames` writes.

Both say the same of each frame and each shot. Each caller adds what is its own: ingest the
extraction parameters its derived files carry, the command its file names and folder.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from forensics.media.video.frames import Frame, FrameSet, Shot


def frame_json(frame: Frame) -> dict[str, Any]:
    """Gives what is said of one frame: its times, number and picture type (not its pixels)."""
    return {"pts": frame.pts, "pts_s": frame.pts_s, "index": frame.index, "frame_type": frame.frame_type,
            "key_frame": frame.key_frame}


def shot_json(shot: Shot) -> dict[str, Any]:
    """Gives what is said of one shot; its representative frame by number."""
    return {"start_s": shot.start_s, "end_s": shot.end_s, "first_index": shot.first_index,
            "frame_count": shot.frame_count, "began_with": shot.began_with,
            "representative_index": shot.representative.index if shot.representative else None}


def frameset_json(frameset: FrameSet, *, frames: Sequence[Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """Gives the JSON of a frame set: its frames, shots, timing and notes.

    `frames` stands in for the `frame_json` of each frame, for a caller that says more of them.
    """
    return {"frames": [dict(f) for f in frames] if frames is not None else [frame_json(f) for f in frameset.frames],
            "shots": [shot_json(s) for s in frameset.shots], "mirrored": frameset.mirrored,
            "start_s": frameset.start_s, "duration_s": frameset.duration_s, "frame_count": frameset.frame_count,
            "notes": list(frameset.notes)}
