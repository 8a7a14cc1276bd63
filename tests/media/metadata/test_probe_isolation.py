"""Hostile files give records, never a crash or hang: every reader of probe runs in an isolated worker."""

from __future__ import annotations

import json

import pytest

from conftest import SHARED_DATA
from forensics.inputs import media_files
from forensics.media.metadata.probe import probe_many


def test_hostile_files_give_records_without_crash_or_hang() -> None:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"the shared real media are not here ({SHARED_DATA.resolve()}); see ../shared/data/README.md")
    fuzzed = media_files([SHARED_DATA / "metadata-extractor-images" / "fuzzing"])
    invalid = media_files([SHARED_DATA / "exif-py" / "tests" / "resources" / "jpg" / "invalid"])
    invalid = [p for p in invalid if p.suffix == ".jpg"]
    heif = [p for p in media_files([SHARED_DATA / "metadata-extractor-images" / "heic"]) if "Exception" in p.name
            and p.suffix == ".heif"]
    files = fuzzed + invalid + heif
    assert len(fuzzed) == 420 and len(invalid) == 7
    records = list(probe_many(files, timeout_s=20.0))
    assert len(records) == len(files)
    lost = [r.error for r in records if r.error and ("time limit" in r.error or "crashed" in r.error)]
    assert lost == []
    assert all(r.sha256 and r.sha256.startswith("sha256:") for r in records)
    for r in records:  # whatever a fuzzed file holds, its record is canonical JSON
        json.dumps(r.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    # libavformat refuses most fuzzed containers: those records say so instead of raising.
    assert sum(1 for r in records if r.error) >= 380
    broken_heif = [r for r in records if r.path.endswith(".heif")]
    assert all(r.media_type == "image" for r in broken_heif)


def test_a_third_party_readers_failure_reads_as_damage_with_its_cause(shared_data) -> None:
    broken = shared_data / "metadata-extractor-images" / "heic" / "NegativeArraySizeException.HeifReader.processBoxes.heif"
    if not broken.exists():
        pytest.skip(f"{broken} absent (see ../shared/data/README.md)")
    error = next(iter(probe_many([broken]))).error
    assert error.startswith("EXIF (exifread): its block is damaged or malformed, so it could not be read (")
    assert "UnicodeDecodeError" in error and error.endswith(")")
