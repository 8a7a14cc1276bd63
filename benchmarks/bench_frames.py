"""Accuracy and speed of `forensics.media.video.frames`, against ffmpeg and PySceneDetect, in one run.

    PYTHONPATH=src:cli .venv/bin/python benchmarks/bench_frames.py [--repeats 3] [--quick]

Accuracy: compilations with known cut points are built from ../shared/data/footage/ (hard
cuts between clips, and fades through black), and the scene-cut F1 at a tolerance of 2 frames
is printed for our `scenes` mode and PySceneDetect's ContentDetector on the same files.

Speed: on a generated 1080p H.264 video (footage scaled up, with sensor-like noise, > 60 s):
  keyframes mode   vs  ffmpeg -skip_frame nokey -i V -vsync 0 -f image2 k%04d.jpg
  every:1          vs  ffmpeg -i V -vf fps=1 f%04d.jpg
  scenes mode      vs  PySceneDetect ContentDetector (detect_scenes, default OpenCV backend)
Our side writes the same JPEGs (quality 92) that ffmpeg writes. Each is run --repeats times,
interleaved with its baseline; the minimum wall time of each is compared (other work on the
machine only ever adds time), and CPU seconds are printed beside it.

PySceneDetect is optional (it is not a dependency of forensics). Install it for this run with
`pip install --no-deps scenedetect platformdirs tqdm`: its own requirement, opencv-python,
would clash with the opencv-python-headless that forensics uses.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg

from forensics.media.video.frames import extract_frames
from forensics.media.video.gop_decoder import cores_available
from forensics.media.video.image_encoding import encode_images

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "footage"
CACHE = Path(os.environ.get("FORENSICS_BENCH_CACHE", Path(tempfile.gettempdir()) / "forensics-bench-frames"))
TOLERANCE_FRAMES = 2
FPS = 30

try:
    import scenedetect
except ImportError:
    scenedetect = None


# ---------------------------------------------------------------------------------------------
# Building test videos


@dataclass(frozen=True)
class Segment:
    source: Path
    start_frame: int
    frames: int


@dataclass(frozen=True)
class Compilation:
    name: str
    path: Path
    cuts: tuple[int, ...]  # frame numbers (presentation order) where a new shot begins
    frame_count: int


def _run(command: list[str]) -> None:
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _cached(name: str, recipe: str, make: Callable[[Path], None]) -> Path:
    CACHE.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(recipe.encode()).hexdigest()[:12]
    path = CACHE / f"{name}-{digest}.mp4"
    if not path.exists():
        temporary = path.with_suffix(".part.mp4")
        make(temporary)
        temporary.replace(path)
    return path


def _frame_count(path: Path) -> int:
    import av
    with av.open(str(path)) as container:
        return sum(1 for packet in container.demux(video=0) if packet.size)


def build_compilation(name: str, segments: list[Segment], *, size: tuple[int, int], fade_frames: int = 0,
                      fade_every: int = 0) -> Compilation:
    """Concatenates segments (scaled, padded, 30 fps); every `fade_every`-th join fades through black."""
    width, height = size
    inputs: list[str] = []
    chains: list[str] = []
    cuts: list[int] = []
    position = 0
    for number, segment in enumerate(segments):
        inputs += ["-i", str(segment.source)]
        fade = ""
        fade_out = fade_every and number % fade_every == fade_every - 1 and number < len(segments) - 1
        fade_in = fade_every and number % fade_every == 0 and number > 0
        if fade_in:
            fade += f",fade=t=in:st=0:n={fade_frames}"
        if fade_out:
            fade += f",fade=t=out:start_frame={segment.frames - fade_frames}:n={fade_frames}"
        chains.append(f"[{number}:v]fps={FPS},trim=start_frame={segment.start_frame}:end_frame="
                      f"{segment.start_frame + segment.frames},setpts=PTS-STARTPTS,"
                      f"scale={width}:{height}:force_original_aspect_ratio=decrease,"
                      f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2,setsar=1,format=yuv420p{fade}[v{number}]")
        if number:
            # A fade's ground truth is the join too: the middle of the black between the shots.
            cuts.append(position)
        position += segment.frames
    graph = ";".join(chains) + ";" + "".join(f"[v{n}]" for n in range(len(segments))) + \
        f"concat=n={len(segments)}:v=1:a=0[out]"
    recipe = repr((name, segments, size, fade_frames, fade_every))

    def make(path: Path) -> None:
        _run([FFMPEG, "-v", "error", "-y", *inputs, "-filter_complex", graph, "-map", "[out]", "-c:v", "libx264",
              "-preset", "veryfast", "-crf", "20", "-threads", "2", "-f", "mp4", str(path)])

    path = _cached(name, recipe, make)
    count = _frame_count(path)
    if count != position:
        raise RuntimeError(f"{path.name}: expected {position} frames, the encoder wrote {count}")
    return Compilation(name, path, tuple(cuts), count)


def _usable_frames(path: Path) -> int:
    import av
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        duration = float(container.duration / 1_000_000) if container.duration else 0.0
        return max(1, int(duration * FPS) - 2) if duration else sum(1 for _ in container.demux(stream))


def compilations(seed: int) -> list[Compilation]:
    """Gives the accuracy set: same-room cuts (ASL clips), mixed footage, and fades through black."""
    rng = random.Random(seed)
    asl = sorted((DATA / "asl_gestures").glob("*.mkv"))
    mixed_sources = [DATA / "bottle-detection.mp4", DATA / "car-detection.mp4",
                     *sorted((DATA / "preview").glob("*.gif")), *asl[:6]]
    lengths = {path: _usable_frames(path) for path in [*asl, *mixed_sources]}
    built = []
    for round_number in range(2):
        clips = rng.sample(asl, 12)
        segments = [Segment(c, 0, rng.randint(min(30, lengths[c]), lengths[c])) for c in clips]
        built.append(build_compilation(f"asl-{seed}-{round_number}", segments, size=(640, 480)))
    for round_number in range(2):
        segments = []
        previous = None
        for _ in range(14):
            source = rng.choice([s for s in mixed_sources if s != previous])
            previous = source
            frames = rng.randint(36, 120)
            start = rng.randint(0, max(0, lengths[source] - frames))
            frames = min(frames, lengths[source] - start)
            segments.append(Segment(source, start, frames))
        built.append(build_compilation(f"mixed-{seed}-{round_number}", segments, size=(960, 540)))
    segments = []
    for source in rng.sample(mixed_sources, 8):
        frames = min(lengths[source], rng.randint(60, 120))
        segments.append(Segment(source, 0, frames))
    built.append(build_compilation(f"fades-{seed}", segments, size=(960, 540), fade_frames=10, fade_every=2))
    return built


def speed_video() -> tuple[Path, float]:
    """Gives a 1080p H.264 video over 60 s long, and its duration in seconds."""
    sources = [DATA / "car-detection.mp4", *[DATA / "asl_gestures" / f"{n}.mkv" for n in ("again", "bird")],
               DATA / "preview" / "classroom.gif", DATA / "asl_gestures" / "book.mkv", DATA / "bottle-detection.mp4",
               DATA / "preview" / "store-aisle-detection.gif", DATA / "asl_gestures" / "yes.mkv"]
    inputs: list[str] = []
    chains = []
    for number, source in enumerate(sources):
        inputs += ["-i", str(source)]
        chains.append(f"[{number}:v]scale=1920:1080:force_original_aspect_ratio=decrease,"
                      f"pad=1920:1080:(ow-iw)/2:(oh-ih)/2,setsar=1,fps={FPS},format=yuv420p[v{number}]")
    graph = ";".join(chains) + ";" + "".join(f"[v{n}]" for n in range(len(sources))) + \
        f"concat=n={len(sources)}:v=1:a=0,noise=alls=6:allf=t+u:all_seed=7[out]"

    def make(path: Path) -> None:
        _run([FFMPEG, "-v", "error", "-y", *inputs, "-filter_complex", graph, "-map", "[out]", "-c:v", "libx264",
              "-preset", "veryfast", "-crf", "23", "-threads", "2", "-f", "mp4", str(path)])

    path = _cached("speed-1080p", graph, make)
    import av
    with av.open(str(path)) as container:
        return path, float(container.duration / 1_000_000)


# ---------------------------------------------------------------------------------------------
# Accuracy


def f1(found: list[int], truth: list[int], tolerance: int = TOLERANCE_FRAMES) -> tuple[float, float, float]:
    """Gives precision, recall and F1, matching each true cut to at most one found cut."""
    unmatched = sorted(found)
    hits = 0
    for cut in truth:
        near = [f for f in unmatched if abs(f - cut) <= tolerance]
        if near:
            unmatched.remove(min(near, key=lambda f: abs(f - cut)))
            hits += 1
    precision = hits / len(found) if found else 1.0
    recall = hits / len(truth) if truth else 1.0
    score = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, score


def our_cuts(path: Path) -> list[int]:
    frameset = extract_frames(path, mode="scenes", size_px=320)
    return [shot.first_index for shot in frameset.shots[1:]]


def pyscenedetect_cuts(path: Path) -> list[int]:
    from scenedetect import ContentDetector, SceneManager, open_video
    video = open_video(str(path))
    manager = SceneManager()
    manager.add_detector(ContentDetector())
    manager.detect_scenes(video, show_progress=False)
    return [_frame_number(start) for start, _ in manager.get_scene_list()[1:]]


def _frame_number(timecode) -> int:
    # frame_num replaced get_frames() in PySceneDetect 0.7; older releases have only the method.
    return int(timecode.frame_num) if hasattr(timecode, "frame_num") else int(timecode.get_frames())


def accuracy(seed: int) -> None:
    print(f"\n== scene-cut accuracy (tolerance {TOLERANCE_FRAMES} frames), compilations from {DATA.resolve()}")
    built = compilations(seed)
    totals: dict[str, list[int]] = {"ours": [0, 0, 0], "pyscenedetect": [0, 0, 0]}
    header = f"{'compilation':<16} {'cuts':>4}  {'ours P/R/F1':>20}  {'PySceneDetect P/R/F1':>22}"
    print(header)
    for compilation in built:
        truth = list(compilation.cuts)
        row = f"{compilation.name:<16} {len(truth):>4}"
        for name, detect in (("ours", our_cuts), ("pyscenedetect", pyscenedetect_cuts)):
            if name == "pyscenedetect" and scenedetect is None:
                row += f"  {'(not installed)':>22}"
                continue
            found = detect(compilation.path)
            p, r, f = f1(found, truth)
            hits = round(r * len(truth))
            totals[name][0] += hits
            totals[name][1] += len(found)
            totals[name][2] += len(truth)
            row += f"  {p:6.3f} {r:6.3f} {f:6.3f}" + ("  " if name == "pyscenedetect" else "")
        print(row)
    for name, (hits, found, truth) in totals.items():
        if not truth:
            print(f"{name}: skipped (PySceneDetect not installed; see this file's docstring)")
            continue
        p = hits / found if found else 1.0
        r = hits / truth
        f = 2 * p * r / (p + r) if p + r else 0.0
        print(f"TOTAL {name:<14} cuts={truth} found={found} hits={hits}  P={p:.3f} R={r:.3f} F1={f:.3f}")


# ---------------------------------------------------------------------------------------------
# Speed


@dataclass
class Timing:
    wall_s: list[float]
    cpu_s: list[float]

    def best(self) -> float:
        return min(self.wall_s)


def _measure(action: Callable[[], None], child: bool) -> tuple[float, float]:
    who = resource.RUSAGE_CHILDREN if child else resource.RUSAGE_SELF
    before, start = resource.getrusage(who), time.perf_counter()
    action()
    wall = time.perf_counter() - start
    after = resource.getrusage(who)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _ffmpeg_keyframes_command(video: Path, out: Path) -> list[str]:
    probe = subprocess.run([FFMPEG, "-hide_banner", "-h", "full"], capture_output=True, text=True, check=False).stdout
    # -vsync was removed in FFmpeg 7.1; -fps_mode passthrough is the same thing by its new name.
    sync = ["-vsync", "0"] if "-vsync" in probe else ["-fps_mode", "passthrough"]
    return [FFMPEG, "-v", "error", "-y", "-skip_frame", "nokey", "-i", str(video), *sync, "-f", "image2",
            str(out / "k%04d.jpg")]


def _write_jpegs(frames, out: Path) -> None:
    """Writes the frames as the CLI does with --format jpeg: encoded on every core."""
    encoded = encode_images([frame.image for frame in frames], format="jpeg", workers=cores_available())
    for frame, data in zip(frames, encoded):
        (out / f"f{frame.index:06d}.jpg").write_bytes(data)


def speed(repeats: int) -> None:
    video, duration_s = speed_video()
    print(f"\n== speed on {video} ({duration_s:.1f} s, 1080p H.264), best of {repeats}, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start")
    work = Path(tempfile.mkdtemp(prefix="bench-frames-"))
    try:
        key_command = _ffmpeg_keyframes_command(video, work)
        fps_command = [FFMPEG, "-v", "error", "-y", "-i", str(video), "-vf", "fps=1", str(work / "f%04d.jpg")]

        def fresh() -> Path:
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir()
            return work

        def ours(mode: str) -> Callable[[], None]:
            def action() -> None:
                frameset = extract_frames(video, mode=mode)
                _write_jpegs(frameset.frames, work)
            return action

        cases = [
            ("keyframes", ours("keyframes"), lambda: _run(key_command), " ".join(key_command)),
            ("every:1", ours("every:1"), lambda: _run(fps_command), " ".join(fps_command)),
        ]
        if scenedetect is not None:
            cases.append(("scenes", ours("scenes"), lambda: pyscenedetect_cuts(video),
                          "PySceneDetect ContentDetector (open_video + SceneManager.detect_scenes)"))
        else:
            print("scenes: PySceneDetect not installed, baseline skipped (see this file's docstring)")
            cases.append(("scenes", ours("scenes"), None, "(none)"))
        for name, mine, theirs, described in cases:
            ours_t, base_t = Timing([], []), Timing([], [])
            for _ in range(repeats):
                fresh()
                wall, cpu = _measure(mine, child=False)
                ours_t.wall_s.append(wall)
                ours_t.cpu_s.append(cpu)
                if theirs is not None:
                    fresh()
                    wall, cpu = _measure(theirs, child=theirs is not None and name != "scenes")
                    base_t.wall_s.append(wall)
                    base_t.cpu_s.append(cpu)
            line = (f"{name:<10} ours {ours_t.best():6.2f} s wall (runs {_fmt(ours_t.wall_s)}; "
                    f"cpu {min(ours_t.cpu_s):5.2f} s), {duration_s / ours_t.best():5.1f}x real time")
            print(line)
            if base_t.wall_s:
                ratio = ours_t.best() / base_t.best()
                print(f"{'':<10} base {base_t.best():6.2f} s wall (runs {_fmt(base_t.wall_s)}; "
                      f"cpu {min(base_t.cpu_s):5.2f} s), {duration_s / base_t.best():5.1f}x real time")
                print(f"{'':<10} ratio ours/base = {ratio:.2f}   baseline: {described}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _fmt(values: list[float]) -> str:
    return " ".join(f"{v:.2f}" for v in values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    arguments = parser.parse_args()
    if not DATA.is_dir():
        sys.exit(f"footage not found at {DATA}: the benchmark needs ../shared/data/footage/")
    print(f"ffmpeg: {FFMPEG}")
    print(f"PySceneDetect: {scenedetect.__version__ if scenedetect else 'not installed'}")
    if not arguments.skip_accuracy:
        accuracy(arguments.seed)
    if not arguments.skip_speed:
        speed(arguments.repeats)


if __name__ == "__main__":
    main()
