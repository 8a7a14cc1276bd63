"""Sony's NonRealTimeMeta XML: capture time, maker, model and serial of XAVC/XDCAM recordings.

Sony cameras and camcorders write this document inside their MP4 files (`moov/meta`,
handler `nrtm`, an `xml ` box) and beside their clips (`M4ROOT/CLIP/C0001M01.XML`). It
names the device (`<Device manufacturer="Sony" modelName="ILCE-7M3" serialNo=...>`) and
the start of recording with its zone (`<CreationDate value="2019-04-24T22:24:00+02:00"/>`).
Only those two elements are read, by pattern: a verifier needs them, not the whole tree.
"""

from __future__ import annotations

import re

from forensics.media.metadata.makers.vendor_block import VendorBlock
from forensics.media.metadata.timestamps import parse_datetime

_CREATION = re.compile(rb"<CreationDate\s+value\s*=\s*\"([^\"]{1,64})\"")
_DEVICE = re.compile(rb"<Device\s([^>]{1,1024})>")
_ATTRIBUTE = re.compile(rb"(manufacturer|modelName|serialNo)\s*=\s*\"([^\"]{0,128})\"")


def is_sony_xml(data: bytes) -> bool:
    """Whether `data` (the start of a document) is a NonRealTimeMeta document."""
    return b"<NonRealTimeMeta" in data[:4096]


def read_sony_xml(data: bytes, *, where: str) -> VendorBlock | None:
    """The device and creation date of a NonRealTimeMeta document; None when it names neither."""
    if not is_sony_xml(data):
        return None
    fields: dict[str, str] = {}
    created = _CREATION.search(data)
    captured = None
    if created:
        text = created[1].decode("utf-8", errors="replace")
        fields["CreationDate"] = text
        captured = text if parse_datetime(text) is not None else None
    device = _DEVICE.search(data)
    if device:
        for name, value in _ATTRIBUTE.findall(device[1]):
            fields[name.decode()] = value.decode("utf-8", errors="replace").strip()
    make, model = fields.get("manufacturer") or None, fields.get("modelName") or None
    if not (captured or make or model):
        return None
    return VendorBlock(f"Sony NonRealTimeMeta ({where})", fields, captured, make, model)
