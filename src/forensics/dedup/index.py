"""Hamming-distance search over 64-bit hashes: multi-index hashing in NumPy.

Each hash is cut into `substrings` pieces of 16 bits. Two hashes within r bits of each other
agree to within r // substrings bits on at least one piece (pigeonhole), so a query looks up,
in one table per piece, the buckets of every value that close to its own piece, then checks
the full distance of what it found. A bucket is a slice of one argsort, found in O(1) from a
table of 65,537 bucket starts: with a million hashes a query costs microseconds, not the
tens of milliseconds of a scan (Norouzi, Punjani and Fleet, "Fast search in Hamming space
with multi-index hashing", CVPR 2012).
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
from numpy.typing import NDArray

from forensics.dedup.hashes import HASH_BITS, hamming
from forensics.errors import ParameterError

_PIECE_BITS = 16
_PIECES = HASH_BITS // _PIECE_BITS
_VALUES = 1 << _PIECE_BITS


def _masks(max_bits: int) -> NDArray[np.uint16]:
    """Gives every 16-bit mask with at most `max_bits` bits set."""
    masks = [0]
    for bits in range(1, max_bits + 1):
        masks += [sum(1 << b for b in chosen) for chosen in combinations(range(_PIECE_BITS), bits)]
    return np.array(masks, dtype=np.uint16)


class HashIndex:
    """An append-only set of 64-bit hashes, searchable by Hamming distance; entries are numbered from 0."""

    def __init__(self, hashes: NDArray[np.uint64] | None = None) -> None:
        self._chunks: list[NDArray[np.uint64]] = []
        self._hashes = np.empty(0, dtype=np.uint64)
        self._tables: list[tuple[NDArray[np.intp], NDArray[np.int64]]] | None = None
        if hashes is not None:
            self.add(hashes)

    def __len__(self) -> int:
        return int(self._hashes.shape[0]) + sum(int(c.shape[0]) for c in self._chunks)

    def add(self, hashes: NDArray[np.uint64]) -> range:
        """Adds hashes; gives the entry numbers they got."""
        start = len(self)
        chunk = np.ascontiguousarray(hashes, dtype=np.uint64).ravel()
        self._chunks.append(chunk)
        self._tables = None
        return range(start, start + chunk.shape[0])

    @property
    def hashes(self) -> NDArray[np.uint64]:
        """Gives every entry's hash, by entry number."""
        if self._chunks:
            self._hashes = np.concatenate([self._hashes, *self._chunks])
            self._chunks = []
        return self._hashes

    def _built(self) -> list[tuple[NDArray[np.intp], NDArray[np.int64]]]:
        if self._tables is None:
            hashes = self.hashes
            tables = []
            for piece in range(_PIECES):
                values = ((hashes >> np.uint64(piece * _PIECE_BITS)) & np.uint64(_VALUES - 1)).astype(np.int64)
                order = np.argsort(values, kind="stable")
                starts = np.searchsorted(values[order], np.arange(_VALUES + 1), side="left")
                tables.append((order, starts))
            self._tables = tables
        return self._tables

    def query(self, queries: NDArray[np.uint64], *, max_distance_bits: int,
              piece_distance_bits: int | None = None) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.uint8]]:
        """Gives (query number, entry number, distance) of every entry within `max_distance_bits` of a query.

        `piece_distance_bits` (default max_distance_bits // 4, which finds every such entry)
        may be set lower to search faster; then only entries that also agree that closely on
        one 16-bit piece are found (e.g. 0: an exact piece, which any entry within 3 bits has).
        """
        if not 0 <= max_distance_bits <= HASH_BITS:
            raise ParameterError(f"max_distance_bits must be 0..{HASH_BITS}, not {max_distance_bits}")
        exact = max_distance_bits // _PIECES
        piece_bits = exact if piece_distance_bits is None else min(piece_distance_bits, exact)
        if piece_bits < 0:
            raise ParameterError(f"piece_distance_bits must be at least 0, not {piece_distance_bits}")
        queries = np.ascontiguousarray(queries, dtype=np.uint64).ravel()
        empty = (np.empty(0, np.intp), np.empty(0, np.intp), np.empty(0, np.uint8))
        if len(self) == 0 or queries.shape[0] == 0:
            return empty
        masks = _masks(piece_bits).astype(np.int64)
        found_q, found_e = [], []
        for piece, (order, starts) in enumerate(self._built()):
            values = ((queries >> np.uint64(piece * _PIECE_BITS)) & np.uint64(_VALUES - 1)).astype(np.int64)
            keys = (values[:, None] ^ masks[None, :]).ravel()
            low, high = starts[keys], starts[keys + 1]
            counts = high - low
            total = int(counts.sum())
            if total == 0:
                continue
            # Every (bucket, member) pair without a Python loop: repeat each bucket's start, add 0..count-1.
            owners = np.repeat(np.arange(keys.shape[0]) // masks.shape[0], counts)
            offsets = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
            found_q.append(owners)
            found_e.append(order[np.repeat(low, counts) + offsets])
        if not found_q:
            return empty
        query_numbers = np.concatenate(found_q)
        entries = np.concatenate(found_e)
        # Checked before the pieces' duplicate finds are removed: far fewer pairs are left to sort.
        distances = hamming(queries[query_numbers], self.hashes[entries])
        keep = distances <= max_distance_bits
        pair, first = np.unique(query_numbers[keep].astype(np.int64) * len(self) + entries[keep], return_index=True)
        return (pair // len(self)).astype(np.intp), (pair % len(self)).astype(np.intp), distances[keep][first]
