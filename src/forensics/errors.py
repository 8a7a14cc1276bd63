"""The errors the library raises; every one is a ForensicsError.

    ForensicsError
    ├── ParameterError        an argument is out of range or inconsistent
    ├── CaseError             the case folder cannot be used as asked
    │   ├── CaseLocked        another process is writing the case
    │   ├── CaseInvalid       not a case, or its records cannot be read
    │   └── CaseDamaged       the case holds damage no crash of this program
    │                         leaves; writing commands refuse it
    ├── SigningKeyError       a key file is missing, unreadable or not Ed25519
    ├── SourceError           one source file could not be taken in (unreadable,
    │                         vanished, changed while read, not a regular file)
    ├── MediaError            a media file could not be analysed
    │   ├── MediaUnreadable   not decodable, truncated, or of an unknown kind
    │   └── MediaTimeout      a reader took longer than its time limit
    └── TimestampError        an RFC 3161 time-stamp could not be had or checked

Third-party errors are translated where they enter the library, so a caller
catches ForensicsError and gets a message that names the file and what to do.
"""

from __future__ import annotations


class ForensicsError(Exception):
    """Root of every error this library raises."""


class ParameterError(ForensicsError, ValueError):
    """An argument is out of range or inconsistent with another."""


class CaseError(ForensicsError):
    """The case folder cannot be used as asked."""


class CaseLocked(CaseError):
    """Another process holds the case's write lock."""


class CaseInvalid(CaseError):
    """The folder is not a case, or its records cannot be read."""


class CaseDamaged(CaseError):
    """The case is damaged, or holds what this program never writes; nothing was written to it.

    Raised by every command that would write to a case (ingest, batch, seal,
    report, export) when the case is in a state that no crash of this program
    leaves: a log cut shorter than its signed head, entries missing or altered,
    links or devices in the case, tag files the log does not name. `verify`
    shows each finding.
    """


class SigningKeyError(ForensicsError):
    """A signing key is missing, unreadable, or not an Ed25519 key."""


class SourceError(ForensicsError):
    """One source file could not be taken in; the rest of the run goes on."""


class MediaError(ForensicsError):
    """A media file could not be analysed."""


class MediaUnreadable(MediaError):
    """The file is not decodable media, is truncated, or is of an unknown kind."""


class MediaTimeout(MediaError):
    """A reader took longer than its time limit on one file."""


class TimestampError(ForensicsError):
    """An RFC 3161 time-stamp could not be obtained or does not verify."""


# What a file that needs more memory than the process may have gets as its error (the run goes on).
OUT_OF_MEMORY = "needs more memory than this process may use; split or shorten it, or run it alone"


def file_error(name: str, ex: BaseException) -> str:
    """Gives the error text of one file for `ex`: a MemoryError (which carries no text) said in words."""
    return f"{name}: {OUT_OF_MEMORY}" if isinstance(ex, MemoryError) else str(ex)
