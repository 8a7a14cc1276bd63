"""Times an analysed `forensics ingest` of 60 s 1080p30 phone-like clips against ffmpeg decoding them (issue #23).

    .venv/bin/python benchmarks/bench_analysed_ingest.py                   # 60 s clips, 3 rounds, a folder of 10
    .venv/bin/python benchmarks/bench_analysed_ingest.py --quick           # 20 s clips, 1 round, a folder of 3
    .venv/bin/python benchmarks/bench_analysed_ingest.py --work /tmp/bai   # keep the clips there for the next run

Builds, once (cached by recipe in --work), H.264 clips made from ../shared/data/footage/: seeded
excerpts of its videos and GIFs (car and bottle videos, the signer's clips, the previews), each
scaled and cropped to 1920x1080, 30 fps, with light temporal sensor noise, encoded as a phone
does: libx264 High, 12 Mb/s (-maxrate 12M -bufsize 24M), a keyframe every 2 s (-g 60, no
scene-cut keyframes), no B-frames; AAC 128 kb/s 48 kHz stereo: the car video's own sound over
its excerpts, elsewhere a seeded synthetic track (voiced syllables over a room's noise). Every
clip is a different cut of the footage, so the folder's near-duplicate step has work to do
(excerpts of the same source videos overlap in places, as in a real folder).

Then, from a warm page cache, it times, in turns (the order flips every round so drift hits both):
  (a) ffmpeg -threads 2 -i CLIP -f null -              the baseline: every frame and sample decoded
  (b) forensics ingest ONE --case NEW --quiet --json   a folder holding that one clip, a new case each time
and the same for a folder of --folder-clips clips (ffmpeg over each clip in sequence). It prints the
median of each over --rounds rounds and their ratio (the issue's target: at most 1.1), and the
ingest's peak memory (wait4's ru_maxrss: its largest single process; and the whole tree's RSS,
sampled every 50 ms).

Last, the split of one clip's ingest per step: the custody part alone (`--custody-only`, median
of --rounds), then one ingest run in this process (library `forensics.incident.ingest`, one
analysis thread, as one pool worker runs it) with each step's function, and the functions inside
them, wrapped with timers, and `av.open` wrapped with a counting shim, which counts, per step,
the containers opened, the packets read (demuxed) and fed to a decoder and the frames decoded,
for video and for sound. "passes" is packets fed / packets in the stream: 1.00 is one full
decode. The metadata probe runs in its own reader process, beyond the shim; it reads headers
only. The workers' own step times from the CLI run's custody log are printed beside it. Then the
floor: the CPU seconds the frames' PNG encoding took in that run and ffmpeg -threads 1's CPU seconds
to decode the clip, summed and spread over every core, against the ffmpeg -threads 2 decode: no
ingest that decodes every frame and writes today's frame files can do better on this machine.

The last line is one JSON object with every figure. Clips are cached in --work (default: a
temp dir removed at the end); cases and links are always removed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import av
import imageio_ffmpeg
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ingest import Run, forensics_command, run_measured, sync

REPO = Path(__file__).resolve().parents[1]
FOOTAGE = REPO / ".." / "shared" / "data" / "footage"
FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
MB = 1_000_000
TARGET_RATIO = 1.1
FPS = 30
AUDIO_RATE_HZ = 48_000
# Changing how clips are made changes this, so a cached clip of an older recipe is not reused.
RECIPE_VERSION = 1
ENCODER = ["-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high", "-pix_fmt", "yuv420p",
           "-b:v", "12M", "-maxrate", "12M", "-bufsize", "24M", "-g", "60", "-keyint_min", "60",
           "-sc_threshold", "0", "-bf", "0", "-r", str(FPS),
           "-c:a", "aac", "-b:a", "128k", "-ar", str(AUDIO_RATE_HZ), "-ac", "2", "-movflags", "+faststart"]


# --- the clips ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Source:
    path: Path
    duration_s: float
    has_audio: bool
    is_gif: bool


@dataclass(frozen=True, slots=True)
class Piece:
    source: Source
    start_s: float
    length_s: float


def sources() -> list[Source]:
    """Gives every video and GIF of the footage folder with its duration; exits when there is none."""
    paths = sorted([*FOOTAGE.glob("*.mp4"), *(FOOTAGE / "asl_gestures").glob("*.mkv"),
                    *(FOOTAGE / "preview").glob("*.gif")])
    if not paths:
        raise SystemExit(f"bench_analysed_ingest: no footage in {FOOTAGE.resolve()} (see ../shared/data/README.md)")
    found = []
    for path in paths:
        with av.open(str(path)) as container:
            found.append(Source(path, float(container.duration or 0) / 1e6,
                                any(s.type == "audio" for s in container.streams), path.suffix == ".gif"))
    return [s for s in found if s.duration_s > 0.5]


def cut(all_sources: list[Source], seconds: float, seed: int) -> list[Piece]:
    """Gives a seeded cut of `seconds`: excerpts of 3-12 s of the long videos, whole short clips and GIFs."""
    rng = np.random.default_rng(seed)
    pieces: list[Piece] = []
    filled = 0.0
    while filled < seconds - 1e-6:
        source = all_sources[int(rng.integers(len(all_sources)))]
        if source.duration_s > 12:
            length = float(rng.uniform(3, 12))
            start = float(rng.uniform(0, source.duration_s - length))
        else:
            length, start = source.duration_s - 0.05, 0.0
        length = round(min(length, seconds - filled), 3)
        if length < 0.5:  # too short to be a shot: stretch the last piece instead
            last = pieces.pop()
            length, source, start = last.length_s + length, last.source, last.start_s
            filled -= last.length_s
            if not source.is_gif and start + length > source.duration_s:
                start = max(0.0, source.duration_s - length)
        pieces.append(Piece(source, round(start, 3), round(length, 3)))
        filled += length
    return pieces


def speech_like(seconds: float, seed: int) -> np.ndarray:
    """Gives seeded stereo float32 audio at 48 kHz: voiced syllables in phrases over a room's noise."""
    rng = np.random.default_rng(seed)
    n = int(seconds * AUDIO_RATE_HZ)
    t = np.arange(n) / AUDIO_RATE_HZ
    room = np.cumsum(rng.normal(0, 1, n)).astype(np.float64)
    room -= np.convolve(room, np.ones(480) / 480, mode="same")  # brownish, without the drift
    room *= 0.004 / (room.std() + 1e-9)
    voice = np.zeros(n)
    at = float(rng.uniform(0.2, 1.0))
    while at < seconds - 0.3:
        phrase_end = min(seconds - 0.2, at + float(rng.uniform(1.0, 4.0)))
        f0 = float(rng.uniform(95, 230))
        while at < phrase_end:
            length = float(rng.uniform(0.08, 0.28))
            a, b = int(at * AUDIO_RATE_HZ), min(n, int((at + length) * AUDIO_RATE_HZ))
            seg = t[a:b] - at
            pitch = f0 * (1 + 0.06 * np.sin(2 * np.pi * float(rng.uniform(3, 6)) * seg))
            phase = 2 * np.pi * np.cumsum(pitch) / AUDIO_RATE_HZ
            formants = rng.uniform([300, 900, 2200], [900, 2000, 3200])
            sound = np.zeros(b - a)
            for k in range(1, 25):
                freq = k * f0
                weight = sum(np.exp(-((freq - f) / 120.0) ** 2) for f in formants) + 0.02
                sound += weight / k ** 0.5 * np.sin(k * phase)
            envelope = np.sin(np.pi * np.clip(seg / length, 0, 1)) ** 2
            voice[a:b] += 0.08 * envelope * sound / (np.abs(sound).max() + 1e-9)
            at += length + float(rng.uniform(0.02, 0.12))
        at += float(rng.uniform(0.3, 1.5))
    left = room + voice
    right = np.roll(room, 7) + 0.9 * voice
    return np.stack([left, right], axis=1).astype(np.float32)


def build_clip(work: Path, seconds: float, seed: int, all_sources: list[Source]) -> Path:
    """Gives the clip of this length and seed, making it when the cache does not hold it."""
    pieces = cut(all_sources, seconds, seed)
    inputs: list[str] = []
    chains: list[str] = []
    audio_input = len(pieces)
    at = 0.0
    for k, piece in enumerate(pieces):
        if piece.source.is_gif:
            inputs += ["-ignore_loop", "0", "-t", f"{piece.length_s}", "-i", str(piece.source.path)]
        else:
            inputs += ["-ss", f"{piece.start_s}", "-t", f"{piece.length_s}", "-i", str(piece.source.path)]
        chains.append(f"[{k}:v]scale=1920:1080:force_original_aspect_ratio=increase,crop=1920:1080,setsar=1,"
                      f"fps={FPS},format=yuv420p,trim=duration={piece.length_s},setpts=PTS-STARTPTS[v{k}]")
        if piece.source.has_audio:
            chains.append(f"[{k}:a]aresample={AUDIO_RATE_HZ},aformat=sample_fmts=fltp:channel_layouts=stereo,"
                          f"apad,atrim=duration={piece.length_s},asetpts=PTS-STARTPTS[a{k}]")
        else:
            chains.append(f"[{audio_input}:a]atrim=start={at:.3f}:duration={piece.length_s},"
                          f"asetpts=PTS-STARTPTS,aformat=sample_fmts=fltp:channel_layouts=stereo[a{k}]")
        at += piece.length_s
    joined = "".join(f"[v{k}][a{k}]" for k in range(len(pieces)))
    graph = (";".join(chains) + f";{joined}concat=n={len(pieces)}:v=1:a=1[vc][out_a];"
             + f"[vc]noise=alls=6:allf=t+u:all_seed={seed}[out_v]")
    recipe = json.dumps([RECIPE_VERSION, seconds, seed, [str(i) for i in inputs], graph, ENCODER])
    digest = hashlib.sha256(recipe.encode()).hexdigest()[:12]
    path = work / "clips" / f"VID_{seconds:g}s_{seed:04d}_{digest}.mp4"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = work / "clips" / f"speech-{seed}.f32"
    raw.write_bytes(speech_like(seconds + 1, seed).tobytes())
    partial = path.with_suffix(".partial.mp4")
    command = [FFMPEG, "-nostdin", "-v", "error", "-y", *inputs, "-f", "f32le", "-ar", str(AUDIO_RATE_HZ), "-ac", "2",
               "-i", str(raw), "-filter_complex", graph, "-map", "[out_v]", "-map", "[out_a]", *ENCODER,
               "-t", f"{seconds}", "-metadata", f"creation_time=2024-03-14T09:{seed % 60:02d}:00Z", str(partial)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    raw.unlink(missing_ok=True)
    if done.returncode != 0:
        raise SystemExit(f"bench_analysed_ingest: ffmpeg could not make {path.name}:\n{done.stderr[-3000:]}")
    partial.rename(path)
    return path


def describe(path: Path) -> dict[str, Any]:
    """Gives a clip's size, bit rate, and packet counts per stream type, read by demuxing it once."""
    packets: Counter[str] = Counter()
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        width, height = video.codec_context.width, video.codec_context.height
        duration_s = float(container.duration or 0) / 1e6
        for packet in container.demux():
            if packet.size:
                packets[packet.stream.type] += 1
    size = path.stat().st_size
    return {"width": width, "height": height, "duration_s": round(duration_s, 3), "bytes": size,
            "mbit_s": round(size * 8 / duration_s / 1e6, 2), "video_packets": packets["video"],
            "audio_packets": packets["audio"]}


def warm(paths: list[Path]) -> None:
    for path in paths:
        with path.open("rb", buffering=0) as f:
            while f.read(16 << 20):
                pass


def folder_of(work: Path, name: str, clips: list[Path]) -> Path:
    """Gives a source folder holding these clips (hard links where the disk allows, else copies)."""
    folder = work / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for clip in clips:
        try:
            os.link(clip, folder / clip.name)
        except OSError:
            shutil.copyfile(clip, folder / clip.name)
    return folder


# --- the two contenders ---------------------------------------------------------------------------
def run_ffmpeg(clips: list[Path], work: Path) -> float:
    """Decodes each clip in turn with ffmpeg -threads 2 into the null muxer; gives back seconds."""
    start = time.perf_counter()
    for clip in clips:
        run = run_measured([FFMPEG, "-nostdin", "-v", "error", "-threads", "2", "-i", str(clip), "-f", "null", "-"],
                           work=work)
        if run.exit_code != 0:
            raise SystemExit(f"bench_analysed_ingest: ffmpeg could not decode {clip.name}:\n{run.stderr[-2000:]}")
    return time.perf_counter() - start


def decode_cpu_s(clip: Path, work: Path) -> float:
    """Gives back the CPU seconds (user + system) ffmpeg -threads 1 takes to decode every frame and sample of clip:
    the least work any full decode of it does on this machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    run = run_measured([FFMPEG, "-nostdin", "-v", "error", "-threads", "1", "-i", str(clip), "-f", "null", "-"],
                       work=work)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if run.exit_code != 0:
        raise SystemExit(f"bench_analysed_ingest: ffmpeg could not decode {clip.name}:\n{run.stderr[-2000:]}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def run_ingest(cmd: list[str], env: dict[str, str], folder: Path, work: Path, *, extra: tuple[str, ...] = (),
               keep_log: bool = False) -> tuple[Run, list[dict[str, Any]]]:
    """Ingests folder into a new case; gives back the run and, with keep_log, the case's custody log."""
    case = work / "case"
    shutil.rmtree(case, ignore_errors=True)
    env = env | {"FORENSICS_KEY_DIR": str(work / "keys"), "FORENSICS_ACTOR": "bench"}
    sync()
    run = run_measured([*cmd, "ingest", str(folder), "--case", str(case), "--quiet", "--json", *extra],
                       env=env, work=work)
    if run.exit_code != 0:
        raise SystemExit(f"bench_analysed_ingest: ingest of {folder} exited {run.exit_code}:\n{run.stderr[-2000:]}")
    entries = []
    if keep_log:
        with (case / "custody" / "log.jsonl").open() as f:
            entries = [json.loads(line) for line in f if line.strip()]
    shutil.rmtree(case, ignore_errors=True)
    return run, entries


def worker_step_times(entries: list[dict[str, Any]]) -> dict[str, float]:
    """Gives the seconds each analysis step took on its worker, summed over files, from a custody log."""
    times: Counter[str] = Counter()
    for entry in entries:
        details = entry.get("details") or {}
        if entry.get("action") == "analysed" and "elapsed_s" in (details.get("performed_on") or {}):
            times[details["kind"]] += details["performed_on"]["elapsed_s"]
    return dict(times)


# --- the split per step: timers and a counting av.open, in this process only ------------------------
class Tally:
    """Per label: inclusive seconds, seconds of timed children, and decoding counts per stream type."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stack = ["other"]
        self.order: list[str] = []
        self.seconds: Counter[str] = Counter()
        self.child_seconds: Counter[str] = Counter()
        self.counts: dict[str, Counter[str]] = {}
        self.thread_seconds: Counter[str] = Counter()  # CPU seconds of decoder-thread work, summed over threads
        self.encoded = 0  # pictures encoded as PNG
        self.encoding_cpu_s = 0.0  # CPU seconds of the process while it encoded them (nothing else runs then)

    def count(self, what: str, n: int = 1) -> None:
        # Decoder threads count too: they work for whichever step the analysis thread is in.
        with self.lock:
            self.counts.setdefault(self.stack[-1], Counter())[what] += n

    @contextmanager
    def timing(self, name: str) -> Iterator[None]:
        parent = self.stack[-1]
        label = name if parent == "other" else f"{parent}/{name}"
        if label not in self.order:
            self.order.append(label)
        self.stack.append(label)
        start = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - start
            self.stack.pop()
            self.seconds[label] += elapsed
            self.child_seconds[parent] += elapsed

    def exclusive(self, label: str) -> float:
        return self.seconds[label] - self.child_seconds[label]

    def decoding(self, prefix: str) -> Counter[str]:
        """Counts of the label and every label under it."""
        total: Counter[str] = Counter()
        for label, counts in self.counts.items():
            if label == prefix or label.startswith(prefix + "/"):
                total.update(counts)
        return total


def _real(value: Any) -> Any:
    if isinstance(value, (_StreamProxy, _CodecProxy)):
        return object.__getattribute__(value, "_real")
    if isinstance(value, (list, tuple)):
        return type(value)(_real(v) for v in value)
    return value


class _CodecProxy:
    """A codec context that counts the packets fed to it and the frames it gives."""

    def __init__(self, real: Any, kind: str, tally: Tally) -> None:
        object.__setattr__(self, "_real", real)
        object.__setattr__(self, "_kind", kind)
        object.__setattr__(self, "_tally", tally)

    def decode(self, packet: Any = None) -> Any:
        frames = self._real.decode(packet)
        if packet is not None:
            self._tally.count(f"{self._kind}_fed")
        self._tally.count(f"{self._kind}_frames", len(frames))
        return frames

    def __getattr__(self, name: str) -> Any:
        return getattr(object.__getattribute__(self, "_real"), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(object.__getattribute__(self, "_real"), name, value)


class _StreamProxy(_CodecProxy):
    """A stream whose codec context counts too."""

    @property
    def codec_context(self) -> _CodecProxy:
        return _CodecProxy(self._real.codec_context, self._kind, self._tally)


class _StreamsProxy:
    def __init__(self, real: Any, tally: Tally) -> None:
        self._real, self._tally = real, tally

    def _wrap(self, stream: Any) -> _StreamProxy:
        return _StreamProxy(stream, stream.type, self._tally)

    def __getitem__(self, key: Any) -> Any:
        found = self._real[key]
        return [self._wrap(s) for s in found] if isinstance(found, (list, tuple)) else self._wrap(found)

    def __iter__(self) -> Iterator[_StreamProxy]:
        return (self._wrap(s) for s in self._real)

    def __len__(self) -> int:
        return len(self._real)

    @property
    def video(self) -> tuple[_StreamProxy, ...]:
        return tuple(self._wrap(s) for s in self._real.video)

    @property
    def audio(self) -> tuple[_StreamProxy, ...]:
        return tuple(self._wrap(s) for s in self._real.audio)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


class _ContainerProxy:
    """An input container that counts packets read and frames decoded, per stream type."""

    def __init__(self, real: Any, tally: Tally) -> None:
        self._real, self._tally = real, tally
        self.streams = _StreamsProxy(real.streams, tally)

    def demux(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        for packet in self._real.demux(*_real(args), **{k: _real(v) for k, v in kwargs.items()}):
            if packet.size:
                self._tally.count(f"{packet.stream.type}_read")
            yield packet

    def decode(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        for frame in self._real.decode(*_real(args), **{k: _real(v) for k, v in kwargs.items()}):
            kind = "video" if isinstance(frame, av.VideoFrame) else "audio"
            self._tally.count(f"{kind}_fed")  # one packet a frame, near enough, for what this decodes
            self._tally.count(f"{kind}_frames")
            yield frame

    def seek(self, *args: Any, **kwargs: Any) -> Any:
        return self._real.seek(*_real(args), **{k: _real(v) for k, v in kwargs.items()})

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self._real.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


@contextmanager
def patched(targets: list[tuple[Any, str, Callable[[Any], Any]]]) -> Iterator[None]:
    """Replaces each owner.name (owner[name] for a dict) by make(original) for the duration, then puts it back."""
    def get(owner: Any, name: str) -> Any:
        return owner[name] if isinstance(owner, dict) else getattr(owner, name)

    def put(owner: Any, name: str, value: Any) -> None:
        if isinstance(owner, dict):
            owner[name] = value
        else:
            setattr(owner, name, value)

    saved = [(owner, name, get(owner, name)) for owner, name, _ in targets]
    try:
        for owner, name, make in targets:
            put(owner, name, make(get(owner, name)))
        yield
    finally:
        for owner, name, original in reversed(saved):
            put(owner, name, original)


def split_steps(folder: Path, work: Path) -> tuple[Tally, float, list[str]]:
    """Ingests folder in this process with timers and the counting shim; gives the tally, the total
    seconds and the steps that failed (a failure would make the figures meaningless)."""
    import forensics.audio.crossmatch as crossmatch
    import forensics.audio.search as search
    import forensics.dedup.media_hashes as media_hashes
    import forensics.dedup.sampling as sampling
    import forensics.media.video.contact_sheet as contact_sheet
    import forensics.media.video.frames as frames
    import forensics.media.video.image_encoding as image_encoding
    import forensics.pipeline.analyses as analyses
    import forensics.pipeline.file_analysis as file_analysis
    from forensics.custody.signing import new_key
    from forensics.incident import ingest
    from forensics.pipeline.runners import thread_runner
    from forensics.step_failure import StepFailure

    tally = Tally()
    failures: list[str] = []

    def timed(name: str) -> Callable[[Any], Any]:
        def make(original: Any) -> Any:
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                with tally.timing(name):
                    return original(*args, **kwargs)
            return wrapper
        return make

    def counting_open(original: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            container = original(*args, **kwargs)
            if kwargs.get("mode", "r") != "r" or not hasattr(container, "demux"):
                return container
            tally.count("opens")
            return _ContainerProxy(container, tally)
        return wrapper

    def step(name: str, original: Any) -> Any:
        def wrapper(job: Any) -> Any:
            with tally.timing(name):
                result = original(job)
            failures.extend(f"{name}: {one.record.to_json()}" for one in
                            (result if isinstance(result, tuple) else (result,)) if isinstance(one.record, StepFailure))
            return result
        return wrapper

    def in_threads(name: str) -> Callable[[Any], Any]:
        # Decoder threads run these side by side: their seconds are summed apart, off the stack of steps.
        def make(original: Any) -> Any:
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                start = time.thread_time()
                try:
                    return original(*args, **kwargs)
                finally:
                    with tally.lock:
                        tally.thread_seconds[name] += time.thread_time() - start
            return wrapper
        return make

    def encoding(original: Any) -> Any:
        timed_original = timed("PNG encoding of the frames (threads)")(original)

        def wrapper(images: Any, *args: Any, **kwargs: Any) -> Any:
            start = time.process_time()
            try:
                return timed_original(images, *args, **kwargs)
            finally:
                tally.encoded += len(images)
                tally.encoding_cpu_s += time.process_time() - start
        return wrapper

    targets: list[tuple[Any, str, Callable[[Any], Any]]] = [
        (av, "open", counting_open),
        (analyses, "analyse_items", timed("analysis")),
        (analyses, "record_near_duplicates", timed("near-duplicates (case)")),
        (analyses, "record_audio_links", timed("audio links (case)")),
        (analyses, "record_messages", timed("messages (case)")),
        (analyses, "_with_derived", timed("storing derived files")),
        (frames, "read_video_index", timed("packet index")),
        (sampling, "read_video_index", timed("packet index")),
        (frames._Job, "_scenes", timed("scene scan (64 px grey, every frame)")),
        (frames, "small_picture", in_threads("64 px grey pictures for the scene scan")),
        (frames._Job, "_decode_exactly", timed("exact frames (full size RGB)")),
        (image_encoding, "encode_images", encoding),
        (contact_sheet, "contact_sheet", timed("contact sheet")),
        (contact_sheet, "thumbnail", timed("thumbnail")),
        (media_hashes, "read_pictures", timed("samples (128 px grey, every 0.25 s + keyframes)")),
        (sampling, "sampled_pictures", timed("samples handed over by the scene scan")),
        (sampling._Shrinker, "__call__", in_threads("128 px grey pictures for dedup")),
        (media_hashes, "hash_pictures_of", timed("perceptual hashes")),
        (search, "fingerprint_file", timed("decode and fingerprint (fingerprint_file)")),
        (search, "decode_audio", timed("audio decode")),
        (search, "analyse", timed("landmark fingerprint")),
        (search, "track_summary", timed("segments")),
        (crossmatch.CrossMatcher, "links", timed("link search")),
    ]
    steps = {kind: (lambda original, kind=kind: step(str(kind), original))
             for kind in file_analysis._STEP_FUNCTIONS}
    if hasattr(file_analysis, "_frames_and_dedup"):  # one decoding pass for both steps (#23)
        targets.append((file_analysis, "_frames_and_dedup",
                        lambda original: step("frames + dedup (one decoding pass)", original)))
        targets.append((file_analysis, "_frames_of", timed("frames: encoding and the record")))
    case = work / "split-case"
    shutil.rmtree(case, ignore_errors=True)
    key = new_key("bench", work / "keys" / "split.key", overwrite=True)
    sync()
    with patched(targets), patched([(file_analysis._STEP_FUNCTIONS, k, v) for k, v in steps.items()]):
        start = time.perf_counter()
        ingest([folder], case, key=key, runner=thread_runner(1))
        total = time.perf_counter() - start
    shutil.rmtree(case, ignore_errors=True)
    return tally, total, failures


# --- the run ------------------------------------------------------------------------------------
def median(values: list[float]) -> float:
    return float(statistics.median(values))


def print_split(tally: Tally, total_s: float, custody_cli_s: float, worker_s: dict[str, float],
                info: dict[str, Any]) -> list[dict[str, Any]]:
    """Prints the table of time per step and decoding passes; gives back its rows."""
    children: dict[str, list[str]] = {}
    for label in tally.order:
        parent = label.rpartition("/")[0]
        children.setdefault(parent, []).append(label)
    rows: list[dict[str, Any]] = []

    def passes(count: int, kind: str) -> float:
        return count / max(1, info[f"{kind}_packets"])

    def row(name: str, depth: int, seconds: float, counts: Counter[str], worker: float | None) -> None:
        rows.append({"step": name, "depth": depth, "seconds": round(seconds, 3),
                     "share": round(seconds / total_s, 4), "worker_s": worker, **dict(counts)})
        decoding = (f"{counts['opens']:5d} {passes(counts['video_read'], 'video'):6.2f} "
                    f"{passes(counts['video_fed'], 'video'):6.2f} {counts['video_frames']:6d} "
                    f"{passes(counts['audio_read'], 'audio'):6.2f} {passes(counts['audio_fed'], 'audio'):6.2f}"
                    if counts else "")
        label = ("  " * depth + name)[:58]
        print(f"  {label:<58} {seconds:7.2f} {100 * seconds / total_s:5.1f}% "
              f"{'' if worker is None else f'{worker:6.2f}':>6} {decoding}")

    def walk(label: str, depth: int) -> None:
        name = label.rpartition("/")[2]
        row(name, depth, tally.seconds[label], tally.decoding(label),
            round(worker_s[name], 3) if label == f"analysis/{name}" and name in worker_s else None)
        kids = children.get(label, [])
        for kid in kids:
            walk(kid, depth + 1)
        rest = tally.exclusive(label)
        if kids and rest > 0.005:
            row("(the rest)", depth + 1, rest, tally.counts.get(label, Counter()), None)

    print(f"  {'step':<58} {'s':>7} {'share':>6} {'worker':>6} {'opens':>5} {'v.read':>6} {'v.dec':>6} "
          f"{'frames':>6} {'a.read':>6} {'a.dec':>6}")
    analysis = tally.seconds["analysis"]
    row("custody part (ingest --custody-only, CLI, median)", 0, custody_cli_s, Counter(), None)
    row("ingest in this process (library, one analysis thread)", 0, total_s, tally.decoding("analysis"), None)
    row("custody (copy, both digests, log, bag)", 1, total_s - analysis, Counter(), None)
    walk("analysis", 1)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=None,
                        help="where clips are made and kept for the next run (default: a temp dir, removed)")
    parser.add_argument("--rounds", type=int, default=None, help="timed rounds, the median counts (default 3)")
    parser.add_argument("--folder-clips", type=int, default=None, help="clips in the folder (default 10)")
    parser.add_argument("--seconds", type=float, default=None, help="length of each clip (default 60)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the first clip; clip i has seed + i (default 1)")
    parser.add_argument("--quick", action="store_true", help="20 s clips, 1 round, a folder of 3: a few minutes")
    parser.add_argument("--no-split", action="store_true", help="leave out the split per step")
    args = parser.parse_args(argv)
    seconds = args.seconds or (20.0 if args.quick else 60.0)
    rounds = args.rounds or (1 if args.quick else 3)
    folder_clips = args.folder_clips or (3 if args.quick else 10)
    if rounds < 1 or folder_clips < 1 or seconds < 2:
        parser.error("--rounds and --folder-clips must be at least 1, --seconds at least 2")

    cmd, env = forensics_command()
    temporary = args.work is None
    work = Path(tempfile.mkdtemp(prefix="bench-analysed-ingest-")) if temporary else args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    try:
        started = time.perf_counter()
        print(f"clips: {folder_clips} of {seconds:g} s, 1920x1080 {FPS} fps H.264 12 Mb/s + AAC, in {work / 'clips'} "
              "(made once, then reused) ...", flush=True)
        all_sources = sources()
        clips = []
        for i in range(folder_clips):
            begun = time.perf_counter()
            clips.append(build_clip(work, seconds, args.seed + i, all_sources))
            made = time.perf_counter() - begun
            print(f"  {clips[-1].name}" + (f" (made in {made:.0f} s)" if made > 1 else " (cached)"), flush=True)
        info = describe(clips[0])
        folder_bytes = sum(c.stat().st_size for c in clips)
        print(f"  the clip: {info['width']}x{info['height']}, {info['duration_s']:g} s, {info['bytes'] / MB:.1f} MB "
              f"({info['mbit_s']} Mb/s), {info['video_packets']} video and {info['audio_packets']} audio packets; "
              f"the folder: {folder_bytes / MB:.0f} MB")
        one = folder_of(work, "one", clips[:1])
        folder = folder_of(work, "folder", clips)
        warm(clips)
        figures: dict[str, Any] = {
            "bench": "analysed_ingest", "clip_seconds": seconds, "rounds": rounds, "folder_clips": folder_clips,
            "clip": info, "folder_mb": round(folder_bytes / MB, 1), "cpus": os.cpu_count(),
            "python": platform.python_version(), "pyav": av.__version__,
            "ffmpeg": subprocess.run([FFMPEG, "-version"], capture_output=True, text=True,
                                     check=False).stdout.split("\n")[0],
            "loadavg_1m": round(os.getloadavg()[0], 2), "target_ratio": TARGET_RATIO,
        }
        print("warm-up ingest (untimed: fills the page cache with the program) ...", flush=True)
        run_ingest(cmd, env, one, work)

        one_ffmpeg: list[float] = []
        one_ingest: list[Run] = []
        log_entries: list[dict[str, Any]] = []
        for n in range(rounds):
            for side in (("ffmpeg", "ingest") if n % 2 == 0 else ("ingest", "ffmpeg")):
                if side == "ffmpeg":
                    one_ffmpeg.append(run_ffmpeg(clips[:1], work))
                else:
                    run, entries = run_ingest(cmd, env, one, work, keep_log=True)
                    one_ingest.append(run)
                    log_entries = log_entries or entries
            print(f"  one clip, round {n + 1}/{rounds}: ffmpeg {one_ffmpeg[-1]:.2f} s, "
                  f"ingest {one_ingest[-1].wall_s:.2f} s", flush=True)
        many_ffmpeg: list[float] = []
        many_ingest: list[Run] = []
        for n in range(rounds):
            for side in (("ffmpeg", "ingest") if n % 2 == 0 else ("ingest", "ffmpeg")):
                if side == "ffmpeg":
                    many_ffmpeg.append(run_ffmpeg(clips, work))
                else:
                    many_ingest.append(run_ingest(cmd, env, folder, work)[0])
            print(f"  folder of {folder_clips}, round {n + 1}/{rounds}: ffmpeg {many_ffmpeg[-1]:.2f} s, "
                  f"ingest {many_ingest[-1].wall_s:.2f} s", flush=True)
        custody = [run_ingest(cmd, env, one, work, extra=("--custody-only",))[0].wall_s for _ in range(rounds)]

        one_ratio = median([r.wall_s for r in one_ingest]) / median(one_ffmpeg)
        many_ratio = median([r.wall_s for r in many_ingest]) / median(many_ffmpeg)
        figures |= {
            "one_ffmpeg_s": round(median(one_ffmpeg), 3), "one_ingest_s": round(median([r.wall_s for r in one_ingest]), 3),
            "one_ratio": round(one_ratio, 3), "one_meets_target": one_ratio <= TARGET_RATIO,
            "one_ffmpeg_all_s": [round(x, 3) for x in one_ffmpeg],
            "one_ingest_all_s": [round(r.wall_s, 3) for r in one_ingest],
            "folder_ffmpeg_s": round(median(many_ffmpeg), 3),
            "folder_ingest_s": round(median([r.wall_s for r in many_ingest]), 3),
            "folder_ratio": round(many_ratio, 3), "folder_meets_target": many_ratio <= TARGET_RATIO,
            "folder_ffmpeg_all_s": [round(x, 3) for x in many_ffmpeg],
            "folder_ingest_all_s": [round(r.wall_s, 3) for r in many_ingest],
            "custody_only_s": round(median(custody), 3),
            "peak_rss_mb_one": round(max(r.peak_rss_bytes for r in one_ingest) / MB, 1),
            "peak_tree_rss_mb_one": round(max(r.peak_tree_rss_bytes for r in one_ingest) / MB, 1),
            "peak_rss_mb_folder": round(max(r.peak_rss_bytes for r in many_ingest) / MB, 1),
            "peak_tree_rss_mb_folder": round(max(r.peak_tree_rss_bytes for r in many_ingest) / MB, 1),
        }
        print()
        print(f"{os.cpu_count()} CPUs, load {figures['loadavg_1m']} at start, median of {rounds} round(s), "
              f"warm page cache; {figures['ffmpeg']}")

        def verdict(ratio: float) -> str:
            return "met" if ratio <= TARGET_RATIO else "NOT met"

        print(f"one clip ({seconds:g} s):     ffmpeg -threads 2 decode {figures['one_ffmpeg_s']:7.2f} s   "
              f"ingest {figures['one_ingest_s']:7.2f} s   ratio {one_ratio:.2f} (target <= {TARGET_RATIO}: "
              f"{verdict(one_ratio)}); ingest at {seconds / figures['one_ingest_s']:.1f}x real time")
        print(f"folder of {folder_clips}:         ffmpeg -threads 2 decode {figures['folder_ffmpeg_s']:7.2f} s   "
              f"ingest {figures['folder_ingest_s']:7.2f} s   ratio {many_ratio:.2f} (target <= {TARGET_RATIO}: "
              f"{verdict(many_ratio)})")
        print(f"per round, one clip:  ffmpeg {', '.join(f'{x:.2f}' for x in one_ffmpeg)}; "
              f"ingest {', '.join(f'{r.wall_s:.2f}' for r in one_ingest)}")
        print(f"per round, folder:    ffmpeg {', '.join(f'{x:.2f}' for x in many_ffmpeg)}; "
              f"ingest {', '.join(f'{r.wall_s:.2f}' for r in many_ingest)}")
        print(f"custody part alone (ingest --custody-only, one clip): {figures['custody_only_s']:.2f} s")
        print(f"peak memory of ingest: one clip {figures['peak_rss_mb_one']:.0f} MB (largest process), "
              f"{figures['peak_tree_rss_mb_one']:.0f} MB (whole tree); folder of {folder_clips} "
              f"{figures['peak_rss_mb_folder']:.0f} MB, {figures['peak_tree_rss_mb_folder']:.0f} MB")

        if not args.no_split:
            worker_s = worker_step_times(log_entries)
            print()
            print("split of one clip's ingest, per step (in this process; 'worker': the CLI's pool worker, from "
                  "its custody log;")
            print("  decoding: containers opened, then passes over the stream = packets read (v.read, a.read) or "
                  "fed to a decoder (v.dec, a.dec) / packets in it; frames: video frames decoded)")
            tally, total_s, failures = split_steps(one, work)
            rows = print_split(tally, total_s, figures["custody_only_s"], worker_s, info)
            overhead = figures["one_ingest_s"] - total_s
            print(f"  the CLI's ingest ({figures['one_ingest_s']:.2f} s) less this process's ({total_s:.2f} s): "
                  + (f"{overhead:.2f} s of process pool start-up, imports and the CLI" if overhead >= 0 else
                     f"{overhead:.2f} s: the machine's load changed between the runs; read the shares, not the seconds"))
            print("  the metadata probe runs in its own reader process (not counted; it reads headers, decodes nothing)")
            for name, cpu_s in tally.thread_seconds.items():
                print(f"  in decoder threads: {name} {cpu_s:.2f} s of CPU, summed over the threads")
            # The least any analysed ingest that writes today's frame files can take: every frame decoded
            # (ffmpeg's single-threaded CPU for it) and the frames' PNG bytes encoded, both cores busy throughout.
            decode_cpu = decode_cpu_s(clips[0], work)
            cores = os.cpu_count() or 1
            floor = (decode_cpu + tally.encoding_cpu_s) / cores / figures["one_ffmpeg_s"]
            print(f"  the frames' PNG files: {tally.encoded} full-size pictures, {tally.encoding_cpu_s:.2f} s of CPU "
                  f"({1000 * tally.encoding_cpu_s / max(1, tally.encoded):.0f} ms each); decoding the clip takes "
                  f"ffmpeg -threads 1 {decode_cpu:.2f} s of CPU")
            print(f"  floor: with those bytes unchanged, an ingest doing no more than decode and encode, both "
                  f"cores busy throughout, takes at least {floor:.2f}x the ffmpeg -threads 2 decode")
            figures |= {"png_pictures": tally.encoded, "png_cpu_s": round(tally.encoding_cpu_s, 3),
                        "decode_cpu_s_threads_1": round(decode_cpu, 3), "floor_ratio": round(floor, 3)}
            if failures:
                print(f"  WARNING: steps failed in this run, their figures mean little: {failures}")
            figures |= {"split_in_process_s": round(total_s, 3), "split": rows, "split_failures": failures,
                        "worker_step_s": {k: round(v, 3) for k, v in worker_s.items()},
                        "cli_overhead_s": round(overhead, 3),
                        "decoder_thread_cpu_s": {k: round(v, 3) for k, v in tally.thread_seconds.items()}}
        figures["elapsed_s"] = round(time.perf_counter() - started, 1)
        print(json.dumps(figures, sort_keys=True))
        return 0
    finally:
        for name in ("one", "folder", "case", "split-case", "keys", "cmd.stdout", "cmd.stderr"):
            target = work / name
            if target.is_dir():
                shutil.rmtree(target, ignore_errors=True)
            else:
                target.unlink(missing_ok=True)
        if temporary:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
