"""The frames record ingest keeps in a case (FramesRecord), and the JSON of a frame set that it shares
with the frames.json `forensics frames` writes.

Both say the same of each frame and each shot. Each adds what is its own: the record the
extraction parameters and where the case stores each picture, the command its file names and folder.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self, cast

from forensics.errors import ParameterError
from forensics.media.video.frames import MODES, ExtractionParameters, Frame, FrameMode, FrameSet, Shot
from forensics.record_kinds import VERSION_KEY, readable_version

# 2: the record states its version. Version 1 (no version stated) gave the display turn as
# parameters.rotation_deg, counter-clockwise (ffprobe's sign), until it was named rotation_cw_deg.
RECORD_VERSION = 2


@dataclass(frozen=True, slots=True)
class StoredFrame:
    """One frame taken, and where the case keeps its picture."""

    pts: int  # presentation timestamp in the stream's time base ticks, exact
    pts_s: float  # the same in seconds
    index: int  # frame number in presentation order, 0 = first
    frame_type: str  # "I", "P", "B" ("?" when the decoder does not say)
    key_frame: bool
    path: str | None = None  # the PNG in the case (data/derived/...); None until stored
    sha256: str | None = None  # hex, of that PNG


@dataclass(frozen=True, slots=True)
class ShotEntry:
    """A run of frames between two shot boundaries, its representative frame by number."""

    start_s: float
    end_s: float
    first_index: int
    frame_count: int
    began_with: str  # "start", "cut" or "fade"
    representative_index: int | None


@dataclass(frozen=True, slots=True)
class FramesParameters(ExtractionParameters):
    """How the frames were taken: what was asked (ExtractionParameters' fields), and the video's time base and turn."""

    time_base: str  # seconds per pts tick, as a fraction ("1/12800")
    rotation_cw_deg: int  # the clockwise turn the display matrix asks for (0, 90, 180, 270)
    rotation_applied: bool  # the pictures were turned (and mirrored) as a player would


@dataclass(frozen=True, slots=True)
class FramesRecord:
    """The frames ingest took from one video, with where the case keeps their pictures."""

    frames: tuple[StoredFrame, ...]
    shots: tuple[ShotEntry, ...]
    mirrored: bool
    start_s: float  # pts_s of the stream's first frame
    duration_s: float
    frame_count: int  # coded pictures in the stream
    notes: tuple[str, ...]
    parameters: FramesParameters
    contact_sheet: str | None = None  # path of the contact sheet (PNG) in the case; None until stored
    thumbnail: str | None = None  # path of the thumbnail (JPEG) in the case; None until stored

    @classmethod
    def of(cls, frameset: FrameSet) -> FramesRecord:
        """Gives the record of a frame set, its pictures not stored yet (see `with_stored`)."""
        return cls(frames=tuple(StoredFrame(f.pts, f.pts_s, f.index, f.frame_type, f.key_frame)
                                for f in frameset.frames),
                   shots=tuple(ShotEntry(**shot_json(s)) for s in frameset.shots), mirrored=frameset.mirrored,
                   start_s=frameset.start_s, duration_s=frameset.duration_s, frame_count=frameset.frame_count,
                   notes=frameset.notes,
                   parameters=FramesParameters(**dataclasses.asdict(frameset.parameters),
                                               time_base=str(frameset.time_base),
                                               rotation_cw_deg=frameset.rotation_cw_deg,
                                               rotation_applied=frameset.rotation_applied))

    def with_stored(self, stored: Sequence[tuple[str, str]]) -> Self:
        """Gives the record naming where the case stored its pictures: (path, sha256) of each frame in order,
        then of the contact sheet, then of the thumbnail, as the frames step derives them."""
        if len(stored) != len(self.frames) + 2:
            raise ParameterError(f"{len(stored)} stored pictures for {len(self.frames)} frames, a sheet and a thumbnail")
        frames = tuple(dataclasses.replace(f, path=path, sha256=sha256) for f, (path, sha256) in zip(self.frames, stored))
        return dataclasses.replace(self, frames=frames, contact_sheet=stored[-2][0], thumbnail=stored[-1][0])

    def to_json(self) -> dict[str, Any]:
        """Gives the record as written to a case."""
        return {VERSION_KEY: RECORD_VERSION,
                "frames": [{**frame_json(f), "path": f.path, "sha256": f.sha256} for f in self.frames],
                "shots": [dataclasses.asdict(s) for s in self.shots], "mirrored": self.mirrored,
                "start_s": self.start_s, "duration_s": self.duration_s, "frame_count": self.frame_count,
                "notes": list(self.notes), "parameters": dataclasses.asdict(self.parameters),
                "contact_sheet": self.contact_sheet, "thumbnail": self.thumbnail}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FramesRecord:
        """Gives back the record `to_json` wrote, of this version or an earlier one; raises ParameterError
        when `data` is not one."""
        version = readable_version(data, (1, RECORD_VERSION), "frames")
        try:
            parameters = dict(data["parameters"])
            if version == 1 and "rotation_deg" in parameters:
                parameters["rotation_cw_deg"] = -int(parameters.pop("rotation_deg")) % 360
            if parameters["mode"] not in MODES:
                raise ValueError(f"unknown mode {parameters['mode']!r}")
            return cls(frames=tuple(StoredFrame(f["pts"], f["pts_s"], f["index"], f["frame_type"], f["key_frame"],
                                                f.get("path"), f.get("sha256")) for f in data["frames"]),
                       shots=tuple(ShotEntry(**s) for s in data["shots"]), mirrored=data["mirrored"],
                       start_s=data["start_s"], duration_s=data["duration_s"], frame_count=data["frame_count"],
                       notes=tuple(data["notes"]),
                       parameters=FramesParameters(**{**parameters, "mode": cast("FrameMode", parameters["mode"])}),
                       contact_sheet=data.get("contact_sheet"), thumbnail=data.get("thumbnail"))
        except (KeyError, TypeError, ValueError, AttributeError) as ex:
            raise ParameterError(f"not a frames record ({type(ex).__name__}: {ex})") from ex


def frame_json(frame: Frame | StoredFrame) -> dict[str, Any]:
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
