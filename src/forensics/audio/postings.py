"""Posting lists: the (entry, frame) pairs of one landmark hash, as bytes that grow by appending.

Each pair is two unsigned LEB128 varints, entry then frame, so appending a track's pairs to a
hash's list is a concatenation, with no decoding of what the list held before. Small numbers
take few bytes: an entry below 128 one byte, a frame below 16 384 (4.4 min) two, below 2^21
(9.3 h) three. Both ways are vectorised over every list at once.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

_MAX_BYTES = 10  # an unsigned 64-bit number takes at most ten 7-bit groups


def encode_pairs(entries: NDArray[np.int64], frames: NDArray[np.int64]) -> tuple[bytes, NDArray[np.int64]]:
    """Gives back the pairs as varints, and where each pair's bytes end in them."""
    values = np.stack([np.asarray(entries, np.int64), np.asarray(frames, np.int64)], axis=1).ravel()
    if values.size and values.min() < 0:
        raise ValueError("posting numbers must not be negative")
    data, ends = encode_varints(values)
    return data, ends[1::2]


def encode_varints(values: NDArray[np.int64]) -> tuple[bytes, NDArray[np.int64]]:
    """Gives back non-negative numbers as concatenated LEB128 varints, and where each one ends."""
    values = np.asarray(values, np.uint64)
    length = np.ones(values.size, np.int64)
    top = int(values.max(initial=0))
    for k in range(1, _MAX_BYTES):
        if top < 1 << (7 * k):
            break
        length += values >= np.uint64(1 << (7 * k))
    ends = np.cumsum(length)
    owner = np.repeat(np.arange(values.size), length)
    position = np.arange(ends[-1] if ends.size else 0) - np.repeat(ends - length, length)
    groups = (values[owner] >> (np.uint64(7) * position.astype(np.uint64))) & np.uint64(0x7F)
    more = position < length[owner] - 1
    return (groups | (more.astype(np.uint64) << np.uint64(7))).astype(np.uint8).tobytes(), ends


def decode_varints(data: bytes | NDArray[np.uint8]) -> NDArray[np.int64]:
    """Gives back the numbers of concatenated LEB128 varints."""
    raw = np.frombuffer(data, np.uint8) if isinstance(data, bytes | bytearray | memoryview) else data
    ends = np.flatnonzero(raw < 0x80)
    if raw.size and (not ends.size or ends[-1] != raw.size - 1):
        raise ValueError("posting data ends inside a number")
    if not ends.size:
        return np.zeros(0, np.int64)
    length = np.diff(ends, prepend=-1)
    longest = int(length.max())
    # Four groups fit 28 bits: 32-bit arithmetic then, half the memory traffic.
    kind: type[np.unsignedinteger[Any]] = np.uint32 if longest <= 4 else np.uint64
    # From the last (most significant) group of each number back to its first.
    values = raw[ends].astype(kind)
    for k in range(1, longest):
        group = raw[np.maximum(ends - k, 0)].astype(kind) & kind(0x7F)
        values = np.where(length > k, (values << kind(7)) | group, values)
    return values.astype(np.int64)


def decode_pairs(data: bytes | NDArray[np.uint8]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Gives back (entries, frames) of concatenated pairs written by encode_pairs."""
    values = decode_varints(data)
    if values.size % 2:
        raise ValueError("posting data holds an entry without its frame")
    return values[0::2], values[1::2]
