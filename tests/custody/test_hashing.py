"""One read gives the copy and both digests, for every size around the chunk and ring boundaries."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

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


def _copy(tmp_path, data, dst_dir=None, chunk_bytes=4096):
    (tmp_path / "src").write_bytes(data)
    target = (dst_dir or tmp_path) / "dst"
    src = os.open(tmp_path / "src", os.O_RDONLY)
    dst = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        digests, _ = hashing.copy_and_hash(src, dst, chunk_bytes=chunk_bytes)
    finally:
        os.close(src), os.close(dst)
    return digests, target.read_bytes()


def test_a_short_read_mid_file_leaves_an_exact_copy(tmp_path, monkeypatch):
    # Whole blocks go past the page cache; a chunk of odd length must not leave the rest misaligned.
    data = os.urandom(2 * hashing.DIRECT_MIN_BYTES + 12_345)
    real = hashing._read_into
    calls = []

    def short_second(fd, buffer):
        calls.append(1)
        return real(fd, memoryview(buffer)[:777]) if len(calls) == 2 else real(fd, buffer)

    monkeypatch.setattr(hashing, "_read_into", short_second)
    digests, copy = _copy(tmp_path, data, chunk_bytes=1 << 20)
    assert copy == data and digests.sha256 == hashlib.sha256(data).hexdigest()


def test_a_refused_direct_write_goes_on_through_the_page_cache(tmp_path, monkeypatch):
    # As XFS or a network file system answers a direct write it cannot take: EINVAL, nothing written.
    data = os.urandom(3 * hashing.DIRECT_MIN_BYTES + 1)
    real_write = os.write
    refused = []

    def write(fd, view):
        if fcntl.fcntl(fd, fcntl.F_GETFL) & hashing._O_DIRECT and len(refused) < 1 and os.fstat(fd).st_size > 0:
            refused.append(fd)
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_write(fd, view)

    monkeypatch.setattr(os, "write", write)
    digests, copy = _copy(tmp_path, data, chunk_bytes=1 << 20)
    assert refused, "the test did not reach a direct write"
    assert copy == data and digests.sha512 == hashlib.sha512(data).hexdigest()


@pytest.mark.skipif(not os.path.isdir("/dev/shm"), reason="no tmpfs at /dev/shm on this system")
def test_a_copy_onto_tmpfs_is_exact(tmp_path):
    # tmpfs refused O_DIRECT before Linux 6.6; either way the copy must be exact.
    shm = Path(tempfile.mkdtemp(dir="/dev/shm"))
    try:
        data = os.urandom(2 * hashing.CHUNK_BYTES + 5)
        digests, copy = _copy(tmp_path, data, dst_dir=shm, chunk_bytes=hashing.CHUNK_BYTES)
        assert copy == data and digests.size == len(data)
    finally:
        shutil.rmtree(shm)
