"""`forensics dedup`: the issue's JSON shape, folders, the shared index, exit codes."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from forensics_cli.dedup import command

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import dedup_edits

MATCH_FIELDS = {"a", "b", "kind", "relation", "score", "confidence", "a_start_s", "a_end_s", "b_start_s", "b_end_s",
                "segments", "evidence"}
SCENE_FIELDS = {"a", "b", "kind", "relation", "score", "reason", "a_time_s", "b_time_s"}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("dedup-cli")
    source = dedup_edits.make_scene(d / "source.mp4", seed=21, duration_s=8, size=(256, 144))
    dedup_edits.edit_video(source, "mirror", d / "mirror.mp4")
    dedup_edits.edit_video(source, "excerpt_6s", d / "excerpt.mp4")
    dedup_edits.still_of(source, 3.0, d / "still.png")
    dedup_edits.make_scene(d / "other.mp4", seed=22, duration_s=8, size=(256, 144))
    (d / "notes.txt").write_text("not media: skipped inside a folder\n")
    return d


def run(*arguments: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(command, list(arguments))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_json_shape_groups_and_matches(folder: Path) -> None:
    code, out, _ = run(str(folder), "--json", "--quiet")
    assert code == 0
    data = json.loads(out)
    names = {str(folder / n): n for n in ("source.mp4", "mirror.mp4", "excerpt.mp4", "still.png", "other.mp4")}
    assert [[names[p] for p in g] for g in data["groups"]] == [["mirror.mp4", "source.mp4"]]
    by_pair = {frozenset((names[m["a"]], names[m["b"]])): m for m in data["matches"]}
    assert all(set(m) == MATCH_FIELDS for m in data["matches"])
    assert all(m["confidence"] in ("strong", "likely") for m in data["matches"])  # weak only with --all
    assert all(set(m) == SCENE_FIELDS and m["relation"] == "same_scene" for m in data["scene_matches"])
    excerpt = by_pair[frozenset(("source.mp4", "excerpt.mp4"))]
    assert excerpt["kind"] == "video" and excerpt["relation"] in ("a_contains_b", "b_contains_a")
    still = by_pair[frozenset(("source.mp4", "still.png"))]
    assert still["kind"] == "image"
    assert not any("other.mp4" in pair for pair in by_pair)
    assert data["errors"] == []


def test_an_unreadable_file_is_reported_and_exits_1(folder: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100)
    code, out, err = run(str(broken), str(folder / "source.mp4"), "--json", "-q")
    assert code == 1
    data = json.loads(out)
    assert [p["path"] for p in data["errors"]] == [str(broken)] and "broken.mp4" in err


def test_a_path_that_does_not_exist_is_its_own_error_and_the_rest_are_compared(folder: Path, tmp_path: Path) -> None:
    missing = tmp_path / "gone.mp4"
    code, out, _err = run(str(missing), str(folder / "source.mp4"), str(folder / "mirror.mp4"), "--json", "-q")
    assert code == 1
    data = json.loads(out)
    assert data["errors"] == [{"path": str(missing), "error": "gone.mp4: no such file"}]
    assert data["groups"] == [[str(folder / "mirror.mp4"), str(folder / "source.mp4")]]


def test_shared_index_finds_footage_of_another_run(folder: Path, tmp_path: Path) -> None:
    index = tmp_path / "shared.sqlite"
    code, _, _ = run(str(folder / "source.mp4"), "--index", str(index), "--collection", "incident-A", "-q")
    assert code == 0
    copy = tmp_path / "later" / "copy.mp4"
    copy.parent.mkdir()
    shutil.copy(folder / "mirror.mp4", copy)
    code, out, _ = run(str(copy), "--index", str(index), "--collection", "incident-B", "--json", "-q")
    data = json.loads(out)
    source = str((folder / "source.mp4").resolve())
    assert data["groups"] == [sorted([source, str(copy)])]
    assert data["indexed"] == {source: "incident-A"}


def test_another_moment_of_a_still_photo_through_the_index_is_checked_while_the_indexed_file_is_unchanged(
        tmp_path: Path) -> None:
    # Two photos of a room where nothing moves, one with a thing added since, and a copy of the first: on
    # thumbnails all alike. Another run's file is checked at full size while it is as it was indexed.
    world = dedup_edits._texture(np.random.default_rng(91), 360, 640)
    before = tmp_path / "before.png"
    cv2.imwrite(str(before), world)
    after_picture = world.copy()
    cv2.circle(after_picture, (200, 150), 20, (40, 200, 220), -1)  # about 0.5% of the picture
    later = tmp_path / "later"
    later.mkdir()
    cv2.imwrite(str(later / "after.jpg"), after_picture, [cv2.IMWRITE_JPEG_QUALITY, 90])
    cv2.imwrite(str(later / "copy.jpg"), world, [cv2.IMWRITE_JPEG_QUALITY, 90])
    index = tmp_path / "shared.sqlite"
    assert run(str(before), "--index", str(index), "-q")[0] == 0

    def against_index(name: str) -> dict:
        code, out, _ = run(str(later / name), "--index", str(index), "--json", "-q", "--all")
        assert code == 0
        return json.loads(out)

    data = against_index("after.jpg")
    assert data["matches"] == [] and "at full size" in data["scene_matches"][0]["reason"]
    data = against_index("copy.jpg")
    assert data["groups"] == [sorted([str(before.resolve()), str(later / "copy.jpg")])]
    assert data["matches"][0]["evidence"]["unexplained_change"] is not None
    # The indexed file changed since (rewritten): its matches in doubt cannot be checked, so they are weak.
    before.write_bytes(before.read_bytes())
    os.utime(before, ns=(1, 1))
    for name in ("after.jpg", "copy.jpg"):
        data = against_index(name)
        assert data["groups"] == [] and all(m["confidence"] == "weak" for m in data["matches"]), data["matches"]


def test_an_index_made_before_files_were_fingerprinted_is_upgraded_and_its_stills_in_doubt_are_weak(
        tmp_path: Path) -> None:
    import sqlite3

    world = dedup_edits._texture(np.random.default_rng(92), 360, 640)
    cv2.imwrite(str(tmp_path / "one.png"), world)
    cv2.imwrite(str(tmp_path / "two.jpg"), world, [cv2.IMWRITE_JPEG_QUALITY, 90])
    index = tmp_path / "old.sqlite"
    assert run(str(tmp_path / "one.png"), "--index", str(index), "-q")[0] == 0
    with sqlite3.connect(index) as db:  # as an index of the code before: no identity column
        db.execute("CREATE TABLE old AS SELECT key, collection, kind, frames, hashes FROM media")
        db.execute("DROP TABLE media")
        db.execute("ALTER TABLE old RENAME TO media")
    code, out, _ = run(str(tmp_path / "two.jpg"), "--index", str(index), "--json", "-q", "--all")
    data = json.loads(out)
    assert code == 0 and data["groups"] == [] and [m["confidence"] for m in data["matches"]] == ["weak"]
    with sqlite3.connect(index) as db:
        assert "identity" in {row[1] for row in db.execute("PRAGMA table_info(media)")}


def test_bad_index_file_is_a_usage_error(folder: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"this is not sqlite" * 100)
    code, _, err = run(str(folder / "source.mp4"), "--index", str(bad), "-q")
    assert code == 2 and "bad.sqlite" in err


def test_fifos_and_false_media_in_a_folder_are_problems_not_hangs(folder: Path, tmp_path: Path) -> None:
    odd = tmp_path / "odd"
    odd.mkdir()
    os.mkfifo(odd / "pipe.jpg")
    (odd / "empty.mp4").write_bytes(b"")
    (odd / "text.mp4").write_text("not a video")
    (odd / "notes.txt").write_text("not media, not named as media")
    shutil.copy(folder / "still.png", odd / "still.png")
    os.mkfifo(tmp_path / "named.mp4")
    code, out, _ = run(str(odd), str(tmp_path / "named.mp4"), "--json", "-q")
    assert code == 1
    problems = {Path(p["path"]).name: p["error"] for p in json.loads(out)["errors"]}
    assert set(problems) == {"pipe.jpg", "empty.mp4", "text.mp4", "named.mp4"}
    assert "FIFO (named pipe), not opened" in problems["pipe.jpg"] and "FIFO (named pipe), not opened" in problems["named.mp4"]


def test_an_index_path_that_is_not_an_index_is_refused_untouched(folder: Path, tmp_path: Path) -> None:
    for made in (tmp_path / "zero.mp4", tmp_path / "notes.txt"):
        made.write_bytes(b"" if made.suffix == ".mp4" else b"evidence notes\n")
        before = made.read_bytes()
        code, _, err = run(str(folder / "still.png"), "--index", str(made), "-q")
        assert code == 2 and "not a dedup index" in err
        assert made.read_bytes() == before


def test_a_sqlite_file_of_another_program_is_not_taken_as_an_index(folder: Path, tmp_path: Path) -> None:
    import sqlite3

    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE people (name TEXT)")
    before = other.read_bytes()
    code, _, err = run(str(folder / "still.png"), "--index", str(other), "-q")
    assert code == 2 and "something else" in err and other.read_bytes() == before


def test_a_link_inside_a_folder_is_reported_not_followed(folder: Path, tmp_path: Path) -> None:
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "to-still.png").symlink_to(folder / "still.png")
    code, out, _ = run(str(linked), "--json", "-q")
    assert code == 1 and "not followed" in json.loads(out)["errors"][0]["error"]


def test_a_file_named_twice_is_compared_once(folder: Path) -> None:
    code, out, _ = run(str(folder / "still.png"), str(folder / "still.png"), str(folder), "--json", "-q")
    assert code == 0
    keys = [key for m in json.loads(out)["matches"] for key in (m["a"], m["b"])]
    assert keys and all(keys.count(k) < 10 for k in keys)
    assert not any(m["a"] == m["b"] for m in json.loads(out)["matches"])


def test_an_index_given_as_a_link_is_refused_and_nothing_is_made_through_it(folder: Path, tmp_path: Path) -> None:
    (tmp_path / "dangling.sqlite").symlink_to(tmp_path / "nowhere.sqlite")
    code, _, err = run(str(folder / "still.png"), "--index", str(tmp_path / "dangling.sqlite"), "-q")
    assert code == 2 and "symbolic link" in err and not (tmp_path / "nowhere.sqlite").exists()


def test_two_takes_of_one_signer_are_a_lead_checked_on_the_files(shared_data: Path) -> None:
    # "no" and "yes": one raised hand each, in one room; the thumbnails take them for one recording,
    # the files at full size do not, and the lead says so.
    clips = shared_data / "footage" / "asl_gestures"
    code, out, _ = run("--json", "-q", str(clips / "no.mkv"), str(clips / "yes.mkv"))
    found = json.loads(out)
    assert code == 0 and found["matches"] == [] and found["groups"] == []
    assert "at full size" in found["scene_matches"][0]["reason"]


def _two_takes_compared(shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, compare_with) -> None:
    """Copies no.mkv and yes.mkv into tmp_path, runs dedup on them with find_duplicates replaced by
    `compare_with(compare_all, args, kwargs)`, and checks yes.mkv is an error and the match weak."""
    import forensics.dedup.store as store  # the command compares through store.find_and_store

    clips = shared_data / "footage" / "asl_gestures"
    for name in ("no.mkv", "yes.mkv"):
        shutil.copy(clips / name, tmp_path / name)
    compare_all = store.find_duplicates
    monkeypatch.setattr(store, "find_duplicates", lambda *args, **kwargs: compare_with(compare_all, args, kwargs))
    code, out, _ = run("--json", "-q", "--all", str(tmp_path / "no.mkv"), str(tmp_path / "yes.mkv"))
    found = json.loads(out)
    assert code == 1 and [e["path"] for e in found["errors"]] == [str(tmp_path / "yes.mkv")]
    assert found["groups"] == [] and [m["confidence"] for m in found["matches"]] == ["weak"]


def test_a_file_changed_after_it_was_hashed_is_an_error_and_its_match_in_doubt_weak(
        shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def swapped_then_compared(compare_all, args, kwargs):  # yes.mkv becomes a copy of no.mkv once hashed
        shutil.copy(tmp_path / "no.mkv", tmp_path / "yes.tmp")
        os.replace(tmp_path / "yes.tmp", tmp_path / "yes.mkv")
        return compare_all(*args, **kwargs)

    _two_takes_compared(shared_data, tmp_path, monkeypatch, swapped_then_compared)


def test_a_file_swapped_while_it_is_checked_confirms_nothing(
        shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from forensics.dedup.verify import measure

    def swapped_while_measured(compare_all, args, kwargs):
        # What the check reads where yes.mkv was: no.mkv from where the match lines yes.mkv up with it.
        shifted = dedup_edits.ffmpeg(tmp_path / "no.mkv", tmp_path / "shifted.mkv", [], before=["-ss", "0.124"])

        def measured(checks):
            os.replace(shifted, tmp_path / "yes.mkv")
            return measure(checks)

        return compare_all(*args, **{**kwargs, "measured": measured})  # in this process, the swap made first

    _two_takes_compared(shared_data, tmp_path, monkeypatch, swapped_while_measured)
