"""A case of real media for the report tests: the fixture incident, with footage, phone videos with GPS,
a phone photo and HEIF/AVIF stills from ../shared/data (skipped when that folder is absent)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import FIXTURES, SHARED_DATA
from forensics.custody.signing import SigningKey

# (folder under ../shared/data, name), copied into the incident's `real/` folder under that name.
REAL_FILES = (
    ("footage", "car-detection.mp4"),  # a street camera, with an AAC track
    ("metadata-extractor-images/mov", "with-gps.mov"),  # iPhone 6, 11:25:40+03:00, Israel
    ("metadata-extractor-images/mp4", "with-gps.mp4"),  # Android, London
    ("metadata-extractor-images/mp4", "ftyp3gp5.mp4"),  # null island
    ("metadata-extractor-images/jpg", "Apple iPhone 4.jpg"),
    ("metadata-extractor-images/heic", "IMG_1034.heic"),  # an iPhone's tiled HEIC
    ("c2pa", "sample1.heic"),
    ("c2pa", "sample1.avif"),
)


def build_real_case(root: Path, key: SigningKey) -> Path:
    """Gives a case ingested from the fixture incident and the real files above."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"the shared real media are not here ({SHARED_DATA}); see ../shared/data/README.md")
    from forensics.incident import ingest

    source = root / "incident"
    shutil.copytree(FIXTURES / "incident", source)
    real = source / "real"
    real.mkdir()
    for folder, name in REAL_FILES:
        shutil.copy(SHARED_DATA / folder / name, real / name)
    case = root / "case"
    ingest([source], case, key=key, incident="strike-real")
    return case
