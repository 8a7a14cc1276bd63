"""ExifTool's own RDF/XML export (`exiftool -X`): the tags ExifTool read from another file.

Investigators pass these around as sidecars ("here is what ExifTool said about the
original"), and ExifTool reads them back as metadata of the XML file. They are not XMP:
each tag sits in a namespace of ExifTool's own, `http://ns.exiftool.org/<family>/<group>/1.0/`,
with its printed value (`2001:08:01 12:57:23`, `34 deg 4' 31.53" N`) or, from `-X -n`,
its number. One block per export, named after the file it describes; its claims rank
with the other makers' blocks, and every tag is kept verbatim in the raw record.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import BinaryIO

from forensics.media.metadata.location import dms_to_degrees
from forensics.media.metadata.makers.vendor_block import VendorBlock

_RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
_NAMESPACE = re.compile(r"^\{http://ns\.exiftool\.org/(?:[^/}]+/)*?([^/}]+)/1\.0/\}(.+)$")
_MAX_BYTES = 8 << 20
_MAX_TAGS = 4096
_CAPTURE = (("ExifIFD:DateTimeOriginal", "ExifIFD:OffsetTimeOriginal"), ("XMP-exif:DateTimeOriginal", None),
            ("Keys:CreationDate", None), ("UserData:DateTimeOriginal", None), ("XMP-photoshop:DateCreated", None))
_MAKE = ("IFD0:Make", "XMP-tiff:Make", "Keys:Make", "UserData:Make")
_MODEL = ("IFD0:Model", "XMP-tiff:Model", "Keys:Model", "UserData:Model")
_DMS = re.compile(r"^\s*(-?\d+(?:\.\d+)?)(?:\s*deg\s*(\d+(?:\.\d+)?)'\s*(?:(\d+(?:\.\d+)?)\")?)?\s*([NSEW])?\s*$")


def is_exiftool_rdf(head: bytes) -> bool:
    """True when the first bytes look like ExifTool's RDF/XML export."""
    return b"<rdf:RDF" in head and b"http://ns.exiftool.org/" in head


def read_exiftool_rdf(fh: BinaryIO) -> VendorBlock | None:
    """The tags of the first file the export describes; None when it is not such an export."""
    data = fh.read(_MAX_BYTES + 1)
    if len(data) > _MAX_BYTES:
        return None  # exports are kilobytes; a huge XML file is something else
    try:
        root = ET.fromstring(data)  # expat: no external entities, no DTD fetching
    except ET.ParseError:
        return None  # a damaged export: its text is still kept whole as the evidence file
    for description in root.iter(f"{_RDF}Description"):
        tags: dict[str, str] = {}
        for prop in description:
            m = _NAMESPACE.match(prop.tag)
            if m and len(prop) == 0 and len(tags) < _MAX_TAGS:
                tags.setdefault(f"{m[1]}:{m[2]}", (prop.text or "").strip())
        if tags:
            return _block(description.get(f"{_RDF}about", ""), tags)
    return None


def _block(about: str, tags: dict[str, str]) -> VendorBlock:
    captured = None
    for tag, offset_tag in _CAPTURE:
        if tags.get(tag):
            captured = tags[tag] + (tags.get(offset_tag, "") if offset_tag else "")
            break
    make = next((tags[t] for t in _MAKE if tags.get(t)), None)
    model = next((tags[t] for t in _MODEL if tags.get(t)), None)
    lat = _degrees(tags.get("Composite:GPSLatitude") or tags.get("GPS:GPSLatitude"),
                   tags.get("GPS:GPSLatitudeRef"))
    lon = _degrees(tags.get("Composite:GPSLongitude") or tags.get("GPS:GPSLongitude"),
                   tags.get("GPS:GPSLongitudeRef"))
    altitude = _metres(tags.get("Composite:GPSAltitude") or tags.get("GPS:GPSAltitude"))
    gps = (lat, lon, altitude) if lat is not None and lon is not None else None
    fields: dict[str, str] = {"about": about, **tags}
    name = f"ExifTool RDF export of {about!r}" if about else "ExifTool RDF export"
    return VendorBlock(name, fields, captured, make, model, gps)


def _degrees(text: str | None, ref: str | None) -> float | None:
    """`34 deg 4' 31.53" N`, `-118.25` or `118.25` with a W reference, as signed degrees."""
    m = _DMS.match(text or "")
    if not m:
        return None
    degrees = dms_to_degrees([abs(float(m[1])), float(m[2] or 0), float(m[3] or 0)], m[4] or ref)
    return None if degrees is None else -abs(degrees) if float(m[1]) < 0 else degrees


def _metres(text: str | None) -> float | None:
    m = re.match(r"^\s*(-?\d+(?:\.\d+)?)\s*(?:m\b)?\s*(Below Sea Level)?", text or "")
    if not m:
        return None
    return -float(m[1]) if m[2] else float(m[1])
