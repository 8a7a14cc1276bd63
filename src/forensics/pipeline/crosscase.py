"""The cross-case index of a batch: footage and intercepts that appear in more than one incident.

One folder holds two SQLite files: `hashes.sqlite`, the perceptual hashes of every
photo and video of every case (forensics.dedup.store), and `intercepts.sqlite`, the
audio fingerprints of every recording (forensics.audio.library); and `cases.json`, where
each incident's case is, so that a match in doubt (two photos of a still scene, whose
thumbnails cannot tell another moment) is checked at full size on both cases' stored
copies, those whose digests still hold; one that cannot be is weak, and left out. After each incident,
in the folders' name order, the batch compares that case's items with what the index
holds from other incidents, then adds them: on a first run a pair is reported by the
later incident of the two, on a later run by both. Cases are read, never
written: the findings go to the batch's summary. The index is safe to copy and to
reuse across batches. An index made by a version whose intercept library had another format
has that library built again, from the fingerprints its cases stored, when it is opened
(`_upgraded_intercepts`); the old file is kept beside it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

if TYPE_CHECKING:
    from forensics.audio.record import TrackEntry
    from forensics.audio.spectrum import Features
    from forensics.custody.view import CaseView, ItemView

from forensics.atomic import write_atomic
from forensics.custody.hashing import open_for_reading
from forensics.digests import file_sha256
from forensics.errors import CaseError, ParameterError

log = logging.getLogger(__name__)

CASES = "cases.json"  # in the index folder: incident -> its case folders (absolute)
INTERCEPTS = "intercepts.sqlite"
_CASES_MAX_BYTES = 16 << 20


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
        self._upgraded_intercepts()
        self._intercepts = Library(self.folder / INTERCEPTS)
        self._stored_in: dict[str, dict[str, Path]] = {}  # case folder -> sha256 -> its stored copy, as read
        self._unplaced: set[str] = set()  # incidents whose case the index does not know, said once

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._hashes.close()
        self._intercepts.close()

    def add_case(self, case: Path, incident: str) -> list[Elsewhere]:
        """Gives the items of `incident` in `case` that other incidents of the index hold too, then indexes them."""
        from forensics.custody.view import (
            read_case,  # the read-only view: records whose digests match the log
        )

        case = Path(os.path.abspath(case))
        view = read_case(case)
        items = [i for i in view.items if any(r.incident == incident for r in i.item.receipts)]
        self._note_case(incident, case)
        self._stored_in[str(case)] = {i.sha256: case / i.item.stored.path for i in view.items}
        return self._footage(incident, items) + self._transmissions(view, incident, items)

    def _upgraded_intercepts(self) -> None:
        """Builds the intercept library again when it is of an older format, from each reference's fingerprint as
        its case stored it (the index holds nothing else of the recording); the old library stays beside it as
        `intercepts.<format>.sqlite`. A reference whose case cannot be read, or no longer holds that fingerprint,
        is left out of the new library, and said so: the next run of its incident indexes it again."""
        from forensics.audio.library import OLD_FORMATS, Reference, stored_format
        from forensics.audio.upgrade import upgrading
        from forensics.custody.view import read_case

        path = self.folder / INTERCEPTS
        if not path.exists() or (old_format := stored_format(path)) not in OLD_FORMATS:
            return
        cases = self._cases()
        if not cases:
            raise ParameterError(
                f"{path}: an intercept library of format {old_format!r}, which is built again from the fingerprints "
                f"its cases stored, found where {CASES} says they are; {self.folder / CASES} "
                + ("cannot be read" if cases is None else "names no case")
                + ": the index was left as it is. Restore it, or give the batch another index folder")
        views: dict[str, CaseView | None] = {}

        def stored(ref: Reference) -> Features | None:
            """The reference's fingerprint as the first of its incident's cases that holds it stored it."""
            incident = ref.path.partition(": ")[0]
            for folder in cases.get(incident, []):
                if folder not in views:
                    try:
                        views[folder] = read_case(Path(folder))
                    except (CaseError, OSError, ValueError) as ex:
                        log.warning("the case of %s cannot be read (%s)", incident, ex)
                        views[folder] = None
                view = views[folder]
                item = view.by_sha256.get(ref.sha256) if view is not None else None
                if view is not None and item is not None:
                    try:
                        found = _fingerprints(view, item).get(ref.stream_index)
                    except (OSError, ValueError) as ex:
                        log.warning("%s: its stored fingerprint cannot be used (%s)", ref.path, ex)
                        continue
                    if found is not None:
                        return found
            return None

        # The old library is linked under its new name first: a kill before the new one takes its place leaves
        # that link to the old library, which the next upgrade takes back.
        kept = self.folder / f"intercepts.{old_format.rpartition('/')[2]}.sqlite"
        if kept.exists() and os.path.samefile(kept, path):
            kept.unlink()
        number = 1
        while kept.exists():  # an old library kept by an earlier upgrade stays as it is
            kept = self.folder / f"intercepts.{old_format.rpartition('/')[2]}.{number}.sqlite"
            number += 1
        os.link(path, kept)
        left_out = []
        try:
            with upgrading(path) as upgrade:  # the old one checked, the new one built beside it, put in its place
                for ref in upgrade.old:
                    features = stored(ref)
                    if features is None:
                        left_out.append(ref.path)
                    else:
                        upgrade.new.add(ref.sha256, ref.stream_index, ref.path, features, added_utc=ref.added_utc)
        except BaseException:
            if os.path.samefile(kept, path):
                kept.unlink()  # the old library stays where it was, under its one name
            raise
        log.warning("%s was of format %r: built again from its cases' fingerprints (%d of %d recordings; the old "
                    "library is kept as %s)%s", path, old_format, len(upgrade.old) - len(left_out), len(upgrade.old),
                    kept.name, f"; left out, their case unreadable or changed: {', '.join(left_out)}" if left_out
                    else "")

    def _note_case(self, incident: str, case: Path) -> None:
        """Records where `incident`'s case is, so a later incident's matches in doubt can be checked on its copies.

        An incident name may stand for cases under two batch roots: each is kept. A `cases.json` that cannot
        be read as one is left as it is (not overwritten), and said so.
        """
        cases = self._cases()
        if cases is None:
            log.warning("%s is left as it is: where %s's case is goes unrecorded", self.folder / CASES, incident)
            return
        if str(case) not in cases.get(incident, []):
            cases[incident] = [*cases.get(incident, []), str(case)]
            write_atomic(self.folder / CASES, json.dumps(cases, sort_keys=True, indent=1).encode("utf-8"))

    def _cases(self) -> dict[str, list[str]] | None:
        """Gives incident -> its case folders (absolute; a relative one is of the index folder), {} when there is no
        `cases.json`, None when there is one that cannot be read as one (not a regular file, too big, not JSON)."""
        path = self.folder / CASES
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))  # a FIFO does not block
        except FileNotFoundError:
            return {}
        except OSError as ex:
            log.warning("%s cannot be read (%s)", path, ex)
            return None
        try:
            found = os.fstat(fd)
            if not stat.S_ISREG(found.st_mode) or found.st_size > _CASES_MAX_BYTES:
                log.warning("%s is not a file of where cases are (a regular file of at most %d bytes)", path,
                            _CASES_MAX_BYTES)
                return None
            with os.fdopen(os.dup(fd), "rb") as stream:
                data = json.loads(stream.read(_CASES_MAX_BYTES + 1))
        except (OSError, ValueError) as ex:
            log.warning("%s cannot be read (%s)", path, ex)
            return None
        finally:
            os.close(fd)
        if not isinstance(data, dict):
            log.warning("%s is not a file of where cases are (a JSON object)", path)
            return None
        cases: dict[str, list[str]] = {}
        for incident, where in data.items():
            folders = [where] if isinstance(where, str) else where if isinstance(where, list) else []
            cases[str(incident)] = [os.path.join(self.folder, f) for f in folders if isinstance(f, str) and f]
        return cases

    def _stored_copy(self, cases: dict[str, list[str]], incident: str, sha256: str) -> Path | None:
        """Gives the stored copy of an item of `incident` (its case folders in `cases`) whose content is still
        `sha256`, or None (its case moved, unreadable, or the copy changed): a match in doubt is checked on
        evidence whose digest holds, or not at all."""
        folders = cases.get(incident, [])
        if not folders and incident not in self._unplaced:
            self._unplaced.add(incident)
            log.warning("the index does not say where %s's case is: its matches in doubt stay weak", incident)
        for folder in folders:
            path = self._stored_in_case(folder, incident).get(sha256)
            if path is None:
                continue
            try:
                # Opened as custody opens evidence: no final symlink followed, a FIFO not waited on.
                with os.fdopen(open_for_reading(path), "rb") as stored:
                    held = file_sha256(stored)
            except OSError as ex:
                log.warning("%s cannot be read (%s): its matches in doubt stay weak", path, ex)
                continue
            if held == sha256:
                return path
            log.warning("%s no longer holds what %s's log says (sha256 %s): its matches in doubt stay weak",
                        path, incident, sha256)
        return None

    def _stored_in_case(self, folder: str, incident: str) -> dict[str, Path]:
        """Gives sha256 -> stored copy of a case's items; {} (asked again later) when the case cannot be read."""
        from forensics.custody.view import read_case

        if folder not in self._stored_in:
            try:
                self._stored_in[folder] = {i.sha256: Path(folder) / i.item.stored.path
                                           for i in read_case(Path(folder)).items}
            except (CaseError, OSError, ValueError) as ex:  # moved, damaged, or being written now
                log.warning("the case of %s cannot be read (%s): its matches in doubt stay weak", incident, ex)
                return {}
        return self._stored_in[folder]

    def _footage(self, incident: str, items: list[ItemView]) -> list[Elsewhere]:
        from forensics.dedup.groups import find_duplicates
        from forensics.pipeline.analyses import measured_apart

        # Keyed "incident:sha256:name": the store keeps a key and a collection, and the finding names both sides.
        mine = {}
        for item in items:
            hashes = item.hashes
            if hashes is not None:
                key = f"{incident}:{item.sha256}:{item.display_name}"
                mine[key] = (item, dataclasses.replace(hashes, key=key))
        others = [m for collection, m in self._hashes.items() if collection != incident]
        found = []
        if mine and others:
            checked: dict[str, Path | None] = {}
            cases = self._cases() or {}

            def files(key: str) -> Path | None:
                # Matches in doubt (a still of a still scene) are checked on the cases' stored copies.
                if key not in checked:
                    other_incident, sha256, _name = key.split(":", 2)
                    checked[key] = self._stored_copy(cases, other_incident, sha256)
                return checked[key]

            for match in find_duplicates([m for _, m in mine.values()], known=others, files=files,
                                         measured=measured_apart).listed():
                if (match.a in mine) == (match.b in mine):
                    continue  # both of this incident: the case's own near-duplicates records hold it
                if match.b in mine:
                    match = match.swapped()  # this incident's item first
                item = mine[match.a][0]
                other_incident, other_sha256, other_name = match.b.split(":", 2)
                found.append(Elsewhere("footage", item.sha256, item.display_name, other_incident, other_sha256,
                                       other_name, match.relation, match.score, _span(match.a_start_s, match.a_end_s),
                                       _span(match.b_start_s, match.b_end_s)))
        for _item, media in mine.values():
            self._hashes.put(media, collection=incident)
        return found

    def _transmissions(self, view: CaseView, incident: str, items: list[ItemView]) -> list[Elsewhere]:
        from forensics.audio.search import fingerprint_file, match_fingerprinted

        found = []
        for item in items:
            record = item.audio
            if record is None or not record.tracks:
                continue
            try:
                stored = _fingerprints(view, item)
            except (OSError, ValueError) as ex:
                log.warning("%s: its stored fingerprint cannot be used (%s); not indexed", item.display_name, ex)
                continue
            # Matching checks the aligned audio itself, so the recording is decoded again (not analysed again).
            printed = fingerprint_file(view.path / item.item.stored.path, sha256=item.sha256, known=stored)
            for m in match_fingerprinted(self._intercepts, printed) if printed.audio is not None else ():
                other_incident, _, other_name = m.reference.partition(": ")
                if other_incident == incident or m.confidence == "weak":
                    continue  # indexed by an earlier run of this same incident; a weak match is no link
                found.append(Elsewhere("intercept", item.sha256, item.display_name, other_incident,
                                       m.reference_sha256, other_name, "shares", m.score,
                                       (m.query_start_s, m.query_end_s), (m.reference_start_s, m.reference_end_s)))
            for stream_index, features in stored.items():
                # Content another incident brought first stays filed under that incident's name.
                self._intercepts.add(item.sha256, stream_index, f"{incident}: {item.display_name}", features)
        return found


def _fingerprints(view: CaseView, item: ItemView) -> dict[int, Features]:
    """Gives the fingerprint the case stored of each of the item's sound tracks, by stream index; raises OSError or
    ValueError when one cannot be read or used."""
    from forensics.audio.spectrum import features_from_bytes

    record = item.audio
    return {track.stream_index: features_from_bytes(view.read_derived(item, _fingerprint(track)))
            for track in (record.tracks if record is not None else ())}


def _fingerprint(track: TrackEntry) -> str:
    if track.fingerprint is None:
        raise ValueError(f"the record names no fingerprint file of stream {track.stream_index}")
    return track.fingerprint


def _span(start: float | None, end: float | None) -> tuple[float, float] | None:
    return (start, end) if start is not None and end is not None else None
