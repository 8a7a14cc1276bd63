"""The findings a report and an export show, drawn from a case view: time span, places, duplicates, intercepts.

Read from the typed records (NearDuplicates, AudioRecord, MediaRecord). A record
that names files by path is resolved to the case's items by any name they were
received under, their stored path or their digest; what cannot be resolved is
kept by its name, never dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from forensics.custody.view import CaseView, ItemView


@dataclass(frozen=True, slots=True)
class Place:
    """A position an item's metadata claims."""

    item: ItemView
    latitude_deg: float
    longitude_deg: float
    altitude_m: float | None
    source: str  # the tag it came from


@dataclass(frozen=True, slots=True)
class TimeSpan:
    """First and last instant the footage claims, in UTC, with the items that claim them."""

    start_utc: datetime
    end_utc: datetime
    first: ItemView
    last: ItemView
    dated_items: int  # items with a capture time in UTC
    undated_items: int  # media items without one


@dataclass(frozen=True, slots=True)
class Reference:
    """A file a dedup or audio record names: the case's item when it is one, else the name as written."""

    name: str
    item: ItemView | None

    @property
    def label(self) -> str:
        return self.item.display_name if self.item else self.name

    @property
    def key(self) -> str:
        """Gives what tells files apart: the item's sha256, else the name as written."""
        return self.item.sha256 if self.item else self.name


@dataclass(frozen=True, slots=True)
class DuplicateMatch:
    a: Reference
    b: Reference
    kind: str  # "image" | "video"
    relation: str  # "same" | "a_contains_b" | "b_contains_a" | "overlap"
    score: float | None
    a_span_s: tuple[float, float] | None  # None for photos
    b_span_s: tuple[float, float] | None
    confidence: str = ""  # "strong" | "likely" (weak matches are not shown); "" in records made before it


@dataclass(frozen=True, slots=True)
class SceneLead:
    a: Reference
    b: Reference
    kind: str
    reason: str  # why the pair is not shown to be one recording


@dataclass(frozen=True, slots=True)
class Transmission:
    start_s: float
    end_s: float
    label: str  # "speech", or "" when the segmenter did not say


@dataclass(frozen=True, slots=True)
class InterceptMatch:
    query: Reference
    reference: Reference
    reference_sha256: str | None
    offset_s: float | None  # the reference's time at the query's time zero
    speed: float | None
    score: float | None
    query_span_s: tuple[float, float] | None
    reference_span_s: tuple[float, float] | None
    confidence: str = ""  # "strong" | "likely" (weak matches are not shown); "" in records made before it


# Offsets closer than this are one place in a recording, as the audio matcher joins them (audio/match.py).
_SAME_PLACE_S = 0.5


def parse_utc(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))  # noqa: FURB162 - kept: odd text reads differently
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


def time_span(view: CaseView) -> TimeSpan | None:
    """Gives the span from the earliest capture to the latest capture's end, from the metadata records."""
    dated: list[tuple[datetime, datetime, ItemView]] = []
    undated = 0
    for item in view.items:
        meta = item.metadata
        if meta is None or meta.media_type not in ("video", "image", "audio"):
            continue
        start = meta.captured_at_utc
        if start is None:
            undated += 1
            continue
        duration = (meta.container.duration_s if meta.container else None) or 0.0
        try:
            end = start + timedelta(seconds=float(duration))
        except (OverflowError, ValueError):  # a duration or a date past what a clock can hold: the capture alone
            end = start
        dated.append((start, max(start, end), item))
    if not dated:
        return None
    first = min(dated, key=lambda d: d[0])
    last = max(dated, key=lambda d: d[1])
    return TimeSpan(first[0], last[1], first[2], last[2], len(dated), undated)


def places(view: CaseView) -> list[Place]:
    """Gives every GPS position a metadata record claims, in item order."""
    found = []
    for item in view.items:
        gps = item.metadata.gps if item.metadata is not None else None
        if gps is not None and gps.has_position:
            found.append(Place(item, gps.latitude_deg, gps.longitude_deg, gps.altitude_m, gps.source or ""))
    return found


def _ref(view: CaseView, name: Any, sha256: Any = None) -> Reference:
    item = view.item(str(sha256).removeprefix("sha256:")) if sha256 else None
    return Reference(str(name if name is not None else sha256), item or view.item_named(str(name)))


def _span(start: float | None, end: float | None) -> tuple[float, float] | None:
    return (float(start), float(end)) if start is not None and end is not None else None


def duplicate_groups(view: CaseView) -> list[list[Reference]]:
    """Gives the groups of "same" footage the near-duplicates records hold, each once, largest first."""
    groups: dict[tuple[str, ...], list[Reference]] = {}
    for item in view.items:
        record = item.near_duplicates
        if record is None or not record.group:
            continue
        refs = [_ref(view, name) for name in record.group]
        key = tuple(sorted(r.key for r in refs))
        if len(set(key)) > 1:
            groups.setdefault(key, refs)
    return sorted(groups.values(), key=lambda g: (-len(g), [r.label for r in g]))


def duplicate_matches(view: CaseView) -> list[DuplicateMatch]:
    """Gives every near-duplicate match the records hold, each pair and relation once, best score first."""
    seen: dict[tuple[str, str, str], DuplicateMatch] = {}
    for item in view.items:
        record = item.near_duplicates
        if record is None:
            continue
        for m in record.matches:
            confidence = m.confidence if record.graded else ""  # a record made before confidences gives none
            if confidence == "weak":
                continue  # listed by `forensics dedup --all`, not in a report
            a, b = _ref(view, m.a), _ref(view, m.b)
            match = DuplicateMatch(a, b, m.kind, m.relation, m.score, _span(m.a_start_s, m.a_end_s),
                                   _span(m.b_start_s, m.b_end_s), confidence)
            # One pair, one match: the other item's record lists it too, maybe the other way round (B holds A).
            key = (min(a.key, b.key), max(a.key, b.key), "")
            if key not in seen or (match.score or 0.0) > (seen[key].score or 0.0):
                seen[key] = match
    return sorted(seen.values(), key=lambda m: -(m.score or 0.0))


def scene_leads(view: CaseView) -> list[SceneLead]:
    """Gives the pairs the records call alike but not shown to be one recording, each pair once (either way round),
    and none that a match shows to be one recording."""
    matched = {(min(m.a.key, m.b.key), max(m.a.key, m.b.key)) for m in duplicate_matches(view)}
    seen: dict[tuple[str, str], SceneLead] = {}
    for item in view.items:
        record = item.near_duplicates
        for m in record.scene_matches if record is not None else ():
            a, b = _ref(view, m.a), _ref(view, m.b)
            pair = (min(a.key, b.key), max(a.key, b.key))
            if pair not in matched:
                seen.setdefault(pair, SceneLead(a, b, m.kind, m.reason))
    return sorted(seen.values(), key=lambda lead: (lead.a.label, lead.b.label))


def transmissions(item: ItemView) -> list[Transmission]:
    """Gives the push-to-talk bursts (speech segments) the item's audio record found, in time order.

    Squelch tails, hiss and silence are left out; a segment whose kind the record does not give is kept.
    """
    record = item.audio
    if record is None:
        return []
    found = [Transmission(s.start_s, s.end_s, s.kind) for s in record.segments if s.kind in ("", "speech")]
    return sorted(found, key=lambda t: t.start_s)


def intercept_matches(view: CaseView) -> list[InterceptMatch]:
    """Gives the intercept matches the audio records hold, weak ones left out, best score first.

    Two recordings of the case linked both ways (A's audio found in B, and B's in A)
    are one match: the better-scored direction. Two places of one pair (the same
    transmission heard twice) stay two matches.
    """
    kept: dict[tuple[str, str], list[InterceptMatch]] = {}
    for match in _all_intercept_matches(view):
        first, second = sorted((match.query.key, match.reference.key))
        pair = kept.setdefault((first, second), [])
        same = next((n for n, m in enumerate(pair) if _same_place(m, match)), None)
        if same is None:
            pair.append(match)
        elif (match.score or 0.0) > (pair[same].score or 0.0):
            pair[same] = match
    return sorted((m for pair in kept.values() for m in pair), key=lambda m: -(m.score or 0.0))


def _all_intercept_matches(view: CaseView) -> Iterable[InterceptMatch]:
    """Gives every intercept match the audio records hold but the weak ones."""
    for item in view.items:
        record = item.audio
        if record is None:
            continue
        # The audio step's own record: links to files of the case, and matches in an intercept library;
        # an older record's matches of named queries.
        results = [(r.query, r.matches) for r in record.results]
        results += [(None, matches) for matches in (record.links, record.library and record.library.matches)
                    if matches]
        for query_name, matches in results:
            query = Reference(item.display_name, item) if query_name is None else _ref(view, query_name)
            for m in matches:
                if m.confidence == "weak":
                    continue  # a report leaves weak matches out, as it does weak near-duplicates
                yield InterceptMatch(query, _ref(view, m.reference, m.reference_sha256), m.reference_sha256,
                                     m.offset_s, m.speed, m.score, _span(m.query_start_s, m.query_end_s),
                                     _span(m.reference_start_s, m.reference_end_s), m.confidence or "")


def _same_place(a: InterceptMatch, b: InterceptMatch) -> bool:
    """Gives whether two matches of one pair of files align them alike, whichever way each was found."""
    place_a, place_b = _place(a), _place(b)
    if place_a is None or place_b is None:
        return place_a == place_b
    return abs(place_a - place_b) < _SAME_PLACE_S


def _place(match: InterceptMatch) -> float | None:
    """Gives the time in the file whose key sorts last at the other's time zero (the reverse offset is -offset/speed)."""
    if match.offset_s is None:
        return None
    if match.query.key <= match.reference.key:
        return float(match.offset_s)
    return -float(match.offset_s) / float(match.speed or 1.0)
