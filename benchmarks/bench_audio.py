"""Intercept matching on a simulated corpus: recall per condition and length, false matches on hard
negatives, precision per confidence band, offset error, and speed; for forensics and, in the same run,
for audfprint2 (density 70, fanout 8).

    .venv/bin/python benchmarks/bench_audio.py [--half tuning|held-out] [--quick] [--seed N] [--work DIR]

The corpus is described in audio_corpus.py; voices and words are split by source into a
tuning half and a held-out half (`--half`, held-out by default: the figures of record; fit
thresholds only on `--half tuning`). A query counts as found when the best match is the right
recording at an offset within 100 ms; any match for a query from a recording not in the
library is a false match, and so is every listed match not at the query's place. audfprint2
is scored twice: at its default threshold (5 common hashes) and at the lowest threshold that
gives it no false match on these same negatives (calibrated on the test set itself, so
flattering to it).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import audio_corpus as corpus
from forensics.audio.landmarks import HASH_BITS
from forensics.audio.library import Library
from forensics.audio.search import index_paths, match_paths

CONDITIONS = ("clean", "10dB", "5dB", "0dB", "-5dB", "speed+2%", "speed-3%", "video")
LENGTHS_S = (3, 5, 10)
NOISES = ("engine", "wind", "crowd", "hiss")
SNR_DB = {"clean": None, "10dB": 10.0, "5dB": 5.0, "0dB": 0.0, "-5dB": -5.0, "video": None}
SPEED = {"speed+2%": 1.02, "speed-3%": 0.97}
BANDS = ("strong", "likely", "weak")
HIT_TOLERANCE_S = 0.1


@dataclass
class Query:
    path: Path
    condition: str
    length_s: int
    reference: Path | None  # None: a hard negative
    offset_s: float  # the reference's time at the query's time zero
    speed: float
    duration_s: float
    noise: str


def build(work: Path, half: str, rng: np.random.Generator, n_recordings: int, per_cell: int,
          negatives_per_cell: int) -> tuple[list[corpus.Recording], list[Query]]:
    noise = corpus.NoiseBank(rng, half)
    refs, others = [], []
    for r in range(n_recordings):
        takes = [corpus.random_take(rng, half) for _ in range(int(rng.integers(4, 8)))]
        refs.append(corpus.make_recording(work / f"ref-{r:03d}.wav", takes, rng))
        # The hard negative of this recording: the same voices saying half the same phrases again, half new ones.
        again = [corpus.another_take(rng, t) if k % 2 == 0 else corpus.random_take(rng, half, voice=t.voice)
                 for k, t in enumerate(takes)]
        others.append(corpus.make_recording(work / f"neg-{r:03d}.wav", again, rng))
    queries: list[Query] = []
    qdir = work / "queries"
    qdir.mkdir()
    for condition in CONDITIONS:
        for length in LENGTHS_S:
            for n in range(per_cell + negatives_per_cell):
                negative = n >= per_cell
                rec = (others if negative else refs)[int(rng.integers(len(refs)))]
                queries.append(_query(qdir / f"{condition}-{length}-{n:03d}", rec, condition, length, negative,
                                      rng, noise))
    return refs, queries


def _query(stem: Path, rec: corpus.Recording, condition: str, length: int, negative: bool,
           rng: np.random.Generator, noise: corpus.NoiseBank) -> Query:
    start_tx, end_tx = rec.spans[int(rng.integers(len(rec.spans)))]
    start = start_tx + rng.uniform(0, max(0.0, end_tx - start_tx - length))
    start = min(start, rec.samples.size / corpus.RATE_HZ - length)
    clip = rec.samples[int(start * corpus.RATE_HZ): int((start + length) * corpus.RATE_HZ)]
    # Speed changes come with noise (10, 5 or 0 dB) and a codec, as they do in the field.
    snr = SNR_DB[condition] if condition in SNR_DB else float(rng.choice([10.0, 5.0, 0.0]))
    kind = str(rng.choice(NOISES))
    heard = corpus.re_record(clip, rng, noise, snr_db=snr, noise_kind=kind)
    speed, offset = SPEED.get(condition, 1.0), start
    if speed != 1.0:
        heard = corpus.change_speed(heard, speed)
    if condition == "video":
        path, at = corpus.in_video(heard, stem.with_suffix(".mp4"), rng, noise)
        offset = start - at * speed
    else:
        path = corpus.encode(heard, stem, str(rng.choice(list(corpus.CODECS))))
    duration = 30.0 if condition == "video" else heard.size / corpus.RATE_HZ
    return Query(path, condition, length, None if negative else rec.path, offset, speed, duration,
                 kind if snr is not None else "none")


# --- the two tools --------------------------------------------------------------------------------
def run_forensics(refs: list[corpus.Recording], queries: list[Query], work: Path) -> dict:
    lib_path = work / "library.sqlite"
    t0 = time.process_time()
    with Library(lib_path) as lib:
        index_paths(lib, [r.path for r in refs])
        index_cpu = time.process_time() - t0
        stats = lib.stats()
        answers = {}
        t0 = time.process_time()
        for q in queries:
            [result] = match_paths(lib, [q.path])
            answers[q.path] = [(Path(m.reference), m.offset_s, getattr(m, "confidence", "strong"))
                              for m in result.matches]
        match_cpu = time.process_time() - t0
    audio_s = sum(r.samples.size for r in refs) / corpus.RATE_HZ
    return {"answers": answers, "index_x": audio_s / index_cpu, "match_x": sum(q.duration_s for q in queries) / match_cpu,
            "bytes_per_s": stats["file_bytes"] / audio_s, "library": lib_path}


def run_audfprint(refs: list[corpus.Recording], queries: list[Query]) -> dict | str:
    try:
        from audfprint2.cli import setup_analyzer, setup_matcher
        from audfprint2.core import hash_table
    except ImportError as ex:
        return f"audfprint2 is not installed ({ex}); `pip install audfprint2` to compare"
    try:
        index = setup_analyzer(70, False, 5, 8, 30.0, 0, 11025, True, corpus.FFMPEG)
        table = hash_table.HashTable(hashbits=20, depth=100, maxtime=1 << 16)
        table.params["samplerate"] = index.target_sr
        t0 = time.process_time()
        for r in refs:
            index.ingest(table, str(r.path))
        index_cpu = time.process_time() - t0
        query = setup_analyzer(70, True, 5, 8, 30.0, 0, 11025, True, corpus.FFMPEG)
        matcher = setup_matcher(2, 100, 1, 5, False, False, 0.05, False, False, False)
        answers = {}
        t0 = time.process_time()
        for q in queries:
            rows, _dur, _n = matcher.match_file(query, table, str(q.path))
            frame_s = query.n_hop / query.target_sr
            answers[q.path] = [(Path(table.names[int(row[0])]), float(row[2]) * frame_s, int(row[1]))
                               for row in rows]
        match_cpu = time.process_time() - t0
    except Exception as ex:  # noqa: BLE001 - the baseline failing must not hide our figures
        return f"audfprint2 could not be run: {type(ex).__name__}: {ex}"
    audio_s = sum(r.samples.size for r in refs) / corpus.RATE_HZ
    return {"answers": answers, "index_x": audio_s / index_cpu,
            "match_x": sum(q.duration_s for q in queries) / match_cpu}


# --- scoring --------------------------------------------------------------------------------------
def score(queries: list[Query], answers: dict, keep=lambda grade: True) -> dict:
    """Recall per (condition, length), false matches, precision per grade, offset errors of the hits.

    An answer is (reference, offset_s, grade): forensics' confidence band or audfprint2's
    count of common hashes; `keep` says which grades are listed.
    """
    found: dict[tuple[str, int], list[bool]] = defaultdict(list)
    by_noise: dict[str, list[bool]] = defaultdict(list)
    graded: dict[object, list[bool]] = defaultdict(list)  # grade: each listed match right or not
    errors_ms, false, negatives, wrong = [], 0, 0, 0
    for q in queries:
        matches = [a for a in answers[q.path] if keep(a[2])]
        for m in matches:
            graded[m[2]].append(q.reference is not None and m[0] == q.reference
                                and abs(m[1] - q.offset_s) <= HIT_TOLERANCE_S)
        if q.reference is None:
            negatives += 1
            false += bool(matches)
            continue
        hit = bool(matches) and matches[0][0] == q.reference and abs(matches[0][1] - q.offset_s) <= HIT_TOLERANCE_S
        wrong += bool(matches) and not hit
        found[(q.condition, q.length_s)].append(hit)
        by_noise[q.noise].append(hit)
        if hit:
            errors_ms.append(abs(matches[0][1] - q.offset_s) * 1000)
    return {"recall": {k: sum(v) / len(v) for k, v in found.items()}, "cells": found, "by_noise": by_noise,
            "graded": graded, "false": false, "negatives": negatives, "wrong": wrong, "errors_ms": errors_ms}


def _rate(hits: list[bool]) -> str:
    return f"{100 * sum(hits) / len(hits):5.1f}% of {len(hits)}" if hits else "-"


def print_table(name: str, s: dict, bands: tuple[str, ...] = ()) -> None:
    print(f"\n{name}")
    print("  recall      " + "".join(f"{c:>9}" for c in CONDITIONS) + "      all")
    cells = s["cells"]
    for length in LENGTHS_S:
        row = "".join(f"{s['recall'].get((c, length), float('nan')) * 100:8.0f}%" for c in CONDITIONS)
        every = [h for c in CONDITIONS for h in cells.get((c, length), [])]
        print(f"  {length:>2} s query " + row + f"{100 * sum(every) / max(1, len(every)):8.1f}%")
    for_condition = [[h for n in LENGTHS_S for h in cells.get((c, n), [])] for c in CONDITIONS]
    print("  all lengths" + "".join(f"{100 * sum(v) / max(1, len(v)):8.0f}%" for v in for_condition)
          + f"{100 * sum(map(sum, for_condition)) / max(1, sum(map(len, for_condition))):8.1f}%  (overall recall)")
    print("  by noise: " + ", ".join(f"{k} {_rate(v)}" for k, v in sorted(s["by_noise"].items())))
    e = s["errors_ms"]
    print(f"  false matches on hard negatives: {s['false']} of {s['negatives']} "
          f"({100 * s['false'] / max(1, s['negatives']):.2f}%); wrong reference or offset for positives: {s['wrong']}")
    for band in bands:
        right = s["graded"].get(band, [])
        print(f"  {band:>6}: {len(right)} matches listed, precision {sum(right) / len(right):.3f}" if right
              else f"  {band:>6}: no match listed")
    if e:
        print(f"  offset error of the hits: median {statistics.median(e):.1f} ms, "
              f"95th percentile {np.percentile(e, 95):.1f} ms")


def lowest_clean_threshold(queries: list[Query], answers: dict) -> int:
    """The lowest audfprint2 common-hash count at which no hard negative matches."""
    worst = max((a[2] for q in queries if q.reference is None for a in answers[q.path]), default=0)
    return worst + 1


def big_library_timing(small: Path, hours: float, queries: list[Query], work: Path, refs: list[corpus.Recording],
                       long_min: float) -> tuple[float, float, float, tuple[float, float, int]]:
    """Gives back (CPU s of a 10 s query, bytes per audio second, hours, long_query_cost) of a library of `hours`.

    The extra hours are landmarks drawn from the corpus's own hash distribution at its own rate
    per second, so look-ups meet as many postings as real audio would give.
    """
    big = work / "big.sqlite"
    big.write_bytes(small.read_bytes())
    with Library(big) as lib:
        # Every landmark's hash, as often as the corpus has it.
        hashes = lib.lookup(range(1 << HASH_BITS)).hashes
        corpus_s = lib.stats()["audio_s"]
        per_s = hashes.size / corpus_s
        rng = np.random.default_rng(5)
        fill_s = hours * 3600 - corpus_s
        per_entry_s = 3600.0
        n_entries = int(np.ceil(fill_s / per_entry_s))
        frames = int(per_entry_s * 8000 / 128)
        # Each filler hour carries frame features too: a real recording's, repeated to the hour.
        real = lib.frame_features(1)
        features = real.repeated(frames)
        for e in range(n_entries):
            n = int(per_s * per_entry_s)
            lib.add_landmarks(f"{e:064x}", 0, f"filler-{e}", 8000, rng.choice(hashes, n),
                              rng.integers(0, frames, n), features)
        audio_s = corpus_s + n_entries * per_entry_s
        tens = [q for q in queries if q.length_s == 10 and q.condition in ("5dB", "clean") and q.reference][:10]
        t0 = time.process_time()
        for q in tens:
            match_paths(lib, [q.path])
        per_query = (time.process_time() - t0) / max(1, len(tens))
        long_query = long_query_cost(lib, refs, long_min, work)
    return per_query, big.stat().st_size / audio_s, audio_s / 3600, long_query


def long_query_cost(lib: Library, refs: list[corpus.Recording], minutes: float, work: Path) -> tuple[float, float, int]:
    """Gives back (CPU s, peak memory in GB that Python and NumPy allocated, matches) of one query of
    `minutes`: the library's recordings end to end, decoding and analysis included."""
    n = int(minutes * 60 * corpus.RATE_HZ)
    wav = work / "long-query.wav"
    corpus.write_wav(wav, np.resize(np.concatenate([r.samples for r in refs]), n))
    tracemalloc.start()
    t0 = time.process_time()
    [result] = match_paths(lib, [wav])
    cpu = time.process_time() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return cpu, peak / 1e9, len(result.matches)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--half", choices=corpus.HALVES, default="held-out",
                        help="which voices and words: fit on tuning, report held-out (default)")
    parser.add_argument("--quick", action="store_true", help="a smaller corpus, in a few minutes")
    parser.add_argument("--no-speed", action="store_true", help="accuracy only: no 100 h library, no long query")
    parser.add_argument("--no-baseline", action="store_true", help="forensics alone, without audfprint2")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--work", type=Path, help="keep the corpus here (default: a temporary folder)")
    args = parser.parse_args()
    n_rec, per_cell, neg_cell, hours = (12, 6, 4, 10.0) if args.quick else (40, 20, 13, 100.0)
    with tempfile.TemporaryDirectory(prefix="bench-audio-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        t0 = time.time()
        seed = args.seed + corpus.HALVES.index(args.half)
        refs, queries = build(work, args.half, np.random.default_rng(seed), n_rec, per_cell, neg_cell)
        ref_s = sum(r.samples.size for r in refs) / corpus.RATE_HZ
        print(f"corpus, {args.half} half (seed {args.seed}): {len(refs)} recordings in the library "
              f"({ref_s / 60:.1f} min), speech by "
              f"{'espeak-ng (' + ', '.join(corpus.voices(args.half)) + ')' if corpus.ESPEAK else 'the formant synthesiser'}; "
              f"{len(queries)} queries ({sum(q.reference is None for q in queries)} hard negatives); "
              f"built in {time.time() - t0:.0f} s")
        ours = run_forensics(refs, queries, work)
        print_table("forensics audio match (strong and likely, the default)", score(
            queries, ours["answers"], lambda band: band != "weak"), BANDS[:2])
        print_table("forensics audio match --all (weak too)", score(queries, ours["answers"]), BANDS)
        theirs = "not run (--no-baseline)" if args.no_baseline else run_audfprint(refs, queries)
        if isinstance(theirs, str):
            print(f"\naudfprint2: {theirs}")
        else:
            print_table("audfprint2, density 70, fanout 8, default threshold (5 common hashes)",
                        score(queries, theirs["answers"], lambda count: count >= 5))
            clean = lowest_clean_threshold(queries, theirs["answers"])
            print_table(f"audfprint2, density 70, fanout 8, threshold {clean} (its lowest with no false match here)",
                        score(queries, theirs["answers"], lambda count: count >= clean))
        print("\nspeed (CPU time of one core)")
        print(f"  index building: forensics {ours['index_x']:.0f}x real time"
              + ("" if isinstance(theirs, str) else f", audfprint2 {theirs['index_x']:.0f}x"))
        print(f"  matching: forensics {ours['match_x']:.0f}x real time"
              + ("" if isinstance(theirs, str) else f", audfprint2 {theirs['match_x']:.0f}x"))
        print(f"  library size: {ours['bytes_per_s']:.0f} bytes per second of audio (corpus)")
        if args.no_speed:
            return
        long_min = 5.0 if args.quick else 10.0
        per_query_s, big_bytes, big_hours, (long_cpu, long_gb, long_found) = big_library_timing(
            ours["library"], hours, queries, work, refs, long_min)
        print(f"  library size at {big_hours:.0f} h: {big_bytes:.0f} bytes per second of audio")
        print(f"  a 10 s query against {big_hours:.0f} h of library: {per_query_s:.2f} s")
        print(f"  a {long_min:.0f} min query (the corpus's recordings end to end) against {big_hours:.0f} h: "
              f"{long_cpu:.1f} s, {long_gb:.2f} GB at most allocated, {long_found} matches "
              f"(it holds some {min(len(refs), round(long_min * 60 * len(refs) / ref_s))} recordings)")


if __name__ == "__main__":
    main()
