"""Derived files and analysis records: stored under data/derived, recorded with source, operation, parameters."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from conftest import bag_valid
from forensics.custody.case import open_case
from forensics.custody.verify import verify_case
from forensics.errors import ParameterError
from forensics.incident import ingest


def case_of(tmp_path: Path, key, files: dict[str, bytes]) -> tuple[Path, list[str]]:
    """Returns a custody-only case of incident "strike" holding `files`, and their SHA-256s in order."""
    src = tmp_path / "raw"
    src.mkdir()
    for name, data in files.items():
        (src / name).write_bytes(data)
    case_path = Path(ingest([src], tmp_path / "case", key=key, incident="strike", analyse=False).case)
    return case_path, [hashlib.sha256(data).hexdigest() for data in files.values()]


def test_a_derived_file_is_recorded_with_its_source_operation_parameters_and_digest(tmp_path, alice):
    case_path, (source,) = case_of(tmp_path, alice, {"clip.mp4": b"footage bytes"})
    frame, thumb = b"\x89PNG frame at 2.0 s", b"\x89PNG thumbnail"
    with open_case(case_path, alice) as case:
        derived = case.add_derived(source, frame, name="frame-2.000.png", operation="frames.keyframes",
                                   parameters={"pts_s": 2.0, "size_px": 320})
        again = case.add_derived(source, frame, name="frame-2.000.png", operation="frames.keyframes",
                                 parameters={"pts_s": 2.0, "size_px": 320})
        # derived from a derived file: it still belongs to the original's item
        nested = case.add_derived(derived.stored.sha256, thumb, name="thumb.png", operation="thumbnail",
                                  parameters={"width_px": 160})
        with pytest.raises(ParameterError):
            case.add_derived("0" * 64, b"x", name="x.png", operation="frames", parameters={})
        entries_before = case.log.count
    assert again == derived  # the same bytes by the same operation: a no-op
    assert derived.stored.path == f"data/derived/{source[:2]}/{source}/frame-2.000.png"
    assert (case_path / derived.stored.path).read_bytes() == frame
    item = json.loads((case_path / "custody/manifests/strike.json").read_bytes())["items"][0]
    assert [(d["operation"], d["parameters"], d["source_sha256"], d["sha256"]) for d in item["derived"]] == [
        ("frames.keyframes", {"pts_s": 2.0, "size_px": 320}, source, hashlib.sha256(frame).hexdigest()),
        ("thumbnail", {"width_px": 160}, derived.stored.sha256, hashlib.sha256(thumb).hexdigest())]
    assert nested.stored.path.startswith(f"data/derived/{derived.stored.sha256[:2]}/")
    log = [json.loads(line) for line in (case_path / "custody/log.jsonl").read_bytes().splitlines()]
    derived_entries = [e for e in log if e["action"] == "derived"]
    assert len(derived_entries) == 2 and len(log) >= entries_before
    assert derived_entries[0]["objects"][0] == {"role": "source", "sha256": source}
    assert derived_entries[0]["details"] == {"operation": "frames.keyframes", "parameters": {"pts_s": 2.0, "size_px": 320}}
    bag_valid(case_path)
    assert verify_case(case_path).intact


# A metadata record as written before records stated a version: the outline verify checks it against.
_OUTLINE = {"path": "photo.jpg", "media_type": "image"}
_GPS = {"latitude_deg": 36.2, "longitude_deg": 37.1, "altitude_m": None, "source": "EXIF GPS", "time_utc": None}


def test_an_analysis_record_is_stored_once_and_replaced_when_it_changes(tmp_path, alice):
    case_path, (source,) = case_of(tmp_path, alice, {"photo.jpg": b"\xff\xd8\xff photo"})
    with open_case(case_path, alice) as case:
        first = case.add_record(source, "metadata", {**_OUTLINE, "gps": None})
        assert case.add_record(source, "metadata", {**_OUTLINE, "gps": None}) == first
        second = case.add_record(source, "metadata", {**_OUTLINE, "gps": _GPS})
    assert second.path == first.path and second.sha256 != first.sha256
    item = json.loads((case_path / "custody/manifests/strike.json").read_bytes())["items"][0]
    assert item["records"]["metadata"]["sha256"] == second.sha256
    assert json.loads((case_path / second.path).read_bytes()) == {**_OUTLINE, "gps": _GPS}
    assert verify_case(case_path).intact


def test_equal_bytes_derived_from_two_sources_are_both_kept(tmp_path, alice):
    """Two black thumbnails of two videos are the same bytes; each is its own derived file."""
    case_path, (a, b) = case_of(tmp_path, alice, {"a.mp4": b"video a", "b.mp4": b"video b"})
    with open_case(case_path, alice) as case:
        first = case.add_derived(a, b"black thumbnail", name="thumbnail.jpg", operation="frames.thumbnail", parameters={})
        second = case.add_derived(b, b"black thumbnail", name="thumbnail.jpg", operation="frames.thumbnail", parameters={})
    assert first.stored.path != second.stored.path
    assert (case_path / first.stored.path).exists() and (case_path / second.stored.path).exists()
    assert verify_case(case_path).intact
    bag_valid(case_path)
