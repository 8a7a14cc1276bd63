"""`forensics messages`: the scan as JSON and as tables, errors per folder, exit codes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from forensics_cli.messages import command

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "fixtures"))
import make_exports as fx


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("exports")
    fx.generate(out)
    return out


def test_json_gives_a_result_per_folder_with_each_files_carriers(tree: Path) -> None:
    result = CliRunner().invoke(command, [str(tree), "--json", "--zone", "Europe/Kyiv"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["errors"] == [] and [r["path"] for r in shown["results"]] == [str(tree)]
    scan = shown["results"][0]
    files = {f["path"]: f for f in scan["files"]}
    android_photo = files[fx.WA_ANDROID_PHOTO]["carriers"][0]["message"]
    assert android_photo["sent"]["at"] == "2026-12-05T10:15:00+02:00" and android_photo["sender"] == "Ahmad"
    assert [c["by"] for c in files[fx.TG_VIDEO]["carriers"]] == ["path", "same-bytes"]
    assert scan["unnamed"] == [fx.UNNAMED_PHOTO]
    assert [(a["where"], a["state"]) for a in scan["absent"]] == [
        ("message 5", "not-included"), ("line 7", "absent"), ("line 8", "omitted"), ("line 5", "omitted")]


def test_a_folder_that_is_not_one_is_its_own_error_and_exit_1(tree: Path, tmp_path: Path) -> None:
    (tmp_path / "result.json").write_text('{"name": "x", "id": 1, "messages": [')
    result = CliRunner().invoke(command, [str(tmp_path / "nowhere"), str(tmp_path), "--json"])
    assert result.exit_code == 1
    shown = json.loads(result.stdout)
    assert [e["path"] for e in shown["errors"]] == [str(tmp_path / "nowhere"), f"{tmp_path}/result.json"]
    assert "not valid JSON" in shown["errors"][1]["error"]


def test_a_zone_that_is_none_is_a_bad_argument(tree: Path) -> None:
    result = CliRunner().invoke(command, [str(tree), "--zone", "Mars/Olympus"])
    assert result.exit_code == 2 and "IANA" in result.output


def test_tables_name_exports_files_absent_and_unnamed(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "300")  # rich wraps table cells to the terminal's width
    result = CliRunner().invoke(command, [str(tree)])
    assert result.exit_code == 0, result.output
    for text in ("telegram-chat", "whatsapp-ios", "yt-dlp-video", "forwarded from Kharkiv Live", "not-included",
                 "named by no export: loose/IMG_4411.jpg", "dates ambiguous"):
        assert text in result.stdout, text
