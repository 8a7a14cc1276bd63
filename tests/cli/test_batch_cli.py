"""`forensics batch` as a script uses it: --help, --json per incident, exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from conftest import FIXTURES
from forensics.custody.case import open_case
from forensics_cli.main import cli


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_help_json_and_exit_codes(tmp_path: Path, alice) -> None:
    code, out, _ = run("batch", "--help")
    assert code == 0 and "--dask" in out and "--workers" in out
    root = tmp_path / "root"
    (root / "one").mkdir(parents=True)
    shutil.copy(FIXTURES / "incident/photo/IMG_0001.jpg", root / "one")
    shutil.copytree(FIXTURES / "incident/audio", root / "two")
    code, out, _ = run("batch", str(root), "--cases", str(tmp_path / "cases"), "--workers", "1", "--json")
    summary = json.loads(out)
    assert code == 0 and summary["runner"] == {"runner": "processes", "workers": 1}
    assert [(i["incident"], i["counts"]["added"], i["files"]) for i in summary["incidents"]] == [("one", 1, 1), ("two", 2, 2)]
    with open_case(tmp_path / "cases/two", alice):  # busy: held by another run
        code, out, _ = run("batch", str(root), "--cases", str(tmp_path / "cases"), "--workers", "1", "--json")
    incidents = json.loads(out)["incidents"]
    assert code == 1 and incidents[0]["error"] is None and "being written by" in incidents[1]["error"]
    code, _, err = run("batch", str(root / "one"), "--cases", str(tmp_path / "cases2"))
    assert code == 2 and "no incident folder" in err
