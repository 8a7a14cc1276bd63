"""The readers run on one file, in order, inside an isolated worker process.

`read_file` is what a worker executes: it yields each reader's result (a frozen
dataclass: Fingerprint, ExifRead, ThumbnailCheck, JpegRead, XmpRead, ContainerRead,
MovieHeader, a VendorBlock for each maker's own block) as soon as it has it, so a
reader that hangs or kills the process costs only the readers after it, and the parent
still has the hash and whatever was read before. Every reader's exception is caught
and yielded as a `ReaderFailure`: one broken tag block must not hide the rest.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from forensics.digests import file_sha256
from forensics.errors import ForensicsError, MediaUnreadable
from forensics.media.content_type import HEAD_BYTES, ContentType, sniff
from forensics.media.metadata.formats.container import ContainerRead, read_container
from forensics.media.metadata.formats.credentials import read_credentials, supported as credentials_supported
from forensics.media.metadata.formats.exif import ExifRead, read_exif
from forensics.media.metadata.formats.iptc import parse_photoshop_iptc
from forensics.media.metadata.formats.isobmff import MovieHeader, jxl_boxes, read_movie_header
from forensics.media.metadata.formats.jpeg_segments import read_jpeg_header
from forensics.media.metadata.formats.mapped_exif import memory_of
from forensics.media.metadata.formats.xmp import find_xmp_packet, parse_xmp
from forensics.media.metadata.makers.jpeg_vendor import read_jpeg_vendor_blocks, read_reconyx_maker_note
from forensics.media.metadata.makers.maker_formats import (
    carries_exif,
    read_embedded_exif,
    read_maker_formats,
    wants_maker_formats,
)
from forensics.media.metadata.makers.user_data import read_canon_exif, read_user_data
from forensics.media.metadata.makers.vendor_block import VendorBlock
from forensics.media.metadata.thumbnail import ThumbnailCheck, compare_thumbnail
from forensics.pipeline.isolation import RESTART_CLOCK

log = logging.getLogger(__name__)

_MAX_XMP_SCAN_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ReaderFailure:
    """One reader could not finish on this file."""

    reader: str  # "exif", "container", ...
    message: str


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """Hash, size and kind of the file, as the worker saw them."""

    sha256: str  # hex, no prefix
    size_bytes: int
    content: ContentType


@dataclass(frozen=True, slots=True)
class XmpRead:
    """An XMP packet found outside JPEG segments (HEIC, WebP, PNG, TIFF, sidecar files)."""

    properties: dict[str, Any]  # flattened, see xmp.parse_xmp


def read_file(job: tuple[str, str | None, str | None]) -> Iterator[Any]:
    """Yields the Fingerprint of one file, then each reader's result or ReaderFailure.

    `job` is (path, sha256 hex or None, trust anchors PEM or None); with a hash given the file is not
    hashed again; the anchors are what Content Credentials' signers are checked against.
    """
    path_text, known_sha256, trust_anchors_pem = job
    path = Path(path_text)
    with open(path, "rb") as fh:
        head = fh.read(HEAD_BYTES)
        size = os.fstat(fh.fileno()).st_size
        sha256 = known_sha256 or file_sha256(fh)
    yield RESTART_CLOCK  # the time limit is for the readers; hashing a big file is slow, not stuck
    content = sniff(head)
    yield Fingerprint(sha256, size, content)
    if content.family == "image":
        yield from _guarded("exif", _read_exif, path, content.format)
        if content.format == "jpeg":
            yield from _guarded("jpeg", _read_jpeg_header, path)
        else:
            yield from _guarded("xmp", _scan_xmp, path, size)
    if content.family == "unknown" and (_looks_like_xmp(head) or head.startswith(b"%PDF")):
        yield from _guarded("xmp", _scan_xmp, path, size)  # an XMP sidecar (.xmp, .xml, InDesign), a PDF
    if wants_maker_formats(content):
        yield from _guarded("maker", read_maker_formats, path, content, head)
        if content.family == "unknown" and carries_exif(head):
            yield from _guarded("exif", read_embedded_exif, path, head)
    sized = False
    if content.format in ("mp4", "quicktime", "3gp", "m4a", "heif", "avif"):
        movie = list(_guarded("movie", _read_movie_header, path, content.family == "av"))
        # A HEIF still's boxes give its size, which libavformat (four times the cost) would give as a tile's.
        sized = content.family == "image" and any(isinstance(item, MovieHeader) and item.primary_size
                                                  for item in movie)
        yield from movie
    if not sized and (content.family in ("av", "unknown")
                      or content.format in ("heif", "avif", "webp", "png", "gif", "tiff", "bmp")):
        # Stills too: libavformat gives their pixel size and codec without decoding.
        yield from _guarded("container", _read_container, path, quiet=content.family == "unknown")
    if credentials_supported(content.mime):
        yield from _guarded("c2pa", read_credentials, path, content.mime, trust_anchors_pem)


def _looks_like_xmp(head: bytes) -> bool:
    # XMP sidecars, and XML documents (InDesign, SVG) that carry a packet further down.
    return b"<x:xmpmeta" in head or b"<rdf:RDF" in head or b"<?xpacket" in head \
        or head.lstrip(b"\xef\xbb\xbf \r\n\t").startswith(b"<?xml")


def _guarded(name: str, reader: Callable[..., Any], *args: Any, quiet: bool = False) -> Iterator[Any]:
    try:
        result = reader(*args)
        yield from (r for r in (result if isinstance(result, tuple) else (result,)) if r is not None)
    except Exception as ex:  # noqa: BLE001 - third-party readers raise anything on hostile files
        if not quiet:
            log.debug("%s reader failed on %s: %r", name, args[0], ex)
            # Our own errors already say what went wrong; a third party's needs its type to mean anything.
            detail = f"{type(ex).__name__}: {ex}" if str(ex) else type(ex).__name__
            text = str(ex) if isinstance(ex, ForensicsError) else \
                f"its block is damaged or malformed, so it could not be read ({detail})"
            yield ReaderFailure(name, text[:500])


@dataclass(frozen=True, slots=True)
class JpegRead:
    """The JPEG header segments: frame size, APP markers, XMP and IPTC."""

    width_px: int | None
    height_px: int | None
    app_markers: tuple[str, ...]
    xmp: dict[str, Any]
    iptc: dict[str, Any]


def _read_exif(path: Path, image_format: str | None) -> tuple[ExifRead, ThumbnailCheck | None, VendorBlock | None]:
    check = None
    with open(path, "rb") as fh:
        boxes = (jxl_boxes(fh) or []) if image_format == "jxl" else None
        if boxes is not None and b"Exif" not in boxes:
            # exifread would stumble on the end of the file, whether there is EXIF or not.
            if b"brob/Exif" in boxes:
                raise MediaUnreadable("the EXIF is in a Brotli-compressed box (JPEG XL 'brob'), which is not "
                                      "decompressed here")
            return ExifRead(), None, None
        fh.seek(0)
        result = read_exif(fh)
        # The main image must be a JPEG for the cheap reduced decode the comparison relies on.
        if result.thumbnail and image_format == "jpeg":
            main = memory_of(fh)  # a map of the file where it can be mapped
            if main is None:
                fh.seek(0)
                main = fh.read()
            check = compare_thumbnail(result.thumbnail, main)
    # The thumbnail bytes stay in the worker: only the outcome of the comparison travels.
    return replace(result, thumbnail=None), check, _maker_note_block(result.tags.get("EXIF MakerNote"))


def _maker_note_block(note: Any) -> VendorBlock | None:
    # exifread keeps maker notes it has no table for as bytes (rendered "hex:..." up to 4 KiB).
    if isinstance(note, str) and note.startswith(("hex:01f1", "hex:5245434f4e5958")):  # Reconyx
        return read_reconyx_maker_note(bytes.fromhex(note[4:]))
    return None


def _read_jpeg_header(path: Path) -> tuple[JpegRead | None, *tuple[VendorBlock, ...]]:
    with open(path, "rb") as fh:
        header = read_jpeg_header(fh)
    if header is None:
        return (None,)
    return (JpegRead(header.width_px, header.height_px, header.app_markers, parse_xmp(header.xmp),
                     parse_photoshop_iptc(header.photoshop)), *read_jpeg_vendor_blocks(header.vendor_segments))


def _scan_xmp(path: Path, size: int) -> XmpRead:
    # HEIC, WebP, PNG and TIFF keep XMP in boxes, chunks or tags; a scan for the packet
    # markers finds it in all of them, at the cost of reading the file once.
    if size > _MAX_XMP_SCAN_BYTES:
        return XmpRead({})
    with open(path, "rb") as fh:
        return XmpRead(parse_xmp(find_xmp_packet(fh.read(_MAX_XMP_SCAN_BYTES))))


def _read_container(path: Path) -> ContainerRead:
    return read_container(path)


def _read_movie_header(path: Path, with_exif: bool) -> tuple[Any, ...]:
    with open(path, "rb") as fh:
        movie = read_movie_header(fh)
    if movie is None:
        return (None,)
    # The user-data boxes are decoded here; only what they claim travels back. Stills (CR3)
    # had their EXIF read already; a video's Canon blocks go to exifread under a guard of their own.
    found = (replace(movie, user_data=()), *read_user_data(movie.user_data))
    if with_exif and any(kind.startswith("canon:") for kind, _ in movie.user_data):
        return (*found, *_guarded("exif", read_canon_exif, movie.user_data))
    return found
