"""Times `forensics batch` over generated incidents: 1 worker against 2, Dask against the pool, memory.

    .venv/bin/python benchmarks/bench_batch.py            # 20 incidents, the figures of record
    .venv/bin/python benchmarks/bench_batch.py --quick    # 6 incidents

Each generated incident holds what a verifier receives after a strike: three short phone-like
videos (640x360 H.264 with AAC, each of different footage: ffmpeg lavfi sources with their own
seed and colours), two photos with EXIF, a voice-band recording and a note. It prints:

  - the wall time of `forensics batch ROOT --cases OUT --workers 1` and `--workers 2`, and their
    ratio (target: 2 workers at most 0.6 of 1 worker's time);
  - the wall time of `--dask local --workers 2` against the 2-process pool (target: at most 1.2x);
  - peak memory (the largest sum of RSS over the batch's process tree, sampled every 50 ms)
    over a quarter of the incidents and over all of them (target: flat as the files grow);

then one JSON line with every figure. Each run starts from an empty cases folder; the sources
are read once before, so every run reads from a warm page cache.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import imageio_ffmpeg
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ingest import forensics_command, run_measured, warm_cache  # the same measuring

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
SOURCES = ("testsrc2=size=640x360:rate=25", "life=size=160x90:rate=25:seed={seed}:mold=10,scale=640:360:flags=neighbor",
           "mandelbrot=size=640x360:rate=25:start_scale={scale}:end_scale=1")


def make_incident(folder: Path, n: int) -> int:
    """Writes incident number n into folder; gives back its number of files."""
    rng = np.random.default_rng(n)
    (folder / "DCIM").mkdir(parents=True)
    for v, source in enumerate(SOURCES):
        lavfi = source.format(seed=n * 10 + v, scale=2 + n % 5)
        subprocess.run([FFMPEG, "-loglevel", "error", "-y", "-f", "lavfi", "-i", f"{lavfi},hue=h={(n * 37 + v * 90) % 360}",
                        "-f", "lavfi", "-i", f"sine=frequency={300 + 40 * n + 100 * v}:sample_rate=44100",
                        "-t", "6", "-c:v", "libx264", "-preset", "veryfast", "-g", "50", "-pix_fmt", "yuv420p",
                        "-c:a", "aac", "-b:a", "64k", "-shortest", "-metadata", f"creation_time=2024-03-{1 + n % 28:02d}T09:00:00Z",
                        str(folder / "DCIM" / f"VID_{n:02d}_{v}.mp4")], check=True)
    for p in range(2):
        pixels = (rng.random((480, 640, 3)) * 255).astype(np.uint8)
        exif = Image.Exif()
        exif[0x010F], exif[0x0110], exif[0x0132] = "samsung", "SM-G991B", f"2024:03:{1 + n % 28:02d} 09:0{p}:00"
        Image.fromarray(pixels).save(folder / "DCIM" / f"IMG_{n:02d}_{p}.jpg", quality=85, exif=exif)
    subprocess.run([FFMPEG, "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    f"anoisesrc=color=pink:seed={n}:duration=20:sample_rate=8000,bandpass=f=1500:width_type=h:w=2800",
                    "-c:a", "aac", "-b:a", "32k", str(folder / f"intercept_{n:02d}.m4a")], check=True)
    (folder / "notes.txt").write_text(f"incident {n}: received from a spotter\n")
    return len(SOURCES) + 2 + 2


def build_root(root: Path, incidents: int) -> int:
    return sum(make_incident(root / f"incident-{n:02d}", n) for n in range(incidents))


def run_batch(cmd: list[str], env: dict[str, str], root: Path, work: Path, *extra: str):
    cases = work / "cases"
    shutil.rmtree(cases, ignore_errors=True)
    subprocess.run(["sync"], check=False)
    run = run_measured([*cmd, "batch", str(root), "--cases", str(cases), "--quiet", "--json", *extra], env=env, work=work)
    if run.exit_code != 0:
        raise SystemExit(f"bench_batch: batch {' '.join(extra)} exited {run.exit_code}: {run.stderr[-2000:]}")
    incidents = json.loads(run.stdout)["incidents"]
    shutil.rmtree(cases, ignore_errors=True)
    return run, incidents


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="6 incidents")
    parser.add_argument("--no-dask", action="store_true", help="skip the --dask local run")
    args = parser.parse_args(argv)
    count = 6 if args.quick else args.incidents
    cmd, env = forensics_command()
    env = {**env, "FORENSICS_ACTOR": "bench"}
    work = Path(tempfile.mkdtemp(prefix="bench_batch-"))
    try:
        env["FORENSICS_KEY_DIR"] = str(work / "keys")
        root, quarter_root = work / "incidents", work / "quarter"
        files = build_root(root, count)
        quarter_root.mkdir()
        quarter = max(1, count // 4)
        for folder in sorted(root.iterdir())[:quarter]:
            shutil.copytree(folder, quarter_root / folder.name)
        size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
        warm_cache(root)
        print(f"bench_batch: {count} incidents, {files} files, {size / 1e6:.1f} MB, {os.cpu_count()} cores, "
              f"load {os.getloadavg()[0]:.2f}")
        one, incidents = run_batch(cmd, env, root, work, "--workers", "1")
        two, _ = run_batch(cmd, env, root, work, "--workers", "2")
        figures = {"incidents": count, "files": files, "mb": round(size / 1e6, 1),
                   "one_worker_s": round(one.wall_s, 2), "two_workers_s": round(two.wall_s, 2),
                   "two_over_one": round(two.wall_s / one.wall_s, 3), "target_two_over_one": 0.6,
                   "analysed": {k: sum(i["analysed"].get(k, 0) for i in incidents) for k in incidents[0]["analysed"]}}
        print(f"1 worker : {one.wall_s:6.2f} s")
        print(f"2 workers: {two.wall_s:6.2f} s  -> {two.wall_s / one.wall_s:.3f} of 1 worker's time (target <= 0.6)")
        if not args.no_dask:
            dask, _ = run_batch(cmd, env, root, work, "--dask", "local", "--workers", "2")
            figures |= {"dask_local_s": round(dask.wall_s, 2), "dask_over_pool": round(dask.wall_s / two.wall_s, 3),
                        "target_dask_over_pool": 1.2}
            print(f"--dask local, 2 workers: {dask.wall_s:6.2f} s  -> {dask.wall_s / two.wall_s:.3f}x the process "
                  "pool (target <= 1.2x)")
        small, _ = run_batch(cmd, env, quarter_root, work, "--workers", "2")
        figures |= {"peak_tree_rss_mb_quarter": round(small.peak_tree_rss_bytes / 1e6, 1),
                    "peak_tree_rss_mb_full": round(two.peak_tree_rss_bytes / 1e6, 1),
                    "quarter_files": quarter * (files // count)}
        print(f"peak memory (process tree): {small.peak_tree_rss_bytes / 1e6:.0f} MB over {quarter} incidents, "
              f"{two.peak_tree_rss_bytes / 1e6:.0f} MB over {count} (should be about the same)")
        print(json.dumps(figures))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
