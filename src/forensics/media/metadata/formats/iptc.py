"""IPTC-IIM records (caption, by-line, dates, place) from a Photoshop image-resource block.

Newsroom and agency software writes these; a photo that went through such a workflow
carries who handled it and when, which a verifier wants next to the camera's own claims.
"""

from __future__ import annotations

import struct

_IPTC_RESOURCE_ID = 0x0404

# Application record (2) datasets worth naming; others keep their number.
_DATASETS = {
    5: "ObjectName", 25: "Keywords", 55: "DateCreated", 60: "TimeCreated", 62: "DigitalCreationDate",
    63: "DigitalCreationTime", 65: "OriginatingProgram", 70: "ProgramVersion", 80: "By-line",
    85: "By-lineTitle", 90: "City", 92: "Sub-location", 95: "Province-State",
    100: "Country-PrimaryLocationCode", 101: "Country-PrimaryLocationName", 103: "OriginalTransmissionReference",
    105: "Headline", 110: "Credit", 115: "Source", 116: "CopyrightNotice", 120: "Caption-Abstract",
    122: "Writer-Editor",
}


def parse_photoshop_iptc(block: bytes | None, *, max_records: int = 4096) -> dict[str, str | list[str]]:
    """IPTC application records as {name: text}; repeated datasets become lists."""
    data = _iptc_resource(block or b"")
    out: dict[str, str | list[str]] = {}
    pos = 0
    for _ in range(max_records):
        if pos + 5 > len(data) or data[pos] != 0x1C:
            break
        record, dataset = data[pos + 1], data[pos + 2]
        size = struct.unpack(">H", data[pos + 3:pos + 5])[0]
        pos += 5
        if size & 0x8000:  # extended length: rare and never textual, stop rather than guess
            break
        value = data[pos:pos + size]
        pos += size
        if record != 2 or dataset == 0:  # record version
            continue
        name = _DATASETS.get(dataset, f"2:{dataset}")
        text = _decode(value)
        previous = out.get(name)
        if previous is None:
            out[name] = text
        elif isinstance(previous, list):
            previous.append(text)
        else:
            out[name] = [previous, text]
    return out


def _iptc_resource(block: bytes) -> bytes:
    # 8BIM resources: signature, id, pascal name padded to even, size, data padded to even.
    pos = 0
    while pos + 12 <= len(block) and block[pos:pos + 4] == b"8BIM":
        resource_id = struct.unpack(">H", block[pos + 4:pos + 6])[0]
        name_length = block[pos + 6]
        pos += 6 + ((name_length + 2) & ~1)
        if pos + 4 > len(block):
            break
        size = struct.unpack(">I", block[pos:pos + 4])[0]
        pos += 4
        if resource_id == _IPTC_RESOURCE_ID:
            return block[pos:pos + size]
        pos += size + (size & 1)
    return b""


def _decode(value: bytes) -> str:
    # IIM declares its charset in record 1 (rarely set); UTF-8 is the common modern case and
    # Latin-1 never fails, so it is the fallback for older files.
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")
