"""A file's media type from its first bytes, never from its name: the label custody records."""

from __future__ import annotations

from forensics.media.content_type import sniff


def media_type_of(head: bytes) -> tuple[str, str | None]:
    """Returns (media_type, mime) for a file whose first bytes are `head`.

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
        return major, kind.mime
    return "other", kind.mime
