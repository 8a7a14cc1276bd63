"""Flags on the generated demo photos (fixtures/), whose edits are known."""

from __future__ import annotations

from conftest import FIXTURES
from forensics.media.metadata.probe import probe_media


def test_datetime_modified_fires_when_only_datetime_original_carries_an_offset():
    # The edited photo has OffsetTimeOriginal (+03:00) but no OffsetTime for its DateTime.
    record = probe_media(FIXTURES / "incident/photo/IMG_0001_edited.jpg").to_json()
    flags = {f["code"]: f["message"] for f in record["flags"]}
    assert "datetime_modified" in flags and "1 d 6 h after" in flags["datetime_modified"]
    original = probe_media(FIXTURES / "incident/photo/IMG_0001.jpg").to_json()
    assert "datetime_modified" not in {f["code"] for f in original["flags"]}
