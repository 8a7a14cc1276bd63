"""`forensics audio segments|index|match`: the issue's JSON shape, exit codes, errors per file."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from conftest import FIXTURES

from forensics_cli.audio import command

AUDIO = FIXTURES / "incident" / "audio"
# fixtures/make_fixtures.py: intercept_clip is intercept_full[7.00 s, 11.00 s) with noise, as AAC; strike_excerpt
# is strike_original from 4.00 s, whose sound has intercept_full[9.60 s, 13.20 s) from 2.00 s.
CLIP_FROM_S, EXCERPT_FROM_S = 7.0, 9.60 + 4.00 - 2.00


def test_index_then_match_prints_the_offset_of_the_clip_and_an_empty_list_for_the_rest(tmp_path: Path):
    library = tmp_path / "intercepts.sqlite"
    runner = CliRunner()
    indexed = runner.invoke(command, ["index", "--library", str(library), str(AUDIO / "intercept_full.wav"),
                                      "--json", "-q"])
    assert indexed.exit_code == 0, indexed.output
    assert json.loads(indexed.stdout)["library"]["references"] == 1
    silence = tmp_path / "photo.jpg"
    silence.write_bytes((FIXTURES / "incident" / "photo" / "IMG_0001.jpg").read_bytes())
    matched = runner.invoke(command, ["match", "--library", str(library), str(AUDIO / "intercept_clip.m4a"),
                                      str(FIXTURES / "incident" / "video" / "strike_excerpt.mp4"), "--json", "-q"])
    assert matched.exit_code == 0, matched.output
    clip, excerpt = json.loads(matched.stdout)["results"]
    [found] = clip["matches"]
    assert found["reference"] == str(AUDIO / "intercept_full.wav") and abs(found["offset_s"] - CLIP_FROM_S) < 0.010
    assert {"reference", "reference_sha256", "offset_s", "speed", "score", "confidence", "query_start_s",
            "query_end_s", "reference_start_s", "reference_end_s"} <= set(found)
    assert found["confidence"] in ("strong", "likely")
    [heard] = excerpt["matches"]  # the video's 1.6 s of the radio, behind street noise
    assert abs(heard["offset_s"] - EXCERPT_FROM_S) < 0.010 and heard["query_end_s"] < 1.7
    every = runner.invoke(command, ["match", "--library", str(library), str(AUDIO / "intercept_clip.m4a"),
                                    str(FIXTURES / "incident" / "video" / "strike_excerpt.mp4"), "--json", "-q", "--all"])
    with_weak = [r["matches"] for r in json.loads(every.stdout)["results"]]
    assert [[m for m in ms if m["confidence"] != "weak"] for ms in with_weak] == [clip["matches"], excerpt["matches"]]
    refused = runner.invoke(command, ["match", "--library", str(library), str(silence), "--json", "-q"])
    shown = json.loads(refused.stdout)
    assert refused.exit_code == 1 and shown["results"] == [] and shown["errors"][0]["path"] == str(silence)
    missing = runner.invoke(command, ["match", "--library", str(tmp_path / "none.sqlite"), str(silence)])
    assert missing.exit_code == 2 and "no such library" in missing.output


def test_segments_lists_each_transmission(tmp_path: Path):
    result = CliRunner().invoke(command, ["segments", str(AUDIO / "intercept_full.wav"), "--json", "-q"])
    assert result.exit_code == 0, result.output
    [track] = json.loads(result.stdout)["results"][0]["tracks"]
    speech = [s for s in track["segments"] if s["kind"] == "speech"]
    # fixtures/make_fixtures.py BURSTS: key-up at 1.0, 5.2, 10.0, 14.6 s.
    assert [round(s["start_s"]) for s in speech] == [1, 5, 10, 15]
    assert sum(s["kind"] == "squelch_tail" for s in track["segments"]) == 4


def test_index_makes_the_librarys_folder_when_missing(tmp_path: Path):
    library = tmp_path / "libs" / "new" / "intercepts.sqlite"
    result = CliRunner().invoke(command, ["index", "--library", str(library), str(AUDIO / "intercept_clip.m4a"),
                                          "--json", "-q"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["library"]["references"] == 1 and library.is_file()


def test_a_file_that_runs_out_of_memory_is_its_own_error_and_the_rest_go_on(tmp_path: Path, monkeypatch):
    import forensics_cli.audio
    from forensics.audio.decode import decode_audio

    def greedy(path, **kwargs):
        if Path(path).name == "intercept_full.wav":
            raise MemoryError
        return decode_audio(path, **kwargs)

    monkeypatch.setattr(forensics_cli.audio, "decode_audio", greedy)
    result = CliRunner().invoke(command, ["segments", str(AUDIO / "intercept_full.wav"), str(AUDIO / "intercept_clip.m4a"),
                                          "--json", "-q"])
    assert result.exit_code == 1, result.output
    shown = json.loads(result.stdout)
    [error], [result] = shown["errors"], shown["results"]
    assert "more memory than this process may use" in error["error"] and result["tracks"]


def test_a_library_given_as_a_link_or_not_a_library_is_refused_and_left_as_it_is(tmp_path: Path):
    runner = CliRunner()
    real = tmp_path / "real.sqlite"
    assert runner.invoke(command, ["index", "--library", str(real), str(AUDIO / "intercept_full.wav"), "-q"]).exit_code == 0
    (tmp_path / "link.sqlite").symlink_to(real)
    (tmp_path / "dangling.sqlite").symlink_to(tmp_path / "nowhere.sqlite")
    for name in ("link.sqlite", "dangling.sqlite"):
        for verb in ("index", "match"):
            result = runner.invoke(command, [verb, "--library", str(tmp_path / name), str(AUDIO / "intercept_clip.m4a")])
            assert result.exit_code == 2 and "symbolic link" in result.output, (name, verb, result.output)
    assert not (tmp_path / "nowhere.sqlite").exists()
    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")
    result = runner.invoke(command, ["match", "--library", str(empty), str(AUDIO / "intercept_clip.m4a")])
    assert result.exit_code == 2 and "not an intercept library" in result.output and empty.read_bytes() == b""


def test_a_full_disk_under_a_library_is_the_systems_error_not_a_bad_library():
    import errno
    import sqlite3

    import pytest

    from forensics.inputs import raise_system_error

    full = sqlite3.OperationalError("database or disk is full")
    full.sqlite_errorcode = sqlite3.SQLITE_FULL
    with pytest.raises(OSError) as raised:
        raise_system_error(full, Path("lib.sqlite"))
    assert raised.value.errno == errno.ENOSPC
    other = sqlite3.DatabaseError("file is not a database")
    other.sqlite_errorcode = sqlite3.SQLITE_NOTADB
    assert raise_system_error(other, Path("lib.sqlite")) is None
