"""A room where nothing moves: photos of it at other moments (an object added, moved or gone) are leads, not
copies, once the files are checked at full size; copies of its still (re-encoded, cropped, a logo and banner, a
caption) stay matches, and so does the still against the footage it was taken from."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from dedup_media import dedup_edits
from forensics.dedup.align import thumbnails_unsure
from forensics.dedup.groups import find_duplicates
from forensics.dedup.media_hashes import hash_media
from forensics.dedup.still_check import MAX_UNEXPLAINED_SHARE, Moments, unexplained_change
from forensics.dedup.verify import measure

WIDTH, HEIGHT = 320, 180
NO_TIME = float("nan")
PHOTOS = (NO_TIME, NO_TIME, NO_TIME, NO_TIME)


def _room(objects: list[tuple[int, int, int, tuple[int, int, int]]], world: np.ndarray, seed: int) -> np.ndarray:
    frame = world.copy()
    for x, y, radius, colour in objects:
        cv2.circle(frame, (x, y), radius, colour, -1)
    noise = np.random.default_rng(seed).normal(0, 2, frame.shape)
    return np.clip(frame + noise, 0, 255).astype(np.uint8)


def _caption(path: Path, out: Path) -> Path:
    """A line of white text with a black outline over the picture, no box: a subtitle laid on a still."""
    picture = cv2.imread(str(path))
    org = (int(WIDTH * 0.12), int(HEIGHT * 0.9))
    cv2.putText(picture, "They came from the north", org, cv2.FONT_HERSHEY_SIMPLEX, HEIGHT / 450, (0, 0, 0), 5)
    cv2.putText(picture, "They came from the north", org, cv2.FONT_HERSHEY_SIMPLEX, HEIGHT / 450, (255, 255, 255), 2)
    cv2.imwrite(str(out), picture, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return out


@pytest.fixture(scope="module")
def room(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("still-room")
    rng = np.random.default_rng(41)
    world = dedup_edits._texture(rng, HEIGHT, WIDTH)
    things = [(int(rng.uniform(30, WIDTH - 30)), int(rng.uniform(30, HEIGHT - 30)), int(rng.uniform(9, 18)),
               (int(v[0]), int(v[1]), int(v[2]))) for v in rng.integers(0, 255, (5, 3))]
    out = {"video": dedup_edits.encode_frames((_room(things, world, 1) for _ in range(100)), d / "room.mp4", fps=25)}
    out["still"] = dedup_edits.still_of(out["video"], 2.0, d / "still.png")
    for edit in ("crop_15", "logo_banner"):
        out[f"video_{edit}"] = dedup_edits.edit_video(out["video"], edit, d / f"video_{edit}.mp4")
    for edit in ("jpeg_q30", "crop_10", "logo"):
        out[f"still_{edit}"] = dedup_edits.edit_photo(out["still"], edit, d / f"still_{edit}.jpg")
    out["still_caption"] = _caption(out["still"], d / "still_caption.jpg")
    radius = int(np.sqrt(0.006 * WIDTH * HEIGHT / np.pi))  # an object of 0.6% of the picture
    x, y, r, colour = things[0]
    changes = {"added": [*things, (WIDTH // 2, HEIGHT // 2, radius, (200, 40, 160))],
               "moved": [(x + 12, y, r, colour), *things[1:]],
               "gone": things[1:]}
    for name, objects in changes.items():
        path = d / f"{name}.png"
        cv2.imwrite(str(path), _room(objects, world, 2)[:, :, ::-1])
        out[name] = path
    out["added_q30"] = dedup_edits.edit_photo(out["added"], "jpeg_q30", d / "added_q30.jpg")
    return out


@pytest.mark.parametrize("copy", ["still_jpeg_q30", "still_crop_10", "still_logo", "still_caption"])
def test_a_copy_of_a_still_differs_from_it_only_as_copies_do(room, copy: str) -> None:
    share = unexplained_change(room["still"], room[copy], PHOTOS, 0)
    assert share is not None and share <= MAX_UNEXPLAINED_SHARE, share


@pytest.mark.parametrize("moment", ["added", "moved", "gone", "added_q30"])
def test_another_moment_of_a_still_room_differs_in_the_shape_of_what_changed(room, moment: str) -> None:
    for copy in ("still", "still_jpeg_q30", "still_logo"):
        share = unexplained_change(room[copy], room[moment], PHOTOS, 0)
        assert share is not None and share > MAX_UNEXPLAINED_SHARE, (copy, share)
    # ... and so from every moment of the footage: the still's moment is searched for, not taken on trust.
    share = unexplained_change(room["video"], room[moment], (1.0, 1.0, NO_TIME, NO_TIME), 0)
    assert share is not None and share > MAX_UNEXPLAINED_SHARE, share


def test_the_still_is_found_in_its_footage(room) -> None:
    for copy in ("still", "still_logo", "still_crop_10"):
        share = unexplained_change(room["video"], room[copy], (0.2, 0.2, NO_TIME, NO_TIME), 0)
        assert share is not None and share <= MAX_UNEXPLAINED_SHARE, (copy, share)


def test_with_its_files_at_hand_other_moments_are_leads_and_copies_are_matches(room) -> None:
    media = [hash_media(path, key=name) for name, path in room.items()]
    without = find_duplicates(media)
    with_files = find_duplicates(media, files=room.get)
    matched = {frozenset((m.a, m.b)): m for m in with_files.matches}
    leads = {frozenset((m.a, m.b)) for m in with_files.scene_matches}
    # The thumbnails alone cannot tell another moment of a room where nothing moves: those they match
    # become leads.
    thumbnails = {frozenset((m.a, m.b)) for m in without.matches}
    assert frozenset(("still", "added")) in thumbnails and frozenset(("still", "moved")) in thumbnails
    for moment in ("added", "moved", "gone", "added_q30"):
        for other in ("video", "still", "still_jpeg_q30", "still_logo"):
            pair = frozenset((moment, other))
            assert pair not in matched, (moment, other)
            assert pair in leads or pair not in thumbnails, (moment, other)
    assert frozenset(("added", "added_q30")) in matched
    for copy in ("still_jpeg_q30", "still_crop_10", "still_logo", "still_caption"):
        pair = matched[frozenset(("still", copy))]
        assert pair.unexplained_change is not None and pair.unexplained_change <= MAX_UNEXPLAINED_SHARE
    assert frozenset(("video", "still")) in matched
    assert any({"still", "still_logo", "still_caption"} <= set(group) for group in with_files.groups)
    assert not any({"still", "added"} <= set(group) for group in with_files.groups)


def test_a_still_of_footage_where_nothing_moves_is_in_every_copy_of_it_once_checked_at_full_size(room) -> None:
    media = [hash_media(path, key=name) for name, path in room.items()]
    with_files = find_duplicates(media, files=room.get)
    matched = {frozenset((m.a, m.b)): m for m in with_files.matches}
    # The thumbnails cannot single out the still's moment in any copy, nor fit a logo against a crop
    # closely; at full size it is one picture with each of them.
    for still in ("still", "still_jpeg_q30", "still_crop_10", "still_logo"):
        for video in ("video", "video_crop_15", "video_logo_banner"):
            match = matched.get(frozenset((still, video)))
            assert match is not None, (still, video)
            assert match.unexplained_change is not None and match.unexplained_change <= MAX_UNEXPLAINED_SHARE
    unsure = [m for m in with_files.matches if thumbnails_unsure(m)]
    assert frozenset(("video_crop_15", "still_logo")) in {frozenset((m.a, m.b)) for m in unsure}
    # Without the files, a match that only the check could make is a lead, with the thumbnails' reason.
    without = find_duplicates(media)
    assert not any(thumbnails_unsure(m) for m in without.matches)
    leads = {frozenset((s.a, s.b)): s for s in without.scene_matches}
    for m in unsure:
        assert frozenset((m.a, m.b)) in leads and "fits no moment" in leads[frozenset((m.a, m.b))].reason


def test_copies_of_footage_where_nothing_moves_stay_leads_with_their_files_at_hand(room) -> None:
    # Another hour of a fixed camera where nothing changed is the same picture at full size too.
    videos = ("video", "video_crop_15", "video_logo_banner")
    result = find_duplicates([hash_media(room[name], key=name) for name in videos], files=room.get)
    assert result.matches == () and result.groups == ()
    assert len(result.scene_matches) == 3 and all("nothing moves" in s.reason for s in result.scene_matches)


def test_a_pair_is_checked_the_same_way_round_whichever_file_came_first(room) -> None:
    # The check registers one picture onto the other, and the figure depends on which: a file indexed in an
    # earlier run comes first in the collection, so the order is the keys', not the collection's.
    one, other = (hash_media(room[name], key=name) for name in ("still_logo", "still_crop_10"))
    asked = []

    def measured(checks):
        asked.extend((c.path_a.name, c.path_b.name) for c in checks)
        return measure(checks)

    for known, new in ((one, other), (other, one)):
        find_duplicates([new], known=[known], files=room.get, measured=measured)
    assert asked == [(room["still_crop_10"].name, room["still_logo"].name)] * 2


def test_a_file_that_cannot_be_read_tells_nothing(room, tmp_path: Path) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(room["still_jpeg_q30"].read_bytes()[:300])
    assert unexplained_change(room["still"], broken, PHOTOS, 0) is None
    assert unexplained_change(room["video"], tmp_path / "gone.mp4", (1.0, 1.0, NO_TIME, NO_TIME), 0) is None


def test_two_pictures_a_lead_keeps_apart_are_not_grouped_through_a_third() -> None:
    from forensics.dedup.align import PairMatch, SceneMatch
    from forensics.dedup.placement import groups_of

    def same(a: str, b: str, score: float) -> PairMatch:
        return PairMatch(a, b, "image", "same", score, None, None, None, None, confidence="strong")

    # A copy of the first moment with a box over just what changed matches both moments.
    matches = [same("moment1", "moment1_boxed", 0.9), same("moment2", "moment1_boxed", 0.95),
               same("moment1", "moment1_q30", 0.99), same("moment2", "moment2_q30", 0.97)]
    lead = SceneMatch("moment1", "moment2", "image", 0.9, "at full size 0.8% of the picture differs")
    assert groups_of(matches) == (("moment1", "moment1_boxed", "moment1_q30", "moment2", "moment2_q30"),)
    apart = groups_of(matches, [lead])
    assert not any({"moment1", "moment2"} <= set(group) for group in apart)
    # The strongest links join first: the boxed copy goes with the moment it matches best.
    assert apart == (("moment1", "moment1_q30"), ("moment1_boxed", "moment2", "moment2_q30"))


def test_a_stills_moment_is_found_in_a_longer_video_wherever_the_thumbnails_put_it(tmp_path: Path) -> None:
    # 12 s of a fixed camera, things moving: its 150 moments are 0.08 s apart, the still a frame between two.
    video = dedup_edits.make_scene(tmp_path / "long.mp4", seed=5, duration_s=12, size=(WIDTH, HEIGHT),
                                   static_camera=True)
    still = dedup_edits.still_of(video, 7.32, tmp_path / "still.png")
    for instant in (7.3, 6.8):  # the thumbnails' instant, or one half a second off
        share = unexplained_change(video, still, (instant, instant, NO_TIME, NO_TIME), 0)
        assert share is not None and share <= MAX_UNEXPLAINED_SHARE, (instant, share)
        share = unexplained_change(still, video, (NO_TIME, NO_TIME, instant, instant), 0)
        assert share is not None and share <= MAX_UNEXPLAINED_SHARE, (instant, share)
    # A moment found about the thumbnails' instant settles it: the rest of the video is not read.
    moments = Moments()
    share = unexplained_change(video, still, (7.3, 7.3, NO_TIME, NO_TIME), 0, moments=moments)
    assert share is not None and share <= MAX_UNEXPLAINED_SHARE and not moments.holds(video)
    share = unexplained_change(video, still, (6.8, 6.8, NO_TIME, NO_TIME), 0, moments=moments)
    assert share is not None and share <= MAX_UNEXPLAINED_SHARE and moments.holds(video)
    other = dedup_edits.still_of(dedup_edits.make_scene(tmp_path / "other.mp4", seed=6, duration_s=4,
                                                        size=(WIDTH, HEIGHT)), 2.0, tmp_path / "other.png")
    share = unexplained_change(video, other, (7.3, 7.3, NO_TIME, NO_TIME), 0)
    assert share is None or share > MAX_UNEXPLAINED_SHARE


def test_a_picture_cut_short_is_hashed_with_a_note_that_says_so(room, tmp_path: Path) -> None:
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(room["still_jpeg_q30"].read_bytes()[:int(room["still_jpeg_q30"].stat().st_size * 0.9)])
    hashed = hash_media(cut, key="cut")
    assert hashed.kind == "image" and any("could not be read whole" in note for note in hashed.notes), hashed.notes
    assert hash_media(room["still_jpeg_q30"], key="whole").notes == ()
