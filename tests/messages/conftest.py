"""The export tree of fixtures/make_exports.py, written once per session, and its scan."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
sys.path.insert(0, str(FIXTURES))

import make_exports  # noqa: E402 - from fixtures/, put on the path above

from forensics.messages import ExportScan, scan_exports  # noqa: E402


@pytest.fixture(scope="session")
def export_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("exports")
    make_exports.generate(out)
    return out


@pytest.fixture(scope="session")
def scan(export_tree: Path) -> ExportScan:
    return scan_exports(export_tree)
