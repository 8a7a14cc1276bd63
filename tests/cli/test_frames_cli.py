"""`forensics frames`: files written, JSON printed, exit codes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import imageio_ffmpeg
import pytest
from click.testing import CliRunner

from forensics.media.video.image_encoding import decode_image
from forensics_cli.frames import command

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli")
    plain, path = folder / "plain.mp4", folder / "clip.mp4"
    subprocess.run([FFMPEG, "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=3",
                    "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", str(plain)], check=True)
    subprocess.run([FFMPEG, "-v", "error", "-y", "-display_rotation", "90", "-i", str(plain), "-c", "copy", str(path)],
                   check=True)  # a phone held upright, turned the other way
    return path


def run(*arguments: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(command, list(arguments))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_keyframes_are_written_with_a_contact_sheet_and_json(video: Path, tmp_path: Path) -> None:
    code, out, _ = run(str(video), "--out", str(tmp_path), "--json", "--quiet")
    assert code == 0
    [report] = json.loads(out)["results"]
    folder = tmp_path / "clip.mp4"
    assert report["folder"] == str(folder) and report["mode"] == "keyframes"
    assert [f["pts_s"] for f in report["frames"]] == [0.0, 1.0, 2.0]
    assert [f["file"] for f in report["frames"]][1] == "frame-000025-000001000ms.png"
    assert report["rotation_cw_deg"] == 270 and report["rotation_applied"] is True  # ffmpeg's 90 is counter-clockwise
    assert decode_image((folder / "frame-000025-000001000ms.png").read_bytes()).shape == (160, 120, 3)
    assert (folder / "contact-sheet.png").exists() and (folder / "thumbnail.jpg").exists()
    assert json.loads((folder / "frames.json").read_text()) == report


def test_every_with_size_cap_and_jpeg(video: Path, tmp_path: Path) -> None:
    code, out, _ = run(str(video), "--out", str(tmp_path), "--mode", "every:0.5", "--max", "4", "--size", "64",
                       "--format", "jpeg", "--json", "-q")
    assert code == 0
    [report] = json.loads(out)["results"]
    assert len(report["frames"]) == 4 and report["parameters"]["max_frames"] == 4
    assert {(f["width_px"], f["height_px"]) for f in report["frames"]} == {(48, 64)}
    assert all(f["file"].endswith(".jpg") for f in report["frames"])


def test_summary_lines_name_the_output(video: Path, tmp_path: Path) -> None:
    code, out, _ = run(str(video), "--out", str(tmp_path), "--mode", "scenes")
    assert code == 0 and "clip.mp4: 1 frame(s), scenes, 1 shot(s), turned 270° clockwise" in out


def test_unreadable_file_is_reported_and_the_rest_goes_on(video: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_text("not a video")
    code, out, err = run(str(bad), str(video), "--out", str(tmp_path / "out"), "--json", "-q")
    assert code == 1
    shown = json.loads(out)
    assert [Path(e["path"]).name for e in shown["errors"]] == ["bad.mp4"] and "bad.mp4" in err
    [report] = shown["results"]
    assert len(report["frames"]) == 3 and report["path"] == str(video)


def test_same_names_get_separate_folders(video: Path, tmp_path: Path) -> None:
    code, out, _ = run(str(video), str(video), "--out", str(tmp_path), "--json", "-q")
    assert code == 0
    assert [Path(r["folder"]).name for r in json.loads(out)["results"]] == ["clip.mp4", "clip.mp4-2"]


def test_bad_mode_is_a_usage_error(video: Path, tmp_path: Path) -> None:
    code, _, err = run(str(video), "--out", str(tmp_path), "--mode", "every:soon")
    assert code == 2 and "every:SECONDS" in err


def test_an_infinite_interval_is_a_bad_argument_and_a_full_disk_stops_the_run(video: Path, tmp_path: Path,
                                                                                monkeypatch) -> None:
    import errno

    import forensics_cli.frames

    code, _, err = run(str(video), "--out", str(tmp_path), "--mode", "every:inf")
    assert code == 2 and "finite" in err

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path))

    monkeypatch.setattr(forensics_cli.frames, "_write", full)
    code, out, err = run(str(video), str(video), "--out", str(tmp_path / "o"), "--json", "-q")
    assert code == 3 and json.loads(out)["error"]["errno"] == "ENOSPC"


def test_a_selection_too_big_for_memory_is_that_videos_error_and_the_rest_go_on(video: Path, tmp_path: Path,
                                                                                monkeypatch) -> None:
    import forensics.media.video.frames as frames

    real = frames.extract_frames

    def small_budget(path, **kwargs):
        return real(path, **kwargs, max_memory_bytes=1000 if Path(path).name == "first.mp4" else 4 << 30)

    first = tmp_path / "first.mp4"
    first.write_bytes(video.read_bytes())
    monkeypatch.setattr("forensics_cli.frames.extract_frames", small_budget)
    code, out, _ = run(str(first), str(video), "--out", str(tmp_path / "o"), "--json", "-q")
    shown = json.loads(out)
    assert code == 1 and "would take" in shown["errors"][0]["error"] and len(shown["results"]) == 1
