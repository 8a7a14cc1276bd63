"""The normalised metadata record of one media file: what it claims, what looks wrong, the raw tags.

`MediaRecord.to_json()` gives the record as stored in a case manifest and printed by
`forensics probe --json`. Times travel as `datetime` inside the dataclasses and become
ISO 8601 text only there: aware times keep their offset, UTC times end in `Z`, and a
naive time (an EXIF clock with no offset tag) is written without any offset, because
the file does not say which zone its clock was in.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from forensics.errors import ParameterError
from forensics.media.content_type import MEDIA_TYPES, MediaType
from forensics.media.metadata.formats.credentials import Credentials
from forensics.media.metadata.timestamps import parse_offset
from forensics.media.metadata.zones import PlaceZone
from forensics.record_kinds import VERSION_KEY, readable_version

# 2: the record states its version. Version 1 (no version stated) named a stream's turn `rotation_deg`,
# counter-clockwise as ffprobe gives it, and the EXIF turns `rotation_deg` and `thumbnail_rotation_deg`
# (clockwise) until the turns were named rotation_cw_deg; from_json reads both. Version 3 added `provenance`
# (Content Credentials) and `capture_zone` (the zone of the GPS position, for a capture clock with none);
# an older record has neither.
RECORD_VERSION = 3


@dataclass(frozen=True, slots=True)
class Flag:
    """A lead for the verifier: a stable code and one sentence, never a verdict."""

    code: str  # snake_case, stable across versions: scripts filter on it
    message: str


@dataclass(frozen=True, slots=True)
class TimeClaim:
    """One time stamp the file states, with the tag it came from."""

    kind: str  # "capture", "digitized", "modified", "container", "track", "gps"
    source: str  # the tag, e.g. "EXIF DateTimeOriginal"
    text: str  # verbatim as read
    value: datetime | None  # None when the text is not a usable date (zero, garbage)
    utc: datetime | None  # the same instant in UTC, when the file gives an offset or is UTC by spec


@dataclass(frozen=True, slots=True)
class Gps:
    """A position the file claims, in WGS84 decimal degrees and metres."""

    latitude_deg: float
    longitude_deg: float
    altitude_m: float | None
    source: str  # "EXIF GPS", "QuickTime com.apple.quicktime.location.ISO6709", ...
    time_utc: datetime | None = None  # EXIF GPSDateStamp + GPSTimeStamp, UTC by spec

    @property
    def has_position(self) -> bool:
        """Whether both coordinates are numbers (a record read back gives NaN for one it holds as null)."""
        return math.isfinite(self.latitude_deg) and math.isfinite(self.longitude_deg)


@dataclass(frozen=True, slots=True)
class Device:
    """The device and software the file names; every field is None when absent."""

    make: str | None = None
    model: str | None = None
    software: str | None = None
    lens: str | None = None
    firmware: str | None = None
    # com.apple.quicktime.* and com.android.* container tags, verbatim, sorted by key
    vendor_tags: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ContainerFacts:
    """What the container (MP4, MOV, MKV, JPEG pipe...) says about itself."""

    format_name: str
    format_long_name: str | None = None
    major_brand: str | None = None
    minor_version: str | None = None
    compatible_brands: tuple[str, ...] = ()
    encoder: str | None = None
    duration_s: float | None = None
    bit_rate_bps: int | None = None
    handler_names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StreamFacts:
    """One stream of a container; video-only and audio-only fields are None for the other kinds."""

    index: int
    kind: str  # "video", "audio", "subtitle", "data", "attachment", "attached_picture" (cover art)
    codec: str | None = None
    profile: str | None = None
    bit_rate_bps: int | None = None
    duration_s: float | None = None
    handler_name: str | None = None
    language: str | None = None
    coded_width_px: int | None = None
    coded_height_px: int | None = None
    display_width_px: int | None = None  # after the display matrix is applied
    display_height_px: int | None = None
    rotation_cw_deg: int | None = None  # clockwise turn for display (90 for an upright iPhone; ffprobe says -90)
    frame_count: int | None = None
    frame_rate_avg_fps: float | None = None  # frames / duration
    frame_rate_real_fps: float | None = None  # the base rate that all time stamps fit (ffprobe r_frame_rate)
    variable_frame_rate: bool | None = None  # None when the frame times could not be read
    channels: int | None = None
    channel_layout: str | None = None
    sample_rate_hz: int | None = None


@dataclass(frozen=True, slots=True)
class ImageFacts:
    """The pixel size of a still and how EXIF says to turn it for display."""

    width_px: int | None
    height_px: int | None
    orientation: int | None  # EXIF Orientation 1..8
    display_width_px: int | None
    display_height_px: int | None
    rotation_cw_deg: int | None  # clockwise turn that EXIF Orientation asks for
    thumbnail_similarity: float | None = None  # EXIF thumbnail vs main image, -1..1 (thumbnail.py)
    thumbnail_rotation_cw_deg: int | None = None  # clockwise turn of the main image that fits its thumbnail best
    # What of the main image the thumbnail was compared with: "whole picture", "rows sampled across the
    # picture" or "top 23% of the picture" (as far as the decode budget reached; see jpeg_sample)
    thumbnail_coverage: str | None = None


@dataclass(frozen=True, slots=True)
class MediaRecord:
    """Everything `probe_media` learned about one file; `error` says what could not be read."""

    path: str
    sha256: str | None  # "sha256:<hex>"
    size_bytes: int | None
    media_type: MediaType  # content_type.MEDIA_TYPES: from the content, never the file name
    detected_format: str | None  # MIME type guessed from the magic bytes
    captured_at: datetime | None
    captured_at_source: str | None
    utc_offset: str | None  # "+03:00", when the file states the zone of its capture clock
    created_at: datetime | None  # container creation time, UTC
    created_at_source: str | None
    filesystem_modified_at: datetime | None  # UTC
    times: tuple[TimeClaim, ...]
    gps: Gps | None
    device: Device
    container: ContainerFacts | None
    streams: tuple[StreamFacts, ...]
    image: ImageFacts | None
    provenance: Credentials | None = None  # Content Credentials; None for a format that cannot carry them
    # The zone of the GPS position at the capture time, when the capture clock states none: it makes
    # captured_at_utc (see PlaceZone.source for how far to trust it).
    capture_zone: PlaceZone | None = None
    # Every tag as read, grouped by source ("exif", "xmp", "iptc", "format", "stream:0"...);
    # JSON-safe already: binary values are hex text, see BINARY_NOTE.
    raw: dict[str, Any] = field(default_factory=dict)
    flags: tuple[Flag, ...] = ()
    error: str | None = None

    @property
    def captured_at_utc(self) -> datetime | None:
        """The capture instant in UTC, when the file gives an offset or the tag is UTC by spec, or, for a clock
        with no zone, when the GPS position gives the zone (capture_zone)."""
        if self.captured_at is not None and self.captured_at.tzinfo is None and self.capture_zone is not None:
            return (self.captured_at - self.capture_zone.offset).replace(tzinfo=UTC)
        return to_utc(self.captured_at)

    @property
    def audio_track_count(self) -> int:
        return sum(1 for s in self.streams if s.kind == "audio")

    def to_json(self) -> dict[str, Any]:
        """Gives the record as plain JSON values (no NaN, no bytes), ready for canonical JSON."""
        return {
            VERSION_KEY: RECORD_VERSION,
            "path": self.path,
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            "media_type": self.media_type,
            "detected_format": self.detected_format,
            "captured_at": iso(self.captured_at),
            "captured_at_utc": iso(self.captured_at_utc),
            "captured_at_source": self.captured_at_source,
            "utc_offset": self.utc_offset,
            "capture_zone": None if self.capture_zone is None else {
                "name": self.capture_zone.name, "offset": offset_of(self.capture_zone.offset),
                "summer_time": offset_of(self.capture_zone.dst) if self.capture_zone.dst else None,
                "ambiguous": self.capture_zone.ambiguous,
                "source": self.capture_zone.source},
            "created_at": iso(self.created_at),
            "created_at_source": self.created_at_source,
            "filesystem_modified_at": iso(self.filesystem_modified_at),
            "times": [_claim_json(t) for t in self.times],
            "gps": _gps_json(self.gps),
            "device": _device_json(self.device),
            "container": _plain(self.container),
            "streams": [_plain(s) for s in self.streams],
            "audio_track_count": self.audio_track_count,
            "image": _plain(self.image),
            "provenance": None if self.provenance is None else self.provenance.to_json(),
            "raw": self.raw,
            "flags": [{"code": f.code, "message": f.message} for f in self.flags],
            "error": self.error,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MediaRecord:
        """Gives back the record `to_json` wrote, of this version or an earlier one; raises ParameterError
        when `data` is not one. Keys a version 1 record lacks (added since) are read as absent."""
        readable_version(data, (1, 2, RECORD_VERSION), "metadata")
        try:
            media_type = data["media_type"]
            if media_type not in MEDIA_TYPES:
                raise ValueError(f"unknown media type {media_type!r}")
            return cls(
                path=str(data["path"]), sha256=data.get("sha256"), size_bytes=data.get("size_bytes"),
                media_type=cast("MediaType", media_type), detected_format=data.get("detected_format"),
                captured_at=_time(data.get("captured_at")), captured_at_source=data.get("captured_at_source"),
                utc_offset=data.get("utc_offset"), created_at=_time(data.get("created_at")),
                created_at_source=data.get("created_at_source"),
                filesystem_modified_at=_time(data.get("filesystem_modified_at")),
                times=tuple(TimeClaim(t["kind"], t["source"], t["text"], _time(t.get("value")), _time(t.get("utc")))
                            for t in data.get("times") or ()),
                gps=_gps(data.get("gps")), device=_device(data.get("device")),
                container=_container(data.get("container")),
                streams=tuple(_stream(s) for s in data.get("streams") or ()), image=_image(data.get("image")),
                provenance=Credentials.from_json(data["provenance"]) if data.get("provenance") else None,
                capture_zone=_zone(data.get("capture_zone")),
                raw=dict(data.get("raw") or {}),
                flags=tuple(Flag(f["code"], f["message"]) for f in data.get("flags") or ()),
                error=data.get("error"))
        except (KeyError, TypeError, ValueError, AttributeError) as ex:
            raise ParameterError(f"not a metadata record ({type(ex).__name__}: {ex})") from ex


def _zone(data: Mapping[str, Any] | None) -> PlaceZone | None:
    if not data:
        return None
    return PlaceZone(str(data["name"]), _delta(data["offset"]), str(data["source"]),
                     _delta(data["summer_time"]) if data.get("summer_time") else timedelta(0),
                     ambiguous=bool(data.get("ambiguous")))


def _delta(text: str) -> timedelta:
    zone = parse_offset(text)
    if zone is None:
        raise ValueError(f"not an offset: {text!r}")
    return zone.utcoffset(None)


BINARY_NOTE = ("binary tag values are written as 'hex:' + lowercase hex; values longer than "
               "the cap are written as {'hex_prefix', 'size_bytes', 'sha256'} because the "
               "evidence file itself is kept")


def tag_any_case(tags: dict[str, str], name: str) -> str | None:
    """A libavformat tag by its name in any case: Matroska's are upper case by convention (ffmpeg writes ENCODER
    there), Vorbis comments any case."""
    return tags.get(name) or next((v for k, v in tags.items() if k.lower() == name), None)


def to_utc(value: datetime | None) -> datetime | None:
    """The same instant in UTC, or None for a naive (zone-less) time."""
    if value is None or value.tzinfo is None:
        return None
    return value.astimezone(UTC)


def iso(value: datetime | None) -> str | None:
    """ISO 8601 text: `Z` for UTC, `+hh:mm` for other offsets, nothing for a naive time."""
    if value is None:
        return None
    text = value.isoformat()
    if value.tzinfo is not None and value.utcoffset() == timedelta(0):
        text = text[: -len("+00:00")] + "Z"
    return text


def offset_text(value: datetime | None) -> str | None:
    """'+03:00' for an aware time, None for a naive one."""
    if value is None or value.tzinfo is None:
        return None
    return offset_of(value.utcoffset())  # type: ignore[arg-type]


def offset_of(delta: timedelta) -> str:
    """'+03:00' for three hours east of UTC, '-05:30' for five and a half west."""
    minutes = int(delta.total_seconds() // 60)
    return f"{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _claim_json(t: TimeClaim) -> dict[str, Any]:
    return {"kind": t.kind, "source": t.source, "text": t.text, "value": iso(t.value), "utc": iso(t.utc)}


def _gps_json(g: Gps | None) -> dict[str, Any] | None:
    if g is None:
        return None
    return {"latitude_deg": _finite(g.latitude_deg), "longitude_deg": _finite(g.longitude_deg),
            "altitude_m": _finite(g.altitude_m), "source": g.source, "time_utc": iso(g.time_utc)}


def _device_json(d: Device) -> dict[str, Any]:
    return {"make": d.make, "model": d.model, "software": d.software, "lens": d.lens,
            "firmware": d.firmware, "vendor_tags": dict(d.vendor_tags)}


def _plain(obj: Any) -> dict[str, Any] | None:
    """A flat dataclass as a dict, tuples as lists, floats made JSON-safe."""
    if obj is None:
        return None
    out: dict[str, Any] = {}
    for name in obj.__slots__:
        value = getattr(obj, name)
        if isinstance(value, float):
            value = _finite(value)
        elif isinstance(value, tuple):
            value = list(value)
        out[name] = value
    return out


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _gps(data: Mapping[str, Any] | None) -> Gps | None:
    if data is None:
        return None
    # A coordinate that was not a number is held as null, and read back as NaN: to_json writes null again.
    return Gps(_number(data["latitude_deg"]), _number(data["longitude_deg"]), data.get("altitude_m"), data["source"],
               _time(data.get("time_utc")))


def _number(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _device(data: Mapping[str, Any] | None) -> Device:
    data = data or {}
    return Device(data.get("make"), data.get("model"), data.get("software"), data.get("lens"), data.get("firmware"),
                  tuple(sorted((data.get("vendor_tags") or {}).items())))


def _fields(cls: type, data: Mapping[str, Any]) -> dict[str, Any]:
    """The keys of a flat dataclass's JSON (`_plain`) that it has, lists as tuples; a key the record lacks is left
    to the field's default."""
    return {name: tuple(data[name]) if isinstance(data[name], list) else data[name]
            for name in cls.__slots__ if name in data}  # type: ignore[attr-defined]


def _container(data: Mapping[str, Any] | None) -> ContainerFacts | None:
    return None if data is None else ContainerFacts(**_fields(ContainerFacts, data))


def _stream(data: Mapping[str, Any]) -> StreamFacts:
    fields = _fields(StreamFacts, data)
    if "rotation_cw_deg" not in data and data.get("rotation_deg") is not None:
        fields["rotation_cw_deg"] = -int(data["rotation_deg"]) % 360  # version 1: counter-clockwise (ffprobe's)
    return StreamFacts(**fields)


def _image(data: Mapping[str, Any] | None) -> ImageFacts | None:
    if data is None:
        return None
    fields = _fields(ImageFacts, data)
    # Version 1 named the EXIF turns without their sense; they were clockwise already.
    for old, new in (("rotation_deg", "rotation_cw_deg"), ("thumbnail_rotation_deg", "thumbnail_rotation_cw_deg")):
        if new not in data and old in data:
            fields[new] = data[old]
    return ImageFacts(**{"width_px": None, "height_px": None, "orientation": None, "display_width_px": None,
                         "display_height_px": None, "rotation_cw_deg": None, **fields})


def _finite(value: float | None) -> float | None:
    # Canonical JSON has no NaN or Infinity; an unknown number is null.
    if value is None or not math.isfinite(value):
        return None
    return round(value, 9)
