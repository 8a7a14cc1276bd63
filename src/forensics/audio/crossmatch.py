"""Which files of a set share a transmission: every file's tracks in one in-memory library, each matched against the others."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Self

from forensics.audio.decode import AudioTracks
from forensics.audio.library import Library
from forensics.audio.match import Match, match_samples
from forensics.audio.spectrum import Features


class CrossMatcher:
    """An in-memory library of a set of files; use as a context manager."""

    def __init__(self) -> None:
        self._library = Library(Path(":memory:"))
        self._entries: dict[str, set[int]] = {}

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self._library.close()

    def add(self, sha256: str, name: str, stream_index: int, features: Features) -> None:
        entry = self._library.add(sha256, stream_index, name, features)
        if entry is not None:
            self._entries.setdefault(sha256, set()).add(entry)

    def links(self, sha256: str, audio: AudioTracks, features: tuple[Features, ...], **options: Any) -> list[Match]:
        """Gives back where the tracks of file `sha256` occur in the other files, best first."""
        own = frozenset(self._entries.get(sha256, ()))
        found: list[Match] = []
        for track, feats in zip(audio.tracks, features):
            found += match_samples(self._library, track.samples, track.sample_rate_hz, features=feats,
                                   exclude_entries=own, **options)
        return sorted(found, key=lambda m: -m.score)
