"""The audio record ingest keeps of each item with sound (AudioRecord): its tracks, their transmissions and
fingerprint files, and where their audio occurs in other files of the case or in an intercept library."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self

from forensics.errors import ParameterError
from forensics.record_kinds import VERSION_KEY, readable_version

# 5: each match states peaks_pitch and peaks_pitch_gain (read as None in versions 2 to 4). 4: each match states
# query_range_db (read as None in versions 2 and 3). 3: each match states peaks_z (read as None in version 2).
# 2: the record states its version. Version 1 (no version stated) is the same shape; its
# matches made before 2026-12-05 have no confidence, agreement or pitched_z (read as None).
RECORD_VERSION = 5


@dataclass(frozen=True, slots=True)
class SegmentEntry:
    """One labelled stretch of a track (audio.segments.Segment as recorded)."""

    kind: str  # "speech" (a transmission), "squelch_tail", "hiss", "silence"; "" when a record did not say
    start_s: float
    end_s: float

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "start_s": self.start_s, "end_s": self.end_s}


@dataclass(frozen=True, slots=True)
class TrackEntry:
    """One sound track of the item, as decoded for fingerprinting."""

    stream_index: int
    codec: str | None
    source_rate_hz: int | None  # the track's own sample rate
    channels: int | None
    duration_s: float
    segments: tuple[SegmentEntry, ...]
    fingerprint: str | None = None  # path in the case of its fingerprint (.npz); None until stored

    def to_json(self) -> dict[str, Any]:
        return {"stream_index": self.stream_index, "codec": self.codec, "source_rate_hz": self.source_rate_hz,
                "channels": self.channels, "duration_s": self.duration_s,
                "segments": [s.to_json() for s in self.segments], "fingerprint": self.fingerprint}


_HIT_FIELDS = ("reference", "reference_sha256", "reference_stream", "offset_s", "speed", "score", "confidence",
               "agreement", "z", "harmonic_z", "pitched_z", "peaks_z", "query_range_db", "peaks_pitch",
               "peaks_pitch_gain", "votes", "query_start_s", "query_end_s", "reference_start_s", "reference_end_s")


@dataclass(frozen=True, slots=True)
class InterceptHit:
    """Where this item's audio occurs in another recording (audio.match.Match as recorded):
    t_reference = offset_s + speed * t_query."""

    reference: str  # the other recording's label: its name, "incident: name" in a cross-case index
    reference_sha256: str | None  # hex
    reference_stream: int | None
    offset_s: float | None
    speed: float | None
    score: float | None  # 0-1, the probability measured on the benchmark that this is the right recording and place
    confidence: str | None  # "strong", "likely", "weak"; None in matches made before confidences
    agreement: float | None = None
    z: float | None = None
    harmonic_z: float | None = None
    pitched_z: float | None = None
    peaks_z: float | None = None  # None in matches made before version 3
    query_range_db: float | None = None  # None in matches made before version 4
    peaks_pitch: float | None = None  # None in matches made before version 5
    peaks_pitch_gain: float | None = None  # None in matches made before version 5
    votes: int | None = None
    query_start_s: float | None = None
    query_end_s: float | None = None
    reference_start_s: float | None = None
    reference_end_s: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _HIT_FIELDS}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> InterceptHit:
        return cls(**{name: data.get(name) for name in _HIT_FIELDS if name != "reference"},
                   reference=str(data["reference"]))


@dataclass(frozen=True, slots=True)
class LibraryMatches:
    """The item's matches in an intercept library given to ingest."""

    path: str  # the library as given
    matches: tuple[InterceptHit, ...]


@dataclass(frozen=True, slots=True)
class QueryMatches:
    """Matches of a named query (a shape of records made by other tools before the audio step; read only)."""

    query: str | None
    matches: tuple[InterceptHit, ...]


@dataclass(frozen=True, slots=True)
class AudioRecord:
    """The item's sound tracks with their transmissions and fingerprints, and its links."""

    tracks: tuple[TrackEntry, ...]
    notes: tuple[str, ...] = ()  # what decoding had to skip or guess: say it in a report
    links: tuple[InterceptHit, ...] | None = None  # files of the case it shares a transmission with; None until linked
    library: LibraryMatches | None = None  # when ingest was given an intercept library
    # Shapes only older records have: segments without tracks, matches of named queries.
    transmissions: tuple[SegmentEntry, ...] = ()
    results: tuple[QueryMatches, ...] = ()

    @property
    def segments(self) -> tuple[SegmentEntry, ...]:
        """Gives every track's segments, in track order (an older record's own when it has no tracks)."""
        return tuple(s for t in self.tracks for s in t.segments) or self.transmissions

    def with_stored(self, stored: Sequence[tuple[str, str]]) -> Self:
        """Gives the record naming each track's fingerprint file: (path, sha256) of each track in order, as the
        audio step derives them."""
        if len(stored) != len(self.tracks):
            raise ParameterError(f"{len(stored)} fingerprint files for {len(self.tracks)} tracks")
        return dataclasses.replace(self, tracks=tuple(dataclasses.replace(t, fingerprint=path)
                                                      for t, (path, _sha256) in zip(self.tracks, stored)))

    def to_json(self) -> dict[str, Any]:
        """Gives the record as written to a case (links and library only once there are some)."""
        data: dict[str, Any] = {VERSION_KEY: RECORD_VERSION, "tracks": [t.to_json() for t in self.tracks],
                                "notes": list(self.notes)}
        if self.links is not None:
            data["links"] = [m.to_json() for m in self.links]
        if self.library is not None:
            data["library"] = {"path": self.library.path, "matches": [m.to_json() for m in self.library.matches]}
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AudioRecord:
        """Gives back the record `to_json` wrote, of this version or an earlier one; raises ParameterError
        when `data` is not one."""
        version = readable_version(data, (1, 2, 3, 4, RECORD_VERSION), "audio")
        try:
            library = data.get("library")
            links = data.get("links")
            if version == 1 and data.get("matches"):  # an older record's own matches: links by another name
                links = [*(links or ()), *data["matches"]]
            return cls(tracks=tuple(_track(t) for t in data.get("tracks") or ()),
                       notes=tuple(data.get("notes") or ()),
                       links=None if links is None else tuple(InterceptHit.from_json(m) for m in links),
                       library=None if library is None else LibraryMatches(
                           str(library["path"]), tuple(InterceptHit.from_json(m) for m in library["matches"])),
                       transmissions=tuple(_segment(s) for s in data.get("transmissions") or data.get("segments") or ()
                                           if version == 1),
                       results=tuple(QueryMatches(r.get("query"), tuple(InterceptHit.from_json(m)
                                                                        for m in r.get("matches") or ()))
                                     for r in data.get("results") or () if version == 1))
        except (KeyError, TypeError, ValueError, AttributeError) as ex:
            raise ParameterError(f"not an audio record ({type(ex).__name__}: {ex})") from ex


def _segment(data: Mapping[str, Any]) -> SegmentEntry:
    # Older records called the kind a label.
    return SegmentEntry(str(data.get("kind") or data.get("label") or ""), float(data["start_s"]), float(data["end_s"]))


def _track(data: Mapping[str, Any]) -> TrackEntry:
    return TrackEntry(data["stream_index"], data.get("codec"), data.get("source_rate_hz"), data.get("channels"),
                      data["duration_s"], tuple(_segment(s) for s in data.get("segments") or ()),
                      data.get("fingerprint"))
