"""Each edit of a small generated scene is found as the same footage; an excerpt is found with its span;
different footage, even from the same fixed camera in the same room, stays apart; the SQLite store
gives back what it was given."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dedup_media import EDITS, hashed, scenes  # noqa: F401 - fixtures
from forensics.dedup.align import compare
from forensics.dedup.groups import find_duplicates
from forensics.dedup.hashes import ORIENTATIONS
from forensics.dedup.media_hashes import MediaHashes
from forensics.dedup.store import HashStore

WHOLE_COPIES = [e for e in EDITS if e != "excerpt_6s"]


@pytest.mark.parametrize("edit", WHOLE_COPIES)
def test_each_edit_is_the_same_footage(hashed, edit: str) -> None:
    match = compare(hashed["source"], hashed[edit])
    assert match is not None, edit
    assert match.relation == "same" and match.kind == "video"
    assert abs(match.offset_s) < 0.05
    assert match.a_start_s < 0.3 and match.a_end_s > 8.5


def test_mirror_and_rotation_are_found_in_their_orientation(hashed) -> None:
    assert ORIENTATIONS[compare(hashed["source"], hashed["mirror"]).orientation] == "mirrored"
    # transpose=1 turns the picture clockwise; turning it back is a quarter turn counter-clockwise.
    assert ORIENTATIONS[compare(hashed["source"], hashed["rotate_90"]).orientation] == "quarter-turn-ccw"


def test_letterbox_and_screen_border_are_trimmed(hashed) -> None:
    top, bottom, left, right = hashed["letterbox_16x9"].box
    assert 0.08 < top < 0.2 and 0.8 < bottom < 0.92 and 0.08 < left < 0.2 and 0.8 < right < 0.92
    assert hashed["source"].box == (0.0, 1.0, 0.0, 1.0)
    top, bottom, left, right = hashed["screen_recording"].box
    assert top > 0.1 and left > 0.03


def test_a_screenshots_margins_beside_its_title_bar_are_trimmed(hashed) -> None:
    # The dark title bar above a light margin leaves no column flat down the whole picture;
    # the side margins are found once the bar and the top margin are trimmed.
    top, bottom, left, right = hashed["photo_screenshot_border"].box
    assert 0.09 < top < 0.13 and 0.78 < bottom < 0.84
    assert 0.03 < left < 0.07 and 0.93 < right < 0.97
    match = compare(hashed["source"], hashed["photo_screenshot_border"])
    assert match is not None and match.relation == "a_contains_b" and match.confidence != "weak"
    assert abs(match.a_start_s - 4.0) < 0.3


def test_a_news_banners_plain_strip_is_not_a_border(hashed) -> None:
    # The strip under the banner's text is flat and steady in every frame, as a border is, but
    # runs on into the banner: trimming it moved every region of the copy against its source.
    assert hashed["logo_banner"].box == (0.0, 1.0, 0.0, 1.0)
    match = compare(hashed["logo_banner"], hashed["photo"])
    assert match.relation == "a_contains_b" and abs(match.a_start_s - 4.0) < 0.3
    assert match.moment_fit < 0.15 and match.confidence == "strong"


@pytest.mark.parametrize("edit", ["letterbox_16x9", "screen_recording"])
def test_dark_footage_in_a_frame_of_its_own_level_is_trimmed(scenes, tmp_path: Path, edit: str) -> None:
    # Footage as dark as the player's frame around it shows no step to it; a frame on both
    # sides is still a border (a band on one side alone, like a banner's strip, is not).
    import subprocess

    import dedup_edits
    from forensics.dedup.media_hashes import hash_media

    dark = tmp_path / "dark.mp4"
    subprocess.run([dedup_edits.FFMPEG, "-loglevel", "error", "-y", "-i", str(scenes["source"]),
                    "-vf", "eq=brightness=-0.3:contrast=0.6", "-c:v", "libx264", str(dark)], check=True)
    framed = dedup_edits.edit_video(dark, edit, tmp_path / f"{edit}.mp4")
    source, copy = hash_media(dark, key="dark"), hash_media(framed, key=edit)
    top, bottom, left, right = copy.box
    assert top > 0.1 and bottom < 0.9 and left > 0.1 and right < 0.9
    match = compare(source, copy)
    assert match is not None and match.relation == "same" and match.confidence == "strong"


def test_excerpt_is_contained_with_its_span(hashed) -> None:
    match = compare(hashed["source"], hashed["excerpt_6s"])
    assert match.relation == "a_contains_b"
    assert abs(match.a_start_s - 2.0) < 0.3 and abs(match.a_end_s - 8.0) < 0.3
    assert match.b_start_s < 0.3 and match.b_end_s > 5.7
    reverse = compare(hashed["excerpt_6s"], hashed["source"])
    assert reverse.relation == "b_contains_a" and abs(reverse.b_start_s - 2.0) < 0.3


def test_different_footage_stays_apart(hashed) -> None:
    assert compare(hashed["source"], hashed["other"]) is None
    assert compare(hashed["room_a"], hashed["room_b"]) is None
    assert compare(hashed["photo"], hashed["other_photo"]) is None


@pytest.mark.parametrize("edit", ["jpeg_q30", "half_size", "crop_10", "logo", "screenshot_border", "mirror"])
def test_each_photo_edit_is_the_same_picture(hashed, edit: str) -> None:
    match = compare(hashed["photo"], hashed[f"photo_{edit}"])
    assert match is not None and match.relation == "same" and match.kind == "image"
    assert match.a_start_s is None and match.b_end_s is None


def test_a_photo_is_found_as_a_frame_of_its_video(hashed) -> None:
    match = compare(hashed["source"], hashed["photo"])
    assert match is not None and match.relation == "a_contains_b"
    assert abs(match.a_start_s - 4.0) < 0.3 and match.b_start_s is None


def test_groups_join_same_but_not_containment(hashed) -> None:
    names = ["source", "reencode_360p", "mirror", "excerpt_6s", "other", "room_a", "room_b", "photo"]
    result = find_duplicates([hashed[n] for n in names])
    assert result.groups == (("mirror", "reencode_360p", "source"),)
    relations = {(m.a, m.b): m.relation for m in result.matches}
    assert relations[("source", "excerpt_6s")] == "a_contains_b"
    assert not any("other" in pair or "room_a" in pair for pair in relations)


def test_records_round_trip(hashed) -> None:
    media = hashed["excerpt_6s"]
    for again in (MediaHashes.from_json(media.to_json()), MediaHashes.from_bytes(media.to_bytes())):
        assert np.array_equal(again.hashes, media.hashes) and np.array_equal(again.thumbs, media.thumbs)
        assert np.allclose(again.times_s, media.times_s) and again.box == media.box
    assert str(media.frame_hash(0)) == media.to_json()["hashes"][0][0][0]


def test_store_round_trip(tmp_path: Path, hashed) -> None:
    path = tmp_path / "index.sqlite"
    with HashStore(path) as store:
        store.put(hashed["source"], collection="incident-1")
        store.put(hashed["photo"], collection="incident-1")
        store.put(hashed["source"], collection="incident-2")  # replaced, not doubled
    with HashStore(path) as store:
        items = {m.key: (c, m) for c, m in store.items()}
    assert len(items) == 2 and items["source"][0] == "incident-2"
    again = items["source"][1]
    assert np.array_equal(again.hashes, hashed["source"].hashes)
    assert np.array_equal(again.thumbs, hashed["source"].thumbs)
    assert np.array_equal(again.times_s, hashed["source"].times_s)
    assert again.duration_s == hashed["source"].duration_s and items["photo"][1].kind == "image"
