"""What bench_dedup.py measures besides forensics.dedup's accuracy: the baselines and the speed runs."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import av
import imagehash
import numpy as np
from PIL import Image

import dedup_edits as edits
from forensics.dedup.groups import find_duplicates
from forensics.dedup.hashes import hamming
from forensics.dedup.index import HashIndex
from forensics.dedup.media_hashes import MediaHashes, hash_media
from forensics.dedup.normalise import SCALES

BASELINE_BITS = 10  # imagehash's usual "same picture" distance for a 64-bit pHash
BASELINE_SHARE = 0.5  # of the shorter video's frames that must have a close frame in the other


def _phash_frames(path: Path) -> tuple[np.ndarray, np.ndarray, bool]:
    """Gives (times_s, pHash values) of the frame on screen at each whole second; photos one frame."""
    try:
        with Image.open(path) as image:
            if getattr(image, "n_frames", 1) == 1:
                return np.zeros(1), np.array([int(str(imagehash.phash(image)), 16)], dtype=np.uint64), True
    except Exception:  # noqa: BLE001 - not a still: a video
        pass
    times, values, second = [], [], 0.0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        first = None
        for frame in container.decode(stream):
            t = float(frame.pts * stream.time_base) if frame.pts is not None else 0.0
            first = t if first is None else first
            if t - first + 1e-6 >= second:
                times.append(t - first)
                values.append(int(str(imagehash.phash(frame.to_image())), 16))
                second += 1.0
    return np.array(times), np.array(values, dtype=np.uint64), False


def phash_1fps(entries) -> tuple[set[frozenset[str]], dict]:
    """Frame-wise imagehash pHash at 1 fps: pairs, and (comp, source) spans of matched frames."""
    hashed = {str(e.path): _phash_frames(e.path) for e in entries}
    keys = list(hashed)
    predicted: set[frozenset[str]] = set()
    spans: dict[tuple[str, str], list] = {}
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            (ta, ha, photo_a), (tb, hb, photo_b) = hashed[a], hashed[b]
            distances = hamming(ha[:, None], hb[None, :])
            if photo_a or photo_b:
                if distances.min() <= BASELINE_BITS:
                    predicted.add(frozenset((a, b)))
                continue
            close = distances <= BASELINE_BITS
            shorter = close.any(axis=1).mean() if len(ta) <= len(tb) else close.any(axis=0).mean()
            if shorter >= BASELINE_SHARE:
                predicted.add(frozenset((a, b)))
            spans[(a, b)] = _runs(ta, tb, distances)
            spans[(b, a)] = _runs(tb, ta, distances.T)
    return predicted, spans


def _runs(times_a: np.ndarray, times_b: np.ndarray, distances: np.ndarray) -> list[tuple[float, float, float, float]]:
    """Gives the runs of a's frames with a close frame in b: (a start, a end, b start, b end)."""
    matched = np.flatnonzero(distances.min(axis=1) <= BASELINE_BITS)
    runs, current = [], []
    for index in matched.tolist():
        if current and times_a[index] - times_a[current[-1]] > 1.5:
            runs.append(current)
            current = []
        current.append(index)
    if current:
        runs.append(current)
    out = []
    for run in runs:
        partners = times_b[np.argmin(distances[run], axis=1)]
        out.append((float(times_a[run[0]]), float(times_a[run[-1]]) + 1.0, float(partners.min()),
                    float(partners.max()) + 1.0))
    return out


_VIDEOHASH_SCRIPT = """
import json, sys
from videohash import VideoHash
out = {}
for path in sys.argv[2:]:
    try:
        out[path] = VideoHash(path=path, storage_path=sys.argv[1]).hash_hex
    except Exception as ex:
        print(f"{path}: {ex!r}", file=sys.stderr)
        out[path] = None
print(json.dumps(out))
"""


def videohash_pairs(entries, python: Path, work: Path) -> set[frozenset[str]] | None:
    """videohash 3's 64-bit video hashes, pairs by its own is_similar (within 15% of the bits)."""
    videos = [str(e.path) for e in entries if not getattr(e, "is_photo", e.role.startswith("photo"))]
    bin_dir = Path(tempfile.mkdtemp(dir=work))
    (bin_dir / "ffmpeg").symlink_to(edits.FFMPEG)  # videohash calls `ffmpeg` from PATH
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}"}
    storage = Path(tempfile.mkdtemp(dir=work))
    # videohash takes a storage path without its trailing separator for a missing folder.
    done = subprocess.run([str(python), "-c", _VIDEOHASH_SCRIPT, f"{storage}{os.sep}", *videos], capture_output=True,
                          text=True, env=env, check=False)
    if done.returncode != 0:
        print(f"\nvideohash could not run: {done.stderr.strip()[-300:]}")
        return None
    hashes = {k: int(v, 16) for k, v in json.loads(done.stdout).items() if v}
    print(f"\nvideohash hashed {len(hashes)}/{len(videos)} videos")
    if not hashes:
        return None
    keys = sorted(hashes)
    return {frozenset((a, b)) for i, a in enumerate(keys) for b in keys[i + 1:]
            if (hashes[a] ^ hashes[b]).bit_count() <= 10}


def speed_figures(work: Path, footage: Path, *, quick: bool) -> dict[str, float]:
    """Prints the speed runs; gives their main figures."""
    return {"realtime_1080p": _realtime_1080p(work, footage, quick=quick), **_index_query(quick=quick),
            "grouping_s": _grouping(quick=quick)}


def _realtime_1080p(work: Path, footage: Path, *, quick: bool) -> float:
    source = footage / "bottle-detection.mp4"
    seconds = 10 if quick else 40
    video = work / f"bottle-1080p-{seconds}s.mp4"
    if not video.exists():
        edits.ffmpeg(source, video, ["-vf", "scale=1920:1080", "-crf", "20", "-g", "60"], after=["-t", str(seconds)])
    length = edits.duration_s(video)
    best = None
    for _ in range(2):
        t0 = time.perf_counter()
        media = hash_media(video)
        elapsed = time.perf_counter() - t0
        best = elapsed if best is None else min(best, elapsed)
    print(f"  whole video, 1080p H.264 30 fps (bottle-detection scaled up, GOP 2 s), {length:.0f} s: "
          f"{best:.2f} s, {length / best:.1f}x real time on {os.cpu_count()} cores ({media.frame_count} frames hashed)")
    return length / best


def _index_query(*, quick: bool) -> dict[str, float]:
    rng = np.random.default_rng(3)
    count = 1_000_000
    stored = rng.integers(0, 2**63, size=count, dtype=np.int64).astype(np.uint64) * np.uint64(2) + \
        rng.integers(0, 2, size=count).astype(np.uint64)
    t0 = time.perf_counter()
    index = HashIndex(stored)
    index.query(stored[:1], max_distance_bits=10)  # builds the tables
    build_s = time.perf_counter() - t0
    queries = stored[rng.choice(count, size=200 if quick else 1000, replace=False)].copy()
    for n in range(queries.shape[0]):
        for bit in rng.choice(64, size=8, replace=False):
            queries[n] ^= np.uint64(1) << np.uint64(int(bit))
    out = {}
    for piece_bits, label in ((None, "every hash within 10 bits"), (1, "piece within 1 bit")):
        times, found = [], 0
        for query in queries:
            t0 = time.perf_counter()
            q, _, _ = index.query(query[None], max_distance_bits=10, piece_distance_bits=piece_bits)
            times.append(time.perf_counter() - t0)
            found += int(q.shape[0] > 0)
        print(f"  index query, 1M stored hashes (random), one 64-bit query at 8 bits from a stored one, {label}: "
              f"median {1000 * np.median(times):.3f} ms, p99 {1000 * np.percentile(times, 99):.3f} ms; "
              f"found {found}/{len(times)} (tables built in {build_s:.2f} s)")
        out["index_query_ms" if piece_bits is None else "index_query_piece_ms"] = 1000 * float(np.median(times))
    return out


def _grouping(*, quick: bool) -> float:
    """All-pairs grouping of synthetic videos whose frames drift a few bits a frame, a tenth of them copied."""
    rng = np.random.default_rng(4)
    videos, frames = (240, 250) if quick else (2400, 250)
    regions = len(SCALES)
    media = []
    for number in range(videos):
        if number % 10 == 9:
            original = media[number - 1]
            noise = _flips(rng, original.hashes.shape, 3)
            thumbs = np.clip(original.thumbs.astype(np.int16) + rng.integers(-3, 4, original.thumbs.shape), 0, 255)
            media.append(MediaHashes(f"v{number}", "video", original.duration_s, original.times_s,
                                     original.hashes ^ noise, thumbs.astype(np.uint8)))
            continue
        start = rng.integers(0, 2**63, size=(1, regions, 8), dtype=np.int64).astype(np.uint64)
        hashes = np.bitwise_xor.accumulate(_flips(rng, (frames, regions, 8), 1), axis=0) ^ start
        thumbs = rng.integers(0, 255, size=(frames, regions, 16, 16), dtype=np.uint8)
        media.append(MediaHashes(f"v{number}", "video", frames * 0.25, np.arange(frames) * 0.25, hashes, thumbs))
    t0 = time.perf_counter()
    result = find_duplicates(media)
    elapsed = time.perf_counter() - t0
    print(f"  all-pairs grouping, {videos * frames:,} frame hashes ({videos} synthetic videos, a tenth copied): "
          f"{elapsed:.1f} s; {len(result.groups)} groups found of {videos // 10} planted")
    return elapsed


def _flips(rng: np.random.Generator, shape: tuple[int, ...], bits: int) -> np.ndarray:
    """Gives uint64 masks of `shape` with `bits` random bits set each."""
    out = np.zeros(shape, dtype=np.uint64)
    for _ in range(bits):
        out |= np.uint64(1) << rng.integers(0, 64, size=shape).astype(np.uint64)
    return out
