"""forensics: evidence handling for verifiers of attacks on civilians.

The public API is `__all__`; everything else may change without notice.
"""

from __future__ import annotations

__version__ = "0.1.0"

from forensics.custody.case import Case, open_case
from forensics.custody.seal import seal_case
from forensics.custody.signing import SigningKey, key_for, load_key, new_key
from forensics.custody.verify import Finding, VerifyReport, verify_case
from forensics.errors import (CaseError, CaseInvalid, CaseLocked, ForensicsError, MediaError, MediaTimeout,
                              MediaUnreadable, ParameterError, SigningKeyError, SourceError, TimestampError)
from forensics.incident import IngestReport, ingest
from forensics.media.contact_sheet import contact_sheet, thumbnail
from forensics.media.frames import Frame, FrameSet, Shot, extract_frames
from forensics.media.image_encoding import encode_image
from forensics.media.metadata import MediaRecord
from forensics.media.probe import media_files, probe_many, probe_media
from forensics.media.rotation import display_rotation_deg
from forensics.progress import Progress, ProgressCallback

__all__ = [
    "Case",
    "CaseError",
    "CaseInvalid",
    "CaseLocked",
    "Finding",
    "ForensicsError",
    "Frame",
    "FrameSet",
    "IngestReport",
    "MediaError",
    "MediaRecord",
    "MediaTimeout",
    "MediaUnreadable",
    "ParameterError",
    "Progress",
    "ProgressCallback",
    "Shot",
    "SigningKey",
    "SigningKeyError",
    "SourceError",
    "TimestampError",
    "VerifyReport",
    "contact_sheet",
    "display_rotation_deg",
    "encode_image",
    "extract_frames",
    "ingest",
    "key_for",
    "load_key",
    "media_files",
    "new_key",
    "open_case",
    "probe_many",
    "probe_media",
    "seal_case",
    "thumbnail",
    "verify_case",
]
