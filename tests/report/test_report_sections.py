"""#22's sections of the HTML report on a case of real media: chronology, places, exhibit numbers shared with the
PDF and the exports, a verdict block per card, cards in the chronology's order, no pair shown twice, a FAILED mark."""

from __future__ import annotations

import csv
import html as htmllib
import io
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from pypdf import PdfReader

from case_builder import BIDI_NAME, HOSTILE_TEXT_NAME, build_case, rendered, report_case  # noqa: F401
from forensics.custody.signing import new_key
from forensics.custody.verify import verify_case
from forensics.custody.view import read_case
from forensics.report.chronology import CUSTODY_RECEIVED
from forensics.report.document import exported_case
from forensics.report.exhibits import Exhibits
from forensics.report.export import csv_bytes
from forensics.report.html import render_report
from forensics.report.pdf import exhibits_of, render_pdf
from forensics.report.pdf_page import pdf_text
from real_case import build_real_case
from test_report import parse, visible_text


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory):
    """The real-media case, its report page and its view: (case path, page html, view)."""
    root = tmp_path_factory.mktemp("real-case")
    case = build_real_case(root, new_key("Amina Haddad", root / "amina.key"))
    view = read_case(case)
    page = render_report(view, verify_case(case)).files["index.html"].decode()
    return case, page, view


def section(page: str, name: str) -> str:
    start = page.index(f'<section id="{name}">')
    return page[start:page.index("</section>", start)]


def card(page: str, label: str) -> str:
    start = page.index(f'id="{label}">')
    return page[start:page.index("</article>", start)]


def label_of(view, name: str) -> str:
    return Exhibits(view).of(view.item_named(name)).label


def test_the_chronology_shows_each_time_in_its_zone_and_in_utc_and_leaves_clock_zeros_out(real):
    _case, page, view = real
    chron = section(page, "chronology")
    assert chron.count("<svg") == 1 and "<script" not in chron
    text = visible_text(chron)
    assert "2019-07-24 11:25:40+03:00 = 2019-07-24 08:25:40Z capture" in text  # with-gps.mov, as the file says it
    assert f"{label_of(view, 'real/with-gps.mov')} real/with-gps.mov" in text
    assert "2018-02-05 15:11:44.277000+08:00 = 2018-02-05 07:11:44.277000Z" in text  # zone from the GPS position
    assert "Asia/Shanghai, the zone of its GPS position" in text
    assert "zone unknown any instant from" in text  # a local clock of no zone: an interval, not an instant
    left = text[text.index("Left out, not placed"):]
    assert "video/strike_whatsapp.mp4 container 1904-01-01T00:00:00Z" in left
    assert "not a date (the format's zero): 1904-01-01 is the QuickTime" in left
    table = text[text.index("The same times as a table"):text.index("Left out, not placed")]
    assert "1904-01-01" not in table  # never placed as a fact (a receipt time may hold the digits 1904)
    # The table holds the figure's rows: one per placed time.
    assert chron[chron.index("<h3>The same times"):chron.index("<h3>Left out")].count("<tr>") - 1 >= 30


def test_places_name_the_outliers_with_distances_and_each_position_with_its_source(real):
    _case, page, _view = real
    places = section(page, "places")
    assert places.count("<svg") == 1
    text = visible_text(places)
    assert "real/with-gps.mov claims a position 502 km from the nearest of the others" in text
    assert "real/IMG_1034.heic claims a position 7,325 km" in text
    assert "32.092900 34.862000 28.5 m QuickTime com.apple.quicktime.location.ISO6709" in text
    assert "36.202130 37.134310 392.0 m EXIF GPS" in text
    assert "real/ftyp3gp5.mp4 0.0 0.0" in text and "null island" in text  # left out, with the reason
    distances = places[places.index("<details class=\"folded\">"):]
    assert "Distances between the positions (21 pairs)" in visible_text(distances)
    assert "502.455 km" in visible_text(distances)


def test_heif_heic_and_avif_stills_have_previews(real):
    _case, page, view = real
    for name in ("real/IMG_1034.heic", "real/sample1.heic", "real/sample1.avif"):
        shown = card(page, label_of(view, name))
        assert f'alt="preview of {name}"' in shown, name
        assert "cannot be decoded here" not in shown


def test_cards_follow_the_chronology_and_items_that_claim_no_time_come_last_by_exhibit(real):
    _case, page, view = real
    order = re.findall(r'<article class="card[^"]*" id="(E\d+)">', page)
    exhibits = {e.label: e.item for e in exhibits_of(view)}
    assert sorted(order, key=lambda e: int(e[1:])) == sorted(exhibits, key=lambda e: int(e[1:]))
    names = [exhibits[label].display_name for label in order]
    assert names[:4] == ["real/Apple iPhone 4.jpg", "real/with-gps.mp4", "real/IMG_1034.heic",
                         "real/car-detection.mp4"]
    assert names.index("real/with-gps.mov") < names.index("video/strike_original.mp4")
    claiming = {item.sha256 for item in view.items for t in (item.metadata.times if item.metadata else ())
                if t.value is not None and t.value.year > 1990}
    tail = [label for label in order if exhibits[label].sha256 not in claiming]
    assert tail == order[len(order) - len(tail):] and tail == sorted(tail, key=lambda e: int(e[1:]))
    assert "notes.txt" in [exhibits[label].display_name for label in tail]
    assert CUSTODY_RECEIVED  # receipts do not order the cards: every item has one


def test_each_card_opens_with_what_is_established_claimed_and_to_check(real):
    _case, page, view = real
    mov = visible_text(card(page, label_of(view, "real/with-gps.mov")))
    assert mov.index("Established") < mov.index("Claimed") < mov.index("Details")
    assert "intact: forensics verify read every byte" in mov
    assert "captured 2019-07-24 11:25:40+03:00 = 2019-07-24 08:25:40Z" in mov
    assert "outlier: 502.5 km from the main place" in mov and "device Apple iPhone 6" in mov
    original = visible_text(card(page, label_of(view, "video/strike_original.mp4")))
    whatsapp = label_of(view, "video/strike_whatsapp.mp4")
    assert f"the same footage as {whatsapp} video/strike_whatsapp.mp4 (group 2)" in original
    assert "strong match: precision 1.000 measured for this band (924 matches listed" in original
    assert "precision 1.000 measured for this band (372 matches listed" in original  # an intercept match
    assert "benchmarks/README.md" in original
    zero = visible_text(card(page, whatsapp))
    assert "container date 1904-01-01T00:00:00Z : not a date (the format's zero)" in zero
    assert zero.index("the format's zero: the writer set no date") < zero.index("date_epoch")  # sentence, then code


def test_every_link_leads_to_a_place_in_the_page(real):
    _case, page, _view = real
    tags = parse(page).tags
    ids = {attrs["id"] for _t, attrs in tags if attrs.get("id")}
    targets = {attrs["href"][1:] for t, attrs in tags if t == "a" and (attrs.get("href") or "").startswith("#")}
    assert targets - ids == set()
    assert {"chronology", "places", "same-footage-1", "match-1", "intercept-1", "E1"} <= targets


def test_no_pair_is_shown_twice(real):
    _case, page, _view = real
    dup = section(page, "duplicates")
    blocks = re.findall(r'<div class="group" id="match-\d+">(.*?)</div></div>', dup, re.DOTALL)
    pairs = [frozenset(re.findall(r'href="#(E\d+)"', b)) for b in blocks]
    assert pairs and all(len(p) == 2 for p in pairs) and len(set(pairs)) == len(pairs)
    leads = dup[dup.index("leads to check"):] if "leads to check" in dup else ""
    lead_pairs = [frozenset(re.findall(r'href="#(E\d+)"', row)) for row in leads.split("<tr>")[2:]]
    assert len(set(lead_pairs)) == len(lead_pairs) and not set(lead_pairs) & set(pairs)
    intercepts = section(page, "intercepts")
    numbered = re.findall(r'<h3>Intercept match (\d+)(.*?)</h3>(.*?)</dl>', intercepts, re.DOTALL)
    seen: dict[str, frozenset[str]] = {}
    for number, again, body in numbered:
        pair = frozenset(re.findall(r'href="#(E\d+)"', body))
        assert (number in seen) == bool(again) and seen.setdefault(number, pair) == pair
    assert len(set(seen.values())) == len(seen)  # one number per pair, whichever way it was found


def test_transmissions_tables_list_speech_bursts_only(real):
    _case, page, view = real
    for item in view.items:
        if item.audio is None:
            continue
        speech = [s for t in item.audio.tracks for s in t.segments if s.kind == "speech"]
        shown = card(page, Exhibits(view).of(item).label)
        assert shown.count('<td data-label="start">') == len(speech), item.display_name


def test_exhibit_numbers_agree_between_the_html_the_pdf_and_the_csv(real):
    case, page, view = real
    exhibits = exhibits_of(view)
    listing = section(page, "items")
    rows = csv.DictReader(io.StringIO(csv_bytes(exported_case(view)).decode("utf-8-sig")))
    by_sha = {r["sha256"]: r["exhibit"] for r in rows}
    exhibited = exported_case(view).exhibits
    pdf = render_pdf(view, verify_case(case))
    pdf_text_ = "".join(re.sub(r"\s+", "", p.extract_text()) for p in PdfReader(io.BytesIO(pdf.data)).pages)
    for exhibit in exhibits:
        name = exhibit.item.display_name
        assert f'<h3><span class="exhibit">{exhibit.label}</span> {htmllib.escape(name, quote=True)}</h3>' in page
        assert (f'<a href="#{exhibit.label}"><b>{exhibit.label}</b></a></div></td><td data-label="names as received">'
                f"<div>{htmllib.escape(name, quote=True)}") in listing
        assert by_sha[exhibit.item.sha256] == exhibit.label
        assert next(i.exhibit for i in exhibited if i.sha256 == exhibit.item.sha256) == exhibit.label
        assert re.sub(r"\s+", "", f"{exhibit.label}{pdf_text(name)}") in pdf_text_, exhibit.label
    assert [e.label for e in pdf.exhibits] == [e.label for e in exhibits]


def test_hostile_names_in_the_figures_are_text_never_markup(rendered):
    _exported, out = rendered
    page = (out / "index.html").read_text("utf-8")
    svgs = re.findall(r"<svg.*?</svg>", page, re.DOTALL)
    assert len(svgs) == 2
    for svg in svgs:
        root = ET.fromstring(svg)  # well-formed: no name broke out of its text element
        tags = {element.tag.rsplit("}", 1)[-1] for element in root.iter()}
        assert tags <= {"svg", "title", "rect", "line", "circle", "text"}, tags
        assert not any(name.startswith("on") for element in root.iter() for name in element.attrib)
    text = "".join(ET.fromstring(svgs[0]).itertext())
    assert f"hostile/{HOSTILE_TEXT_NAME}" in text  # shown as the name it is
    assert "\u202e" not in text and "hostile/invoice\\u202egpj.exe" in text  # the override shown, never obeyed
    assert BIDI_NAME not in page


def test_an_item_whose_stored_copy_was_altered_is_marked_failed_with_the_finding(tmp_path: Path, alice):
    case = build_case(tmp_path, alice, analyse=True)
    view = read_case(case.path)
    item = view.item(case.sha256["photo/IMG_0001.jpg"])
    stored = case.path / item.item.stored.path
    stored.chmod(0o644)
    data = bytearray(stored.read_bytes())
    data[-10] ^= 0xFF  # same size: only verify, reading every byte, sees it
    stored.write_bytes(bytes(data))
    view = read_case(case.path)
    page = render_report(view, verify_case(case.path)).files["index.html"].decode()
    label = Exhibits(view).of(item).label
    start = page.index(f'<article class="card failed" id="{label}">')
    shown = page[start:page.index("</article>", start)]
    banner = visible_text(shown[:shown.index('<div class="verdict-block">')])
    assert "FAILED verification : payload-modified: its bytes changed since entry" in banner
    assert "no preview: the stored copy failed verification (payload-modified" in visible_text(shown)
    assert "<img" not in shown and "cannot be decoded here" not in shown
    listing = visible_text(section(page, "items")[:section(page, "items").index('<div class="cards">')])
    assert f"{label} photo/IMG_0001.jpg image" in listing and "FAILED: payload-modified" in listing
    others = [e.label for e in Exhibits(view) if e.item.sha256 != item.sha256]
    assert all(f'<article class="card" id="{other}">' in page for other in others)  # only that one is marked
