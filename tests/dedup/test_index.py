"""Multi-index hashing finds exactly what a full scan finds."""

from __future__ import annotations

import numpy as np

from forensics.dedup.hashes import hamming
from forensics.dedup.index import HashIndex


def _near(rng: np.random.Generator, base: np.ndarray, bits: int) -> np.ndarray:
    out = base.copy()
    for n in range(out.shape[0]):
        for bit in rng.choice(64, size=bits, replace=False):
            out[n] ^= np.uint64(1) << np.uint64(bit)
    return out


def test_query_equals_brute_force() -> None:
    rng = np.random.default_rng(5)
    stored = rng.integers(0, 2**63, size=20_000, dtype=np.int64).astype(np.uint64) * np.uint64(2)
    queries = np.concatenate([_near(rng, stored[:50], 4), _near(rng, stored[50:100], 10),
                              rng.integers(0, 2**63, size=50, dtype=np.int64).astype(np.uint64)])
    index = HashIndex(stored[:12_000])
    index.add(stored[12_000:])
    q, e, d = index.query(queries, max_distance_bits=10)
    found = set(zip(q.tolist(), e.tolist()))
    full = hamming(queries[:, None], stored[None, :])
    expected = set(zip(*[a.tolist() for a in np.nonzero(full <= 10)]))
    assert found == expected and len(expected) >= 100
    assert np.array_equal(d, full[q, e])
    # A faster, partial search finds a subset, and everything within 3 bits.
    q2, e2, _ = index.query(queries, max_distance_bits=10, piece_distance_bits=0)
    partial = set(zip(q2.tolist(), e2.tolist()))
    assert partial <= expected
    assert {p for p in expected if full[p] <= 3} <= partial
