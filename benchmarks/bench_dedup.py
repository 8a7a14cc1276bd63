"""Near-duplicate accuracy and speed: `forensics.dedup` against frame-wise pHash at 1 fps (and videohash).

    .venv/bin/python benchmarks/bench_dedup.py --quick                # a smaller corpus, held-out half
    .venv/bin/python benchmarks/bench_dedup.py                        # the figures of record (held-out half)
    .venv/bin/python benchmarks/bench_dedup.py --half both --workdir /tmp/bd   # each half, corpus kept
    .venv/bin/python benchmarks/bench_dedup.py --videohash-python /tmp/vh/bin/python

The corpus is split in two by source (dedup_corpus.py): fit thresholds and rules on `tuning`,
quote `held-out`. See benchmarks/README.md for what it holds and how each figure is counted.
It prints; it asserts nothing.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dedup_baselines
import dedup_corpus as dc
import dedup_edits as edits
from forensics.dedup.groups import find_duplicates
from forensics.dedup.media_hashes import hash_media

try:  # decoding and hashing timed apart where the library allows it
    from forensics.dedup.media_hashes import hash_pictures_of
    from forensics.dedup.sampling import read_pictures
except ImportError:  # pragma: no cover - the API moved
    read_pictures = hash_pictures_of = None
try:  # the checks at full size in worker processes, as the dedup command runs them (code before: in process)
    from forensics.pipeline.analyses import measured_apart
except ImportError:  # pragma: no cover - the API moved
    measured_apart = None

DEFAULT_BANDS = ("strong", "likely")  # what the tool reports unless asked for everything
BANDS = ("strong", "likely", "weak")
RELATIONS = ("same", "a_contains_b", "b_contains_a", "overlap")
TOLERANCES_S = (0.5, 1.0)  # a compilation segment is found when all four ends are this close
TARGETS = {"precision": 0.99, "recall": 0.97, "edit_recall": 0.93, "same_scene_rate": 0.005,
           "segments_found": 0.95, "strong_precision": 0.995}

Span = tuple[float, float, float, float]  # (x start, x end, y start, y end), seconds in each file


@dataclass
class Found:
    """One reported pair: its relation as (a, b) name it, confidence band and shared stretches."""

    a: str
    b: str
    relation: str | None
    confidence: str
    segments: list[Span]


@dataclass
class Outcome:
    """What one method reported over one half."""

    name: str
    found: dict[frozenset[str], Found]
    leads: set[frozenset[str]] = field(default_factory=set)  # scene_matches: not counted as pairs
    localised: dict[tuple[str, str], list[Span]] = field(default_factory=dict)  # (x, y) -> spans, x's first
    bands: bool = False  # reports relations and confidence bands
    figures: dict[str, float] = field(default_factory=dict)


def _span(value: float | None) -> float:
    return 0.0 if value is None else float(value)


def run_ours(corpus: dc.Corpus) -> Outcome:
    media, decode_s, hash_s, frames = [], 0.0, 0.0, 0
    for entry in corpus.entries:
        t0 = time.perf_counter()
        if read_pictures is not None:
            pictures = read_pictures(entry.path)
            t1 = time.perf_counter()
            media.append(hash_pictures_of(pictures, key=entry.key))
        else:
            t1 = t0
            media.append(hash_media(entry.path, key=entry.key))
        t2 = time.perf_counter()
        decode_s, hash_s = decode_s + t1 - t0, hash_s + t2 - t1
        frames += int(getattr(media[-1], "frame_count", 0))
    t0 = time.perf_counter()
    paths = {entry.key: entry.path for entry in corpus.entries}
    # The files at hand, as the dedup command has them (code before the full-size check has no `files`).
    at_hand = {"files": paths.get} if "files" in inspect.signature(find_duplicates).parameters else {}
    if measured_apart is not None:  # the checks run in worker processes, on every core, as `forensics dedup` runs them
        at_hand["measured"] = measured_apart
    result = find_duplicates(media, **at_hand)
    group_s = time.perf_counter() - t0
    found, localised = {}, {}
    for m in result.matches:
        spans = getattr(m, "segments", None) or [(m.a_start_s, m.a_end_s, m.b_start_s, m.b_end_s)]
        spans = [tuple(_span(v) for v in (s if isinstance(s, tuple) else
                                          (s.a_start_s, s.a_end_s, s.b_start_s, s.b_end_s))) for s in spans]
        confidence = getattr(m, "confidence", None) or "strong"
        found[frozenset((m.a, m.b))] = Found(m.a, m.b, m.relation, confidence, spans)
        if confidence in DEFAULT_BANDS:
            localised.setdefault((m.a, m.b), []).extend(spans)
            localised.setdefault((m.b, m.a), []).extend((s[2], s[3], s[0], s[1]) for s in spans)
    leads = {frozenset((s.a, s.b)) for s in getattr(result, "scene_matches", ())}
    figures = {"decode_s": decode_s, "hash_s": hash_s, "group_s": group_s, "corpus_s": decode_s + hash_s + group_s,
               "frames": frames, "hash_ms_per_frame": 1000 * hash_s / max(1, frames), "groups": len(result.groups)}
    return Outcome("forensics dedup", found, leads, localised, bands=True, figures=figures)


def run_phash(corpus: dc.Corpus) -> Outcome:
    t0 = time.perf_counter()
    predicted, spans = dedup_baselines.phash_1fps(corpus.entries)
    elapsed = time.perf_counter() - t0
    found = {}
    for pair in predicted:
        a, b = sorted(pair)
        found[pair] = Found(a, b, None, "strong", spans.get((a, b), []))
    # Clips are localised from every run of matched frames, predicted pair or not (generous to it).
    return Outcome("baseline: frame-wise imagehash pHash at 1 fps", found, localised=spans,
                   figures={"corpus_s": elapsed})


@dataclass
class Truth:
    """Every pair of one half: verdict (True, False, None: counts neither way), relation, kind of hard negative."""

    verdict: dict[frozenset[str], bool | None]
    relation: dict[tuple[str, str], str]  # positive pairs, both orders
    kind: dict[frozenset[str], str]  # negative pairs that are hard ones
    by_key: dict[str, dc.Entry]


def truth_of(corpus: dc.Corpus) -> Truth:
    entries = corpus.entries
    truth = Truth({}, {}, {}, {e.key: e for e in entries})
    for i, x in enumerate(entries):
        for y in entries[i + 1:]:
            pair = frozenset((x.key, y.key))
            verdict = dc.verdict(corpus, x, y)
            truth.verdict[pair] = verdict
            if verdict:
                relation = dc.true_relation(x, y)
                truth.relation[(x.key, y.key)], truth.relation[(y.key, x.key)] = relation, dc.flipped(relation)
            elif verdict is False:
                kind = dc.hard_kind(corpus, x, y)
                if kind is not None:
                    truth.kind[pair] = kind
    return truth


def _ratio(a: int, b: int) -> str:
    return f"{a / b:.3f} ({a}/{b})" if b else f"  -   ({a}/0)"


def report(outcome: Outcome, corpus: dc.Corpus, truth: Truth) -> dict[str, object]:
    """Prints the accuracy figures of one method over one half; gives the main ones."""
    positives = {p for p, v in truth.verdict.items() if v}
    unsure = {p for p, v in truth.verdict.items() if v is None}
    reported = {p for p, f in outcome.found.items() if f.confidence in DEFAULT_BANDS} - unsure
    everything = set(outcome.found) - unsure
    out: dict[str, object] = {}
    print(f"\n{outcome.name}")
    for label, predicted in (("matches (strong + likely)", reported), ("with weak too", everything)):
        hits = len(predicted & positives)
        print(f"  pairs, {label:<26} recall {_ratio(hits, len(positives))}, precision {_ratio(hits, len(predicted))}")
    hits = reported & positives
    out |= {"recall": len(hits) / max(1, len(positives)), "precision": len(hits) / max(1, len(reported)),
            "recall_with_weak": len(everything & positives) / max(1, len(positives)),
            "precision_with_weak": len(everything & positives) / max(1, len(everything))}
    if outcome.bands:
        out |= _relations_and_bands(outcome, truth, reported, everything, positives)
    out |= _per_edit(outcome, corpus, reported)
    out |= _hard_negatives(outcome, truth, reported, everything)
    out |= _compilations(outcome, corpus, truth, reported)
    by_key = truth.by_key
    for label, pairs in (("false pairs", reported - positives), ("missed pairs", positives - reported)):
        if pairs:
            sorts = Counter(_sort_of(by_key[a], by_key[b]) for a, b in map(sorted, pairs))
            print(f"  {label} ({len(pairs)}: " + ", ".join(f"{k} {v}" for k, v in sorts.most_common()) + "), first ones:")
            for pair in sorted(pairs, key=sorted)[:8]:
                a, b = sorted(pair)
                f = outcome.found.get(pair)
                said = "" if f is None else (
                    f"reported {(f.relation if f.a == a else dc.flipped(f.relation)) if f.relation else 'a match'} "
                    f"({f.confidence})")
                if label == "false pairs":
                    what = f"{said}; {truth.kind.get(pair, 'ordinary negative')}"
                else:
                    what = f"truly {truth.relation[(a, b)]}" + (f"; {said}" if said else "")
                print(f"    {by_key[a].path.name}  <->  {by_key[b].path.name}: {what}")
    return out


def _sort_of(x: dc.Entry, y: dc.Entry) -> str:
    """Names what kind of files a pair holds: "photo-video", "video-compilation", ..."""
    def sort(e: dc.Entry) -> str:
        return "compilation" if e.role == "compilation" else "photo" if e.is_photo else "video"

    return "-".join(sorted((sort(x), sort(y)), key=("photo", "video", "compilation").index))


def _relations_and_bands(outcome: Outcome, truth: Truth, reported: set, everything: set,
                         positives: set) -> dict[str, object]:
    def predicted_relation(pair: frozenset[str]) -> tuple[str, str | None]:
        f = outcome.found[pair]
        a, b = sorted(pair)
        return truth.relation.get((a, b), ""), f.relation if f.a == a else dc.flipped(f.relation or "")

    print("  per relation (matches):    true   reported   right   precision   recall")
    confusion: Counter[str] = Counter()
    for pair in reported & positives:
        true, said = predicted_relation(pair)
        if true != said:
            confusion[f"{true} reported as {said}"] += 1
    for relation in RELATIONS:
        true_r = {p for p in positives if truth.relation[tuple(sorted(p))] == relation}
        said_r = {p for p in reported if predicted_relation(p)[1] == relation}
        right = set(said_r & true_r)
        print(f"    {relation:<14} {len(true_r):>10} {len(said_r):>10} {len(right):>7}   "
              f"{len(right) / max(1, len(said_r)):9.3f}   {len(right) / max(1, len(true_r)):6.3f}")
    wrong = sum(confusion.values())
    print(f"    right pair, wrong relation: {wrong}" + (": " + ", ".join(
        f"{k} {v}" for k, v in confusion.most_common(4)) if wrong else ""))
    print("  per confidence band:       reported   precision   right relation")
    out: dict[str, object] = {"wrong_relation": wrong}
    for band in BANDS:
        pairs = {p for p in everything if outcome.found[p].confidence == band}
        good = pairs & positives
        right = sum(1 for p in good if len(set(predicted_relation(p))) == 1)
        print(f"    {band:<10} {len(pairs):>17}   {_ratio(len(good), len(pairs)):>16}   {right}/{len(good)}")
        out[f"{band}_precision"] = len(good) / len(pairs) if pairs else None
        out[f"{band}_count"] = len(pairs)
    return out


def _per_edit(outcome: Outcome, corpus: dc.Corpus, reported: set) -> dict[str, object]:
    rows: dict[str, list[int]] = {}
    missed: dict[str, list[str]] = {}
    for entry in corpus.entries:
        if entry.parent is None:
            continue
        pair = frozenset((str(entry.parent), entry.key))
        row = rows.setdefault(entry.role, [0, 0])
        row[1] += 1
        if pair in reported:
            row[0] += 1
        else:
            missed.setdefault(entry.role, []).append(entry.path.name)
    order = [*edits.VIDEO_EDITS, "photo", *(f"photo_{e}" for e in edits.PHOTO_EDITS)]
    print("  recall per edit (the file it was made from against it; photo: a still against its video):")
    lowest = (2.0, "")
    for role in order:
        if role in rows:
            found, total = rows[role]
            lowest = min(lowest, (found / total, role))
            extra = f"   missed: {', '.join(missed[role][:3])}" if role in missed else ""
            print(f"    {role:<24} {found / total:5.2f}  ({found}/{total}){extra}")
    return {"lowest_edit_recall": lowest[0], "lowest_edit": lowest[1]}


def _hard_negatives(outcome: Outcome, truth: Truth, reported: set, everything: set) -> dict[str, object]:
    print("  hard negatives:             pairs   in matches         with weak   in scene_matches")
    out: dict[str, object] = {}
    totals = [0, 0]
    for kind in dc.HARD_KINDS:
        pairs = {p for p, k in truth.kind.items() if k == kind}
        hit, weak, leads = len(pairs & reported), len(pairs & everything), len(pairs & outcome.leads)
        print(f"    {kind:<24} {len(pairs):>6}   {hit:>5} ({hit / max(1, len(pairs)):6.2%})   {weak:>5} "
              f"({weak / max(1, len(pairs)):6.2%})   {leads:>5}")
        if kind in dc.SAME_SCENE_KINDS:
            totals[0] += len(pairs)
            totals[1] += hit
        out[f"hard_{kind}"] = hit
    rate = totals[1] / max(1, totals[0])
    print(f"    same-scene pairs reported in matches: {totals[1]}/{totals[0]} ({rate:.2%})")
    out["same_scene_rate"] = rate
    return out


def _compilations(outcome: Outcome, corpus: dc.Corpus, truth: Truth, reported: set) -> dict[str, object]:
    """Compilation segments found (all four ends within each of TOLERANCES_S) and given to a wrong file."""
    by_length: dict[float, list[float | None]] = {}
    wrong_source = 0
    for comp in (e for e in corpus.entries if e.role == "compilation"):
        others = [(next(iter(p - {comp.key})), outcome.localised.get((comp.key, next(iter(p - {comp.key}))), []))
                  for p in reported if comp.key in p and truth.verdict.get(p) is False]
        for segment in comp.segments:
            best = None
            for c0, c1, s0, s1 in outcome.localised.get((comp.key, str(segment.source)), []):
                error = max(abs(c0 - segment.at_s), abs(c1 - segment.at_s - segment.length_s),
                            abs(s0 - segment.source_start_s), abs(s1 - segment.source_start_s - segment.length_s))
                best = error if best is None else min(best, error)
            by_length.setdefault(segment.length_s, []).append(best)
            lo, hi = segment.at_s, segment.at_s + segment.length_s
            if any(_covers(span, lo, hi) for _, spans in others for span in spans):
                wrong_source += 1
    out: dict[str, object] = {}
    if not by_length:
        return out
    head = "".join(f"   within {t:g} s" for t in TOLERANCES_S)
    print(f"  compilation segments:  {head}   time error (found within 1 s)")
    short_found, short_total = 0, 0
    for length in sorted(by_length):
        errors = by_length[length]
        cells = []
        for tolerance in TOLERANCES_S:
            found = sum(e is not None and e <= tolerance for e in errors)
            cells.append(f"{found:>3}/{len(errors):<3} ({found / len(errors):4.0%})")
        good = [e for e in errors if e is not None and e <= TOLERANCES_S[-1]]
        error = f"median {np.median(good):.2f} s, max {max(good):.2f} s" if good else "-"
        print(f"    {length:g} s segments    " + "   ".join(cells) + f"   {error}")
        if length >= 2.0:
            short_found += sum(e is not None and e <= TOLERANCES_S[0] for e in errors)
            short_total += len(errors)
    print(f"    segments given to a wrong file (a false pair covering them): {wrong_source}")
    out |= {"segments_found_0.5s": short_found / max(1, short_total), "segments_wrong_file": wrong_source}
    return out


def _covers(span: Span, lo: float, hi: float) -> bool:
    """Whether the compilation side of `span` covers half of [lo, hi] (a photo's moment: lies inside it)."""
    c0, c1 = span[0], span[1]
    if c1 - c0 < 0.05:
        return lo <= c0 <= hi
    return min(c1, hi) - max(c0, lo) >= 0.5 * (hi - lo)


def targets(figures: dict[str, object]) -> None:
    """Prints each target of issue #17 with whether these figures meet it."""
    precision, recall = figures["precision"], figures["recall"]
    lowest, same_scene = figures["lowest_edit_recall"], figures["same_scene_rate"]
    segments, strong = figures.get("segments_found_0.5s", 0.0), figures.get("strong_precision")
    strong_text = "-" if strong is None else f"{strong:.3f}"
    lines = [
        (f"precision {precision:.3f} >= {TARGETS['precision']} at recall {recall:.3f} >= {TARGETS['recall']}",
         precision >= TARGETS["precision"] and recall >= TARGETS["recall"]),
        (f"every edit >= {TARGETS['edit_recall']} recall (lowest {lowest:.2f}, {figures['lowest_edit']})",
         lowest >= TARGETS["edit_recall"]),
        (f"same-scene pairs in matches {same_scene:.2%} <= {TARGETS['same_scene_rate']:.1%}",
         same_scene <= TARGETS["same_scene_rate"]),
        (f"compilation segments of 2 s or more found within 0.5 s {segments:.0%} >= {TARGETS['segments_found']:.0%}",
         segments >= TARGETS["segments_found"]),
        (f"strong band precision {strong_text} >= {TARGETS['strong_precision']}",
         strong is None or strong >= TARGETS["strong_precision"]),
    ]
    print("  targets of issue #17 (the held-out half's are the figures of record):")
    for text, ok in lines:
        print(f"    {'yes' if ok else 'NO':<4} {text}")


def describe(corpus: dc.Corpus, truth: Truth, made_s: float) -> None:
    roles = Counter(e.role for e in corpus.entries)
    photos = sum(e.is_photo and e.role != "low_texture" for e in corpus.entries)
    videos = sum(n for role, n in roles.items() if role in edits.VIDEO_EDITS)
    positives = sum(1 for v in truth.verdict.values() if v)
    unsure = sum(1 for v in truth.verdict.values() if v is None)
    print(f"\n=== {corpus.half} half: {len(corpus.entries)} files (made in {made_s:.0f} s): {roles['source']} sources "
          f"({len(corpus.ordinary)} ordinary), {videos} edited videos, {photos} photos, "
          f"{roles['compilation']} compilations, {roles['low_texture']} low-texture files")
    print(f"    {len(truth.verdict)} pairs: {positives} positive, {len(truth.kind)} hard negatives, "
          f"{unsure} count neither way (a still against another stretch of an ordinary source or within "
          f"{dc.STILL_NEAR_S:g} s of a stretch of its recording; videos sharing under {dc.MIN_SHARED_S:g} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smaller corpus and smaller speed runs")
    parser.add_argument("--half", choices=("tuning", "held-out", "both"), default="held-out",
                        help="which half of the corpus to measure (default held-out: the figures of record)")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the corpus here (reused when present)")
    parser.add_argument("--seed", type=int, default=7, help="compilation picks")
    parser.add_argument("--no-speed", action="store_true", help="skip the speed runs after the accuracy figures")
    parser.add_argument("--videohash-python", type=Path, default=None,
                        help="a Python with videohash installed (pip install videohash), to measure it too")
    args = parser.parse_args()
    if not dc.FOOTAGE.is_dir():
        sys.exit(f"the shared footage is not here ({dc.FOOTAGE}); see ../shared/data/README.md")
    temp = None
    work = args.workdir
    if work is None:
        temp = tempfile.mkdtemp(prefix="bench-dedup-")
        work = Path(temp)
    work.mkdir(parents=True, exist_ok=True)
    halves = dc.HALVES if args.half == "both" else (args.half,)
    record: dict[str, object] = {"quick": args.quick, "halves": {}}
    try:
        print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; corpus in {work}")
        for half in halves:
            t0 = time.perf_counter()
            corpus = dc.build_half(work, half, quick=args.quick, seed=args.seed)
            made_s = time.perf_counter() - t0
            truth = truth_of(corpus)
            describe(corpus, truth, made_s)
            ours = run_ours(corpus)
            figures = report(ours, corpus, truth)
            f = ours.figures
            print(f"  time: decode {f['decode_s']:.1f} s + hashing {f['hash_s']:.1f} s "
                  f"({f['hash_ms_per_frame']:.3f} ms per frame, {f['frames']} frames) + grouping {f['group_s']:.1f} s "
                  f"= {f['corpus_s']:.1f} s for the corpus; {len(ours.found)} matches, {len(ours.leads)} scene leads")
            targets(figures)
            base = run_phash(corpus)
            base_figures = report(base, corpus, truth)
            print(f"  time: {base.figures['corpus_s']:.1f} s for the corpus (decoding, hashing, all pairs)")
            half_record = {"files": len(corpus.entries), "ours": figures | {k: round(v, 3) for k, v in f.items()},
                           "phash_1fps": base_figures | base.figures}
            if args.videohash_python is not None:
                pairs = dedup_baselines.videohash_pairs(corpus.entries, args.videohash_python, work)
                if pairs is not None:
                    print("(videohash hashes videos only; its photo pairs count as missed)")
                    found = {p: Found(*sorted(p), None, "strong", []) for p in pairs}
                    half_record["videohash"] = report(Outcome("baseline: videohash 3 (is_similar)", found),
                                                      corpus, truth)
            record["halves"][half] = half_record
        if args.videohash_python is None:
            print("\nvideohash: not measured (give --videohash-python, a Python with `pip install videohash`)")
        if not args.no_speed:
            print("\nperformance")
            record["speed"] = dedup_baselines.speed_figures(work, dc.FOOTAGE, quick=args.quick)
        print("\n" + json.dumps(_rounded(record), sort_keys=True))
    finally:
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)


def _rounded(value: object) -> object:
    """Gives `value` with its floats rounded to 4 places, ready for JSON."""
    if isinstance(value, dict):
        return {str(k): _rounded(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return round(value, 4)
    return value


if __name__ == "__main__":
    main()
