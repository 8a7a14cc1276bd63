"""Files in, answers out: fingerprint media files, add them to a library, find queries in it.

Each file is decoded once; every audio track is fingerprinted and searched on its own. A
file that cannot be read gets its error in its result and the others go on.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from forensics.audio.decode import SAMPLE_RATE_HZ, AudioTrack, AudioTracks, decode_audio
from forensics.audio.library import Library
from forensics.audio.match import QUERY_PEAKS_PER_S, Match, match_samples
from forensics.audio.segments import segment_samples
from forensics.audio.spectrum import LIBRARY_PEAKS_PER_S, Features, analyse
from forensics.digests import file_sha256
from forensics.errors import MediaError, MediaUnreadable, file_error
from forensics.inputs import regular_file
from forensics.progress import ProgressCallback, tell

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Fingerprinted:
    """One file's audio: its tracks and each track's features, or why it has none."""

    path: str
    sha256: str
    audio: AudioTracks | None
    features: tuple[Features, ...] = ()  # one per track of `audio`
    error: str | None = None


@dataclass(frozen=True, slots=True)
class QueryResult:
    """The matches of one query file, best first; empty when its audio is not in the library."""

    query: str
    matches: tuple[Match, ...] = ()
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"query": self.query, "matches": [m.to_json() for m in self.matches]}
        if self.error is not None:
            out["error"] = self.error
        return out


@dataclass(frozen=True, slots=True)
class IndexReport:
    """What adding files to a library did."""

    tracks: tuple[tuple[str, bool], ...] = ()  # ("path" or "path#stream", added) in the order of the files given
    errors: tuple[tuple[str, str], ...] = field(default=())  # (path, reason)

    @property
    def added(self) -> tuple[str, ...]:
        """The tracks added."""
        return tuple(label for label, added in self.tracks if added)

    @property
    def already(self) -> tuple[str, ...]:
        """The tracks the library held before."""
        return tuple(label for label, added in self.tracks if not added)


def sha256_of(path: Path) -> str:
    """Gives back the hex SHA-256 of a file's bytes; raises MediaUnreadable for a link, FIFO or device."""
    regular_file(path)
    with open(path, "rb") as f:
        return file_sha256(f)


def fingerprint_file(path: Path, *, sha256: str | None = None, peaks_per_s: float = LIBRARY_PEAKS_PER_S,
                     known: Mapping[int, Features] | None = None) -> Fingerprinted:
    """Gives back the decoded audio and features of every track of a file; MediaError becomes `error`.

    `known` holds features worked out before (with the same `peaks_per_s`), by stream index:
    those tracks are decoded but not analysed again.
    """
    path = Path(path)
    try:
        digest = sha256 or sha256_of(path)
    except MediaUnreadable as ex:
        return Fingerprinted(str(path), "", None, error=str(ex))
    except OSError as ex:
        return Fingerprinted(str(path), "", None, error=f"{path.name}: cannot be read ({ex.strerror or ex})")
    try:
        audio = decode_audio(path, sample_rate_hz=SAMPLE_RATE_HZ)
        known = known or {}
        return Fingerprinted(str(path), digest, audio, tuple(
            known[t.stream_index] if t.stream_index in known
            else analyse(t.samples, t.sample_rate_hz, peaks_per_s=peaks_per_s) for t in audio.tracks))
    except (MediaError, MemoryError) as ex:
        return Fingerprinted(str(path), digest, None, error=file_error(path.name, ex))


def add_to_library(library: Library, printed: Fingerprinted, *, name: str | None = None) -> list[tuple[str, bool]]:
    """Adds every track of a fingerprinted file; gives back each track's label and whether it was added
    (False: the library held it already)."""
    assert printed.audio is not None
    return [(_label(name or printed.path, track.stream_index, len(printed.audio.tracks)),
             library.add(printed.sha256, track.stream_index, name or printed.path, features) is not None)
            for track, features in zip(printed.audio.tracks, printed.features)]


def index_paths(library: Library, paths: Sequence[Path], *, progress: ProgressCallback | None = None) -> IndexReport:
    """Adds the audio of every file to the library (tracks it holds already are skipped)."""
    tracks: list[tuple[str, bool]] = []
    errors: list[tuple[str, str]] = []
    for done, path in enumerate(paths):
        tell(progress, done, len(paths), str(path))
        try:
            digest = sha256_of(path)
        except MediaUnreadable as ex:
            errors.append((str(path), str(ex)))
            continue
        except OSError:
            digest = None  # fingerprint_file says why it cannot be read
        # Hashing first: a file already in the library is not decoded again.
        if digest is not None and library.has_file(digest):
            tracks.append((str(path), False))
            continue
        printed = fingerprint_file(path, sha256=digest)
        if printed.error is not None:
            errors.append((str(path), printed.error))
            continue
        tracks += add_to_library(library, printed)
    tell(progress, len(paths), len(paths), "")
    return IndexReport(tuple(tracks), tuple(errors))


def match_fingerprinted(library: Library, printed: Fingerprinted, **options: Any) -> tuple[Match, ...]:
    """Gives back the matches of every track of a fingerprinted file, best first."""
    assert printed.audio is not None
    found: list[Match] = []
    for track, features in zip(printed.audio.tracks, printed.features):
        found += match_samples(library, track.samples, track.sample_rate_hz, features=features, **options)
    return tuple(sorted(found, key=lambda m: -m.score))


def match_paths(library: Library, paths: Sequence[Path], *, progress: ProgressCallback | None = None,
                **options: Any) -> list[QueryResult]:
    """Gives back, per query file in order, where its audio occurs in the library."""
    results = []
    for done, path in enumerate(paths):
        tell(progress, done, len(paths), str(path))
        printed = fingerprint_file(path, peaks_per_s=QUERY_PEAKS_PER_S)
        if printed.error is not None:
            results.append(QueryResult(str(path), error=printed.error))
            continue
        results.append(QueryResult(str(path), match_fingerprinted(library, printed, **options)))
    tell(progress, len(paths), len(paths), "")
    return results


def track_summary(track: AudioTrack) -> dict[str, Any]:
    """Gives back what a track is (codec, rates, duration) and its labelled segments, as JSON."""
    return {"stream_index": track.stream_index, "codec": track.codec, "source_rate_hz": track.source_rate_hz,
            "channels": track.channels, "duration_s": round(track.duration_s, 3),
            "segments": [s.to_json() for s in segment_samples(track.samples, track.sample_rate_hz)]}


def _label(path: str, stream: int, n_tracks: int) -> str:
    return path if n_tracks == 1 else f"{path}#{stream}"
