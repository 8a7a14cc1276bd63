"""The near-duplicates record ingest keeps of each item (NearDuplicates): its group of the same footage in the
case, and the matches and leads that name it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from forensics.dedup.align import PairMatch, SceneMatch
from forensics.errors import ParameterError
from forensics.record_kinds import VERSION_KEY, readable_version

# 2: the record states its version. Version 1 (no version stated) is the same shape; made before
# 2026-12-04 it has no scene_matches and its matches no confidence, segments or evidence.
RECORD_VERSION = 2


@dataclass(frozen=True, slots=True)
class NearDuplicates:
    """An item's group of the same footage and the matches and leads that name it, over the whole case.

    Items are named "sha256:<hex>" (MediaHashes.key as ingest sets it).
    """

    group: tuple[str, ...]  # every item of the same footage, itself included; empty when none
    matches: tuple[PairMatch, ...]  # the same recording, or one holding part of the other; every confidence
    scene_matches: tuple[SceneMatch, ...] = ()  # alike, not shown to be one recording: leads
    graded: bool = True  # False for a record made before matches had a confidence: theirs say nothing

    def to_json(self) -> dict[str, Any]:
        """Gives the record as written to a case."""
        return {VERSION_KEY: RECORD_VERSION, "group": list(self.group), "matches": [m.to_json() for m in self.matches],
                "scene_matches": [m.to_json() for m in self.scene_matches]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> NearDuplicates:
        """Gives back the record `to_json` wrote, of this version or an earlier one; raises ParameterError
        when `data` is not one."""
        readable_version(data, (1, RECORD_VERSION), "near-duplicates")
        try:
            return cls(group=tuple(str(k) for k in data["group"]),
                       matches=tuple(PairMatch.from_json(m) for m in data["matches"]),
                       scene_matches=tuple(SceneMatch.from_json(m) for m in data.get("scene_matches") or ()),
                       graded=all("confidence" in m for m in data["matches"]))
        except (KeyError, TypeError, ValueError, AttributeError) as ex:
            raise ParameterError(f"not a near-duplicates record ({type(ex).__name__}: {ex})") from ex
