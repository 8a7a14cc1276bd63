"""Fits the intercept match score (audio/match.py `_SCORE_COEF`) on the tuning half only, and prints what the fit
does, cross-validated by recording.

    .venv/bin/python benchmarks/fit_audio_score.py [--work DIR]

Five tuning corpora, of bench_audio.py's tuning-half voices and words only (it has no option for the
held-out half): the benchmark's own (seed 2026: 792 queries, 312 of them hard negatives), two harder ones
(seeds 2126 and 2326: 300 queries at -5 and -8 dB, 120 hard negatives each) and two of hard negatives alone
(seeds 2226 and 2426: 960 each, another take of the same words by the same voice, in every condition of the
benchmark), each built in a fresh process (so the same however often it is built). Every
alignment the matcher verifies is kept, whatever its grade, with its evidence (z, harmonic z, votes,
pitched z, peaks z, the query's range in dB) and whether it is the right recording within 100 ms. A logistic
regression (L2 0.01) of rightness on z, harmonic z, ln(votes), pitched z - harmonic z, peaks z and the query's
range over the alignments above match.py's floors gives the coefficients. Figures: recall and false matches of
the `strong` and `likely` bands by score alone (not match.py's rules that make some matches weak), out of fold
(five folds by recording, three seeds), and with the coefficients in match.py now.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import sys
import tempfile
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import audio_corpus as corpus
import bench_audio as bench
from forensics.audio import match
from forensics.audio.library import Library
from forensics.audio.search import fingerprint_file, index_paths

HARD_CONDITIONS = ("-5dB", "-8dB")
L2 = 0.01
FEATURES = ("z", "harmonic_z", "ln_votes", "pitched_less_harmonic", "peaks_z", "query_range_db")


# name: (folder, what it holds, seed less 2026, (queries, hard negatives) a cell)
CORPORA = {"benchmark's tuning corpus": ("tuning", "benchmark", 0, (20, 13)),
           "harder tuning corpus": ("tuning-hard", "hard", 100, (30, 20)),
           "hard negatives": ("tuning-negatives", "negatives", 200, (0, 40)),
           "harder tuning corpus, second": ("tuning-hard-2", "hard", 300, (30, 20)),
           "hard negatives, second": ("tuning-negatives-2", "negatives", 400, (0, 40))}


def candidates(work: Path, kind: str, seed_offset: int, per_cell: tuple[int, int]) -> list[dict]:
    """Every verified alignment of every query of one tuning corpus (`kind` "benchmark", "hard" or "negatives"),
    with its evidence and whether it is right."""
    work.mkdir(parents=True, exist_ok=True)
    conditions = bench.CONDITIONS
    if kind == "hard":
        bench.CONDITIONS = HARD_CONDITIONS
        bench.SNR_DB["-8dB"] = -8.0
    try:
        seed = 2026 + corpus.HALVES.index("tuning") + seed_offset
        refs, queries = bench.build(work, "tuning", np.random.default_rng(seed), 40, *per_cell)
    finally:
        bench.CONDITIONS = conditions
    grade = match.grade
    # Every alignment, whatever its grade: the fit sees those below today's floors too.
    match.grade = lambda *evidence: (grade(*evidence)[0], "weak")
    rows = []
    try:
        with Library(work / "library.sqlite") as lib:
            index_paths(lib, [r.path for r in refs])
            for q in queries:
                printed = fingerprint_file(q.path, peaks_per_s=match.QUERY_PEAKS_PER_S)
                track, features = printed.audio.tracks[0], printed.features[0]
                found = match.match_samples(lib, track.samples, track.sample_rate_hz, features=features,
                                            min_z=0.0, min_harmonic_z=-math.inf)
                rows.append({"query": q, "candidates": [
                    {"x": (m.z, m.harmonic_z, math.log(max(m.votes, 1)), m.pitched_z - m.harmonic_z, m.peaks_z,
                           m.query_range_db),
                     "right": q.reference is not None and Path(m.reference) == q.reference
                     and abs(m.offset_s - q.offset_s) <= bench.HIT_TOLERANCE_S} for m in found]})
    finally:
        match.grade = grade
    return rows


def above_floors(x: tuple[float, ...]) -> bool:
    return x[0] >= match.FLOOR_Z and x[1] >= match.FLOOR_HARMONIC_Z


def fit(rows: list[dict]) -> np.ndarray:
    """Gives back (a, b, c, d, e, f, g) of the logistic fit (Newton's method)."""
    found = [c for r in rows for c in r["candidates"] if above_floors(c["x"])]
    x = np.hstack([np.ones((len(found), 1)), np.array([c["x"] for c in found])])
    y = np.array([c["right"] for c in found], float)
    w = np.zeros(x.shape[1])
    ridge = L2 * np.diag(np.r_[0.0, np.ones(x.shape[1] - 1)])
    for _ in range(60):
        p = 1 / (1 + np.exp(-np.clip(x @ w, -30, 30)))
        gradient = x.T @ (p - y) + ridge @ w
        hessian = (x * (p * (1 - p))[:, None]).T @ x + ridge
        w -= np.linalg.solve(hessian + 1e-9 * np.eye(w.size), gradient)
    return w


def score(w: np.ndarray, x: tuple[float, ...]) -> float:
    return 1 / (1 + math.exp(-max(-30.0, min(30.0, float(w[0] + np.dot(w[1:], x))))))


def report(label: str, rows: list[dict], scored: dict[int, float]) -> None:
    """Prints recall (the best listed match right), false matches on hard negatives, and precision per band."""
    found: dict[str, list[bool]] = defaultdict(list)
    bands: dict[str, list[bool]] = defaultdict(list)
    false = negatives = 0
    for r in rows:
        listed = sorted(((scored[id(c)], c) for c in r["candidates"]
                         if above_floors(c["x"]) and scored[id(c)] >= 0.8), key=lambda t: -t[0])
        for s, c in listed:
            bands["strong" if s >= 0.99 else "likely"].append(c["right"])
        q = r["query"]
        if q.reference is None:
            negatives += 1
            false += bool(listed)
            continue
        hit = bool(listed) and listed[0][1]["right"]
        for key in ("all", f"{q.length_s} s", q.condition):
            found[key].append(hit)
    cells = "  ".join(f"{k} {np.mean(v):.3f}" for k, v in found.items() if k in (
        "all", "3 s", "5 s", "10 s", "clean", "0dB", "-5dB", "-8dB", "speed+2%", "speed-3%", "video"))
    print(f"  {label:34s} {cells}  false {false} of {negatives}  "
          + "  ".join(f"{b} {np.mean(v):.3f} of {len(v)}" for b, v in sorted(bands.items())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, help="keep the corpora here (default: a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fit-audio-") as tmp:
        work = args.work or Path(tmp)
        # Each corpus in a process of its own: espeak-ng synthesises a take otherwise after other takes in the same
        # process (the first corpus came out the same and the next ones not), and a corpus must be the same however
        # often and in whatever order it is built. Two at a time.
        with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn"), max_tasks_per_child=1) as pool:
            jobs = {name: pool.submit(candidates, work / folder, kind, offset, per_cell)
                    for name, (folder, kind, offset, per_cell) in CORPORA.items()}
            corpora = {name: job.result() for name, job in jobs.items()}
    rows = [r for part in corpora.values() for r in part]
    now = np.array(match._SCORE_COEF)
    fitted = fit(rows)
    print(f"{len(rows)} queries, {sum(len(r['candidates']) for r in rows)} verified alignments, "
          f"{sum(above_floors(c['x']) for r in rows for c in r['candidates'])} above the floors")
    print("features: " + ", ".join(FEATURES))
    print("fitted on all: _SCORE_COEF = (" + ", ".join(f"{v:.3f}" for v in fitted) + ")")
    print("in match.py:   _SCORE_COEF = (" + ", ".join(f"{v:.3f}" for v in now) + ")")
    for seed in (0, 1, 2):
        recordings = sorted({str(r["query"].reference or r["query"].path) for r in rows})
        fold = dict(zip(recordings, np.random.default_rng(seed).permutation(len(recordings)) % 5))
        scored: dict[int, float] = {}
        for k in range(5):
            w = fit([r for r in rows if fold[str(r["query"].reference or r["query"].path)] != k])
            for r in rows:
                if fold[str(r["query"].reference or r["query"].path)] == k:
                    scored.update({id(c): score(w, c["x"]) for c in r["candidates"]})
        print(f"out of fold (5 folds by recording, seed {seed}):")
        for name, part in corpora.items():
            report(name, part, scored)
    print("with the coefficients in match.py (in sample):")
    for name, part in corpora.items():
        report(name, part, {id(c): score(now, c["x"]) for r in part for c in r["candidates"]})


if __name__ == "__main__":
    main()
