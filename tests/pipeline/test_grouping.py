"""Near-duplicate grouping is redone only when new hashes arrived since the last finished one, and a run
killed before it finished leaves a case the next run completes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import forensics.pipeline.analyses as analyses
from conftest import FIXTURES
from forensics.custody.signing import SigningKey
from forensics.incident import ingest
from forensics.pipeline.runners import thread_runner


def photos(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for name in ("IMG_0001.jpg", "IMG_0001_edited.jpg"):
        shutil.copy2(FIXTURES / "incident" / "photo" / name, folder / name)
    return folder


def new_photo(path: Path, seed: int) -> Path:
    pixels = np.random.default_rng(seed).integers(0, 256, (12, 16, 3), dtype=np.uint8)
    Image.fromarray(pixels).resize((320, 240), Image.Resampling.BILINEAR).save(path, quality=90)
    return path


def groupings(case: Path) -> list[dict[str, Any]]:
    entries = [json.loads(line) for line in (case / "custody/log.jsonl").read_bytes().splitlines()]
    return [e["details"] for e in entries if e["action"] == "grouped"]


def near_duplicate_records(case: Path) -> dict[str, bytes]:
    return {p.parent.name: p.read_bytes() for p in (case / "custody/records").glob("*/*/near-duplicates.json")}


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the groupings made."""
    made: list[int] = []
    original = analyses.record_near_duplicates

    def counted(case: Any) -> int:
        made.append(1)
        return original(case)

    monkeypatch.setattr(analyses, "record_near_duplicates", counted)
    return made


def test_a_run_that_brings_no_new_hashes_groups_nothing(tmp_path: Path, alice: SigningKey, calls: list[int]) -> None:
    source, case = photos(tmp_path / "in"), tmp_path / "case"
    ingest([source], case, key=alice, runner=thread_runner(2))
    assert len(calls) == 1
    first = groupings(case)
    assert len(first) == 1 and first[0]["items_hashed"] == 2 and first[0]["covers"].startswith("sha256:")
    records = near_duplicate_records(case)
    assert len(records) == 2  # the photo and its edit are one picture
    ingest([source], case, key=alice, runner=thread_runner(2))
    assert len(calls) == 1 and groupings(case) == first
    new_photo(source / "other.jpg", seed=1)  # a new file, so new hashes
    ingest([source], case, key=alice, runner=thread_runner(2))
    assert len(calls) == 2
    second = groupings(case)
    assert len(second) == 2 and second[1]["items_hashed"] == 3 and second[1]["covers"] != first[0]["covers"]
    assert near_duplicate_records(case) == records  # the new photo matches nothing: the records stand


def test_a_run_killed_before_its_grouping_was_logged_is_completed_by_the_next(tmp_path: Path, alice: SigningKey,
                                                                              monkeypatch: pytest.MonkeyPatch,
                                                                              calls: list[int]) -> None:
    source = photos(tmp_path / "in")
    reference = tmp_path / "reference"
    ingest([source], reference, key=alice, runner=thread_runner(2))
    case = tmp_path / "case"
    original = analyses.record_near_duplicates

    def killed_half_way(case: Any) -> int:
        original(case)  # the records are written, the grouping not yet logged
        raise KeyboardInterrupt

    monkeypatch.setattr(analyses, "record_near_duplicates", killed_half_way)
    with pytest.raises(KeyboardInterrupt):
        ingest([source], case, key=alice, runner=thread_runner(2))
    assert groupings(case) == []
    monkeypatch.setattr(analyses, "record_near_duplicates", original)
    ingest([source], case, key=alice, runner=thread_runner(2))
    assert [g["covers"] for g in groupings(case)] == [g["covers"] for g in groupings(reference)]
    assert near_duplicate_records(case) == near_duplicate_records(reference)


def test_grouping_is_logged_after_its_last_record(tmp_path: Path, alice: SigningKey) -> None:
    case = tmp_path / "case"
    ingest([photos(tmp_path / "in")], case, key=alice, runner=thread_runner(2))
    entries = [json.loads(line) for line in (case / "custody/log.jsonl").read_bytes().splitlines()]
    grouped = next(n for n, e in enumerate(entries) if e["action"] == "grouped")
    written = [n for n, e in enumerate(entries) if e["action"] == "analysed"
               and e["details"]["kind"] == "near-duplicates"]
    assert written and max(written) < grouped
