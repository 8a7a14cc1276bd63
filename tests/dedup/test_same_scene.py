"""The same recording told apart from the same scene: other takes of a fixed camera and their stills are
leads (scene_matches), never matches; dull frames carry no weight; a whole copy cropped to 80% is the
same; short compilation segments are found and placed, each one."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from dedup_media import dedup_edits
from forensics.dedup.align import PairMatch, SceneMatch, compare
from forensics.dedup.evidence import texture
from forensics.dedup.groups import find_duplicates
from forensics.dedup.media_hashes import hash_media

SMALL = (320, 180)


def _scene(path: Path, seed: int, seconds: float) -> Path:
    return dedup_edits.make_scene(path, seed=seed, duration_s=seconds, size=SMALL)


def _compilation(parts: list[tuple[Path, float]], path: Path, part_s: float) -> Path:
    return dedup_edits.compilation(parts, path, part_s=part_s, size=SMALL)


@pytest.fixture(scope="module")
def room(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two takes of one fixed camera (same room, other things moving), a still of each, and their copies."""
    d = tmp_path_factory.mktemp("same-scene")
    out = {}
    for take in (1, 2):
        out[f"take{take}"] = dedup_edits.make_scene(d / f"take{take}.mp4", seed=21, duration_s=8, size=(320, 180),
                                                    static_camera=True, motion_seed=take)
        out[f"still{take}"] = dedup_edits.still_of(out[f"take{take}"], 4.0, d / f"still{take}.png")
        out[f"still{take}_q30"] = dedup_edits.edit_photo(out[f"still{take}"], "jpeg_q30", d / f"still{take}_q30.jpg")
    out["take1_360p"] = dedup_edits.edit_video(out["take1"], "reencode_360p", d / "take1_360p.mp4")
    return out


def test_a_still_of_another_take_is_a_lead_not_a_match(room) -> None:
    hashed = {name: hash_media(path, key=name) for name, path in room.items()}
    result = find_duplicates(list(hashed.values()))
    pairs = {frozenset((m.a, m.b)): m for m in result.matches}
    # Each still is in its own take (and its copy), as a frame of it.
    assert pairs[frozenset(("take1", "still1"))].relation in ("a_contains_b", "b_contains_a")
    assert frozenset(("take2", "still2")) in pairs and frozenset(("take1_360p", "still1")) in pairs
    assert ("take1", "take1_360p") in result.groups
    assert not any({"take1", "still2"} <= set(g) or {"take2", "still1"} <= set(g) for g in result.groups)
    for one, two in [("take1", "take2"), ("take1", "still2"), ("take2", "still1"), ("still1", "still2"),
                     ("take1_360p", "still2_q30"), ("take2", "still1_q30")]:
        assert frozenset((one, two)) not in pairs, (one, two)
    assert all(m.reason for m in result.scene_matches)


ASL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "footage" / "asl_gestures"


@pytest.mark.skipif(not ASL.is_dir(), reason="../shared/data/footage/asl_gestures is not here")
def test_one_signer_in_one_room_is_a_lead_with_its_motion(tmp_path: Path) -> None:
    again, help_ = hash_media(ASL / "again.mkv", key="again"), hash_media(ASL / "help.mkv", key="help")
    found = compare(again, help_)
    assert isinstance(found, SceneMatch) and "change differently" in found.reason, found
    # A still of one clip is as close as 4 bits to the other clip: it is placed in its own clip only.
    still = hash_media(dedup_edits.still_of(ASL / "help.mkv", 1.5, tmp_path / "help.png"), key="still")
    result = find_duplicates([again, help_, still])
    assert [frozenset((m.a, m.b)) for m in result.matches] == [frozenset(("help", "still"))]
    assert frozenset(("again", "still")) in {frozenset((m.a, m.b)) for m in result.scene_matches}


def _dull(path: Path, rng: np.random.Generator, *, night: bool) -> Path:
    height, width = 180, 320
    if night:
        picture = np.full((height, width), 8.0) + rng.normal(0, 2, (height, width))
        for _ in range(10):
            x, y = rng.integers(20, width - 20), rng.integers(20, height - 40)
            picture[y:y + 5, x:x + 3] = 200
    else:
        picture = np.tile(np.linspace(90, 140, height)[:, None], (1, width)) + rng.normal(0, 3, (height, width))
    cv2.imwrite(str(path), np.clip(picture, 0, 255).astype(np.uint8))
    return path


def test_dull_frames_carry_no_weight(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    road = hash_media(_dull(tmp_path / "road.png", rng, night=False), key="road")
    road_copy = hash_media(_dull(tmp_path / "road2.png", rng, night=False), key="road2")
    night = hash_media(_dull(tmp_path / "night.png", rng, night=True), key="night")
    assert texture(road.thumbs[:, 0]).max() < 0.2 < texture(night.thumbs[:, 0]).min()
    # Two different grey gradients hash alike; with no structure to weigh they are not called anything.
    assert compare(road, road_copy) is None and compare(night, road) is None


def test_a_whole_copy_cropped_to_80_percent_is_the_same(tmp_path: Path) -> None:
    source = _scene(tmp_path / "source.mp4", 31, 12)
    copy = dedup_edits.ffmpeg(source, tmp_path / "crop80.mp4", ["-vf", "crop=iw*0.8:ih*0.8,scale=320:180"])
    match = compare(hash_media(source), hash_media(copy))
    assert isinstance(match, PairMatch) and match.relation == "same", match


def test_two_second_segments_of_a_compilation_are_each_placed(tmp_path: Path) -> None:
    source = _scene(tmp_path / "source.mp4", 41, 14)
    other = _scene(tmp_path / "other.mp4", 42, 8)
    # source 2-4 s, other 1-3 s, source 9-11 s: two segments of one source, 2 s each.
    comp = _compilation([(source, 2.0), (other, 1.0), (source, 9.0)], tmp_path / "comp.mp4", 2.0)
    match = compare(hash_media(comp), hash_media(source))
    assert isinstance(match, PairMatch) and match.relation == "overlap"
    placed = sorted(match.segments)
    assert len(placed) == 2, placed
    for (a0, a1, b0, b1), (comp_at, source_at) in zip(placed, [(0.0, 2.0), (4.0, 9.0)]):
        assert max(abs(a0 - comp_at), abs(a1 - comp_at - 2), abs(b0 - source_at), abs(b1 - source_at - 2)) <= 0.5


@pytest.mark.skipif(not ASL.is_dir(), reason="../shared/data/footage/asl_gestures is not here")
def test_two_second_stretches_of_one_room_go_each_to_its_own_take(tmp_path: Path) -> None:
    # One signer, one room: two takes' 2 s stretches back to back in a compilation.
    comp = dedup_edits.compilation([(ASL / "again.mkv", 0.3), (ASL / "help.mkv", 0.3)], tmp_path / "comp.mp4",
                                   part_s=2.0, size=(480, 270))
    media = [hash_media(comp, key="comp"), hash_media(ASL / "again.mkv", key="again"),
             hash_media(ASL / "help.mkv", key="help")]
    result = find_duplicates(media)
    placed = {frozenset((m.a, m.b)): m for m in result.matches}
    assert set(placed) <= {frozenset(("comp", "again")), frozenset(("comp", "help"))}, placed
    for take, at_s in (("again", 0.0), ("help", 2.0)):
        match = placed.get(frozenset(("comp", take)))
        if match is None:
            continue  # a lead at worst, never given to the other take
        comp_start, comp_end = (match.a_start_s, match.a_end_s) if match.a == "comp" else (match.b_start_s, match.b_end_s)
        assert abs(comp_start - at_s) <= 0.5 and abs(comp_end - at_s - 2.0) <= 0.5, (take, match)
    assert placed, "neither stretch was found"


def test_a_photo_of_a_clip_is_placed_in_the_clips_copies(tmp_path: Path) -> None:
    source = _scene(tmp_path / "source.mp4", 51, 10)
    copy = dedup_edits.edit_video(source, "logo_banner", tmp_path / "copy.mp4")
    photo = dedup_edits.still_of(source, 5.0, tmp_path / "photo.png")
    result = find_duplicates([hash_media(p, key=p.stem) for p in (source, copy, photo)])
    placed = {frozenset((m.a, m.b)): m for m in result.matches}
    assert placed[frozenset(("source", "photo"))].confidence == "strong"
    in_copy = placed[frozenset(("copy", "photo"))]
    when = in_copy.a_start_s if in_copy.a == "copy" else in_copy.b_start_s
    assert abs(when - 5.0) <= 0.3 and in_copy.confidence in ("strong", "likely")


def test_two_seconds_of_a_four_second_clip_is_an_overlap_not_the_whole_clip(tmp_path: Path) -> None:
    clip = _scene(tmp_path / "clip.mp4", 61, 4)
    other = _scene(tmp_path / "other.mp4", 62, 6)
    comp = _compilation([(other, 0.0), (clip, 1.0), (other, 3.0)], tmp_path / "comp.mp4", 2.0)
    match = compare(hash_media(comp), hash_media(clip))
    assert isinstance(match, PairMatch) and match.relation == "overlap", match


def test_two_compilations_holding_one_source_both_keep_it(tmp_path: Path) -> None:
    source = _scene(tmp_path / "source.mp4", 71, 12)
    other = _scene(tmp_path / "other.mp4", 72, 8)
    third = _scene(tmp_path / "third.mp4", 73, 8)
    one = _compilation([(other, 0.0), (source, 2.0)], tmp_path / "one.mp4", 3.0)
    two = _compilation([(source, 3.0), (third, 1.0)], tmp_path / "two.mp4", 3.0)
    result = find_duplicates([hash_media(p, key=p.stem) for p in (source, other, third, one, two)])
    placed = {frozenset((m.a, m.b)) for m in result.matches}
    assert {frozenset(("one", "source")), frozenset(("two", "source"))} <= placed, result.scene_matches


def test_a_photo_on_the_first_frame_of_a_compilations_segment_stays_in_every_copy(tmp_path: Path) -> None:
    # The compilation may fit the photo best (its segment starts on that very frame); the source
    # and its copies still hold that moment, which the segment puts where they place the photo.
    source = _scene(tmp_path / "source.mp4", 81, 10)
    other = _scene(tmp_path / "other.mp4", 82, 6)
    copies = [dedup_edits.edit_video(source, edit, tmp_path / f"{edit}.mp4")
              for edit in ("reencode_360p", "crop_15", "mirror", "grade_fps")]
    photo = dedup_edits.still_of(source, 4.0, tmp_path / "photo.png")
    comp = _compilation([(other, 0.0), (source, 4.0), (other, 3.0)], tmp_path / "comp.mp4", 3.0)
    result = find_duplicates([hash_media(p, key=p.stem) for p in (source, *copies, other, photo, comp)])
    placed = {frozenset((m.a, m.b)): m for m in result.matches if m.confidence != "weak"}
    for video in ("source", "comp", *(c.stem for c in copies)):
        assert frozenset((video, "photo")) in placed, (video, result.scene_matches)


def test_an_edited_still_of_a_still_camera_is_found_in_an_edited_copy(tmp_path: Path) -> None:
    # Nothing moves, so the photo fits every moment alike and only the fit itself can tell. Its
    # 10% crop (or a screenshot's border) against the copy's 15% crop leaves their thumbnails a
    # pixel and a few per cent apart; lined up (evidence.registered_fit), the footage's own picture
    # fits closely. A logo banner is a change the whole picture is compared over: a lead, until the
    # files at full size show it to be an overlay.
    world = dedup_edits._texture(np.random.default_rng(83), 360, 640)
    noise = np.random.default_rng(84)
    frames = (np.clip(world + noise.normal(0, 2, world.shape), 0, 255).astype(np.uint8) for _ in range(150))
    source = dedup_edits.encode_frames(frames, tmp_path / "source.mp4", fps=25)
    copy = dedup_edits.edit_video(source, "crop_15", tmp_path / "copy.mp4")
    still = dedup_edits.still_of(source, 3.0, tmp_path / "still.png")
    files = {"copy": copy}
    hashed = [hash_media(copy, key="copy")]
    for edit in ("crop_10", "screenshot_border", "logo"):
        files[edit] = dedup_edits.edit_photo(still, edit, tmp_path / f"{edit}.jpg")
        hashed.append(hash_media(files[edit], key=edit))
    result = find_duplicates(hashed)
    matches = {frozenset((m.a, m.b)): m for m in result.matches}
    for edit in ("crop_10", "screenshot_border"):
        found = matches[frozenset(("copy", edit))]
        assert found.relation == ("a_contains_b" if found.a == "copy" else "b_contains_a")
        assert found.registered_fit is not None and found.registered_fit <= 0.1 < found.moment_fit
        # Without the files, another moment of a still scene fits as closely: in doubt, weak.
        assert found.confidence == "weak"
    assert frozenset(("copy", "logo")) not in matches
    assert frozenset(("copy", "logo")) in {frozenset((m.a, m.b)) for m in result.scene_matches}
    # With them, each is shown at full size to be the footage's picture, the logo set aside.
    checked = {frozenset((m.a, m.b)): m for m in find_duplicates(hashed, files=files.get).matches}
    for edit in ("crop_10", "screenshot_border", "logo"):
        found = checked[frozenset(("copy", edit))]
        assert found.confidence == "likely" and found.unexplained_change is not None, found


def test_a_change_at_the_edge_of_a_still_camera_is_not_lined_away(tmp_path: Path) -> None:
    # Another moment of a fixed camera: a box at the picture's left edge. Lining the photo up may
    # move and scale it, never leave part of the picture uncompared: it is a lead, not a frame.
    world = dedup_edits._texture(np.random.default_rng(85), 360, 640)
    noise = np.random.default_rng(86)
    frames = (np.clip(world + noise.normal(0, 2, world.shape), 0, 255).astype(np.uint8) for _ in range(150))
    video = hash_media(dedup_edits.encode_frames(frames, tmp_path / "fixed.mp4", fps=25), key="fixed")
    other = np.clip(world + noise.normal(0, 2, world.shape), 0, 255).astype(np.uint8)
    cv2.rectangle(other, (0, 120), (140, 240), (30, 30, 220), -1)
    cv2.imwrite(str(tmp_path / "other.jpg"), other[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 92])
    found = compare(video, hash_media(tmp_path / "other.jpg", key="other"))
    assert not isinstance(found, PairMatch) or found.confidence == "weak", found


def test_a_still_of_another_take_does_not_fit_once_lined_up(room) -> None:
    # Lining the thumbnails up does not make another moment fit: the other take's discs are elsewhere.
    for still, take in (("still2", "take1"), ("still1", "take2")):
        found = compare(hash_media(room[take], key=take), hash_media(room[still], key=still))
        assert not isinstance(found, PairMatch) or found.confidence == "weak"


def test_a_segment_of_a_fixed_camera_ends_at_its_cut_to_another_stretch(tmp_path: Path) -> None:
    # 2 s of one stretch, cut to 3 s of a later stretch of the same camera: past the cut the
    # hashes sit a little further and stay there (the room is the same), and what moves moves
    # otherwise. The segment ends at the cut, not a second past it.
    long = dedup_edits.make_scene(tmp_path / "long.mp4", seed=51, duration_s=20, static_camera=True)
    first = dedup_edits.cut(long, 0.0, 8.0, tmp_path / "first.mp4")
    later = dedup_edits.cut(long, 10.0, 8.0, tmp_path / "later.mp4")
    comp = dedup_edits.compilation([(first, 3.07), (later, 1.59)], tmp_path / "comp.mp4",
                                   part_lengths_s=[2.0, 3.0])
    match = compare(hash_media(comp, key="comp"), hash_media(first, key="first"))
    assert isinstance(match, PairMatch) and match.motion_correlation >= 0.8, match
    comp_start, comp_end, first_start, first_end = match.segments[0]
    assert max(abs(comp_start - 0.0), abs(comp_end - 2.0), abs(first_start - 3.07), abs(first_end - 5.07)) <= 0.5


def test_a_step_in_the_hashes_at_an_end_is_found() -> None:
    from forensics.dedup.align import _step_at_ends

    # Past a cut to another stretch of the room: 2-4 bits, then 8-18 for good.
    assert _step_at_ends(np.array([0, 2, 2, 2, 4, 2, 2, 4, 18, 14, 8, 10, 8, 8, 8, 10], np.uint8)) == (0, 8)
    assert _step_at_ends(np.array([16, 12, 14, 3, 2, 2, 4, 2, 2], np.uint8)) == (3, 9)
    # Noise up and down, or an end too short to be a stretch of its own, is no step.
    assert _step_at_ends(np.array([2, 9, 3, 10, 2, 8, 4, 9, 3], np.uint8)) == (0, 9)
    assert _step_at_ends(np.array([2, 2, 3, 2, 2, 3, 2, 14, 16], np.uint8)) == (0, 9)


@pytest.mark.skipif(not ASL.is_dir(), reason="../shared/data/footage/asl_gestures is not here")
def test_two_seconds_of_a_slow_signer_are_placed_though_the_hashes_put_them_a_sample_off(tmp_path: Path) -> None:
    # Between signs the signer barely moves: the hashes vote for an offset a sample and a half
    # off, where the motion disagrees (0.42); sought that far, it agrees.
    other = dedup_edits.make_scene(tmp_path / "other.mp4", seed=7, duration_s=8, static_camera=True)
    comp = dedup_edits.compilation([(ASL / "book.mkv", 0.62), (other, 2.0)], tmp_path / "comp.mp4",
                                   part_lengths_s=[2.0, 3.0])
    match = compare(hash_media(comp, key="comp"), hash_media(ASL / "book.mkv", key="book"))
    assert isinstance(match, PairMatch), match
    comp_start, comp_end, book_start, book_end = match.segments[0]
    assert max(abs(comp_start - 0.0), abs(comp_end - 2.0), abs(book_start - 0.62), abs(book_end - 2.62)) <= 0.5
    assert abs(match.offset_s - (0.0 - 0.62)) <= 0.1
