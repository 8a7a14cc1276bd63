"""The kinds of record the analysis steps write into a case: one name each, defined once.

A case keeps each item's records by kind (`custody.state.Item.records`, the custody log's `record`
entries); the pipeline writes them (`file_analysis`, `analyses`), and the report and the cross-case
index read them. A name changed here changes it everywhere, and cases written before keep theirs.
"""

from __future__ import annotations

from typing import Final, Literal

RecordKind = Literal["metadata", "frames", "dedup", "near-duplicates", "audio", "messages", "export"]

# Each kind's record is a dataclass (forensics.records gives it from JSON); docs/records.md says what each field means.
METADATA: Final = "metadata"  # what the file says of itself (forensics.media.metadata.record.MediaRecord)
FRAMES: Final = "frames"  # the frames taken from a video, and where their pictures are stored (frame_record.FramesRecord)
DEDUP: Final = "dedup"  # an item's perceptual hashes (forensics.dedup.media_hashes.MediaHashes)
NEAR_DUPLICATES: Final = "near-duplicates"  # its group of the same footage and its matches (dedup.near_duplicates)
AUDIO: Final = "audio"  # its sound tracks: transmissions, fingerprint files, links (forensics.audio.record.AudioRecord)
MESSAGES: Final = "messages"  # the messages that carried it, from exports the case received (messages.case_records)
EXPORT: Final = "export"  # on a messenger or platform export: how it was read, what it names that is absent

# The key that carries a record's version: records written before versions were kept have none (version 1).
VERSION_KEY: Final = "record_version"


def record_version(data: object) -> int:
    """Gives the version of a record's JSON: the one it states, 1 when it states none (written before versions)."""
    version = data.get(VERSION_KEY, 1) if isinstance(data, dict) else 1
    return version if isinstance(version, int) and not isinstance(version, bool) else 0


def readable_version(data: object, versions: tuple[int, ...], what: str) -> int:
    """Gives the version of a record's JSON when it is one of `versions` (those its reader reads); raises
    ParameterError, naming `what` the record is, for anything else (another version, or not a JSON object)."""
    from forensics.errors import ParameterError

    if not isinstance(data, dict):
        raise ParameterError(f"a {what} record is a JSON object, not {type(data).__name__}")
    version = record_version(data)
    if version not in versions:
        stated = data.get(VERSION_KEY, 1)
        said = f"version {version}" if version else f"record_version {stated!r}, not a whole number"
        raise ParameterError(f"not a {what} record this program reads ({said})")
    return version
