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
from forensics.progress import Progress, ProgressCallback

__all__ = [
    "Case",
    "CaseError",
    "CaseInvalid",
    "CaseLocked",
    "Finding",
    "ForensicsError",
    "IngestReport",
    "MediaError",
    "MediaTimeout",
    "MediaUnreadable",
    "ParameterError",
    "Progress",
    "ProgressCallback",
    "SigningKey",
    "SigningKeyError",
    "SourceError",
    "TimestampError",
    "VerifyReport",
    "ingest",
    "key_for",
    "load_key",
    "new_key",
    "open_case",
    "seal_case",
    "verify_case",
]
