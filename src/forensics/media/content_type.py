"""What kind of file this is, from its first bytes, never from its name.

Evidence arrives renamed, truncated and mislabelled ("video.jpg" that is an MP4), so the
readers are chosen from magic numbers. The family decides which readers run; whether an
audio-visual container holds video or only sound is settled later from its streams.
`media_type_of` gives the coarser label custody records for every file taken in.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass
from typing import Literal, cast, get_args

import puremagic

HEAD_BYTES = 4096  # enough for every signature below, including MPEG-TS sync at 188 x 3

# ISO BMFF brands of still-image files (HEIF, AVIF, Canon CR3); any other ftyp is audio-visual.
_IMAGE_BRANDS = {"heic", "heix", "hevc", "hevx", "heim", "heis", "hevm", "hevs", "mif1", "msf1",
                 "avif", "avis", "crx ", "jpeg", "avci"}
_AUDIO_BRANDS = {"M4A ", "M4B ", "M4P ", "F4A ", "F4B "}


@dataclass(frozen=True, slots=True)
class ContentType:
    """The family of a file and the format its signature names."""

    family: str  # "image", "av" (audio-visual container or stream) or "unknown"
    format: str | None  # short name: "jpeg", "heif", "mp4", "matroska", ...
    mime: str | None  # best MIME guess, for display
    audio_hint: bool = False  # the signature names an audio-only format (M4A brand, WAVE, FLAC...)


# What names promise a photo, a video or a recording; a file so named whose bytes are none of them
# is a problem of its own (probe's error, dedup's problem), not quietly "other".
PICTURE_AND_VIDEO_SUFFIXES = frozenset({
    ".jpg", ".jpeg", ".png", ".gif", ".webp", ".heic", ".heif", ".tif", ".tiff", ".bmp", ".mp4", ".mov", ".m4v",
    ".mkv", ".webm", ".avi", ".3gp", ".mpg", ".mpeg", ".ts", ".wmv", ".flv"})
AUDIO_SUFFIXES = frozenset({".wav", ".mp3", ".m4a", ".aac", ".ogg", ".opus", ".oga", ".flac", ".amr", ".wma"})


def sniff(head: bytes) -> ContentType:
    """Classifies a file from its first HEAD_BYTES bytes."""
    if head.startswith(b"\xff\xd8\xff"):
        return ContentType("image", "jpeg", "image/jpeg")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return ContentType("image", "png", "image/png")
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return ContentType("image", "gif", "image/gif")
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+", b"IIRO", b"IIU\x00"):
        return ContentType("image", "tiff", "image/tiff")  # DNG, ARW, NEF, ORF, RW2 are TIFF too
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return ContentType("image", "webp", "image/webp")
    if head.startswith((b"\xff\x0a", b"\x00\x00\x00\x0cJXL \r\n\x87\n")):
        return ContentType("image", "jxl", "image/jxl")
    if head.startswith(b"8BPS"):
        return ContentType("image", "psd", "image/vnd.adobe.photoshop")
    if head.startswith(b"BM") and len(head) > 14 and head[6:10] == b"\x00\x00\x00\x00":
        return ContentType("image", "bmp", "image/bmp")
    if head[4:8] == b"ftyp":
        return _iso_bmff(head)
    if head[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"):
        return ContentType("av", "quicktime", "video/quicktime")
    if head[:4] == b"RIFF":
        kind = head[8:12]
        if kind == b"AVI ":
            return ContentType("av", "avi", "video/x-msvideo")
        if kind == b"WAVE":
            return ContentType("av", "wav", "audio/wav", audio_hint=True)
        return ContentType("av", "riff", None)
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return ContentType("av", "matroska", "video/x-matroska")
    if _is_transport_stream(head, 188, 0):
        return ContentType("av", "mpegts", "video/mp2t")
    if _is_transport_stream(head, 192, 4):
        return ContentType("av", "m2ts", "video/mp2t")
    if head.startswith(b"\x00\x00\x01\xba"):
        return ContentType("av", "mpeg-ps", "video/mpeg")
    if head.startswith(b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"):
        return ContentType("av", "asf", "video/x-ms-asf")
    if head.startswith(b"FLV"):
        return ContentType("av", "flv", "video/x-flv")
    for magic, name, mime in ((b"OggS", "ogg", "audio/ogg"), (b"fLaC", "flac", "audio/flac"),
                              (b"ID3", "mp3", "audio/mpeg"), (b"#!AMR", "amr", "audio/amr"),
                              (b"caff", "caf", "audio/x-caf"), (b".RMF", "realmedia", None)):
        if head.startswith(magic):
            return ContentType("av", name, mime, audio_hint=name != "realmedia")
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return ContentType("av", "aiff", "audio/aiff", audio_hint=True)
    if _is_mpeg_audio_frame(head):
        return ContentType("av", "mpeg-audio", "audio/mpeg", audio_hint=True)
    mime = _puremagic_mime(head)
    if mime and mime.startswith("image/"):
        # Camera raw formats (RAF, X3F, CRW...) and rarer stills: EXIF often sits inside.
        return ContentType("image", mime.split("/", 1)[1], mime)
    return ContentType("unknown", None, mime)


# What a file is, coarsely: what custody records of every file taken in, and the metadata record's media_type.
MediaType = Literal["video", "image", "audio", "other"]
MEDIA_TYPES: tuple[MediaType, ...] = get_args(MediaType)


def media_type_of(head: bytes) -> tuple[MediaType, str | None]:
    """Returns (media_type, mime) for a file whose first bytes are `head`: the label custody records.

    media_type is one of MEDIA_TYPES. It is what the signature says; whether an
    audio-visual container really holds pictures is settled by probing its
    streams (the metadata record's own media_type).
    """
    kind = sniff(head)
    if kind.family == "image":
        return "image", kind.mime
    if kind.family == "av":
        return ("audio" if kind.audio_hint else "video"), kind.mime
    major = (kind.mime or "").split("/", 1)[0]
    if major in ("video", "image", "audio"):  # kinds only puremagic's signatures know (ICO, PPM, RealAudio...)
        return cast("MediaType", major), kind.mime
    return "other", kind.mime


def _iso_bmff(head: bytes) -> ContentType:
    major = head[8:12].decode("latin-1")
    if major in _IMAGE_BRANDS:
        avif = major in ("avif", "avis")
        return ContentType("image", "avif" if avif else "heif", "image/avif" if avif else "image/heif")
    if major in _AUDIO_BRANDS:
        return ContentType("av", "m4a", "audio/mp4", audio_hint=True)
    if major == "qt  ":
        return ContentType("av", "quicktime", "video/quicktime")
    if major.startswith("3g"):
        return ContentType("av", "3gp", "video/3gpp")
    return ContentType("av", "mp4", "video/mp4")


def _is_mpeg_audio_frame(head: bytes) -> bool:
    # An MP3 or ADTS (AAC) frame header with no ID3 tag before it: sync bits, then a valid
    # bit-rate and sample-rate index, which a run of 0xFF padding (Photo CD) does not have.
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xF0 != 0xF0:
        return False
    if head[1] & 0x06 == 0:  # layer 0: ADTS
        return (head[2] >> 2) & 0x0F < 13
    return head[2] >> 4 not in (0x0, 0xF) and (head[2] >> 2) & 0x03 != 3


def _is_transport_stream(head: bytes, packet: int, offset: int) -> bool:
    return len(head) >= offset + 2 * packet + 1 and all(head[offset + i * packet] == 0x47 for i in range(3)
                                                        if offset + i * packet < len(head))


def _puremagic_mime(head: bytes, *, min_confidence: float = 0.8) -> str | None:
    # puremagic knows documents, archives, raw photo formats and executables by the thousand.
    if not _puremagic_may_match(head):
        return None
    try:
        matches = puremagic.magic_string(head)
    except (puremagic.PureError, ValueError):
        return None
    for match in matches:
        if match.mime_type and match.confidence >= min_confidence:
            return match.mime_type
    return None


_Signatures = dict[int, dict[int, list[bytes]]]  # offset -> first byte -> signatures starting there


@functools.cache
def _puremagic_index() -> tuple[_Signatures, list[tuple[int, bytes]], int, int] | None:
    """puremagic's header signatures by offset and first byte, its footer ones, and its head and foot sizes."""
    try:
        headers, footers = puremagic.main.magic_header_array, puremagic.main.magic_footer_array
        max_head, max_foot = puremagic.main.max_head, puremagic.main.max_foot
    except AttributeError:  # another puremagic layout: ask it every time
        return None
    index: dict[int, dict[int, list[bytes]]] = defaultdict(lambda: defaultdict(list))
    for row in headers:
        if row.byte_match:
            index[row.offset][row.byte_match[0]].append(row.byte_match)
    return ({offset: dict(by_first) for offset, by_first in index.items()},
            [(row.offset, row.byte_match) for row in footers], max_head, max_foot)


def _puremagic_may_match(data: bytes) -> bool:
    """Whether any puremagic signature matches `data`, as its own scan (magic_string) would find it.

    puremagic compares all of its ~1,400 signatures in Python, 0.3 ms a file while
    holding the GIL that ingest's copying threads need; one dict lookup per distinct
    offset answers the common "nothing matches" in microseconds.
    """
    index = _puremagic_index()
    if index is None:
        return True
    headers, footers, max_head, max_foot = index
    head, foot = data[:max_head], data[-max_foot:]
    n = len(head)
    for offset, by_first in headers.items():
        if offset < n:
            for signature in by_first.get(head[offset], ()):
                if head[offset:offset + len(signature)] == signature:
                    return True
    for offset, signature in footers:
        end = offset + len(signature)
        if (foot[offset:end] if end != 0 else foot[offset:]) == signature:
            return True
    return False
