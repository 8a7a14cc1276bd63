"""forensics: evidence handling for verifiers of attacks on civilians.

The public API is `__all__`; everything else may change without notice.
Names are imported on first use (PEP 562), so `import forensics` stays cheap
for commands that never touch the media stack (OpenCV, PyAV, SciPy).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

from forensics.errors import (
    CaseDamaged,
    CaseError,
    CaseInvalid,
    CaseLocked,
    ForensicsError,
    MediaError,
    MediaTimeout,
    MediaUnreadable,
    ParameterError,
    SigningKeyError,
    SourceError,
    TimestampError,
)
from forensics.progress import Progress, ProgressCallback

_LAZY = {
    "Case": "forensics.custody.case", "open_case": "forensics.custody.case",
    "seal_case": "forensics.custody.seal",
    "SigningKey": "forensics.custody.signing", "key_for": "forensics.custody.signing",
    "load_key": "forensics.custody.signing", "new_key": "forensics.custody.signing",
    "Finding": "forensics.custody.verify", "VerifyReport": "forensics.custody.verify",
    "verify_case": "forensics.custody.verify",
    "IngestReport": "forensics.incident", "ingest": "forensics.incident",
    "IncidentSummary": "forensics.batch", "run_batch": "forensics.batch",
    "Runner": "forensics.pipeline.runners", "dask_runner": "forensics.pipeline.runners",
    "process_runner": "forensics.pipeline.runners", "thread_runner": "forensics.pipeline.runners",
    "contact_sheet": "forensics.media.video.contact_sheet", "thumbnail": "forensics.media.video.contact_sheet",
    "Frame": "forensics.media.video.frames", "FrameSet": "forensics.media.video.frames",
    "Shot": "forensics.media.video.frames", "extract_frames": "forensics.media.video.frames",
    "encode_image": "forensics.media.video.image_encoding",
    "MediaRecord": "forensics.media.metadata.record",
    "media_files": "forensics.inputs",
    "probe_many": "forensics.media.metadata.probe", "probe_media": "forensics.media.metadata.probe",
    "display_rotation_cw_deg": "forensics.media.video.rotation",
    "CaseView": "forensics.custody.view", "read_case": "forensics.custody.view",
    "Exported": "forensics.report.exported", "write_export": "forensics.report.export",
    "write_report": "forensics.report.html", "write_pdf_report": "forensics.report.pdf",
    "check_pdf_signature": "forensics.report.pdf_signature",
    "MediaHashes": "forensics.dedup.media_hashes", "hash_media": "forensics.dedup.media_hashes",
    "PerceptualHash": "forensics.dedup.hashes", "PairMatch": "forensics.dedup.align", "compare": "forensics.dedup.align",
    "DedupResult": "forensics.dedup.groups", "find_duplicates": "forensics.dedup.groups",
    "HashIndex": "forensics.dedup.index", "HashStore": "forensics.dedup.store",
    "decode_audio": "forensics.audio.decode", "segment_samples": "forensics.audio.segments",
    "index_paths": "forensics.audio.search", "match_paths": "forensics.audio.search",
    "upgrade_library": "forensics.audio.upgrade",
    "ExportScan": "forensics.messages.record", "scan_exports": "forensics.messages.scan",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'forensics' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "Case",
    "CaseDamaged",
    "CaseError",
    "CaseInvalid",
    "CaseLocked",
    "CaseView",
    "DedupResult",
    "ExportScan",
    "Exported",
    "Finding",
    "ForensicsError",
    "Frame",
    "FrameSet",
    "HashIndex",
    "HashStore",
    "IncidentSummary",
    "IngestReport",
    "MediaError",
    "MediaHashes",
    "MediaRecord",
    "MediaTimeout",
    "MediaUnreadable",
    "PairMatch",
    "ParameterError",
    "PerceptualHash",
    "Progress",
    "ProgressCallback",
    "Runner",
    "Shot",
    "SigningKey",
    "SigningKeyError",
    "SourceError",
    "TimestampError",
    "VerifyReport",
    "check_pdf_signature",
    "compare",
    "contact_sheet",
    "dask_runner",
    "decode_audio",
    "display_rotation_cw_deg",
    "encode_image",
    "extract_frames",
    "find_duplicates",
    "hash_media",
    "index_paths",
    "ingest",
    "key_for",
    "load_key",
    "match_paths",
    "media_files",
    "new_key",
    "open_case",
    "probe_many",
    "probe_media",
    "process_runner",
    "read_case",
    "run_batch",
    "scan_exports",
    "seal_case",
    "segment_samples",
    "thread_runner",
    "thumbnail",
    "upgrade_library",
    "verify_case",
    "write_export",
    "write_pdf_report",
    "write_report",
]
