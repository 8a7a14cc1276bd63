"""Every kind of analysis record as its typed value: a case's record JSON in, the step's dataclass out.

Each step's record is a frozen dataclass owned by its package, with `to_json`, `from_json` and a
version (`record_kinds.VERSION_KEY`; a record that states none is version 1, written before
versions were kept, and each `from_json` reads it). A step that failed leaves a StepFailure.
`schema_problems` checks a record against its kind's JSON Schema (forensics/schemas/records/),
which says what each field means; verify runs it on every record it reads.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, TypeAlias

from forensics.errors import ParameterError
from forensics.record_kinds import AUDIO, DEDUP, EXPORT, FRAMES, MESSAGES, METADATA, NEAR_DUPLICATES, RecordKind
from forensics.step_failure import StepFailure, is_failure

if TYPE_CHECKING:
    from forensics.audio.record import AudioRecord
    from forensics.dedup.media_hashes import MediaHashes
    from forensics.dedup.near_duplicates import NearDuplicates
    from forensics.media.metadata.record import MediaRecord
    from forensics.media.video.frame_record import FramesRecord
    from forensics.messages.case_records import CarriersRecord, ExportRecord

Record: TypeAlias = ("MediaRecord | FramesRecord | MediaHashes | NearDuplicates | AudioRecord | CarriersRecord | "
                     "ExportRecord | StepFailure")
KINDS: tuple[RecordKind, ...] = (METADATA, FRAMES, DEDUP, NEAR_DUPLICATES, AUDIO, MESSAGES, EXPORT)


def record_from_json(kind: str, data: Any) -> Record:
    """Gives the typed record of a kind from its JSON; raises ParameterError when it is not one of that kind."""
    if not isinstance(data, Mapping):
        raise ParameterError(f"a {kind} record is a JSON object, not {type(data).__name__}")
    if kind not in KINDS:
        raise ParameterError(f"no kind of record is called {kind!r}")
    if is_failure(data):
        return StepFailure.from_json(kind, data)  # type: ignore[arg-type]  # checked against KINDS above
    if kind == METADATA:
        from forensics.media.metadata.record import MediaRecord

        return MediaRecord.from_json(data)
    if kind == FRAMES:
        from forensics.media.video.frame_record import FramesRecord

        return FramesRecord.from_json(data)
    if kind == DEDUP:
        from forensics.dedup.media_hashes import MediaHashes

        return MediaHashes.from_json(dict(data))
    if kind == NEAR_DUPLICATES:
        from forensics.dedup.near_duplicates import NearDuplicates

        return NearDuplicates.from_json(data)
    if kind == MESSAGES:
        from forensics.messages.case_records import CarriersRecord

        return CarriersRecord.from_json(data)
    if kind == EXPORT:
        from forensics.messages.case_records import ExportRecord

        return ExportRecord.from_json(data)
    from forensics.audio.record import AudioRecord

    return AudioRecord.from_json(data)


_MAX_MESSAGE = 300


def schema_problems(kind: str, data: Any, *, limit: int = 5) -> list[str]:
    """Gives where a record's JSON departs from its kind's schema, at most `limit` sentences; [] when it keeps to it."""
    if kind not in KINDS:
        return [f"no kind of record is called {kind!r}"]
    problems = []
    for error in _validator(kind).iter_errors(data):
        where = "/".join(map(str, error.absolute_path)) or "(top)"
        # jsonschema's message quotes the value, which may be a whole record: a finding names it, it does not copy it.
        message = error.message if len(error.message) <= _MAX_MESSAGE else error.message[:_MAX_MESSAGE] + "…"
        problems.append(f"at {where[:200]}: {message}")
        if len(problems) >= limit:
            break
    return problems


def schema(kind: RecordKind) -> dict[str, Any]:
    """Gives the JSON Schema of a kind of record, as shipped in the package."""
    return json.loads(resources.files("forensics.schemas").joinpath("records").joinpath(f"{kind}.schema.json").read_text("utf-8"))


@cache
def _validator(kind: RecordKind) -> Any:
    import jsonschema  # type: ignore[import-untyped]  # no stubs installed (types-jsonschema is not a dependency)

    return jsonschema.Draft202012Validator(schema(kind))
