"""Places in the HTML and PDF reports of a case of photos whose GPS tags are good, out of range, not a number, or
hold no number at all (a rational over zero): every one is drawn or listed as left out with why, and both reports
list the same distances."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from PIL import Image
from PIL.TiffImagePlugin import IFDRational
from pypdf import PdfReader

from forensics.custody.signing import new_key
from forensics.custody.verify import verify_case
from forensics.custody.view import read_case
from forensics.incident import ingest
from forensics.report.html import render_report
from forensics.report.pdf import render_pdf
from forensics.report.places import distance_rows
from forensics.report.where_when import case_places
from test_report import visible_text

ONE = IFDRational(1, 1)
XMP = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       '<rdf:Description rdf:about="" xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="{lat}" '
       'exif:GPSLongitude="30,31.4E"/></rdf:RDF></x:xmpmeta>')


def _photo(path: Path, lat: tuple | None = None, lon: tuple | None = None, *, xmp_lat: str | None = None,
           taken: str | None = None, south: bool = False) -> None:
    exif = Image.Exif()
    if taken is not None:
        exif.get_ifd(0x8769)[0x9003] = taken  # DateTimeOriginal: a wall clock, no zone stated
    if lat is not None and lon is not None:
        gps = exif.get_ifd(0x8825)
        gps[0x0001], gps[0x0002], gps[0x0003], gps[0x0004] = "S" if south else "N", lat, "E", lon
    extra = {"xmp": XMP.format(lat=xmp_lat).encode()} if xmp_lat is not None else {}
    Image.new("RGB", (64, 48), (120, 110, 90)).save(path, "JPEG", exif=exif, **extra)


def _dms(value: float) -> tuple[IFDRational, IFDRational, IFDRational]:
    return IFDRational(round(value * 10000), 10000), IFDRational(0, 1), IFDRational(0, 1)


@pytest.fixture(scope="module")
def gps_case(tmp_path_factory: pytest.TempPathFactory):
    """A case of seven photos, its view, its HTML page and its PDF's text: (view, page, pdf text)."""
    root = tmp_path_factory.mktemp("gps-case")
    source = root / "incident"
    source.mkdir()
    _photo(source / "kyiv.jpg", _dms(50.4501), _dms(30.5234))
    _photo(source / "kyiv-2.jpg", _dms(50.4512), _dms(30.5301))
    _photo(source / "kharkiv.jpg", _dms(49.9935), _dms(36.2304))
    _photo(source / "zero-denominator.jpg", (IFDRational(50, 0), ONE, ONE), _dms(30.5))
    _photo(source / "latitude-999.jpg", (IFDRational(999, 1), ONE, ONE), _dms(30.5))
    _photo(source / "nan.jpg", xmp_lat="nan")
    _photo(source / "not-an-angle.jpg", xmp_lat="north of the river")
    key = new_key("Amina Haddad", root / "amina.key")
    ingest([source], root / "case", key=key, incident="gps")
    view = read_case(root / "case")
    verification = verify_case(root / "case")
    page = render_report(view, verification).files["index.html"].decode()
    pdf = root / "report.pdf"
    pdf.write_bytes(render_pdf(view, verification).data)
    text = "\n".join(p.extract_text() for p in PdfReader(pdf).pages)
    shutil.rmtree(source)
    return view, page, text


def _section(page: str, name: str) -> str:
    start = page.index(f'<section id="{name}">')
    return page[start:page.index("</section>", start)]


def test_every_broken_gps_field_is_listed_as_left_out_with_its_reason(gps_case):
    view, page, pdf_text = gps_case
    places = _section(page, "places")
    left = visible_text(places[places.index("<h3>Left out, not drawn"):])
    assert "Left out, not drawn (4)" in left
    assert ("zero-denominator.jpg GPSLatitude 50/0, 1, 1 N; GPSLongitude 61/2, 0, 0 E EXIF GPS "
            "GPSLatitude holds 50/0, a rational with a zero denominator: not a number of degrees") in left
    assert "latitude-999.jpg 999.016944444" in left and "outside the Earth's range (latitude 999.017" in left
    assert "nan.jpg nan 30.523333333 XMP exif:GPSLatitude/GPSLongitude not a number" in left
    assert ("not-an-angle.jpg exif:GPSLatitude north of the river; exif:GPSLongitude 30,31.4E XMP "
            "not an angle XMP writes") in left
    summary = visible_text(_section(page, "summary"))
    assert "3 position(s) claimed" in summary and "4 left out (unset or broken)" in summary
    # The figure, in the HTML and in the PDF, lists them too.
    figure = visible_text(places[places.index("<svg"):places.index("</svg>")])
    assert "zero-denominator.jpg: GPSLatitude 50/0, 1, 1 N;" in figure
    squeezed = re.sub(r"\s+", "", pdf_text)
    assert re.sub(r"\s+", "", "zero-denominator.jpg: GPSLatitude 50/0, 1, 1 N;") in squeezed
    assert "azerodenominator" in squeezed
    found = case_places(view, {})
    assert len(found.positions) == 3 and len(found.left_out) == 4


def test_the_html_and_the_pdf_list_the_same_distances_from_one_list(gps_case):
    view, page, pdf_text = gps_case
    listed = distance_rows(case_places(view, {}))
    assert len(listed.rows) == 3 and listed.not_listed == 0
    places = _section(page, "places")
    unfolded = places[places.index('<div class="unfolded">'):]
    rows = re.findall(r"<tr>(.*?)</tr>", unfolded)[1:]
    html_rows = [tuple(visible_text(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)) for row in rows]
    pdf_squeezed = re.sub(r"\s+", "", pdf_text)
    assert [r[2] for r in html_rows] == [km for _a, _b, km in listed.rows]
    for a, b, km in html_rows:
        assert a.split(" ", 1)[1] in {"kyiv.jpg", "kyiv-2.jpg", "kharkiv.jpg"}
        # The PDF's row: the two exhibits by label, then the same distance text.
        assert re.sub(r"\s+", "", f"{a}{b}{km}") in pdf_squeezed, (a, b, km)
    assert re.search(r"\b40\d\.\d{3} km", " ".join(r[2] for r in html_rows))  # Kyiv to Kharkiv, about 409 km


def test_what_is_folded_on_screen_is_also_written_for_print(gps_case):
    _view, page, _pdf = gps_case
    folds = re.findall(r'<details class="folded"><summary>(.*?)</summary>(.*?)</details>', page, re.DOTALL)
    closed = re.findall(r"<details(?![^>]*\bopen\b)[^>]*>", page)
    assert len(folds) >= 2 and len(folds) == len(closed)  # distances and custody runs; no other closed <details>
    for summary, body in folds:
        # Right after the fold, the same summary and body, for print.
        assert (f'<details class="folded"><summary>{summary}</summary>{body}</details>'
                f'<div class="unfolded"><p class="unfolded-head">{summary}</p>{body}</div>') in page
    style = page[page.index("<style>"):page.index("</style>")]
    screen, printing = style[:style.index("@media print")], style[style.index("@media print"):]
    assert ".unfolded{display:none}" in screen
    assert "details.folded{display:none}" in printing and ".unfolded{display:block}" in printing


def test_a_capture_clock_at_the_south_pole_is_a_zone_unknown_interval_and_the_chronology_says_why(tmp_path: Path):
    source = tmp_path / "incident"
    source.mkdir()
    _photo(source / "pole.jpg", _dms(89.9978), _dms(139.27), taken="2024:01:10 12:00:00", south=True)
    key = new_key("Amina Haddad", tmp_path / "amina.key")
    ingest([source], tmp_path / "case", key=key, incident="pole")
    view = read_case(tmp_path / "case")
    assert view.items[0].metadata.capture_zone is None  # the tz data's McMurdo is not taken
    page = render_report(view, verify_case(tmp_path / "case")).files["index.html"].decode()
    chronology = visible_text(_section(page, "chronology"))
    assert ("2024-01-10 12:00:00 (zone unknown) capture E1 pole.jpg EXIF DateTimeOriginal zone unknown any instant from "
            "2024-01-09 ") in chronology
    assert ("(no zone is taken from a position within 2 degrees of the South Pole: every meridian meets there, "
            "and the clock kept is its owner's, not the place's)") in chronology
