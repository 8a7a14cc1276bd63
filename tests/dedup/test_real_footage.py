"""On the real footage: a re-encoded, cropped copy of a street video is found with its excerpt; the
asl_gestures clips (different footage of one signer in one room) are not taken for copies of each other
when the files are at hand to check."""

from __future__ import annotations

import itertools
from pathlib import Path

from dedup_media import dedup_edits  # benchmarks/ is not a package: dedup_media puts it on the path
from forensics.dedup.align import compare
from forensics.dedup.groups import find_duplicates
from forensics.dedup.media_hashes import hash_media


def test_copies_of_a_real_street_video_are_found(shared_data: Path, tmp_path: Path) -> None:
    source = shared_data / "footage" / "car-detection.mp4"
    small = dedup_edits.ffmpeg(source, tmp_path / "small.mp4", ["-vf", "scale=-2:240,crop=iw*0.85:ih*0.85",
                                                                "-b:v", "200k"])
    excerpt = dedup_edits.edit_video(source, "excerpt_6s", tmp_path / "excerpt.mp4", excerpt_start_s=10.0)
    original, copy, part = (hash_media(p) for p in (source, small, excerpt))
    match = compare(original, copy)
    assert match is not None and match.relation == "same" and abs(match.offset_s) < 0.1
    match = compare(original, part)
    assert match.relation == "a_contains_b" and abs(match.a_start_s - 10.0) < 0.5 and abs(match.a_end_s - 16.0) < 0.5


def test_a_copy_cropped_to_70_percent_is_the_same(shared_data: Path, tmp_path: Path) -> None:
    # The copy's whole picture is the source's 70% region: two region sizes apart, still compared.
    source = shared_data / "footage" / "bottle-detection.mp4"
    ten = dedup_edits.ffmpeg(source, tmp_path / "ten.mp4", ["-t", "10"])
    cropped = dedup_edits.ffmpeg(source, tmp_path / "crop70.mp4", ["-t", "10", "-vf", "crop=iw*0.7:ih*0.7"])
    match = compare(hash_media(ten), hash_media(cropped))
    assert match is not None and match.relation == "same", match


def test_different_takes_in_the_same_room_are_not_copies(shared_data: Path) -> None:
    clips = sorted((shared_data / "footage" / "asl_gestures").glob("*.mkv"))
    media = [hash_media(p) for p in clips]
    # At 16 x 16 pixels "no" and "yes" are one raised hand each, moving alike (a likely match on
    # the thumbnails alone); with the files at hand, the hands at full size tell them apart.
    result = find_duplicates(media, files=Path)
    assert result.matches == ()
    lead = next(s for s in result.scene_matches if {Path(s.a).name, Path(s.b).name} == {"no.mkv", "yes.mkv"})
    assert "at full size" in lead.reason
    alone = find_duplicates(media)
    pairs = len(list(itertools.combinations(clips, 2)))
    assert len(alone.matches) <= 0.01 * pairs  # the thumbnails alone: this pair at most
