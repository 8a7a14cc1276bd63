"""The metadata record read back from its JSON: this version's round trip, and records of earlier versions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import FIXTURES
from forensics.errors import ParameterError
from forensics.media.metadata.probe import probe_media
from forensics.media.metadata.record import RECORD_VERSION, MediaRecord

OLD = Path(__file__).parents[2] / "data" / "old_records"


@pytest.mark.parametrize("name", ["video/strike_original.mp4", "photo/IMG_0001.jpg", "audio/intercept_full.wav"])
def test_a_record_reads_back_as_it_was_written(name):
    written = probe_media(FIXTURES / "incident" / name).to_json()
    stored = json.loads(json.dumps(written))  # as a case holds it
    assert MediaRecord.from_json(stored).to_json() == written
    assert written["record_version"] == RECORD_VERSION


def test_a_record_from_before_the_rotation_rename_reads_its_turns_clockwise():
    old = json.loads((OLD / "before-rotation-rename" / "strike_excerpt.metadata.json").read_text())
    assert "record_version" not in old and old["streams"][0]["rotation_deg"] == 0
    old["streams"][0]["rotation_deg"] = -90  # an upright phone video, as ffprobe's sign said it
    record = MediaRecord.from_json(old)
    assert record.streams[0].rotation_cw_deg == 90 and record.streams[1].rotation_cw_deg is None
    assert record.device.software == old["device"]["software"]
    photo = MediaRecord.from_json(json.loads((OLD / "before-rotation-rename" / "IMG_0001.metadata.json").read_text()))
    assert photo.image is not None and photo.image.rotation_cw_deg == 0 and photo.image.orientation == 1
    # Everything else reads as it was written, under this version's names.
    again = record.to_json()
    del again["record_version"]
    assert again.pop("provenance") is None and again.pop("capture_zone") is None  # parts added since version 2
    for stream in old["streams"]:
        counter_clockwise = stream.pop("rotation_deg")
        stream["rotation_cw_deg"] = None if counter_clockwise is None else -counter_clockwise % 360
    assert again == old


def test_a_record_of_a_later_version_or_no_record_is_refused():
    written = probe_media(FIXTURES / "incident" / "photo" / "IMG_0001.jpg").to_json()
    with pytest.raises(ParameterError, match="version 99"):
        MediaRecord.from_json({**written, "record_version": 99})
    with pytest.raises(ParameterError, match="not a metadata record"):
        MediaRecord.from_json({"record_version": RECORD_VERSION})
