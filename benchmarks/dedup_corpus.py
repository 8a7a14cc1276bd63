"""The corpus of bench_dedup.py, split in two halves by source, and what is true of each pair of its files.

Every source family (a file of ../shared/data/footage, a generated scene, a generated hard
case) belongs to one half, `tuning` or `held-out`, and everything made from it (its edits,
its stills, the compilation segments cut from it) stays in that half. Thresholds may be fitted
on `tuning`; the figures of record come from `held-out`.

Time is counted in each family's own footage: a file shows `parts`, stretches (family, start,
end) of that footage, each placed at `at_s` in the file. Two files are positive when they share
footage; their true relation follows from how much of each file the shared footage covers.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

import dedup_edits as edits

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
FOOTAGE = DATA / "footage"
HALVES = ("tuning", "held-out")
# Photographs for the pan-and-zoom videos, one per half (a seeded texture when absent).
KEN_BURNS_PHOTOS = {"tuning": DATA / "exif-py/tests/resources/jpg/tests/22-canon_tags.jpg",
                    "held-out": DATA / "exif-py/tests/resources/jpg/hdr/iphone_hdr_NO.jpg"}
STILL_TOLERANCE_S = 0.2  # a still shows a moment of a span when it lies within the span, this far outside at most
STILL_NEAR_S = 1.0  # a still this close outside a span of its own recording counts neither way
MIN_SHARED_S = 1.0  # two videos sharing less than this count neither way: too little to tell
WHOLE_SHARE = 0.85  # a file covered this much (or within min(1 s, 15% of it) of both its ends) is held whole
# Edits of the generated same-scene families (fixed camera, asl clips, pan and zoom).
PLATFORM_EDITS = ("reencode_360p", "crop_15", "logo_banner", "crop_80_scaled")


@dataclass(frozen=True)
class Part:
    """A stretch of one family's footage, [start_s, end_s] in its time, shown from `at_s` in the file."""

    family: str
    start_s: float
    end_s: float
    at_s: float = 0.0


@dataclass(frozen=True)
class Segment:
    """A compilation's segment: `length_s` of `source` (a file) from `source_start_s`, placed at `at_s`."""

    source: Path
    source_start_s: float
    length_s: float
    at_s: float


@dataclass
class Entry:
    """One file of the corpus and the footage it shows."""

    path: Path
    role: str  # "source", a VIDEO_EDITS name, "photo" (a grabbed still), "photo_<edit>", "compilation", "low_texture"
    parts: list[Part]
    half: str
    parent: Path | None = None  # the file this one was made from (an edit, a still)
    length_s: float = 0.0  # 0 for a photo
    segments: list[Segment] = field(default_factory=list)  # compilations only

    @property
    def is_photo(self) -> bool:
        return self.role == "photo" or self.role.startswith("photo_") or (
            self.role == "low_texture" and self.path.suffix == ".jpg")

    @property
    def key(self) -> str:
        return str(self.path)


@dataclass
class Corpus:
    """The files of one half, and for each family its scene (families of one scene look alike)."""

    half: str
    entries: list[Entry]
    scene_of: dict[str, str]
    ordinary: set[str]  # families of ordinary sources: a still against another stretch counts neither way


def half_of_index(index: int) -> str:
    return HALVES[index % 2]


def build_half(work: Path, half: str, *, quick: bool, seed: int) -> Corpus:
    """Makes (or reuses, by file name, in `work`) the files of one half and gives them with their truth."""
    corpus = Corpus(half, [], {}, set())
    h = 0 if half == "tuning" else 1
    tag = "T" if h == 0 else "H"
    # Ordinary sources: bottle -> tuning, car -> held-out, GIFs and generated scenes alternate.
    ordinary: list[tuple[str, Path, tuple[str, ...]]] = []
    mp4 = ("bottle-detection.mp4", "car-detection.mp4")[h]
    if (FOOTAGE / mp4).exists():
        ordinary.append((mp4.split(".")[0], FOOTAGE / mp4, tuple(edits.VIDEO_EDITS)))
    gifs = [g for n, g in enumerate(sorted((FOOTAGE / "preview").glob("*.gif"))) if n % 2 == h]
    ordinary += [(g.stem, g, tuple(edits.VIDEO_EDITS)) for g in gifs[: 1 if quick else None]]
    for n in range(2 if quick else 6):
        if (100 + n) % 2 != h:
            continue
        path = work / f"scene{n}.mp4"
        if not path.exists():
            edits.make_scene(path, seed=100 + n, duration_s=12, static_camera=n % 3 == 2)
        ordinary.append((f"scene{n}", path, tuple(edits.VIDEO_EDITS)))
    kb = work / f"kenburns-{tag}.mp4"
    if not kb.exists():
        photo = KEN_BURNS_PHOTOS[half]
        edits.ken_burns(photo if photo.exists() else None, kb, seed=300 + h)
    for family, source, video_edits in ordinary:
        _add_source(corpus, work, family, source, video_edits, still_at_s=3.0, photo_edits=edits.PHOTO_EDITS)
        corpus.ordinary.add(family)
    _add_source(corpus, work, f"kenburns-{tag}", kb, ("reencode_360p", "crop_80_scaled", "logo_banner", "excerpt_6s"))
    corpus.ordinary.add(f"kenburns-{tag}")
    for family in corpus.ordinary:
        corpus.scene_of[family] = family
    fixed = _add_fixed_camera(corpus, work, tag, seed=200 + h)
    asl = _add_asl(corpus, work, h, quick=quick)
    _add_low_texture(corpus, work, tag, seed=400 + 10 * h)
    _add_still_room(corpus, work, tag, seed=500 + h)
    rng = np.random.default_rng([seed, h])
    long_ordinary = [e for e in corpus.entries if e.role == "source" and e.parts[0].family in corpus.ordinary
                     and e.length_s >= 6.5]
    usable_asl = [c for c in asl if c.length_s >= 2.2]
    for n in range(2 if quick else 5):
        _add_short_compilation(corpus, work, f"comp-{tag}-short{n}", rng, fixed, usable_asl[n % len(usable_asl)],
                               long_ordinary)
    for n in range(1 if quick else 3):
        picks = rng.choice(len(long_ordinary), size=min(3, len(long_ordinary)), replace=False)
        pieces = []
        for pick in picks:
            source = long_ordinary[int(pick)]
            pieces.append((source, float(np.round(rng.uniform(0, source.length_s - 5.5), 2)), 5.0))
        _add_compilation(corpus, work, f"comp-{tag}-{n}", pieces)
    return corpus


def _add_source(corpus: Corpus, work: Path, family: str, source: Path, video_edits: tuple[str, ...], *,
                still_at_s: float | None = None, photo_edits: tuple[str, ...] = ()) -> Entry:
    """Adds a source file, its video edits, and a still of it with that still's photo edits."""
    length = edits.duration_s(source)
    entry = Entry(source, "source", [Part(family, 0.0, length)], corpus.half, length_s=length)
    corpus.entries.append(entry)
    for edit in video_edits:
        if edit == "excerpt_6s" and length < 8:
            continue
        out = work / f"{family}.{edit}.mp4"
        if not out.exists():
            edits.edit_video(source, edit, out, excerpt_start_s=2.0)
        part = Part(family, 2.0, 8.0) if edit == "excerpt_6s" else Part(family, 0.0, length)
        corpus.entries.append(Entry(out, edit, [part], corpus.half, source, part.end_s - part.start_s))
    if still_at_s is not None:
        _add_still(corpus, work, entry, min(still_at_s, length / 2), photo_edits)
    return entry


def _add_still(corpus: Corpus, work: Path, video: Entry, at_s: float, photo_edits: tuple[str, ...], *,
               stem: str | None = None) -> None:
    """Adds the frame of `video` (a single-part file) at `at_s`, and its photo edits; files named after `stem`."""
    part = video.parts[0]
    moment = part.start_s + at_s
    photo = work / f"{stem or video.path.stem}.still{at_s:g}.png"
    if not photo.exists():
        edits.still_of(video.path, at_s, photo)
    corpus.entries.append(Entry(photo, "photo", [Part(part.family, moment, moment)], corpus.half, video.path))
    for edit in photo_edits:
        out = work / f"{photo.stem}.{edit}.jpg"
        if not out.exists():
            edits.edit_photo(photo, edit, out)
        corpus.entries.append(Entry(out, f"photo_{edit}", [Part(part.family, moment, moment)], corpus.half, photo))


def _add_fixed_camera(corpus: Corpus, work: Path, tag: str, *, seed: int) -> list[Entry]:
    """Adds four 8 s stretches of one 40 s fixed-camera video and another take of the same place.

    Different stretches and the other take are different recordings of one scene: negatives.
    """
    family, scene = f"fixed-{tag}", f"fixed-{tag}"
    long = work / f"{family}.long40s.mp4"
    if not long.exists():
        edits.make_scene(long, seed=seed, duration_s=40, static_camera=True)
    stretches = []
    for k, start in enumerate((0.0, 10.0, 20.0, 30.0)):
        out = work / f"{family}.stretch{k}.mp4"
        if not out.exists():
            edits.cut(long, start, 8.0, out)
        length = edits.duration_s(out)
        entry = Entry(out, "source", [Part(family, start, start + length)], corpus.half, length_s=length)
        corpus.entries.append(entry)
        stretches.append(entry)
    take2 = work / f"{family}.take2.mp4"
    if not take2.exists():
        edits.make_scene(take2, seed=seed, duration_s=8, static_camera=True, motion_seed=1)
    length = edits.duration_s(take2)
    other = Entry(take2, "source", [Part(f"{family}.take2", 0.0, length)], corpus.half, length_s=length)
    corpus.entries.append(other)
    corpus.scene_of[family] = corpus.scene_of[f"{family}.take2"] = scene
    _add_edits(corpus, work, stretches[0], ("reencode_360p", "crop_15", "logo_banner"))
    _add_edits(corpus, work, stretches[1], ("reencode_360p", "crop_80_scaled"))
    _add_edits(corpus, work, other, ("reencode_360p",))
    _add_still(corpus, work, stretches[0], 4.0, ("jpeg_q30", "crop_10", "logo"))
    _add_still(corpus, work, stretches[2], 5.0, ("jpeg_q30", "half_size"))
    _add_still(corpus, work, other, 3.0, ("logo",))
    return [*stretches, other]


def _add_edits(corpus: Corpus, work: Path, video: Entry, names: tuple[str, ...]) -> None:
    for edit in names:
        out = work / f"{video.path.stem}.{edit}.mp4"
        if not out.exists():
            edits.edit_video(video.path, edit, out)
        corpus.entries.append(Entry(out, edit, list(video.parts), corpus.half, video.path, video.length_s))


def _add_asl(corpus: Corpus, work: Path, h: int, *, quick: bool) -> list[Entry]:
    """Adds the half's asl_gestures clips (one signer, one room), one platform edit each, stills of two."""
    clips = [c for n, c in enumerate(sorted((FOOTAGE / "asl_gestures").glob("*.mkv"))) if n % 2 == h]
    out = []
    for n, clip in enumerate(clips[: 6 if quick else None]):
        family = f"asl:{clip.stem}"
        corpus.scene_of[family] = "asl"
        length = edits.duration_s(clip)
        entry = Entry(clip, "source", [Part(family, 0.0, length)], corpus.half, length_s=length)
        corpus.entries.append(entry)
        out.append(entry)
        edit = PLATFORM_EDITS[n % 3]
        target = work / f"asl-{clip.stem}.{edit}.mp4"
        if not target.exists():
            edits.edit_video(clip, edit, target)
        corpus.entries.append(Entry(target, edit, [Part(family, 0.0, length)], corpus.half, clip, length))
        if n < 2:
            _add_still(corpus, work, entry, round(length / 2, 2), (("jpeg_q30", "crop_10"), ("logo", "half_size"))[n],
                       stem=f"asl-{clip.stem}")
    return out


# Another moment of a camera where nothing moves: what changed, and how much of the picture.
# (A camera moved a pixel or two is left out: registered, it is its own picture, as a crop is.)
_ROOM_CHANGES = (("add", 0.005), ("add", 0.01), ("add", 0.02), ("add", 0.04), ("add_edge", 0.02),
                 ("add_edge", 0.04), ("remove", 0), ("move", 40), ("move", 12))


def _add_still_room(corpus: Corpus, work: Path, tag: str, *, seed: int) -> None:
    """Adds a fixed camera's 6 s of a room where nothing moves, copies of it, a still of it, and photos of the
    same room at other moments: an object added (0.5-4% of the picture, inside or at an edge), gone or moved.
    The photos of other moments are negatives against the footage, its still and each other."""
    family = f"still-room-{tag}"
    rng = np.random.default_rng(seed)
    width, height = 640, 360
    world = edits._texture(rng, height, width)
    things = [(int(rng.uniform(60, width - 60)), int(rng.uniform(60, height - 60)), int(rng.uniform(18, 36)),
               tuple(int(v) for v in rng.integers(0, 255, 3))) for _ in range(5)]

    def picture(objects: list[tuple[int, int, int, tuple[int, ...]]], noise: np.random.Generator) -> np.ndarray:
        frame = world.copy()
        for x, y, radius, colour in objects:
            cv2.circle(frame, (x, y), radius, colour, -1)
        return np.clip(frame + noise.normal(0, 2, frame.shape), 0, 255).astype(np.uint8)

    video = work / f"{family}.mp4"
    if not video.exists():
        noise = np.random.default_rng([seed, 1])
        edits.encode_frames((picture(things, noise) for _ in range(150)), video, fps=25)
    _add_source(corpus, work, family, video, ("reencode_360p", "crop_15", "logo_banner"),
                         still_at_s=3.0, photo_edits=("jpeg_q30", "crop_10", "logo"))
    corpus.scene_of[family] = family
    for k, (change, amount) in enumerate(_ROOM_CHANGES):
        moment = f"{family}.moment{k}"
        corpus.scene_of[moment] = family
        photo = work / f"{moment}.png"
        if not photo.exists():
            objects = list(things)
            if change in ("add", "add_edge"):
                radius = int(np.sqrt(amount * width * height / np.pi))
                x = radius if change == "add_edge" else int(rng.uniform(radius, width - radius))
                objects.append((x, int(rng.uniform(radius, height - radius)), radius,
                                tuple(int(v) for v in rng.integers(0, 255, 3))))
            elif change == "remove":
                objects.pop(k % len(objects))
            else:
                x, y, radius, colour = objects[k % len(objects)]
                objects[k % len(objects)] = (x + int(amount), y, radius, colour)
            cv2.imwrite(str(photo), picture(objects, np.random.default_rng([seed, 2, k]))[:, :, ::-1])
        corpus.entries.append(Entry(photo, "photo", [Part(moment, 0.0, 0.0)], corpus.half, None))
        for edit in ("jpeg_q30", "logo"):
            out = work / f"{photo.stem}.{edit}.jpg"
            if not out.exists():
                edits.edit_photo(photo, edit, out)
            corpus.entries.append(Entry(out, f"photo_{edit}", [Part(moment, 0.0, 0.0)], corpus.half, photo))


def _add_low_texture(corpus: Corpus, work: Path, tag: str, *, seed: int) -> None:
    """Adds footage and photos with little to hash: grey road, fog, night. Negatives against everything."""
    made = []
    for k, kind in enumerate(edits.LOW_TEXTURE_KINDS):
        out = work / f"low-{tag}-{kind}.mp4"
        if not out.exists():
            edits.low_texture_video(out, kind, seed=seed + k)
        made.append(out)
    for k, kind in enumerate(("night", "night", "grey_road")):
        out = work / f"low-{tag}-{kind}{k}.jpg"
        if not out.exists():
            edits.low_texture_photo(out, kind, seed=seed + 5 + k)
        made.append(out)
    for out in made:
        family = out.stem
        corpus.scene_of[family] = family
        length = 0.0 if out.suffix == ".jpg" else edits.duration_s(out)
        corpus.entries.append(Entry(out, "low_texture", [Part(family, 0.0, length)], corpus.half, length_s=length))


def _add_short_compilation(corpus: Corpus, work: Path, name: str, rng: np.random.Generator, fixed: list[Entry],
                           clip: Entry, long_ordinary: list[Entry]) -> None:
    """Adds a compilation of 2-3 s segments: two fixed-camera recordings of one place, an asl clip, another source."""
    pieces = []
    for source in [fixed[int(i)] for i in rng.choice(len(fixed), size=2, replace=False)]:
        length = float(rng.choice([2.0, 3.0]))
        pieces.append((source, float(np.round(rng.uniform(0.2, source.length_s - length - 0.3), 2)), length))
    length = 3.0 if clip.length_s >= 3.4 and rng.random() < 0.5 else 2.0
    pieces.append((clip, float(np.round(rng.uniform(0.0, clip.length_s - length - 0.15), 2)), length))
    source = long_ordinary[int(rng.integers(len(long_ordinary)))]
    length = float(rng.choice([2.0, 3.0]))
    pieces.append((source, float(np.round(rng.uniform(0.0, source.length_s - length - 0.5), 2)), length))
    order = rng.permutation(len(pieces))
    _add_compilation(corpus, work, name, [pieces[int(i)] for i in order])


def _add_compilation(corpus: Corpus, work: Path, name: str, pieces: list[tuple[Entry, float, float]]) -> None:
    """Adds the concatenation of (source file, start in it, length) pieces.

    Its file name ends with a digest of the pieces, so a kept corpus never reuses a
    compilation made from other picks.
    """
    recipe = ";".join(f"{source.path.name}@{start:.2f}+{length:.2f}" for source, start, length in pieces)
    out = work / f"{name}-{hashlib.sha256(recipe.encode()).hexdigest()[:8]}.mp4"
    if not out.exists():
        edits.compilation([(source.path, start) for source, start, _ in pieces], out,
                          part_lengths_s=[length for _, _, length in pieces])
    parts, segments, at = [], [], 0.0
    for source, start, length in pieces:
        part = source.parts[0]
        parts.append(Part(part.family, part.start_s + start, part.start_s + start + length, at))
        segments.append(Segment(source.path, start, length, at))
        at += length
    corpus.entries.append(Entry(out, "compilation", parts, corpus.half, length_s=at, segments=segments))


# What is true of a pair --------------------------------------------------------------------------


def shared_spans(x: Entry, y: Entry) -> list[tuple[float, float, float, float]]:
    """Gives the footage x and y share: (x start, x end, y start, y end) in each file's time."""
    out = []
    photo = x.is_photo or y.is_photo
    for p in x.parts:
        for q in y.parts:
            if p.family != q.family:
                continue
            if photo:
                if p.start_s - STILL_TOLERANCE_S <= q.end_s and q.start_s - STILL_TOLERANCE_S <= p.end_s:
                    lo = min(max(p.start_s, q.start_s), p.end_s, q.end_s)
                    out.append((p.at_s + lo - p.start_s,) * 2 + (q.at_s + lo - q.start_s,) * 2)
                continue
            lo, hi = max(p.start_s, q.start_s), min(p.end_s, q.end_s)
            if hi > lo:
                out.append((p.at_s + lo - p.start_s, p.at_s + hi - p.start_s, q.at_s + lo - q.start_s,
                            q.at_s + hi - q.start_s))
    return out


def verdict(corpus: Corpus, x: Entry, y: Entry) -> bool | None:
    """True when x and y share footage, False when not, None when it cannot be said.

    None: a still of an ordinary source against another stretch of it (a fixed camera may show
    the same picture then), a still within STILL_NEAR_S outside a span of its own recording (a
    moment apart, which footage that barely moves cannot tell), and two videos sharing under
    MIN_SHARED_S.
    """
    if x.role == "low_texture" or y.role == "low_texture":
        return False
    spans = shared_spans(x, y)
    if not spans:
        if x.is_photo or y.is_photo:
            common = {p.family for p in x.parts} & {q.family for q in y.parts}
            if common & corpus.ordinary or _near(x, y):
                return None
        return False
    if not (x.is_photo or y.is_photo) and sum(s[1] - s[0] for s in spans) < MIN_SHARED_S:
        return None
    return True


def _near(x: Entry, y: Entry) -> bool:
    """Whether a still of x or y lies within STILL_NEAR_S of a span of the other in the same footage."""
    for p in x.parts:
        for q in y.parts:
            if p.family == q.family and max(p.start_s, q.start_s) - min(p.end_s, q.end_s) <= STILL_NEAR_S:
                return True
    return False


def true_relation(x: Entry, y: Entry) -> str:
    """Gives the relation of a positive pair, as a PairMatch of (x, y) would name it."""
    if x.is_photo and y.is_photo:
        return "same"
    if x.is_photo or y.is_photo:
        return "b_contains_a" if x.is_photo else "a_contains_b"
    spans = shared_spans(x, y)
    whole_x = _whole([(s[0], s[1]) for s in spans], x.length_s)
    whole_y = _whole([(s[2], s[3]) for s in spans], y.length_s)
    return ("same" if whole_x and whole_y else "a_contains_b" if whole_y else "b_contains_a" if whole_x
            else "overlap")


def _whole(spans: list[tuple[float, float]], length_s: float) -> bool:
    covered = sum(end - start for start, end in spans)
    start, end = min(s for s, _ in spans), max(e for _, e in spans)
    slack_s = min(1.0, (1.0 - WHOLE_SHARE) * length_s)
    return covered >= WHOLE_SHARE * length_s or (start <= slack_s and end >= length_s - slack_s)


HARD_KINDS = ("asl_same_room", "fixed_other_stretch", "other_motion_seed", "still_other_take",
              "compilation_same_scene", "still_room_other_moment", "low_texture")
SAME_SCENE_KINDS = HARD_KINDS[:6]


def hard_kind(corpus: Corpus, x: Entry, y: Entry) -> str | None:
    """Gives the kind of hard negative a negative pair is, or None for an ordinary negative."""
    if x.role == "low_texture" or y.role == "low_texture":
        return "low_texture"
    scenes_x = {corpus.scene_of[p.family] for p in x.parts if p.family not in corpus.ordinary}
    scenes_y = {corpus.scene_of[p.family] for p in y.parts if p.family not in corpus.ordinary}
    common = scenes_x & scenes_y
    if not common:
        return None
    if x.role == "compilation" or y.role == "compilation":
        return "compilation_same_scene"
    if any(scene.startswith("still-room-") for scene in common):
        return "still_room_other_moment"
    if x.is_photo or y.is_photo:
        return "still_other_take"
    if common == {"asl"}:
        return "asl_same_room"
    if {p.family for p in x.parts} & {p.family for p in y.parts}:
        return "fixed_other_stretch"
    return "other_motion_seed"


def flipped(relation: str) -> str:
    return {"a_contains_b": "b_contains_a", "b_contains_a": "a_contains_b"}.get(relation, relation)
