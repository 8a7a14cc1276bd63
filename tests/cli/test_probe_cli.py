"""`forensics probe`: JSON and table output, folders, exit codes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import imageio_ffmpeg
import pytest
from click.testing import CliRunner
from PIL import Image

from forensics_cli.probe import command


@pytest.fixture(scope="module")
def evidence(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with an edited JPEG, a short MP4, a note, and a truncated MP4 in a sub-folder."""
    folder = tmp_path_factory.mktemp("evidence")
    image = Image.new("RGB", (64, 48), (200, 40, 40))
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0131] = "Apple", "iPhone 12", "Adobe Photoshop 25.0"
    image.save(folder / "photo.jpg", exif=exif)
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc=size=160x120:rate=10:duration=1", "-c:v", "libx264", "-pix_fmt", "yuv420p",
                    str(folder / "clip.mp4")], check=True)
    (folder / "note.txt").write_text("received by messenger\n")
    (folder / "broken").mkdir()
    (folder / "broken" / "cut.mp4").write_bytes((folder / "clip.mp4").read_bytes()[:500])
    return folder


def test_json_records_in_the_order_given(evidence: Path) -> None:
    result = CliRunner().invoke(command, [str(evidence / "photo.jpg"), str(evidence / "clip.mp4"), "--json", "-q"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    records = shown["results"]
    assert [Path(r["path"]).name for r in records] == ["photo.jpg", "clip.mp4"] and shown["errors"] == []
    photo, clip = records
    assert photo["media_type"] == "image" and photo["device"]["model"] == "iPhone 12"
    assert [f["code"] for f in photo["flags"]] == ["editing_software"]
    assert clip["media_type"] == "video" and clip["streams"][0]["coded_width_px"] == 160
    assert "ffmpeg_written" in [f["code"] for f in clip["flags"]]


def test_folder_with_a_broken_file_exits_1(evidence: Path) -> None:
    result = CliRunner().invoke(command, [str(evidence), "--json"])
    assert result.exit_code == 1
    shown = json.loads(result.stdout)
    records = {Path(r["path"]).name: r for r in shown["results"]}
    assert set(records) == {"photo.jpg", "clip.mp4", "note.txt", "cut.mp4"}
    assert records["cut.mp4"]["error"] and records["note.txt"]["error"] is None
    assert [(Path(e["path"]).name, e["error"]) for e in shown["errors"]] == [("cut.mp4", records["cut.mp4"]["error"])]


def test_table_names_files_flags_and_errors(evidence: Path) -> None:
    result = CliRunner().invoke(command, [str(evidence)])
    assert result.exit_code == 1
    assert "photo.jpg" in result.stdout and "editing_software" in result.stdout
    assert "Adobe Photoshop 25.0" in result.stdout  # the flag's sentence, under the table
    assert "error:" in result.stdout and "cut.mp4" in result.stdout


def test_a_missing_path_alone_is_a_file_error_not_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(command, [str(tmp_path / "absent.mov"), "--json", "-q"])
    assert result.exit_code == 1, result.output
    assert [e["path"] for e in json.loads(result.stdout)["errors"]] == [str(tmp_path / "absent.mov")]


def test_a_path_that_does_not_exist_is_its_own_error_and_the_rest_are_read(evidence: Path, tmp_path: Path) -> None:
    missing = tmp_path / "gone.jpg"
    result = CliRunner().invoke(command, [str(missing), str(evidence / "photo.jpg"), "--json", "-q"])
    assert result.exit_code == 1, result.output
    shown = json.loads(result.stdout)
    assert [e["path"] for e in shown["errors"]] == [str(missing)] and "no such file" in shown["errors"][0]["error"]
    assert [Path(r["path"]).name for r in shown["results"]] == ["gone.jpg", "photo.jpg"]
    assert shown["results"][1]["media_type"] == "image"


def test_credentials_in_the_table_and_trust_anchors_checked(tmp_path: Path) -> None:
    from conftest import SHARED_DATA
    signed = SHARED_DATA / "c2pa" / "CA.jpg"
    if not signed.is_file():
        pytest.skip(f"the C2PA reference media are not here ({signed.parent})")
    result = CliRunner().invoke(command, [str(signed), "-q"])
    assert result.exit_code == 0, result.output
    assert "valid:" in result.stdout and "unverif" in result.stdout  # the credentials column (folded to width)
    assert "credentials_edited: The Content Credentials record edits: color_adjustments" in result.stdout
    not_pem = tmp_path / "anchors.pem"
    not_pem.write_text("no certificate here\n")
    refused = CliRunner().invoke(command, [str(signed), "-q", "--trust-anchors", str(not_pem)])
    assert refused.exit_code == 2 and "hold no PEM certificate" in refused.output
