"""Near-duplicates across a collection: candidate pairs from the index, each pair aligned, groups of "same".

Every frame's hashes (all regions, as shown) go into one HashIndex; every frame then asks
for its neighbours in all eight orientations. Two files become a candidate pair when some
frames of theirs are close; only candidates are aligned (align.compare), so the work grows
with the number of near-duplicates, not with the square of the collection.

Groups are the connected sets of "same" footage. Containment and overlap are reported as
matches but do not join groups: a compilation holding clips of three strikes must not make
the three one group. Pairs that look alike without evidence of one recording (same place,
camera or person) are `scene_matches`: leads, never in a group. What the pairs say together
(a photo belongs to one recording, a stretch to one source) is settled in placement.py.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from forensics.dedup.align import PairMatch, SceneMatch, compare
from forensics.dedup.index import HashIndex
from forensics.dedup.media_hashes import MediaHashes
from forensics.dedup.placement import groups_of, settle
from forensics.dedup.verify import SHORT_CLIP_S, Check, check_at_full_size, measure
from forensics.errors import ParameterError
from forensics.progress import ProgressCallback, tell


@dataclass(frozen=True, slots=True)
class DedupResult:
    """Groups of files showing the same footage, every match found, and the pairs that only look alike."""

    groups: tuple[tuple[str, ...], ...]  # connected sets of "same" (not weak), two or more keys each, sorted
    matches: tuple[PairMatch, ...]  # the same recording, sorted by (a, b); every confidence
    scene_matches: tuple[SceneMatch, ...] = ()  # alike, not shown to be one recording: leads, sorted by (a, b)

    def listed(self, *, weak: bool = False) -> tuple[PairMatch, ...]:
        """Gives the matches to show: strong and likely ones, and weak ones too when `weak`."""
        return tuple(m for m in self.matches if weak or m.confidence != "weak")

    def unconfirmed(self, keys: set[str]) -> DedupResult:
        """Gives the result with the matches confirmed on the files of `keys` weak again (those files
        changed while they were checked: the check may have read other content), and the groups anew."""
        matches = tuple(dataclasses.replace(m, confidence="weak", moving_agreement=None, unexplained_change=None)
                        if (m.moving_agreement is not None or m.unexplained_change is not None) and {m.a, m.b} & keys
                        else m for m in self.matches)
        return DedupResult(groups_of(matches, self.scene_matches), matches, self.scene_matches)

    def to_json(self, *, weak: bool = False) -> dict[str, object]:
        return {"groups": [list(g) for g in self.groups], "matches": [m.to_json() for m in self.listed(weak=weak)],
                "scene_matches": [m.to_json() for m in self.scene_matches]}


def candidate_pairs(media: Sequence[MediaHashes], *, max_distance_bits: int = 10, first_new: int = 0,
                    video_piece_distance_bits: int | None = 0, video_query_stride: int = 2,
                    min_strided_frames: int = 40) -> set[tuple[int, int]]:
    """Gives the pairs (i, j), i < j, of files with some close frames, j at least `first_new`.

    Files before `first_new` are already known to each other (from a shared index) and are
    not paired among themselves. A photo's hashes find every hash within `max_distance_bits`;
    a video's frames only those that also agree to `video_piece_distance_bits` on one 16-bit
    piece (HashIndex.query; None: all), and a video of more than `min_strided_frames` frames
    asks with every `video_query_stride`-th frame only. A copy has many close frames and one
    found is enough, so this search is tens of times faster; alignment then compares them all.
    """
    if not media:
        return set()
    values = np.concatenate([item.hashes[:, :, 0].ravel() for item in media])
    owners = np.concatenate([np.full(item.hashes.shape[0] * item.hashes.shape[1], number, dtype=np.int64)
                             for number, item in enumerate(media)])
    # Still footage repeats one hash hundreds of times: index each value once, with its owners.
    unique, inverse = np.unique(values, return_inverse=True)
    owned = np.unique(inverse.astype(np.int64) * len(media) + owners)
    owner_starts = np.searchsorted(owned // len(media), np.arange(unique.shape[0] + 1))
    owner_of = owned % len(media)
    index = HashIndex(unique)
    pairs: set[tuple[int, int]] = set()
    for number in range(first_new, len(media)):
        item = media[number]
        asking = item.hashes[::video_query_stride] if item.frame_count > min_strided_frames else item.hashes
        queries = np.unique(asking)  # every region in every orientation
        piece_bits = video_piece_distance_bits if item.kind == "video" else None
        _, entries, _ = index.query(queries, max_distance_bits=max_distance_bits, piece_distance_bits=piece_bits)
        entries = np.unique(entries)
        hit = np.concatenate([owner_of[owner_starts[e]:owner_starts[e + 1]] for e in entries.tolist()]
                             or [np.array([])])
        for other in np.unique(hit).astype(int).tolist():
            if other == number or (other > number and other >= first_new):
                continue  # itself, or a pair the other file's own query finds
            pairs.add((min(other, number), max(other, number)))
    return pairs


def find_duplicates(media: Sequence[MediaHashes], *, known: Sequence[MediaHashes] = (), max_distance_bits: int = 10,
                    files: Callable[[str], Path | None] | None = None,
                    measured: Callable[[Sequence[Check]], Sequence[float | None]] = measure,
                    progress: ProgressCallback | None = None) -> DedupResult:
    """Gives the groups and matches among `media`, and between them and `known` (e.g. a shared index).

    `files` gives the file of a key, or None when it is not at hand: the matches in doubt
    (two short clips each held whole, verify.py) are then checked on the files themselves, at
    full size, by `measured` (in this process unless the caller runs it elsewhere). Without
    `files`, or for files not at hand, such matches are weak. Raises ParameterError when two
    files share a key.
    """
    everything = list(known) + list(media)
    keys = [m.key for m in everything]
    if len(set(keys)) != len(keys):
        raise ParameterError("two files were given the same key; each needs its own")
    pairs = sorted(candidate_pairs(everything, max_distance_bits=max_distance_bits, first_new=len(known)))
    matches: list[PairMatch] = []
    scenes: list[SceneMatch] = []
    for done, (i, j) in enumerate(pairs):
        tell(progress, done, len(pairs), everything[j].key, unit="pairs")
        match = compare(everything[i], everything[j], max_distance_bits=max_distance_bits)
        if isinstance(match, PairMatch):
            matches.append(match)
        elif isinstance(match, SceneMatch):
            scenes.append(match)
    tell(progress, len(pairs), len(pairs), "", unit="pairs")
    # Matches in doubt are weak unless their files, at hand, confirm them.
    short_clips = {m.key for m in everything if m.kind == "video" and (m.duration_s or 0.0) <= SHORT_CLIP_S}
    matches, scenes = check_at_full_size(matches, scenes, files or (lambda _key: None), measured=measured,
                                         short_clips=short_clips)
    matches, scenes = settle(matches, scenes, {m.key: m.kind for m in everything})
    return DedupResult(groups_of(matches, scenes), tuple(sorted(matches, key=lambda m: (m.a, m.b))),
                       tuple(sorted(scenes, key=lambda m: (m.a, m.b))))
