"""The exports a case received, read over its stored copies, as records on its items.

A case holds every received file once, by digest, with the names it was received by (relative to
the folder given to ingest). The exports among them are read over that listing, folder by folder
(`scan_listing`), so a message names a file as the sender's export does and the file is the
stored copy, its digest the one custody recorded. Two kinds of record come out:

- on each item that a message carried, a `CarriersRecord`: every message (chat, sender, time, text,
  forwarded from, reply, URL) that named it, under any of its names or through a copy of its bytes,
  and the lead "captured after the message that carried it was sent" when its capture time says so;
- on each export file, an `ExportRecord`: how it was read (form, chat, date order, notes, what was
  not understood), the files it names that the case did not receive, and the media of its folder
  that no export names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from forensics.errors import ParameterError
from forensics.media.metadata.flags import duration_text
from forensics.messages.record import AbsentMedia, Carrier, Export, ExportScan, ScanProblem, Unparsed
from forensics.messages.scan import Listed, scan_listing
from forensics.record_kinds import readable_version

RECORD_VERSION = 1
# A capture this long after the sending is a lead: the clocks of a phone and a messenger's server
# agree to well within a minute.
_MAX_CAPTURE_AFTER_SENT_S = 60.0
# A local time with no zone is some instant within this of the same wall-clock time in UTC.
_ZONE_SPAN = timedelta(hours=14)


@dataclass(frozen=True, slots=True)
class Received:
    """One name a case received an item under."""

    source_root: str  # the folder given to ingest
    name: str  # relative to it, "/" between parts
    stored_path: str  # the stored copy to read
    sha256: str  # "sha256:<hex>"
    size_bytes: int
    media: bool | None = None  # a picture, video or sound, as custody sniffed it (no export, so not read as one)


@dataclass(frozen=True, slots=True)
class Lead:
    """A lead the messages give about an item (the metadata record's flags are about the file alone)."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class CarriersRecord:
    """The messages that carried one item, under any name it was received by."""

    carriers: tuple[Carrier, ...]
    same_bytes_left_out: int = 0  # messages carrying a copy past the scan's bound, counted, not listed
    leads: tuple[Lead, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"record_version": RECORD_VERSION, "carriers": [c.to_json() for c in self.carriers],
                "same_bytes_left_out": self.same_bytes_left_out,
                "leads": [{"code": lead.code, "message": lead.message} for lead in self.leads]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CarriersRecord:
        readable_version(data, (RECORD_VERSION,), "messages")
        try:
            return cls(tuple(Carrier.from_json(c) for c in data["carriers"]), int(data["same_bytes_left_out"]),
                       tuple(Lead(str(f["code"]), str(f["message"])) for f in data["leads"]))
        except (KeyError, TypeError, ValueError) as ex:
            raise ParameterError(f"a messages record lacks a field or has one of the wrong type ({ex})") from ex


@dataclass(frozen=True, slots=True)
class ExportRecord:
    """How one export file of a case was read, and the files it names that the case did not receive."""

    export: Export  # without its messages: they are on the items they carried
    message_count: int
    absent: tuple[AbsentMedia, ...]
    unnamed: tuple[str, ...]  # media of the same source folder that no export names
    problems: tuple[ScanProblem, ...]  # files of the folder the scan could not read

    def to_json(self) -> dict[str, Any]:
        return {"record_version": RECORD_VERSION, **self.export.to_json(), "messages": self.message_count,
                "absent": [a.to_json() for a in self.absent], "unnamed": list(self.unnamed),
                "problems": [p.to_json() for p in self.problems]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ExportRecord:
        readable_version(data, (RECORD_VERSION,), "export")
        try:
            export = Export(data["path"], data["source"], data["form"], data["chat"], (),
                            tuple(Unparsed(u["where"], u["note"]) for u in data["unparsed"]), tuple(data["notes"]),
                            data["date_order"], data["date_order_basis"])
            return cls(export, int(data["messages"]), tuple(AbsentMedia(a["export"], a["chat"], a["where"], a["named"], a["path"],
                                                 a["state"], a["note"]) for a in data["absent"]),
                       tuple(data["unnamed"]), tuple(ScanProblem(p["path"], p["error"]) for p in data["problems"]))
        except (KeyError, TypeError, ValueError) as ex:
            raise ParameterError(f"an export record lacks a field or has one of the wrong type ({ex})") from ex


def scan_received(received: Iterable[Received]) -> list[ExportScan]:
    """Gives the scan of each source folder's received files (the stored copies, under their received names)."""
    by_root: dict[str, dict[str, Listed]] = {}
    for r in received:
        by_root.setdefault(r.source_root, {})[r.name] = Listed(r.stored_path, r.sha256, r.size_bytes, media=r.media)
    return [scan_listing(listing, root=root) for root, listing in sorted(by_root.items())]


def carriers_records(scans: Iterable[ExportScan], capture_utc: Mapping[str, datetime | None]
                     ) -> dict[str, CarriersRecord]:
    """Gives, by item digest, the messages that carried each item the exports name (items no message carried
    get none), with the lead a capture time after a carrying message gives (`capture_utc`: digest -> UTC capture
    time from the item's metadata record, None or absent when unknown)."""
    found: dict[str, dict[tuple[str, str, str], Carrier]] = {}
    left_out: dict[str, int] = {}
    for scan in scans:
        for f in scan.files:
            if not f.carriers:
                continue
            mine = found.setdefault(f.sha256, {})
            for c in f.carriers:
                # One message reaches an item once, by its own path if it names it, whichever name it came by.
                key = (c.message.export, c.message.where, c.message.chat or "")
                if key not in mine or (c.by == "path" and mine[key].by != "path"):
                    mine[key] = c
            left_out[f.sha256] = max(left_out.get(f.sha256, 0), f.same_bytes_left_out)
    return {digest: CarriersRecord(tuple(carriers.values()), left_out.get(digest, 0),
                                   _leads(tuple(carriers.values()), capture_utc.get(digest)))
            for digest, carriers in found.items()}


def export_records(scans: Iterable[ExportScan], digest_of: Mapping[tuple[str, str], str]) -> dict[str, ExportRecord]:
    """Gives, by the export file's digest, how it was read; `digest_of` maps (source root, name) to the digest."""
    records: dict[str, ExportRecord] = {}
    for scan in scans:
        for export in scan.exports:
            digest = digest_of.get((scan.root, export.path))
            if digest is None:
                continue
            records[digest] = ExportRecord(replace(export, messages=()), len(export.messages),
                                           tuple(a for a in scan.absent if a.export == export.path),
                                           scan.unnamed, scan.problems)
    return records


def _leads(carriers: tuple[Carrier, ...], captured_utc: datetime | None) -> tuple[Lead, ...]:
    if captured_utc is None:
        return ()
    leads = []
    for c in carriers:
        sent = c.message.sent
        if sent is None:
            continue
        if sent.at is not None:
            at = datetime.fromisoformat(sent.at)
            gap = (captured_utc - at).total_seconds()
            if gap > _MAX_CAPTURE_AFTER_SENT_S:
                leads.append(Lead("captured_after_sent", f"The capture time ({captured_utc:%Y-%m-%d %H:%M:%S} UTC) "
                                  f"is {duration_text(gap)} after {_which(c)} was sent ({sent.at}): a clock is wrong, or "
                                  "this is not the file that was sent."))
        elif sent.local is not None and len(sent.local) > 10:
            local = datetime.fromisoformat(sent.local)
            gap = (captured_utc.replace(tzinfo=None) - (local + _ZONE_SPAN)).total_seconds()
            if gap > _MAX_CAPTURE_AFTER_SENT_S:
                leads.append(Lead("captured_after_sent", f"The capture time ({captured_utc:%Y-%m-%d %H:%M:%S} UTC) "
                                  f"is after {_which(c)} was sent ({sent.local}, zone unknown) in any time zone, "
                                  f"by {duration_text(gap)} at least: a clock is wrong, or this is not the file that was "
                                  "sent."))
    return tuple(leads)


def _which(c: Carrier) -> str:
    m = c.message
    chat = f" in {m.chat}" if m.chat else ""
    return f"the {m.source} message ({m.where}{chat}) that carried it"


