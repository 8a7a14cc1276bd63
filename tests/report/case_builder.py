"""A case for the report tests: the fixture incident, hostile names and tags, and dedup and audio records.

The dedup and audio records follow the JSON shapes of issues 5 and 6, with the
fixture's ground truth (fixtures/README.md): the WhatsApp copy is the same footage
as the original, the excerpt is the original's 4.00-7.00 s, and the phone clip
is the intercept's 7.00-11.00 s.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from conftest import FIXTURES
from forensics.custody.case import open_case
from forensics.custody.signing import SigningKey, new_key
from forensics.incident import ingest

HOSTILE_MAKE = "<script>alert('make')</script>"
HOSTILE_MODEL = '</td></tr><img src="https://evil.example/x.png">'
SERIAL = "SN-7731-PRIVATE"
HOSTILE_TEXT_NAME = '<img src=x onerror="alert(1)">.txt'
NEWLINE_NAME = "strike\nsecond line.mp4"
NOT_UTF8_NAME = b"photo_\xff\xfe.jpg"
BIDI_NAME = "invoice\u202egpj.exe"  # shows as "invoiceexe.jpg" where the override is obeyed


@dataclass(frozen=True)
class ReportCase:
    path: Path
    key: SigningKey
    sha256: dict[str, str]  # name as received -> item sha256


def hostile_jpeg(path: Path) -> None:
    image = Image.new("RGB", (96, 64), (200, 40, 40))
    exif = Image.Exif()
    exif[0x010F] = HOSTILE_MAKE  # Make
    exif[0x0110] = HOSTILE_MODEL  # Model
    exif[0x0131] = "\u202eevil-gnp.exe"  # Software, with a right-to-left override
    exif.get_ifd(0x8769)[0xA431] = SERIAL  # BodySerialNumber
    image.save(path, format="JPEG", quality=80, exif=exif)


def build_case(root: Path, key: SigningKey, *, analyse: bool = True) -> ReportCase:
    source = root / "incident"
    shutil.copytree(FIXTURES / "incident", source)
    hostile = source / "hostile"
    hostile.mkdir()
    (hostile / HOSTILE_TEXT_NAME).write_text("a note whose name is HTML\n")
    (hostile / BIDI_NAME).write_text("a note whose name reads backwards\n")
    shutil.copy(source / "video/strike_excerpt.mp4", hostile / NEWLINE_NAME)
    hostile_jpeg(hostile / os.fsdecode(NOT_UTF8_NAME))  # surrogateescape: the file gets the exact bytes
    case = root / "case"
    ingest([source], case, key=key, incident="strike-01", note="<b>note</b> from the field", analyse=analyse)
    with open_case(case, key, create=False) as opened:
        names = {r.name: sha for sha, item in opened.state.items.items() for r in item.receipts}
    return ReportCase(case, key, names)


@pytest.fixture(scope="session")
def report_case(tmp_path_factory: pytest.TempPathFactory) -> ReportCase:
    root = tmp_path_factory.mktemp("report-case")
    return build_case(root, new_key("Amina Haddad", root / "amina.key"))


@pytest.fixture(scope="session")
def rendered(report_case: ReportCase, tmp_path_factory: pytest.TempPathFactory):
    """The report of the report case, written once: (Exported, folder)."""
    from forensics.report.html import write_report

    out = tmp_path_factory.mktemp("rendered") / "report"
    return write_report(report_case.path, report_case.key, out_dir=out), out
