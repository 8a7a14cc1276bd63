"""The messages and posts that carried a file: Telegram Desktop, WhatsApp and yt-dlp exports read and linked.

    scan_exports(root) -> ExportScan    every export under a folder, and for each file the messages
                                        that carried it (by path, and by identical bytes)

Analysis only: paths in, values out; nothing here writes to a case (ingest records what it gives).
Times keep their zone's source: Telegram's date_unixtime is UTC, WhatsApp's times are the phone's
local time with no zone, yt-dlp's timestamp is UTC and its upload_date a day.
"""

from __future__ import annotations

from forensics.messages.record import (
    AbsentMedia,
    CarriedFile,
    Carrier,
    Export,
    ExportScan,
    MediaRef,
    Message,
    ScanProblem,
    SentTime,
    Unparsed,
)
from forensics.messages.scan import scan_exports

__all__ = [
    "AbsentMedia",
    "CarriedFile",
    "Carrier",
    "Export",
    "ExportScan",
    "MediaRef",
    "Message",
    "ScanProblem",
    "SentTime",
    "Unparsed",
    "scan_exports",
]
