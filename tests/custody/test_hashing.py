"""One read gives the copy and both digests, for every size around the chunk and ring boundaries."""

from __future__ import annotations

import hashlib
import os

import pytest

from forensics.custody import hashing


@pytest.mark.parametrize("size", [0, 1, 1000, hashing.HEAD_BYTES + 1, 4095, 4096, 4097, 3 * 4096, 4 * 4096 + 5,
                                  11 * 4096 - 1])
def test_copy_and_digests_match_hashlib_at_every_boundary(tmp_path, size):
    data = os.urandom(size)
    (tmp_path / "src").write_bytes(data)
    src = os.open(tmp_path / "src", os.O_RDONLY)
    dst = os.open(tmp_path / "dst", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        digests, head = hashing.copy_and_hash(src, dst, chunk_bytes=4096)  # small chunks: many ring turns
    finally:
        os.close(src), os.close(dst)
    assert (tmp_path / "dst").read_bytes() == data
    assert digests == hashing.Digests(size, hashlib.sha256(data).hexdigest(), hashlib.sha512(data).hexdigest())
    assert head == data[:min(4096, hashing.HEAD_BYTES)]  # at most the first chunk


def test_a_short_read_before_the_end_is_not_taken_for_the_end(tmp_path, monkeypatch):
    data = os.urandom(10_000)
    (tmp_path / "src").write_bytes(data)
    real = hashing._read_into
    calls = []

    def short_first(fd, buffer):  # as a network filesystem may answer
        calls.append(1)
        return real(fd, memoryview(buffer)[:100]) if len(calls) == 1 else real(fd, buffer)

    monkeypatch.setattr(hashing, "_read_into", short_first)
    src = os.open(tmp_path / "src", os.O_RDONLY)
    try:
        digests, _ = hashing.copy_and_hash(src, None, chunk_bytes=4096)
    finally:
        os.close(src)
    assert digests.size == 10_000 and digests.sha512 == hashlib.sha512(data).hexdigest()
