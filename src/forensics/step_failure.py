"""The record a step leaves when it could not be done: what went wrong, in a sentence."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from forensics.errors import ParameterError
from forensics.record_kinds import AUDIO, RecordKind


@dataclass(frozen=True, slots=True)
class StepFailure:
    """A step that failed on one file (a decoder error, a lost worker): its record says only why.

    Records of this shape carry no version: they have been `{"error": ...}` since the first case
    (the audio step's add `"tracks": []`), and a reader tells them by having no other key.
    """

    kind: RecordKind  # the step that failed
    error: str | None  # None only in an audio step's record that found no sound track to read

    def to_json(self) -> dict[str, Any]:
        """Gives the record as written to a case."""
        return {"error": self.error, "tracks": []} if self.kind == AUDIO else {"error": self.error}

    @classmethod
    def from_json(cls, kind: RecordKind, data: Mapping[str, Any]) -> StepFailure:
        """Gives back the failure `to_json` wrote; raises ParameterError when `data` is not one."""
        if not is_failure(data):
            raise ParameterError(f"not the record of a failed {kind} step")
        return cls(kind, data["error"])


def is_failure(data: Mapping[str, Any]) -> bool:
    """Gives whether a record is a failed step's: an error and nothing else (an audio step's: no tracks either)."""
    return "error" in data and (data["error"] is None or isinstance(data["error"], str)) and \
        set(data) <= {"error", "tracks"} and not data.get("tracks")
