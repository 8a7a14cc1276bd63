"""Camera claims in QuickTime/MP4 user-data boxes that libavformat skips: `date`, Pentax `TAGS`.

Some Android phones and cameras (the 3GPP `date` box: "2020-11-20T15:04:02+0100") write
the capture time with its zone in `moov/udta`, and Pentax compacts write their make in
a binary `TAGS` box; ExifTool reads both (QuickTime.pm, Pentax.pm), libavformat neither.
"""

from __future__ import annotations

import re

from forensics.media.timestamps import parse_datetime
from forensics.media.vendor_block import VendorBlock, clean_text

_DATE = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:Z|[+\-]\d\d:?\d\d)?")


def read_user_data(boxes: tuple[tuple[str, bytes], ...]) -> VendorBlock | None:
    """The claims of the `udta` children isobmff.read_movie_header kept; None when none applies."""
    fields: dict[str, str] = {}
    captured = make = None
    for kind, body in boxes:
        if kind == "date" and captured is None:
            m = _DATE.fullmatch(body.rstrip(b"\x00"))
            if m and parse_datetime(m[0].decode()) is not None:
                captured = fields["date"] = m[0].decode()
        elif kind == "TAGS" and make is None and body.startswith(b"PENTAX DIGITAL CAMERA\x00"):
            make = clean_text(body[:24])
            if make:
                fields["TAGS Make"] = make
    if not fields:
        return None
    return VendorBlock("QuickTime user data (udta)", fields, captured, make)
