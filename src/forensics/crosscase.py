"""The cross-case index of a batch: footage and intercepts that appear in more than one incident.

One folder holds two SQLite files: `hashes.sqlite`, the perceptual hashes of every
photo and video of every case (forensics.dedup.store), and `intercepts.sqlite`, the
audio fingerprints of every recording (forensics.audio.library). After each incident,
in the folders' name order, the batch compares that case's items with what the index
holds from other incidents, then adds them: on a first run a pair is reported by the
later incident of the two, on a later run by both. Cases are read, never
written: the findings go to the batch's summary. The index is safe to copy and to
reuse across batches.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from forensics.custody.case import LOG, case_lock
from forensics.custody.log import read_entries
from forensics.custody.state import CaseState, Item

DEDUP, AUDIO = "dedup", "audio"  # the record kinds of forensics.analyses this reads


@dataclass(frozen=True, slots=True)
class Elsewhere:
    """An item of this incident that another incident also holds: the same footage, or a transmission."""

    kind: str  # "footage" or "intercept"
    sha256: str  # this item's, hex
    name: str  # as received in this incident
    other_incident: str
    other_sha256: str
    other_name: str
    relation: str  # footage: same, a_contains_b, b_contains_a, overlap (a is this item); intercept: "shares"
    score: float | None
    span_s: tuple[float, float] | None  # where in this item
    other_span_s: tuple[float, float] | None

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "sha256": self.sha256, "name": self.name, "other_incident": self.other_incident,
                "other_sha256": self.other_sha256, "other_name": self.other_name, "relation": self.relation,
                "score": self.score, "span_s": list(self.span_s) if self.span_s else None,
                "other_span_s": list(self.other_span_s) if self.other_span_s else None}


class CrossCaseIndex:
    """The index folder, open; use as a context manager."""

    def __init__(self, folder: Path) -> None:
        from forensics.audio.library import Library
        from forensics.dedup.store import HashStore

        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._hashes = HashStore(self.folder / "hashes.sqlite")
        self._intercepts = Library(self.folder / "intercepts.sqlite")

    def __enter__(self) -> CrossCaseIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._hashes.close()
        self._intercepts.close()

    def add_case(self, case: Path, incident: str) -> list[Elsewhere]:
        """Gives the items of `incident` in `case` that other incidents of the index hold too, then indexes them."""
        case = Path(case)
        items = _items_of(case, incident)
        return self._footage(case, incident, items) + self._transmissions(case, incident, items)

    def _footage(self, case: Path, incident: str, items: list[Item]) -> list[Elsewhere]:
        from forensics.dedup.groups import find_duplicates
        from forensics.dedup.media_hashes import MediaHashes

        # Keyed "incident:sha256:name": the store keeps a key and a collection, and the finding names both sides.
        mine = {}
        for item in items:
            record = _record(case, item, DEDUP)
            if record is not None and not record.get("error"):
                key = f"{incident}:{item.stored.sha256}:{item.receipts[0]['name']}"
                mine[key] = (item, dataclasses.replace(MediaHashes.from_json(record), key=key))
        others = [m for collection, m in self._hashes.items() if collection != incident]
        found = []
        if mine and others:
            for match in find_duplicates([m for _, m in mine.values()], known=others).matches:
                if (match.a in mine) == (match.b in mine):
                    continue  # both of this incident: the case's own near-duplicates records hold it
                flipped = match.b in mine
                here, there = (match.b, match.a) if flipped else (match.a, match.b)
                item = mine[here][0]
                other_incident, other_sha256, other_name = there.split(":", 2)
                a_span, b_span = _span(match.to_json(), "a"), _span(match.to_json(), "b")
                found.append(Elsewhere("footage", item.stored.sha256, item.receipts[0]["name"], other_incident,
                                       other_sha256, other_name, _FLIPPED.get(match.relation, match.relation)
                                       if flipped else match.relation, match.score,
                                       b_span if flipped else a_span, a_span if flipped else b_span))
        for _item, media in mine.values():
            self._hashes.put(media, collection=incident)
        return found

    def _transmissions(self, case: Path, incident: str, items: list[Item]) -> list[Elsewhere]:
        from forensics.audio.search import fingerprint_file, match_fingerprinted
        from forensics.audio.spectrum import features_from_bytes

        found = []
        for item in items:
            record = _record(case, item, AUDIO)
            if record is None or not record.get("tracks"):
                continue
            name = item.receipts[0]["name"]
            # Matching checks the aligned audio itself, so the recording is decoded again.
            printed = fingerprint_file(case / item.stored.path, sha256=item.stored.sha256)
            for m in match_fingerprinted(self._intercepts, printed) if printed.audio is not None else ():
                other_incident, _, other_name = m.reference.partition(": ")
                if other_incident == incident:
                    continue  # indexed by an earlier run of this same incident
                found.append(Elsewhere("intercept", item.stored.sha256, name, other_incident, m.reference_sha256,
                                       other_name, "shares", m.score, (m.query_start_s, m.query_end_s),
                                       (m.reference_start_s, m.reference_end_s)))
            for track in record["tracks"]:
                features = features_from_bytes((case / track["fingerprint"]).read_bytes())
                # Content another incident brought first stays filed under that incident's name.
                self._intercepts.add(item.stored.sha256, track["stream_index"], f"{incident}: {name}", features)
        return found


_FLIPPED = {"a_contains_b": "b_contains_a", "b_contains_a": "a_contains_b"}


def _items_of(case: Path, incident: str) -> list[Item]:
    """The items `incident` brought into the case, read from its custody log under a shared lock."""
    with case_lock(case, exclusive=False):
        state = CaseState.from_entries(read_entries(case / LOG))
    return [i for i in state.items.values() if any(r["incident"] == incident for r in i.receipts)]


def _record(case: Path, item: Item, kind: str) -> dict[str, Any] | None:
    record = item.records.get(kind)
    return json.loads((case / record.path).read_bytes()) if record is not None else None


def _span(match: dict[str, Any], side: str) -> tuple[float, float] | None:
    start, end = match.get(f"{side}_start_s"), match.get(f"{side}_end_s")
    return (start, end) if start is not None and end is not None else None
