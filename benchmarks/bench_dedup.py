"""Near-duplicate accuracy and speed: `forensics.dedup` against frame-wise pHash at 1 fps (and videohash).

    .venv/bin/python benchmarks/bench_dedup.py --quick          # a few minutes
    .venv/bin/python benchmarks/bench_dedup.py                  # the figures of record
    .venv/bin/python benchmarks/bench_dedup.py --videohash-python /tmp/vh/bin/python

See benchmarks/README.md for what it builds and how each figure is counted. It prints; it
asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dedup_baselines  # noqa: E402
import dedup_edits as edits  # noqa: E402

from forensics.dedup.groups import find_duplicates  # noqa: E402
from forensics.dedup.media_hashes import hash_pictures_of  # noqa: E402
from forensics.dedup.normalise import SCALES  # noqa: E402
from forensics.dedup.sampling import read_pictures  # noqa: E402

FOOTAGE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "footage"
TOLERANCE_S = 1.0  # a compilation clip counts as found when all four ends are this close


@dataclass
class Entry:
    """One file of the corpus and the footage it shows: (family, start_s, end_s) in the source's time."""

    path: Path
    role: str  # "source", a VIDEO_EDITS or PHOTO_EDITS name ("photo_..."), "compilation", "negative"
    parts: list[tuple[str, float, float]]
    family: str = ""
    comp_offsets: list[float] = field(default_factory=list)  # compilations: where each part starts


def build_corpus(work: Path, *, quick: bool, seed: int) -> list[Entry]:
    rng = np.random.default_rng(seed)
    sources: list[tuple[str, Path]] = []
    for name in ("bottle-detection.mp4", "car-detection.mp4"):
        if (FOOTAGE / name).exists():
            sources.append((name.split(".")[0], FOOTAGE / name))
    gifs = sorted((FOOTAGE / "preview").glob("*.gif"))[: 2 if quick else 5]
    sources += [(g.stem, g) for g in gifs]
    for n in range(2 if quick else 6):
        path = work / f"scene{n}.mp4"
        if not path.exists():
            edits.make_scene(path, seed=100 + n, duration_s=12, static_camera=n % 3 == 2)
        sources.append((f"scene{n}", path))
    entries: list[Entry] = []
    for family, source in sources:
        length = edits.duration_s(source)
        entries.append(Entry(source, "source", [(family, 0.0, length)], family))
        for edit in edits.VIDEO_EDITS:
            if edit == "excerpt_6s" and length < 8:
                continue
            out = work / f"{family}.{edit}.mp4"
            if not out.exists():
                edits.edit_video(source, edit, out, excerpt_start_s=2.0)
            span = (family, 2.0, 8.0) if edit == "excerpt_6s" else (family, 0.0, length)
            entries.append(Entry(out, edit, [span], family))
        at_s = min(3.0, length / 2)
        photo = work / f"{family}.photo.png"
        if not photo.exists():
            edits.still_of(source, at_s, photo)
        entries.append(Entry(photo, "photo", [(family, at_s, at_s)], family))
        for edit in edits.PHOTO_EDITS:
            out = work / f"{family}.photo_{edit}.jpg"
            if not out.exists():
                edits.edit_photo(photo, edit, out)
            entries.append(Entry(out, f"photo_{edit}", [(family, at_s, at_s)], family))
    long_enough = [(f, p) for f, p in sources if edits.duration_s(p) >= 6.5]
    for n in range(2 if quick else 6):
        picks = rng.choice(len(long_enough), size=3, replace=False)
        parts, offsets = [], []
        for k, pick in enumerate(picks):
            family, source = long_enough[pick]
            start = float(np.round(rng.uniform(0, edits.duration_s(source) - 5.5), 2))
            parts.append((family, start, start + 5.0))
            offsets.append(5.0 * k)
        out = work / f"compilation{n}.mp4"
        if not out.exists():
            edits.compilation([(dict(long_enough)[f], s) for f, s, _ in parts], out)
        entries.append(Entry(out, "compilation", parts, "", offsets))
    for clip in sorted((FOOTAGE / "asl_gestures").glob("*.mkv")):
        entries.append(Entry(clip, "negative", [(f"asl:{clip.stem}", 0.0, edits.duration_s(clip))], f"asl:{clip.stem}"))
    return entries


def positive(a: Entry, b: Entry) -> bool | None:
    """Whether two files show some of the same footage (a photo: its moment inside the other's span).

    None when it cannot be said: a photo of a source against another stretch of that source,
    which in footage from a fixed camera may look exactly like the photo. Such pairs count
    neither way.
    """
    shared = False
    for fam_a, start_a, end_a in a.parts:
        for fam_b, start_b, end_b in b.parts:
            if fam_a == fam_b:
                shared = True
                if start_a <= end_b + 0.2 and start_b <= end_a + 0.2:
                    return True
    return None if shared and (a.role.startswith("photo") or b.role.startswith("photo")) else False


def evaluate(name: str, entries: list[Entry], predicted: set[frozenset[str]]) -> None:
    keys = [str(e.path) for e in entries]
    by_key = dict(zip(keys, entries))
    verdicts = {frozenset((keys[i], keys[j])): positive(entries[i], entries[j])
                for i in range(len(keys)) for j in range(i + 1, len(keys))}
    truth = {pair for pair, verdict in verdicts.items() if verdict}
    unsure = {pair for pair, verdict in verdicts.items() if verdict is None}
    predicted = predicted - unsure
    hits = predicted & truth
    recall = len(hits) / max(1, len(truth))
    precision = len(hits) / max(1, len(predicted))
    print(f"\n{name}: pair recall {recall:.3f} ({len(hits)}/{len(truth)}), precision {precision:.3f} "
          f"({len(hits)}/{len(predicted)}); {len(unsure)} pairs of a photo and another stretch of its "
          "source count neither way")
    rows = []
    for role in [*edits.VIDEO_EDITS, *(f"photo_{e}" for e in edits.PHOTO_EDITS)]:
        pairs = [frozenset((str(src.path), str(e.path))) for e in entries if e.role == role
                 for src in entries if src.family == e.family and src.role == ("photo" if role.startswith("photo_")
                                                                              else "source")]
        if pairs:
            rows.append((role, sum(p in predicted for p in pairs), len(pairs)))
    print("  recall per edit (source or photo against its edited copy):")
    for role, found, total in rows:
        print(f"    {role:<24} {found / total:5.2f}  ({found}/{total})")
    negatives = [e for e in entries if e.role == "negative"]
    neg_pairs = [frozenset((str(a.path), str(b.path))) for i, a in enumerate(negatives) for b in negatives[i + 1:]]
    wrong = sum(p in predicted for p in neg_pairs)
    print(f"  hard negatives (asl_gestures, same signer and room) matched: {wrong}/{len(neg_pairs)} "
          f"({wrong / max(1, len(neg_pairs)):.1%})")
    for label, pairs in (("false pairs", predicted - truth), ("missed pairs", truth - predicted)):
        if pairs:
            print(f"  {label} ({len(pairs)}), first ones:")
            for pair in sorted(pairs, key=sorted)[:6]:
                print("    " + "  <->  ".join(f"{by_key[k].path.name}" for k in sorted(pair)))


def compilation_figures(name: str, entries: list[Entry],
                        spans: dict[tuple[str, str], list[tuple[float, float, float, float]]]) -> None:
    """Prints compilation clips found within TOLERANCE_S and their time errors; spans: (comp, source) ->
    [(comp_start, comp_end, source_start, source_end)]."""
    sources = {e.family: e for e in entries if e.role == "source"}
    found, total, errors = 0, 0, []
    for comp in (e for e in entries if e.role == "compilation"):
        for (family, start, end), offset in zip(comp.parts, comp.comp_offsets):
            total += 1
            best = None
            for c0, c1, s0, s1 in spans.get((str(comp.path), str(sources[family].path)), []):
                error = max(abs(c0 - offset), abs(c1 - offset - 5.0), abs(s0 - start), abs(s1 - end))
                best = error if best is None else min(best, error)
            if best is not None and best <= TOLERANCE_S:
                found += 1
                errors.append(best)
    text = f"{name}: compilation clips found within {TOLERANCE_S:g} s: {found}/{total} ({found / max(1, total):.0%})"
    if errors:
        text += f"; time error median {np.median(errors):.2f} s, max {max(errors):.2f} s"
    print(text)


def run_ours(entries: list[Entry], workers: int | None) -> tuple[set[frozenset[str]], dict, dict[str, float]]:
    media, decode_s, hash_s, frames, video_s = [], 0.0, 0.0, 0, 0.0
    for entry in entries:
        t0 = time.perf_counter()
        pictures = read_pictures(entry.path, workers=workers)
        t1 = time.perf_counter()
        media.append(hash_pictures_of(pictures, key=str(entry.path)))
        t2 = time.perf_counter()
        decode_s, hash_s, frames = decode_s + t1 - t0, hash_s + t2 - t1, frames + pictures.grey.shape[0]
        video_s += pictures.duration_s or 0.0
    t0 = time.perf_counter()
    result = find_duplicates(media)
    group_s = time.perf_counter() - t0
    predicted = {frozenset((m.a, m.b)) for m in result.matches}
    spans: dict[tuple[str, str], list] = {}
    for m in result.matches:
        if m.kind == "video":
            spans.setdefault((m.a, m.b), []).append((m.a_start_s, m.a_end_s, m.b_start_s, m.b_end_s))
            spans.setdefault((m.b, m.a), []).append((m.b_start_s, m.b_end_s, m.a_start_s, m.a_end_s))
    figures = {"frames": frames, "decode_s": decode_s, "hash_ms_per_frame": 1000 * hash_s / max(1, frames),
               "group_s": group_s, "video_s": video_s, "groups": len(result.groups), "matches": len(result.matches)}
    return predicted, spans, figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smaller corpus and smaller speed runs")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the corpus here (reused when present)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--videohash-python", type=Path, default=None,
                        help="a Python with videohash installed (pip install videohash), to measure it too")
    args = parser.parse_args()
    if not FOOTAGE.is_dir():
        sys.exit(f"the shared footage is not here ({FOOTAGE}); see ../shared/data/README.md")
    temp = None
    work = args.workdir
    if work is None:
        temp = tempfile.mkdtemp(prefix="bench-dedup-")
        work = Path(temp)
    work.mkdir(parents=True, exist_ok=True)
    try:
        print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; corpus in {work}")
        t0 = time.perf_counter()
        entries = build_corpus(work, quick=args.quick, seed=args.seed)
        print(f"corpus: {len(entries)} files (made in {time.perf_counter() - t0:.0f} s): "
              f"{sum(e.role == 'source' for e in entries)} sources, "
              f"{sum(e.role in edits.VIDEO_EDITS for e in entries)} edited videos, "
              f"{sum(e.role.startswith('photo') for e in entries)} photos, "
              f"{sum(e.role == 'compilation' for e in entries)} compilations, "
              f"{sum(e.role == 'negative' for e in entries)} hard negatives")
        predicted, spans, figures = run_ours(entries, workers=None)
        evaluate("forensics dedup", entries, predicted)
        compilation_figures("forensics dedup", entries, spans)
        base_predicted, base_spans = dedup_baselines.phash_1fps(entries)
        evaluate("baseline: frame-wise imagehash pHash at 1 fps", entries, base_predicted)
        compilation_figures("baseline: frame-wise imagehash pHash at 1 fps", entries, base_spans)
        if args.videohash_python is not None:
            vh = dedup_baselines.videohash_pairs(entries, args.videohash_python, work)
            if vh is not None:
                print("\n(videohash hashes videos only; its photo pairs count as missed)")
                evaluate("baseline: videohash 3 (is_similar)", entries, vh)
        else:
            print("\nvideohash: not measured (give --videohash-python, a Python with `pip install videohash`)")
        print("\nperformance")
        print(f"  frame hashing (border trim, {len(SCALES)} regions x 8 orientations, thumbnails): "
              f"{figures['hash_ms_per_frame']:.3f} ms per frame over {figures['frames']} frames")
        print(f"  grouping the corpus ({figures['frames']} frames): {figures['group_s']:.2f} s")
        dedup_baselines.speed_figures(work, FOOTAGE, quick=args.quick)
    finally:
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)


if __name__ == "__main__":
    main()
