"""A case's times and places as the chronology and places figures take them, read from the read-only view.

Every time stamp a metadata record lists (capture, digitized, container, track,
GPS clock), and every receipt the custody log recorded, becomes a TimeEvent;
events of one item, kind and instant named by several tags are one event naming
them all. Same-footage groups and intercept matches link each member's first
plausible claimed time (its receipt when it claims none). Every GPS position a
metadata record holds becomes a Position, null island and broken ones too, so
the figure can list them as left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone

from forensics.custody.view import CaseView, ItemView
from forensics.media.metadata.record import MediaRecord, TimeClaim
from forensics.report import facts
from forensics.report.chronology import (
    CAPTURE,
    CONTAINER,
    CUSTODY_RECEIVED,
    DIGITIZED,
    GPS_CLOCK,
    MODIFIED,
    TRACK,
    TimeEvent,
    implausible_reason,
)
from forensics.report.places import Position

_KINDS = {"capture": CAPTURE, "digitized": DIGITIZED, "modified": MODIFIED, "container": CONTAINER, "track": TRACK,
          "gps": GPS_CLOCK}
_ANCHOR_ORDER = (CAPTURE, DIGITIZED, GPS_CLOCK, CONTAINER, TRACK, MODIFIED, CUSTODY_RECEIVED)


def _claimed_time(meta: MediaRecord | None, claim: TimeClaim) -> tuple[datetime | None, str]:
    """Gives the instant a time stamp stands for (local, zone unknown, when the file gives none), and why it may be
    off."""
    # A time with its own offset stays in it (the chronology shows it there and in UTC); else its UTC, if any.
    stated = claim.value is not None and claim.value.tzinfo is not None
    when = claim.value if stated else claim.utc if claim.utc is not None else claim.value
    if (when is not None and when.tzinfo is None and claim.kind == "capture" and meta is not None
            and meta.capture_zone is not None
            and meta.captured_at_utc is not None and claim.value == meta.captured_at):
        zone = meta.capture_zone
        twice = " (a local time that happened twice or never)" if zone.ambiguous else ""
        return (meta.captured_at_utc.astimezone(timezone(zone.offset)),
                f"the file states no zone: {zone.name}, the zone of its GPS position{twice}")
    if when is not None and when.tzinfo is not None and when.utcoffset() == timedelta(0):
        when = when.astimezone(UTC)
    return when, ""


def _item_times(item: ItemView, label: str) -> list[TimeEvent]:
    meta = item.metadata
    # One event per kind and instant, naming every tag that states it (an unusable text stays its own event).
    merged: dict[tuple[str, datetime | None, str], tuple[list[str], str, str]] = {}
    for claim in meta.times if meta is not None else ():
        when, reason = _claimed_time(meta, claim)
        key = (_KINDS.get(claim.kind, claim.kind), when, claim.text if when is None else "")
        merged.setdefault(key, ([], claim.text, reason))[0].append(claim.source)
    events = [TimeEvent(item.sha256, label, kind, when, "; ".join(sorted(set(sources))), text,
                        uncertainty_reason=reason)
              for (kind, when, _), (sources, text, reason) in merged.items()]
    events.extend(TimeEvent(item.sha256, receipt.name, CUSTODY_RECEIVED, facts.parse_utc(receipt.time),
                            f"custody log entry {receipt.log_seq}", receipt.time) for receipt in item.item.receipts)
    return events


def _anchor(events: list[TimeEvent]) -> TimeEvent | None:
    """Gives the event that links stand on: the first plausible claimed time by kind, else the receipt."""
    usable = [e for e in events if e.time is not None and implausible_reason(e.time) is None]
    for kind in _ANCHOR_ORDER:
        found = sorted((e for e in usable if e.kind == kind), key=lambda e: (e.time is not None and e.time.tzinfo is None,
                                                                           e.source))
        if found:
            return found[0]
    return None


def case_time_events(view: CaseView, *, labels: Mapping[str, str] | None = None) -> list[TimeEvent]:
    """Gives every time the case's items claim and its log recorded, linked by same footage and intercept matches.

    `labels` names items by sha256 (exhibit numbers, say); an item not in it is named as first received.
    """
    by_item = {item.sha256: _item_times(item, (labels or {}).get(item.sha256, item.display_name))
               for item in view.items}
    links: dict[str, list[str]] = {}
    def named(sha: str) -> str:
        item = view.item(sha)
        return (labels or {}).get(sha, item.display_name if item else sha)

    for n, group in enumerate(facts.duplicate_groups(view), start=1):
        members = [ref.item.sha256 for ref in group if ref.item is not None]
        for sha in members:
            links.setdefault(sha, []).append(f"same footage {n}: {', '.join(named(m) for m in members)}")
    pairs: dict[tuple[str, str], None] = {}  # a pair of files matched at several places is one link
    for match in facts.intercept_matches(view):
        if match.query.item is not None and match.reference.item is not None and match.query.key != match.reference.key:
            first, second = sorted((match.query.key, match.reference.key))
            pairs.setdefault((first, second), None)
    for n, pair in enumerate(pairs, start=1):
        for sha in pair:
            links.setdefault(sha, []).append(f"intercept match {n}: {named(pair[0])} and {named(pair[1])}")
    events: list[TimeEvent] = []
    for sha, item_events in by_item.items():
        anchor = _anchor(item_events) if sha in links else None
        for event in item_events:
            if event is anchor:
                event = TimeEvent(event.item_id, event.label, event.kind, event.time, event.source, event.text,
                                  event.uncertainty_s, event.uncertainty_reason, tuple(sorted(set(links[sha]))))
            events.append(event)
    return events


def case_positions(view: CaseView, *, labels: Mapping[str, str] | None = None) -> list[Position]:
    """Gives every GPS position the metadata records claim, in item order, broken ones too."""
    found = []
    for item in view.items:
        gps = item.metadata.gps if item.metadata is not None else None
        if gps is not None:
            found.append(Position(item.sha256, (labels or {}).get(item.sha256, item.display_name),
                                  gps.latitude_deg, gps.longitude_deg, gps.source or ""))
    return found
