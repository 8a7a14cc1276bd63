"""What a file claims about when, where and with what it was made, from its raw tags.

Each claim names the tag it came from. Where several tags could answer, the order of
preference is the one a verifier would use: the camera's own EXIF first, then the
phone's QuickTime keys, then XMP and IPTC (often rewritten by editors), and the
container's creation time last, since muxers rewrite it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from forensics.media.metadata.formats.exif import ratio_value
from forensics.media.metadata.formats.isobmff import MovieHeader
from forensics.media.metadata.location import dms_to_degrees, parse_iso6709, parse_xmp_coordinate
from forensics.media.metadata.makers.vendor_block import VendorBlock
from forensics.media.metadata.record import Device, Gps, TimeClaim, offset_text, tag_any_case, to_utc
from forensics.media.metadata.timestamps import gps_datetime, iptc_datetime, parse_datetime


@dataclass(frozen=True, slots=True)
class TagSources:
    """The raw tag groups of one file, as the readers rendered them."""

    exif: dict[str, Any] = field(default_factory=dict)  # "IFD Tag" -> rendered value
    xmp: dict[str, Any] = field(default_factory=dict)  # "prefix:Name" -> text or list
    iptc: dict[str, Any] = field(default_factory=dict)
    format_tags: dict[str, str] = field(default_factory=dict)  # libavformat container tags
    movie: MovieHeader | None = None
    blocks: tuple[VendorBlock, ...] = ()  # makers' own blocks, in the order the readers found them
    format_name: str | None = None  # libavformat's name of the container ("mov,mp4,...", "mp3", "ogg")
    stream_tags: tuple[dict[str, str], ...] = ()  # libavformat's stream tags (Ogg's Vorbis comments)


@dataclass(frozen=True, slots=True)
class Capture:
    """The chosen capture time and the tag it came from."""

    claim: TimeClaim | None
    utc_offset: str | None  # the zone the file states for its clock


# Kinds in order of preference for the capture time.
_CAPTURE_ORDER = ("capture", "digitized", "modified", "container")
# Containers whose creation time is UTC by their specification (ISO BMFF mvhd, Matroska DateUTC,
# ASF's file properties, MXF). Elsewhere libavformat's creation_time is another tag under that name:
# ID3's encoding time (TDEN), a Broadcast Wave's origination time without its date.
_UTC_CREATION = ("mov", "matroska", "asf", "mxf")


def time_claims(tags: TagSources) -> tuple[TimeClaim, ...]:
    """Every time stamp the file states, capture candidates first in order of preference."""
    exif, xmp, fmt = tags.exif, tags.xmp, tags.format_tags
    claims: list[TimeClaim] = []

    def add(kind: str, source: str, text: Any, **parse: Any) -> None:
        if not isinstance(text, str) or not text.strip("\x00 "):
            return
        value = parse_datetime(text, **parse)
        if value is None and source.startswith("XMP") and "," in text:
            # Some writers (GIMP) join two forms in one value: "2009-09-09T17:00:00, 2009-09-09".
            value = parse_datetime(text.split(",")[0], **parse)
        claims.append(TimeClaim(kind, source, text, value, to_utc(value)))

    add("capture", "EXIF DateTimeOriginal", exif.get("EXIF DateTimeOriginal"),
        subsec=_text(exif.get("EXIF SubSecTimeOriginal")), offset=_text(exif.get("EXIF OffsetTimeOriginal")))
    for block in tags.blocks:
        add("capture", f"{block.name} {block.captured_tag}", block.captured)
    add("capture", "QuickTime com.apple.quicktime.creationdate", fmt.get("com.apple.quicktime.creationdate"))
    add("capture", "XMP exif:DateTimeOriginal", xmp.get("exif:DateTimeOriginal"))
    add("capture", "XMP photoshop:DateCreated", xmp.get("photoshop:DateCreated"))
    add("capture", "IPTC DateCreated + TimeCreated",
        iptc_datetime(_text(tags.iptc.get("DateCreated")), _text(tags.iptc.get("TimeCreated"))))
    family = (tags.format_name or "").split(",")[0]
    vorbis = _vorbis_date(tags) if family in ("ogg", "flac") else None
    if family == "mp3":
        add("capture", "ID3 recording time (TDRC, or TYER + TDAT + TIME)", fmt.get("date"))
        add("digitized", "ID3 encoding time (TDEN)", fmt.get("creation_time"))
    elif vorbis is not None:
        add("capture", "Vorbis comment DATE", vorbis)
    elif family == "mov":
        add("capture", "QuickTime ©day", fmt.get("date"))
    elif family == "matroska":  # its official tags; DateUTC (muxing) is libavformat's creation_time, below
        add("capture", "Matroska DATE_RECORDED", fmt.get("DATE_RECORDED"))
        add("digitized", "Matroska DATE_ENCODED", fmt.get("DATE_ENCODED"))
    elif family not in ("avi", "wav"):  # (a RIFF file's dates are its own reader's, below)
        add("capture", f"container date tag ({family or 'unknown format'})", fmt.get("date"))
    for block in tags.blocks:
        if block.name.startswith("RIFF ") and block.captured is None:
            add("capture", f"{block.name} ICRD", block.fields.get("DateCreated"))
    add("digitized", "EXIF DateTimeDigitized", exif.get("EXIF DateTimeDigitized"),
        subsec=_text(exif.get("EXIF SubSecTimeDigitized")), offset=_text(exif.get("EXIF OffsetTimeDigitized")))
    add("digitized", "XMP xmp:CreateDate", xmp.get("xmp:CreateDate"))
    add("modified", "EXIF IFD0 DateTime", exif.get("Image DateTime"),
        subsec=_text(exif.get("EXIF SubSecTime")), offset=_text(exif.get("EXIF OffsetTime")))
    add("modified", "XMP xmp:ModifyDate", xmp.get("xmp:ModifyDate"))
    movie = tags.movie
    if movie is not None and movie.created_at is not None:
        text = movie.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        claims.append(TimeClaim("container", "QuickTime mvhd creation time (UTC by spec)", text,
                                movie.created_at, movie.created_at))
    elif family in _UTC_CREATION:
        add("container", "container creation_time (UTC by spec)", fmt.get("creation_time"), assume_utc=True)
    elif family not in ("mp3", "avi", "wav"):
        # (An AVI's creation_time is its IDIT chunk, the camera's local clock, claimed above with the
        # RIFF chunks; a WAV's is bext's time of day.) Elsewhere the format does not say what it is.
        add("container", "container creation_time", fmt.get("creation_time"))
    if not any(claim.kind == "container" for claim in claims):
        for block in tags.blocks:  # Matroska's DateUTC when libavformat could not open the file, a PDF's Info
            add("container", f"{block.name} creation time", block.created, assume_utc=True)
    gps_time = _gps_time(exif)
    if gps_time is not None:
        claims.append(gps_time)
    return tuple(claims)


def _vorbis_date(tags: TagSources) -> str | None:
    """The DATE comment of an Ogg (in its stream) or FLAC (in the container) file."""
    return next((d for d in (tag_any_case(g, "date") for g in (tags.format_tags, *tags.stream_tags)) if d), None)


def choose_capture(claims: tuple[TimeClaim, ...]) -> Capture:
    """The first usable claim in order of preference; the container time only as a last resort."""
    for kind in _CAPTURE_ORDER:
        for claim in claims:
            if claim.kind == kind and claim.value is not None and claim.value.year > 1904:
                # A container time is UTC by spec, which says nothing of the local zone.
                offset = offset_text(claim.value) if kind != "container" else None
                return Capture(claim, offset)
    return Capture(None, None)


def _gps_time(exif: dict[str, Any]) -> TimeClaim | None:
    date_text = _text(exif.get("GPS GPSDate"))
    stamp = exif.get("GPS GPSTimeStamp")
    if not date_text or not isinstance(stamp, list):
        return None
    parts = [ratio_value(v) for v in stamp]
    if any(p is None for p in parts):
        return None
    value = gps_datetime(date_text, parts)  # type: ignore[arg-type]
    text = f"{date_text} {':'.join(str(v) for v in stamp)}"
    return TimeClaim("gps", "EXIF GPSDateStamp + GPSTimeStamp (UTC by spec)", text, value, value)


def gps_claim(tags: TagSources) -> Gps | None:
    """The position the file claims, EXIF first, then XMP, then the QuickTime/MP4 keys."""
    exif, xmp, fmt = tags.exif, tags.xmp, tags.format_tags
    position = _exif_position(exif)
    if position is not None:
        altitude = _first(_ratios(exif.get("GPS GPSAltitude")))
        if altitude is not None and _first_int(exif.get("GPS GPSAltitudeRef")) == 1:
            altitude = -altitude  # reference 1: below sea level
        gps_time = _gps_time(exif)
        return Gps(*position, altitude, "EXIF GPS", gps_time.value if gps_time else None)
    for block in tags.blocks:
        if block.gps is not None:
            return Gps(*block.gps, f"{block.name} GPS")
    lat = parse_xmp_coordinate(_text(xmp.get("exif:GPSLatitude")))
    lon = parse_xmp_coordinate(_text(xmp.get("exif:GPSLongitude")))
    if lat is not None and lon is not None:
        altitude = ratio_value(xmp.get("exif:GPSAltitude"))
        if altitude is not None and _text(xmp.get("exif:GPSAltitudeRef")) == "1":
            altitude = -altitude
        return Gps(lat, lon, altitude, "XMP exif:GPSLatitude/GPSLongitude")
    for key in ("com.apple.quicktime.location.ISO6709", "location", "location-eng"):
        parsed = parse_iso6709(fmt.get(key))
        if parsed is not None:
            source = f"QuickTime {key}" if key.startswith("com.") else f"MP4 {key} (\u00a9xyz, ISO 6709)"
            return Gps(parsed[0], parsed[1], parsed[2], source)
    return None


# The EXIF GPS tags a position is read from, latitude then longitude.
EXIF_POSITION_TAGS = ("GPS GPSLatitude", "GPS GPSLongitude")


def _exif_position(exif: Mapping[str, Any]) -> tuple[float, float] | None:
    lat = dms_to_degrees(_ratios(exif.get("GPS GPSLatitude")), _text(exif.get("GPS GPSLatitudeRef")))
    lon = dms_to_degrees(_ratios(exif.get("GPS GPSLongitude")), _text(exif.get("GPS GPSLongitudeRef")))
    return None if lat is None or lon is None else (lat, lon)


def unreadable_exif_position(exif: Mapping[str, Any]) -> str | None:
    """Gives why the EXIF GPS latitude and longitude give no position, or None when they give one or neither is there.

    gps_claim then takes another block's position or none, so without this the file's
    own statement of a position would go unsaid.
    """
    if not any(tag in exif for tag in EXIF_POSITION_TAGS) or _exif_position(exif) is not None:
        return None
    return exif_position_reason(exif)


def exif_position_reason(exif: Mapping[str, Any]) -> str:
    """Gives why EXIF GPS latitude and longitude that give no position give none: a rational over zero, a missing
    tag, or neither."""
    for tag in EXIF_POSITION_TAGS:
        value = exif.get(tag)
        if value is None:
            return f"{tag.removeprefix('GPS ')} is missing"
        for part in value if isinstance(value, list) else [value]:
            numerator, slash, denominator = str(part).partition("/")
            # 0/0 is no such case: _ratios reads it as 0 (a chip without a fix), so it is null island.
            if slash and denominator.strip() == "0" and numerator.strip() != "0":
                return (f"{tag.removeprefix('GPS ')} holds {part}, a rational with a zero denominator: not a number "
                        "of degrees")
    return "not degrees, minutes and seconds as EXIF writes them (three rationals)"


def device_claim(tags: TagSources) -> Device:
    """Make, model, software, lens and firmware, each from the first tag that has it."""
    exif, xmp, fmt = tags.exif, tags.xmp, tags.format_tags

    def first(*values: Any) -> str | None:
        for value in values:
            text = _text(value)
            if text:
                return text
        return None

    makes = (b.make for b in tags.blocks)
    models = (b.model for b in tags.blocks)
    vendor = tuple(sorted((k, v) for k, v in fmt.items() if k.startswith(("com.apple.quicktime.", "com.android."))))
    return Device(
        # "EXIF Make": some writers (JPEG XL encoders) put Make in the EXIF sub-IFD, not IFD0.
        make=first(exif.get("Image Make"), exif.get("EXIF Make"), *makes, fmt.get("com.apple.quicktime.make"),
                   xmp.get("tiff:Make"), fmt.get("make"), fmt.get("com.android.manufacturer")),
        model=first(exif.get("Image Model"), exif.get("EXIF Model"), *models, fmt.get("com.apple.quicktime.model"),
                    xmp.get("tiff:Model"), fmt.get("model"), fmt.get("com.android.model")),
        software=first(exif.get("Image Software"), fmt.get("com.apple.quicktime.software"),
                       xmp.get("xmp:CreatorTool"), fmt.get("com.android.version")),
        lens=first(exif.get("EXIF LensModel"), fmt.get("com.apple.quicktime.camera.lens_model"),
                   xmp.get("exifEX:LensModel"), xmp.get("aux:Lens")),
        firmware=first(exif.get("MakerNote FirmwareVersion"), xmp.get("aux:Firmware")),
        vendor_tags=vendor,
    )


def _text(value: Any) -> str | None:
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if not isinstance(value, str):
        return None
    text = value.replace("\x00", "").strip()
    return text or None


def _ratios(value: Any) -> list[float] | None:
    values = value if isinstance(value, list) else [value] if value is not None else []
    # 0/0 is what a GPS chip without a fix writes: read it as 0, so null island is flagged.
    parsed = [0.0 if v == "0/0" else ratio_value(v) for v in values]
    if not parsed or any(p is None for p in parsed):
        return None
    return parsed  # type: ignore[return-value]


def _first(values: list[float] | None) -> float | None:
    return values[0] if values else None


def _first_int(value: Any) -> int | None:
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, int) else None
