"""The report's chronology and places sections: each figure as inline SVG, and the same content as text a screen
reader, a search and a printout all take in (tables, remarks, distances).

The figures are drawn by chronology.py and places.py from the case's claims
(case_claims.py) and named by exhibit; the messages that carried an item add
their sending times to its rows here. Everything drawn from evidence is escaped
(markup.esc in the tables, figure.shown_text in the SVG).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from forensics.custody.view import CaseView
from forensics.media.metadata.claims import EXIF_POSITION_TAGS, exif_position_reason
from forensics.media.metadata.zones import no_zone_reason
from forensics.report import facts
from forensics.report.case_claims import case_positions, case_time_events
from forensics.report.chronology import (
    CLOCK_ZEROS,
    CUSTODY_RECEIVED,
    MESSAGE_SENT,
    Chronology,
    LeftOut,
    PlacedEvent,
    TimeEvent,
    chronology,
    chronology_svg,
    time_text,
)
from forensics.report.exhibits import Exhibits
from forensics.report.markup import counted, esc, folded, table
from forensics.report.places import Places, Position, distance_rows, places, places_svg

FIGURE_WIDTH_PX = 380.0  # the figures' layout width: a phone's (390 px) without scaling the text down
MAX_TABLE_ROWS = 2000  # rows of the chronology's table; the figure and the json export hold them all
FORMAT_ZERO = "not a date (the format's zero)"


@dataclass(frozen=True, slots=True)
class WhereWhen:
    """A case's chronology and places, each computed once for the sections and the cards."""

    chronology: Chronology
    places: Places

    def card_order(self, exhibits: Exhibits) -> list[str]:
        """Gives item digests in the order of each item's earliest claimed time; items claiming none last, in
        exhibit order (a receipt is not a claim: it would put them among the rest by when the case got them)."""
        claimed = Chronology(tuple(p for p in self.chronology.placed if p.event.kind != CUSTODY_RECEIVED), ())
        order = dict.fromkeys(claimed.item_order())
        order.update(dict.fromkeys(e.item.sha256 for e in exhibits))
        return list(order)


def where_when(view: CaseView, exhibits: Exhibits, *, now_utc: datetime) -> WhereWhen:
    """Gives the case's chronology (claimed times, messages sent, receipts) and places, named by exhibit."""
    labels = exhibits.labels()
    events = case_time_events(view, labels=labels) + message_events(view, labels)
    return WhereWhen(chronology(events, latest_plausible=now_utc), case_places(view, labels))


def case_places(view: CaseView, labels: Mapping[str, str]) -> Places:
    """Gives the case's places: every position its items claim, and the GPS tags that state none, left out."""
    return places(case_positions(view, labels=labels), unreadable=unreadable_positions(view, labels))


# The tags a position is read from, by the raw group they are kept under, as (latitude, longitude) pairs.
_XMP_GPS = ("exif:GPSLatitude", "exif:GPSLongitude")
_ISO6709_KEYS = ("com.apple.quicktime.location.ISO6709", "location", "location-eng")


def unreadable_positions(view: CaseView, labels: Mapping[str, str]) -> list[tuple[Position, str]]:
    """Gives, per item, GPS tags that are present but give no position (a zero denominator, text that is no angle),
    with why: the metadata record keeps no position for them, so without this the report would not name them."""
    found = []
    for item in view.items:
        meta = item.metadata
        if meta is None:
            continue
        label = labels.get(item.sha256, item.display_name)
        source = meta.gps.source if meta.gps is not None else ""
        exif = meta.raw.get("exif")
        exif = exif if isinstance(exif, dict) else {}
        # EXIF is read first: tags there that hold no number lose to a later block silently unless listed.
        if any(tag in exif for tag in EXIF_POSITION_TAGS) and source != "EXIF GPS":
            written = "; ".join(f"{tag.removeprefix('GPS ')} {_raw_text(exif.get(tag))} {_raw_text(exif.get(tag + 'Ref'))}"
                                .rstrip() for tag in EXIF_POSITION_TAGS)
            found.append((Position(item.sha256, label, math.nan, math.nan, "EXIF GPS", written),
                          exif_position_reason(exif) + (f"; the position shown is from {source}" if source else "")))
        if meta.gps is not None:
            continue
        xmp, fmt = meta.raw.get("xmp"), meta.raw.get("format")
        xmp, fmt = (xmp if isinstance(xmp, dict) else {}), (fmt if isinstance(fmt, dict) else {})
        if any(tag in xmp for tag in _XMP_GPS):
            written = "; ".join(f"{tag} {_raw_text(xmp.get(tag))}" for tag in _XMP_GPS)
            found.append((Position(item.sha256, label, math.nan, math.nan, "XMP", written),
                          ("not an angle XMP writes (\"DDD,MM.mmN\", \"DDD,MM,SSN\" or decimal degrees), or one of "
                          "the two is missing")))
        for key in _ISO6709_KEYS:
            if key in fmt:
                found.append((Position(item.sha256, label, math.nan, math.nan, f"QuickTime/MP4 {key}",
                                       _raw_text(fmt[key])), "not an ISO 6709 position (\"+DD.DDDD+DDD.DDDD/\")"))
                break
    return found


def _raw_text(value: object) -> str:
    if value is None:
        return "(missing)"
    return ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)


def message_events(view: CaseView, labels: Mapping[str, str]) -> list[TimeEvent]:
    """Gives when each message that carried an item was sent, as the messenger export states it."""
    events = []
    for item in view.items:
        record = item.messages
        for carrier in record.carriers if record is not None else ():
            sent = carrier.message.sent
            if sent is None:
                continue
            when = facts.parse_utc(sent.at) if sent.at else _local(sent.local)
            where = f"{carrier.message.source} export {carrier.message.export}, {carrier.message.where}"
            events.append(TimeEvent(item.sha256, labels.get(item.sha256, item.display_name), MESSAGE_SENT, when,
                                    where, sent.written or sent.at or sent.local or "",
                                    uncertainty_reason="" if sent.at else (sent.zone_source or "the export states no zone")))
    return events


def _local(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


def left_out_reason(reason: str) -> str:
    """Gives why a time was left out, a clock's zero said as what it is: not a date."""
    return f"{FORMAT_ZERO}: {reason}" if reason in CLOCK_ZEROS.values() else reason


def chronology_section(found: WhereWhen, links: Mapping[str, str]) -> str:
    """Gives the chronology: the figure, then its rows as a table, then the times left out and why.

    `links` gives each item's link HTML by digest.
    """
    chron = found.chronology
    head = ('<section id="chronology"><h2>Chronology</h2><p class="muted">Every time the items claim (capture, '
            "digitized, GPS clock, container, track), every message that carried one, and every receipt the custody "
            "log recorded, on one axis in UTC. A time without a zone is a local clock: it stands for any instant the "
            "zones in use allow, drawn as a dashed bar. Times are claims to check, not findings.</p>")
    if not chron.placed and not chron.left_out:
        return head + '<p class="none">No item claims a time.</p></section>'
    figure = f'<figure class="svg">{chronology_svg(chron, width_px=FIGURE_WIDTH_PX)}</figure>'
    # A local clock of an item near a pole: the zone was not taken from its position on purpose, and the reader is told.
    polar = {p.item_id: why for p in found.places.positions
             if (why := no_zone_reason(p.latitude_deg, p.longitude_deg)) is not None}
    rows = [_row(p, links, polar) for p in chron.placed[:MAX_TABLE_ROWS]]
    more = (f'<p class="muted">… {len(chron.placed) - MAX_TABLE_ROWS} more rows in the figure and the json '
            "export.</p>" if len(chron.placed) > MAX_TABLE_ROWS else "")
    parts = [head, figure, "<h3>The same times as a table</h3>",
             table(("time (as stated; UTC)", "what", "item", "from", "how sure", "connected"), rows,
                   cls="chronology"), more]
    if chron.left_out:
        parts.append(f"<h3>Left out, not placed ({len(chron.left_out)})</h3>")
        parts.append(table(("item", "what", "as written", "from", "why left out"),
                           [_left_row(left, links) for left in chron.left_out[:MAX_TABLE_ROWS]]))
    return "".join(parts) + "</section>"


def _row(placed: PlacedEvent, links: Mapping[str, str], polar: Mapping[str, str]) -> tuple[str, ...]:
    event = placed.event
    when = time_text(event.time) if event.time is not None else ""
    if not placed.zone_known:
        sure = (f'<span class="flag">zone unknown</span> any instant from {esc(_z(placed.earliest_utc))} to '
                f"{esc(_z(placed.latest_utc))}")
        if event.item_id in polar:
            sure += f" ({esc(polar[event.item_id])})"
    else:
        sure = esc(", ".join(p for p in (f"± {event.uncertainty_s:g} s" if event.uncertainty_s else "",
                                         event.uncertainty_reason) if p))
    return (f"<code>{esc(when)}</code>", esc(event.kind), links.get(event.item_id, esc(event.label)),
            esc(event.source), sure, esc("; ".join(event.links)))


def _left_row(left: LeftOut, links: Mapping[str, str]) -> tuple[str, ...]:
    event = left.event
    return (links.get(event.item_id, esc(event.label)), esc(event.kind), f"<code>{esc(event.text)}</code>",
            esc(event.source), esc(left_out_reason(left.reason)))


def _z(value: datetime) -> str:
    return value.isoformat(sep=" ").replace("+00:00", "Z")


def _km(value: float) -> str:
    return f"{value:,.3f} km"


def _left_coordinates(position: Position) -> tuple[str, str]:
    """Gives the latitude and longitude cells of a left-out position; tags with no number, as written, in one."""
    if position.written:
        return f'<code>{esc(position.written)}</code>', ""
    return esc(repr(position.latitude_deg)), esc(repr(position.longitude_deg))


def places_section(view: CaseView, found: WhereWhen, links: Mapping[str, str]) -> str:
    """Gives the places: the figure, its remarks as text, each position with its source, distances folded."""
    where = found.places
    head = ('<section id="places"><h2>Places</h2><p class="muted">Where the items claim to be, relative to each '
            "other: decimal degrees, WGS 84, as written in the files; distances are great circles. No map is "
            "fetched: the figure shows only the claims, around their median.</p>")
    if not where.positions and not where.left_out:
        return head + '<p class="none">No item carries GPS coordinates.</p></section>'
    parts = [head, f'<figure class="svg">{places_svg(where, width_px=FIGURE_WIDTH_PX)}</figure>']
    remarks = list(where.remarks)  # they name each outlier, with its distance
    if remarks:
        parts.append('<ul class="remarks">' + "".join(f"<li>{esc(r)}</li>" for r in remarks) + "</ul>")
    outlying = {id(p) for p, _ in where.outliers}
    altitude = {p.item.sha256: p.altitude_m for p in facts.places(view)}
    rows = []
    for n, p in enumerate(where.positions, start=1):
        alt = altitude.get(p.item_id)
        rows.append((str(n), links.get(p.item_id, esc(p.label)), f"{p.latitude_deg:.6f}", f"{p.longitude_deg:.6f}",
                     "" if alt is None else f"{alt:.1f} m", esc(p.source),
                     _km(where.from_centre_km(p)) + (' <span class="flag">outlier</span>' if id(p) in outlying
                                                     else "")))
    parts.append(table(("#", "item", "latitude", "longitude", "altitude", "from", "from the median"), rows))
    if where.left_out:
        parts.append(f"<h3>Left out, not drawn ({len(where.left_out)})</h3>")
        parts.append(table(("item", "latitude", "longitude", "from", "why left out"),
                           [(links.get(p.item_id, esc(p.label)), *_left_coordinates(p), esc(p.source), esc(reason))
                            for p, reason in where.left_out]))
    if where.distances:
        listed = distance_rows(where)
        shown = [(links.get(a.item_id, esc(a.label)), links.get(b.item_id, esc(b.label)), esc(km))
                 for a, b, km in listed.rows]
        extra = f'<p class="muted">{esc(listed.more_text)}</p>' if listed.not_listed else ""
        parts.append(folded(f"Distances between the positions ({counted(len(where.distances), 'pair')})",
                            table(("item", "item", "great circle"), shown) + extra))
    return "".join(parts) + "</section>"
