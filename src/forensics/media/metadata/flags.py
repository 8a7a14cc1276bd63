"""The warnings verifiers act on, computed from a finished record: leads, never verdicts.

Every rule says what it saw and by how much, so a verifier can judge it; none says
"fake". Thresholds are keyword arguments of `flags_for` with their defaults there.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from forensics.media.metadata.claims import unreadable_exif_position
from forensics.media.metadata.formats.exif import ratio_value
from forensics.media.metadata.location import is_null_island, is_valid_position
from forensics.media.metadata.record import Flag, MediaRecord, TimeClaim, offset_of, offset_text
from forensics.media.metadata.timestamps import is_epoch_date, is_zero_date
from forensics.media.metadata.zones import no_zone_reason

# Software that edits pictures or video (lower case); a camera's firmware string never matches.
_EDITORS = re.compile(
    r"photoshop|lightroom|gimp|paint\.net|paintshop|affinity|pixelmator|snapseed|picsart|facetune|vsco|"
    r"canva|capture one|luminar|darktable|rawtherapee|acdsee|picasa|photoscape|fotor|befunky|polarr|"
    r"photo editor|photos? gallery|imagemagick|graphicsmagick|corel|inshot|kinemaster|capcut|premiere|"
    r"final cut|imovie|davinci|handbrake|shotcut|openshot|movavi|filmora|after effects|adobe"
)
_FFMPEG_BRANDS = ("isom", "iso2", "avc1", "mp41")  # the default ftyp of ffmpeg's mp4 muxer
_FFMPEG_HANDLERS = {"VideoHandler", "SoundHandler"}  # Android writes "VideoHandle", without the r
_MESSENGER_BRANDS = {"mp42", "isom", "mp41"}
_PHONE_MAKES = re.compile(r"apple|samsung|google|huawei|xiaomi|oneplus|oppo|vivo|motorola|nokia|sony|lg|htc",
                          re.IGNORECASE)


def flags_for(record: MediaRecord, *, max_gps_skew_s: float = 60.0, max_gps_fix_age_s: float = 180.0, max_container_skew_s: float = 300.0,
              max_modified_skew_s: float = 1.0, max_fs_skew_s: float = 60.0,
              messenger_max_long_side_px: int = 2560, messenger_max_image_bits_per_px: float = 2.5,
              messenger_max_video_long_side_px: int = 1280, messenger_max_video_bit_rate_bps: int = 2_500_000,
              min_thumbnail_similarity: float = 0.6) -> tuple[Flag, ...]:
    """The flags that apply to `record`, in a fixed order."""
    flags: list[Flag] = []
    flags += _no_metadata(record)
    flags += _editing_software(record)
    flags += _modified_after_capture(record, max_modified_skew_s)
    flags += _time_mismatches(record, max_gps_skew_s, max_gps_fix_age_s, max_container_skew_s, max_fs_skew_s)
    flags += _zero_dates(record)
    flags += _bad_gps(record)
    flags += _no_zone_near_a_pole(record)
    flags += _ffmpeg(record)
    flags += _messenger(record, messenger_max_long_side_px, messenger_max_image_bits_per_px,
                        messenger_max_video_long_side_px, messenger_max_video_bit_rate_bps)
    flags += _thumbnail(record, min_thumbnail_similarity)
    flags += _rotation_baked_in(record)
    flags += _size_differs(record)
    flags += _blocks_disagree(record, max_modified_skew_s)
    flags += _credentials(record)
    return tuple(flags)


def duration_text(seconds: float) -> str:
    """'3 d 2 h', '5 h 12 min', '17 s': the gap in the unit a person reads at a glance."""
    seconds = abs(seconds)
    if seconds >= 86400:
        return f"{int(seconds // 86400)} d {int(seconds % 86400 // 3600)} h"
    if seconds >= 3600:
        return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60)} min"
    if seconds >= 60:
        return f"{int(seconds // 60)} min {int(seconds % 60)} s"
    return f"{seconds:.0f} s" if seconds >= 1 else f"{seconds:.2f} s"


# The tags a TIFF needs to hold a picture at all: a file with nothing else has no EXIF worth the name.
_TIFF_STRUCTURE = frozenset(f"Image {name}" for name in (
    "ImageWidth", "ImageLength", "BitsPerSample", "Compression", "PhotometricInterpretation", "StripOffsets",
    "SamplesPerPixel", "RowsPerStrip", "StripByteCounts", "PlanarConfiguration", "XResolution", "YResolution",
    "ResolutionUnit", "ExtraSamples", "SampleFormat", "TileWidth", "TileLength", "TileOffsets", "TileByteCounts",
    "Predictor", "FillOrder", "NewSubfileType", "SubfileType"))


def _has_claims(record: MediaRecord) -> bool:
    d = record.device
    exif = record.raw.get("exif") or {}
    return bool(record.captured_at or record.gps or d.make or d.model or d.software or d.vendor_tags
                or set(exif) - _TIFF_STRUCTURE or record.raw.get("xmp") or record.raw.get("iptc")
                # a capture date without a time of day ("2024-03-05") is still a claim
                or any(t.kind in ("capture", "digitized") for t in record.times))


def _no_metadata(record: MediaRecord) -> list[Flag]:
    # A file the readers could not get through may hold tags they never reached.
    if record.media_type == "other" or record.error or _has_claims(record):
        return []
    exif = "no EXIF beyond the tags a TIFF needs to hold the picture" if record.raw.get("exif") else "no EXIF"
    return [Flag("no_metadata", f"The file states no capture time, place or device, and has {exif}, no XMP or "
                                "IPTC: typical of screenshots, messenger copies and re-saved files.")]


def _editing_software(record: MediaRecord) -> list[Flag]:
    xmp = record.raw.get("xmp") or {}
    candidates = [("Software", record.device.software), ("XMP CreatorTool", xmp.get("xmp:CreatorTool"))]
    history = xmp.get("xmpMM:History")
    if isinstance(history, list):
        candidates += [("XMP history", h.get("stEvt:softwareAgent")) for h in history if isinstance(h, dict)]
    for label, value in candidates:
        if isinstance(value, str) and _EDITORS.search(value.lower()):
            return [Flag("editing_software", f"{label} names an editor ({value.strip()}): the file was saved "
                                             "by it after capture.")]
    return []


def _claim(record: MediaRecord, source: str) -> TimeClaim | None:
    return next((t for t in record.times if t.source == source and t.value is not None), None)


def _chosen_kind(record: MediaRecord) -> str | None:
    """The kind of claim ("capture", "container"...) the record chose as its capture time."""
    return next((t.kind for t in record.times if t.source == record.captured_at_source), None)


def _seconds_between(a: datetime, b: datetime) -> float | None:
    """a - b in seconds; None when one is naive and the other aware."""
    if (a.tzinfo is None) != (b.tzinfo is None):
        return None
    return (a - b).total_seconds()


def _modified_after_capture(record: MediaRecord, max_skew_s: float) -> list[Flag]:
    original = _claim(record, "EXIF DateTimeOriginal")
    modified = _claim(record, "EXIF IFD0 DateTime")
    if original is None or modified is None:
        return []
    # Both are the camera's wall clock; OffsetTimeOriginal often comes without OffsetTime, so one
    # may carry a zone and the other not. Compared as wall-clock times, that does not matter.
    delta = (modified.value.replace(tzinfo=None) - original.value.replace(tzinfo=None)).total_seconds()  # type: ignore[union-attr]
    if abs(delta) <= max_skew_s:
        return []
    when = "after" if delta > 0 else "before"
    return [Flag("datetime_modified", f"EXIF DateTime ({modified.text}) is {duration_text(delta)} {when} "
                                      f"DateTimeOriginal ({original.text}): the file was re-saved after capture.")]


def _zone_residual_s(delta_s: float) -> float:
    """How far a local-minus-UTC gap is from a whole time zone (a multiple of 15 minutes)."""
    if abs(delta_s) > 14 * 3600 + 900:
        return abs(delta_s)
    return abs(delta_s - round(delta_s / 900) * 900)


def _time_mismatches(record: MediaRecord, max_gps_s: float, max_gps_fix_age_s: float, max_container_s: float,
                     max_fs_s: float) -> list[Flag]:
    flags: list[Flag] = []
    capture = record.captured_at
    source = record.captured_at_source or "capture time"
    if capture is None:
        return flags
    flags += _gps_clock(record, max_gps_s, max_gps_fix_age_s)
    container = next((t for t in record.times if t.kind == "container" and t.value is not None), None)
    if container is not None and not is_epoch_date(container.value) and _chosen_kind(record) != "container":
        duration = record.container.duration_s if record.container and record.container.duration_s else 0.0
        if capture.tzinfo is not None:
            container_gap = _seconds_between(container.value, capture)  # type: ignore[arg-type]
            # Phones stamp the container when recording ends: allow the clip's length.
            if container_gap is not None and abs(container_gap) > max_container_s + duration:
                hint = " (a whole time-zone offset: the muxer may have written local time, against the spec)" \
                    if _zone_residual_s(container_gap) < 60 else ""
                flags.append(Flag("time_container_mismatch", f"{source} and the container creation time differ "
                                  f"by {duration_text(container_gap)}{hint}."))
    fs = record.filesystem_modified_at
    if fs is not None:
        # A file cannot be last written before it was captured; a zone-less clock gets 14 h of doubt.
        slack = max_fs_s + (0 if capture.tzinfo else 14 * 3600)
        capture_utc = capture if capture.tzinfo else capture.replace(tzinfo=fs.tzinfo)
        gap = (capture_utc - fs).total_seconds()
        if gap > slack:
            flags.append(Flag("time_filesystem_mismatch", f"The file system says the file was last written "
                              f"{duration_text(gap)} before its {source}: a clock was wrong or a time was edited."))
    return flags


def _blocks_disagree(record: MediaRecord, max_skew_s: float) -> list[Flag]:
    """A maker's own block that names another device or capture time than the claim the record chose."""
    blocks = record.raw.get("vendor") or []
    differences = []
    for label, ours in (("make", record.device.make), ("model", record.device.model)):
        for block in blocks:
            theirs = block["fields"].get(label.capitalize())
            # "NIKON" and "NIKON CORPORATION" name one maker: only names that share nothing count.
            if ours and isinstance(theirs, str) and theirs.strip().lower() not in ours.lower() \
                    and ours.strip().lower() not in theirs.lower():
                differences.append(f"{block['block']} names {label} {theirs!r}, not {ours!r}")
    capture = record.captured_at
    names = tuple(f"{block['block']} " for block in blocks)
    for claim in record.times:
        if capture is None or claim.kind != "capture" or claim.value is None \
                or claim.source == record.captured_at_source or not claim.source.startswith(names):
            continue
        aware = capture.tzinfo is not None and claim.value.tzinfo is not None
        gap = (capture - claim.value) if aware else capture.replace(tzinfo=None) - claim.value.replace(tzinfo=None)
        if abs(gap.total_seconds()) > max_skew_s:
            differences.append(f"{claim.source} is {claim.text}, {duration_text(gap.total_seconds())} from "
                               f"{record.captured_at_source}")
    if not differences:
        return []
    return [Flag("blocks_disagree", "The file's metadata blocks disagree: " + "; ".join(differences) +
                 ". One of them was written by other software or copied from another file: check which block "
                 "the camera wrote.")]


def _zero_dates(record: MediaRecord) -> list[Flag]:
    flags: list[Flag] = []
    for claim in record.times:
        if is_zero_date(claim.text):
            flags.append(Flag("date_zero", f"{claim.source} is all zeros ({claim.text.strip()}): the clock was "
                                           "never set or the tag was blanked."))
        elif claim.value is not None and is_epoch_date(claim.value):
            flags.append(Flag("date_epoch", f"{claim.source} is {claim.value:%Y-%m-%d}, the format's zero: "
                                            "the writer set no date (typical of ffmpeg and editors)."))
    return flags


def _bad_gps(record: MediaRecord) -> list[Flag]:
    gps = record.gps
    flags: list[Flag] = []
    exif = record.raw.get("exif")
    # EXIF GPS that holds no number (a rational over zero) gives the record no position: only the raw tags show that
    # the file states one, as unusable as 999 degrees.
    unreadable = unreadable_exif_position(exif if isinstance(exif, dict) else {})
    if unreadable is not None:
        instead = f" The position recorded is from {gps.source}." if gps is not None else ""
        flags.append(Flag("gps_invalid", f"EXIF GPS states a position that cannot be read ({unreadable}).{instead}"))
    if gps is None:
        return flags
    if not is_valid_position(gps.latitude_deg, gps.longitude_deg):
        flags.append(Flag("gps_invalid", f"{gps.source} gives an impossible position ({gps.latitude_deg}, "
                                         f"{gps.longitude_deg})."))
    elif is_null_island(gps.latitude_deg, gps.longitude_deg):
        flags.append(Flag("gps_null_island", f"{gps.source} is 0, 0 ('null island', in the Gulf of Guinea): the "
                                             "default written when there is no fix, not a place."))
    return flags


def _no_zone_near_a_pole(record: MediaRecord) -> list[Flag]:
    """Near a pole a zone-less capture clock is left off UTC although the file gives a position: capture_zone is
    null then, and without this the record would not say why."""
    gps, captured = record.gps, record.captured_at
    if gps is None or captured is None or captured.tzinfo is not None or record.capture_zone is not None:
        return []
    reason = no_zone_reason(gps.latitude_deg, gps.longitude_deg)
    if reason is None:
        return []
    return [Flag("capture_zone_polar", f"{record.captured_at_source} ({captured:%Y-%m-%d %H:%M:%S}) states no zone, "
                                       f"and {reason}; the capture time is not put on UTC.")]


def _ffmpeg(record: MediaRecord) -> list[Flag]:
    c = record.container
    if c is None:
        return []
    signs = []
    if c.encoder and c.encoder.startswith("Lavf"):
        signs.append(f"encoder {c.encoder}")
    if c.major_brand == "isom" and tuple(c.compatible_brands) == _FFMPEG_BRANDS:
        signs.append("brands " + "".join(c.compatible_brands))
    handlers = sorted(set(c.handler_names) & _FFMPEG_HANDLERS)
    if handlers:
        signs.append("handler " + ", ".join(handlers))
    encoders = sorted({v for k, tags in record.raw.items() if k.startswith("stream:") and isinstance(tags, dict)
                       for key, v in tags.items() if key.lower() == "encoder" and str(v).startswith("Lav")})
    if encoders:
        signs.append("stream encoder " + ", ".join(encoders))
    if not signs:
        return []
    return [Flag("ffmpeg_written", f"Written by ffmpeg/libavformat ({'; '.join(signs)}): re-muxed or "
                                   "re-encoded, not as the camera wrote it.")]


def _messenger(record: MediaRecord, max_side: int, max_bpp: float, max_video_side: int,
               max_video_bps: int) -> list[Flag]:
    d = record.device
    if d.make or d.model or d.vendor_tags or record.gps is not None:
        return []
    if record.media_type == "image" and record.image is not None and record.detected_format == "image/jpeg":
        w, h = record.image.width_px, record.image.height_px
        if not w or not h or not record.size_bytes or record.raw.get("exif"):
            return []
        bpp = record.size_bytes * 8 / (w * h)
        if max(w, h) <= max_side and bpp <= max_bpp:
            return [Flag("messenger_like", f"No EXIF, {max(w, h)} px long side, {bpp:.2f} bits per pixel: looks "
                                           "like a messenger copy (WhatsApp, Telegram, Signal), not an original.")]
    if record.media_type == "video":
        video = next((s for s in record.streams if s.kind == "video"), None)
        # Messengers send H.264 (or HEVC) in plain MP4; other codecs and containers point elsewhere.
        c = record.container
        if video is None or not video.coded_width_px or not video.coded_height_px \
                or video.codec not in ("h264", "hevc") or c is None or c.major_brand not in _MESSENGER_BRANDS:
            return []
        side = max(video.coded_width_px, video.coded_height_px)
        rate = video.bit_rate_bps or (record.container.bit_rate_bps if record.container else None)
        if rate and side <= max_video_side and rate <= max_video_bps and _chosen_kind(record) in (None, "container"):
            return [Flag("messenger_like", f"No device or GPS tags, {side} px long side, {rate / 1e6:.2f} Mbit/s: "
                                           "looks like a messenger re-encode, not an original.")]
    return []


def _thumbnail(record: MediaRecord, min_similarity: float) -> list[Flag]:
    image = record.image
    if image is None or image.thumbnail_similarity is None:
        return []
    if image.thumbnail_rotation_cw_deg not in (0, None):
        return [Flag("thumbnail_mismatch", f"The EXIF thumbnail shows the picture turned "
                                           f"{image.thumbnail_rotation_cw_deg} degrees clockwise: the main image was "
                                           "rotated after the thumbnail was made.")]
    if image.thumbnail_similarity < min_similarity:
        coverage = image.thumbnail_coverage
        over = "" if coverage in (None, "whole picture") else f", compared with the {coverage}"
        return [Flag("thumbnail_mismatch", f"The EXIF thumbnail does not show the main image (similarity "
                                           f"{image.thumbnail_similarity:.2f}{over}): the picture was edited or "
                                           "replaced after capture.")]
    return []


def _size_differs(record: MediaRecord) -> list[Flag]:
    """EXIF's pixel size against the picture's own: a crop, a scaled copy or another picture under the capture's EXIF."""
    image = record.image
    exif = record.raw.get("exif") or {}
    ew, eh = exif.get("EXIF ExifImageWidth"), exif.get("EXIF ExifImageLength")
    # A camera raw's listed picture is its preview, smaller than the sensor by design: JPEG, PNG and WebP only.
    if record.detected_format not in ("image/jpeg", "image/png", "image/webp"):
        return []
    if image is None or not image.width_px or not image.height_px or not isinstance(ew, int) \
            or not isinstance(eh, int) or ew <= 0 or eh <= 0:
        return []
    width, height = image.width_px, image.height_px
    if (ew, eh) == (height, width):
        return []  # turned, not resized: rotation_baked_in says so
    # Encoders pad to whole 8 or 16 pixel blocks, and some cameras write the padded size.
    if abs(ew - width) <= 16 and abs(eh - height) <= 16:
        return []
    return [Flag("exif_size_differs", f"EXIF says the camera made a {ew}x{eh} picture, but this one is {width}x{height}: "
                                      "it was cropped, scaled or replaced after capture while its EXIF was kept.")]


def _rotation_baked_in(record: MediaRecord) -> list[Flag]:
    image = record.image
    exif = record.raw.get("exif") or {}
    if image is not None and image.width_px and image.height_px and image.width_px != image.height_px:
        ew, eh = exif.get("EXIF ExifImageWidth"), exif.get("EXIF ExifImageLength")
        if isinstance(ew, int) and isinstance(eh, int) and (ew, eh) == (image.height_px, image.width_px):
            return [Flag("rotation_baked_in", f"EXIF says {ew}x{eh} but the pixels are {image.width_px}x"
                                              f"{image.height_px}: software turned the pixels after capture"
                                              + (" and kept the Orientation tag, so viewers may turn it twice."
                                                 if image.orientation not in (None, 1) else "."))]
    video = next((s for s in record.streams if s.kind == "video"), None)
    phone = bool(record.device.vendor_tags) or bool(record.device.make and _PHONE_MAKES.search(record.device.make))
    if record.media_type == "video" and video is not None and phone and not video.rotation_cw_deg \
            and video.coded_width_px and video.coded_height_px and video.coded_height_px > video.coded_width_px:
        return [Flag("rotation_baked_in", f"A phone video coded upright ({video.coded_width_px}x"
                                          f"{video.coded_height_px}) with no display rotation: phones record "
                                          "landscape frames and rotate on playback, so this was re-encoded.")]
    return []


def _gps_clock(record: MediaRecord, max_before_s: float, max_fix_age_s: float) -> list[Flag]:
    """The capture clock against the GPS clock (UTC by spec), once the capture clock is on UTC: by its own
    offset, or by the zone of the GPS position on that date. Without either, only a gap that no whole
    time-zone offset explains is a lead.

    A phone stamps the last fix it holds, which is older than the picture: the capture may follow the GPS
    time by up to `max_fix_age_s`, and precede it by up to `max_before_s` (the two clocks' own error).
    A modification time (the only time some files state) is not a capture time and is not compared.
    """
    capture, gps = record.captured_at, next((t for t in record.times if t.kind == "gps" and t.value), None)
    if capture is None or _chosen_kind(record) == "modified":
        return []
    if gps is None or gps.value is None:
        return _gps_time_of_day(record, capture, max_before_s, max_fix_age_s)

    def fits(gap_s: float) -> bool:
        return -max_before_s <= gap_s <= max_fix_age_s

    source = record.captured_at_source or "capture time"
    wall_gap = (capture.replace(tzinfo=None) - gps.value.astimezone(UTC).replace(tzinfo=None)).total_seconds()
    # The zone offsets in use (half hours from -12 h to +14 h, and Nepal's, Eucla's and Chatham's quarters)
    # under which the wall clock would fit the fix.
    zones = [z for z in _ZONE_OFFSETS_S if fits(wall_gap - z)]
    zone = record.capture_zone
    if capture.tzinfo is not None:
        gap = (capture - gps.value).total_seconds()
        how = f"with its own offset ({record.utc_offset or offset_text(capture)})"
    elif zone is not None:
        gap = wall_gap - zone.offset.total_seconds()
        how = f"in the zone of the GPS position ({zone.name}, {_offset_text(zone.offset.total_seconds())} on that date)"
    else:
        if zones:
            return []
        return [Flag("time_gps_mismatch", f"{source} ({capture:%Y-%m-%d %H:%M:%S}, no zone stated) and the GPS "
                     f"time ({gps.value:%Y-%m-%d %H:%M:%S} UTC) are {duration_text(wall_gap)} apart, which no "
                     "time-zone offset explains.")]
    if fits(gap) or (zone is not None and zone.ambiguous and zone.dst and fits(gap + zone.dst.total_seconds())):
        return []  # the second of an hour that happened twice fits as well as the first
    explained = (f"a clock set to {_offset_text(zones[0])} would explain it") if zones else \
        "no time-zone offset explains it"
    if zone is not None and zone.dst and fits(gap + zone.dst.total_seconds()):
        standard = _offset_text((zone.offset - zone.dst).total_seconds())
        explained = f"the clock was on standard time ({standard}), not summer time"
    later = "after" if gap > 0 else "before"
    return [Flag("time_gps_mismatch", f"{source} ({capture:%Y-%m-%d %H:%M:%S}), taken {how}, is "
                 f"{duration_text(gap)} {later} the GPS time ({gps.value:%Y-%m-%d %H:%M:%S} UTC); {explained}.")]


_ZONE_OFFSETS_S = sorted({h * 1800 for h in range(-24, 29)} | {20700, 31500, 45900}, key=abs)


def _offset_text(seconds: float) -> str:
    return offset_of(timedelta(minutes=round(seconds / 60)))


# What a failure code's first part says failed (c2pa-rs's codes, C2PA 2.x section 15).
_CREDENTIAL_PARTS = (("claimSignature", "the signature over the claim"),
                     ("assertion.dataHash", "the hash of the file's content: the file changed after it was signed"),
                     ("assertion.bmffHash", "the hash of the file's content: the file changed after it was signed"),
                     ("assertion.boxesHash", "the hash of the file's content: the file changed after it was signed"),
                     ("assertion.collectionHash", "the hash of the file's content: the files changed after signing"),
                     ("assertion", "an assertion: it changed after it was signed"),
                     ("ingredient", "an ingredient's credentials"), ("timeStamp", "the time-stamp"),
                     ("signingCredential", "the signer's certificate"), ("claim", "the claim"),
                     ("manifest", "the manifest store"))
_XMP_PROVENANCE = "http://purl.org/dc/terms/:provenance"


def _credentials(record: MediaRecord) -> list[Flag]:
    c = record.provenance
    reference = record.raw.get("xmp", {}).get(_XMP_PROVENANCE) if isinstance(record.raw.get("xmp"), dict) else None
    if c is None or c.state == "none":
        if reference:
            return [Flag("credentials_missing", f"The XMP names Content Credentials ({str(reference)[:200]}) but the "
                         "file carries none: they were stripped, or the file was saved again by a program that drops "
                         "them.")]
        return []
    if c.state == "not_checked":
        if c.remote_url:
            return [Flag("credentials_not_checked", f"The file refers to Content Credentials kept at {c.remote_url}; "
                         "they were not fetched (offline) and not checked.")]
        return [Flag("credentials_not_checked", "Whether the file carries Content Credentials is not known: "
                     f"{c.note or 'c2pa-rs gave no reason'}.")]
    flags: list[Flag] = []
    broken = c.integrity_failures
    if c.state == "invalid" or broken:
        parts = dict.fromkeys(next((what for prefix, what in _CREDENTIAL_PARTS if f.code.startswith(prefix)),
                                   "another part") for f in broken)
        codes = ", ".join(dict.fromkeys(f.code for f in broken)) or "no code given"
        flags.append(Flag("credentials_invalid", f"The Content Credentials signed by {c.signer or 'an unnamed signer'} "
                          f"do not validate: {'; '.join(parts) or 'c2pa-rs says invalid'} ({codes}). What they "
                          "state cannot be relied on."))
    if c.ai_source_types:
        agents = sorted({a.software_agent for a in c.actions if a.digital_source_type in c.ai_source_types
                         and a.software_agent})  # of the actions listed
        flags.append(Flag("credentials_ai", "The Content Credentials declare generated media ("
                          + ", ".join(c.ai_source_types) + (f"; by {', '.join(agents)}" if agents else "") + ")."))
    if c.edits:
        agents = sorted({a.software_agent for a in c.actions if a.action in c.edits and a.software_agent})
        flags.append(Flag("credentials_edited", "The Content Credentials record edits: "
                          + ", ".join(e.removeprefix("c2pa.") for e in c.edits)
                          + (f" (with {', '.join(agents)})" if agents else
                             f" (claim generator {c.claim_generator})" if c.claim_generator else "") + "."))
    return flags


def _gps_time_of_day(record: MediaRecord, capture: datetime, max_before_s: float, max_fix_age_s: float) -> list[Flag]:
    """The GPS clock's time of day against the capture's, when the GPS date cannot be read (absent or garbage) and
    the capture is on UTC: a shift of hours and minutes shows without the date; whole days do not."""
    exif = record.raw.get("exif") if isinstance(record.raw.get("exif"), dict) else None
    stamp = exif.get("GPS GPSTimeStamp") if exif else None
    parts = [ratio_value(v) for v in stamp] if isinstance(stamp, list) and len(stamp) == 3 else []
    utc = record.captured_at_utc
    if utc is None or len(parts) != 3 or any(p is None for p in parts):
        return []
    h, m, sec = (float(p) for p in parts)  # type: ignore[arg-type]
    if not (0 <= h < 24 and 0 <= m < 60 and 0 <= sec < 61):
        return []
    gps_s = h * 3600 + m * 60 + sec
    capture_s = utc.hour * 3600 + utc.minute * 60 + utc.second + utc.microsecond / 1e6
    wall_s = capture.hour * 3600 + capture.minute * 60 + capture.second + capture.microsecond / 1e6

    def fits(seconds: float) -> bool:
        gap = (seconds - gps_s + 43200) % 86400 - 43200  # within half a day either way
        return -max_before_s <= gap <= max_fix_age_s

    # Some devices (the iPhone 4, FLIR cameras) write their local clock in the GPS time stamp when they write no GPS
    # date: a stamp that fits the capture's own wall clock says that, not a shift.
    if fits(capture_s) or fits(wall_s):
        return []
    gap = (capture_s - gps_s + 43200) % 86400 - 43200
    later = "after" if gap > 0 else "before"
    source = record.captured_at_source or "capture time"
    return [Flag("time_gps_mismatch", f"{source} ({capture:%Y-%m-%d %H:%M:%S}, {utc:%H:%M:%S} UTC) is "
                 f"{duration_text(gap)} {later} the GPS clock's time of day ({int(h):02d}:{int(m):02d}:{int(sec):02d} "
                 "UTC); the GPS date cannot be read, so days are not compared.")]
