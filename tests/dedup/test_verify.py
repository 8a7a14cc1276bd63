"""The full-size check of matches in doubt: a copy's moving parts agree with its source's, another
take's do not; a match in doubt is confirmed, made weak or made a lead by what the check says, and
is weak when its files are not at hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from dedup_media import dedup_edits, scenes  # noqa: F401 - fixtures
from forensics.dedup.align import PairMatch, SceneMatch
from forensics.dedup.verify import CONFIRMING_AGREEMENT, check_at_full_size, moving_agreement


@pytest.fixture(scope="module")
def room_copies(scenes, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("verify")
    return {edit: dedup_edits.edit_video(scenes["room_a"], edit, d / f"room_a.{edit}.mp4")
            for edit in ("reencode_360p", "logo_banner", "crop_15", "mirror")}


@pytest.mark.parametrize("edit", ["reencode_360p", "logo_banner", "crop_15", "mirror"])
def test_a_copys_moving_parts_agree_with_its_source(scenes, room_copies, edit: str) -> None:
    orientation = 2 if edit == "mirror" else 0  # hashes.ORIENTATIONS: left and right swapped
    agreement = moving_agreement(scenes["room_a"], room_copies[edit], (0.0, 5.9, 0.0, 5.9), orientation)
    assert agreement is not None and agreement >= CONFIRMING_AGREEMENT, agreement


def test_another_takes_moving_parts_do_not(scenes) -> None:
    # The same fixed camera and room, other things moving: the background is shared, the motion not.
    agreement = moving_agreement(scenes["room_a"], scenes["room_b"], (0.0, 5.9, 0.0, 5.9), 0)
    assert agreement is not None and agreement < 0.5, agreement


def test_a_file_that_cannot_be_read_tells_nothing(scenes, tmp_path: Path) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(scenes["room_a"].read_bytes()[:2000])
    assert moving_agreement(scenes["room_a"], broken, (0.0, 2.0, 0.0, 2.0), 0) is None


def _in_doubt(a: str, b: str) -> PairMatch:
    return PairMatch(a, b, "video", "same", 0.85, 0.0, 2.0, 0.0, 2.0, offset_s=0.0, motion_correlation=0.88,
                     confidence="likely", distance_bits=6.0, segments=((0.0, 2.0, 0.0, 2.0),))


def test_what_the_check_says_decides_a_match_in_doubt() -> None:
    told = iter([[0.3], [0.95], [0.8], [None]])
    files = {"a": Path("a.mp4"), "b": Path("b.mp4")}.get

    def checked() -> tuple[list[PairMatch], list[SceneMatch]]:
        return check_at_full_size([_in_doubt("a", "b")], [], files, measured=lambda checks: next(told))

    kept, leads = checked()  # the moving parts disagree: a lead, with the figure
    assert kept == [] and isinstance(leads[0], SceneMatch) and "0.30" in leads[0].reason
    kept, leads = checked()  # confirmed
    assert kept[0].moving_agreement == 0.95 and kept[0].confidence == "likely" and leads == []
    kept, leads = checked()  # neither confirmed nor refused
    assert kept[0].moving_agreement == 0.8 and kept[0].confidence == "weak" and leads == []
    kept, leads = checked()  # cannot be told
    assert kept[0].confidence == "weak" and kept[0].moving_agreement is None and leads == []


def test_a_match_in_doubt_without_its_files_is_weak_and_one_without_doubt_is_not_checked() -> None:
    asked: list[int] = []

    def measured(checks):
        asked.append(len(checks))
        return [0.0] * len(checks)

    sure = PairMatch("a", "b", "video", "same", 0.97, 0.0, 2.0, 0.0, 2.0, motion_correlation=0.99,
                     confidence="likely", distance_bits=0.0, segments=((0.0, 2.0, 0.0, 2.0),))
    kept, _ = check_at_full_size([sure, _in_doubt("a", "c")], [], {"a": Path("a"), "b": Path("b")}.get,
                                 measured=measured)
    assert asked == []  # c is not at hand (an index's file, or changed since); the other leaves no doubt
    assert kept[0] == sure and kept[1].confidence == "weak"


def test_a_part_two_short_clips_share_is_in_doubt_and_a_compilations_segment_is_not() -> None:
    asked: list[int] = []

    def measured(checks):
        asked.append(len(checks))
        return [0.2] * len(checks)

    part = PairMatch("a", "b", "video", "overlap", 0.75, 0.5, 2.0, 0.0, 1.5, offset_s=0.5, motion_correlation=0.7,
                     confidence="likely", distance_bits=6.0, segments=((0.5, 2.0, 0.0, 1.5),))
    files = {"a": Path("a.mp4"), "b": Path("b.mp4")}.get
    kept, leads = check_at_full_size([part], [], files, measured=measured, short_clips={"a", "b"})
    assert asked == [1] and kept == [] and "at full size" in leads[0].reason  # two takes' re-encodes
    kept, leads = check_at_full_size([part], [], files, measured=measured, short_clips={"b"})
    assert asked == [1] and kept == [part] and leads == []  # a is a longer file: a compilation's segment
