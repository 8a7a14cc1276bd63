"""The report's item cards carry what the files and their messages say of their provenance (#21)."""

from __future__ import annotations

import html as htmllib
import shutil
from pathlib import Path

import pytest

from conftest import SHARED_DATA
from forensics.custody.verify import verify_case
from forensics.custody.view import read_case
from forensics.incident import ingest
from forensics.report.document import exported_case
from forensics.report.export import csv_bytes
from forensics.report.html import render_report


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory, export_tree: Path) -> Path:
    from forensics.custody.signing import new_key

    c2pa = SHARED_DATA / "c2pa"
    if not c2pa.is_dir():
        pytest.skip(f"the C2PA reference media are not here ({c2pa})")
    root = tmp_path_factory.mktemp("provenance")
    signed = root / "signed"
    signed.mkdir()
    for name in ("CA.jpg", "E-sig-CA.jpg", "ocsp.jpg", "cloud.jpg"):
        shutil.copy(c2pa / name, signed / name)
    shutil.copy(SHARED_DATA / "metadata-extractor-images" / "heic" / "IMG_1034.heic", signed / "IMG_1034.heic")
    return Path(ingest([signed, export_tree], root / "case", key=new_key("Ines", root / "ines.key")).case)


@pytest.fixture(scope="module")
def page(case: Path) -> str:
    return render_report(read_case(case), verify_case(case)).files["index.html"].decode()


def _card(page: str, name: str) -> str:
    start = page.index(f"</span> {htmllib.escape(name)}</h3>")  # after the exhibit number
    return page[start:page.index("</article>", start)]


def test_cards_show_content_credentials_and_whether_they_hold(page: str) -> None:
    good = _card(page, "CA.jpg")
    assert "Content Credentials" in good and "C2PA Signer / C2PA Test Signing Cert" in good
    assert "signer not checked against any trust list" in good and "color_adjustments" in good
    assert "time-stamped by DigiCert Timestamp 2023" in good
    broken = _card(page, "E-sig-CA.jpg")
    assert "INVALID" in broken and "claimSignature.mismatch" in broken
    assert "do not validate: the signature over the claim" in broken
    assert "compositeWithTrainedAlgorithmicMedia" in _card(page, "ocsp.jpg")
    assert "not checked" in _card(page, "cloud.jpg") and "cai-manifests.adobe.com" in _card(page, "cloud.jpg")


def test_a_zoneless_capture_time_is_shown_on_utc_with_the_zone_named(page: str) -> None:
    heic = _card(page, "IMG_1034.heic")
    assert "2018-02-05T07:11:44.277000Z" in heic
    assert "2018-02-05T15:11:44.277000 local" in heic and "in the zone of the GPS position (Asia/Shanghai)" in heic


def test_cards_show_the_messages_that_carried_each_file_and_how_each_export_was_read(page: str, case: Path) -> None:
    view = read_case(case)
    carried = [item for item in view.items if item.messages is not None]
    assert carried
    for item in carried:
        card = _card(page, item.display_name)
        assert "Carried by" in card
        for c in item.messages.carriers:
            assert htmllib.escape(c.message.where) in card and htmllib.escape(c.message.source) in card
    exports = [item for item in view.items if item.export is not None]
    assert exports and all("Messenger export" in _card(page, e.display_name) for e in exports)


def test_the_csv_has_the_provenance_columns(case: Path) -> None:
    view = read_case(case)
    text = csv_bytes(exported_case(view, verify_case(case))).decode()
    header = text.splitlines()[0]
    for column in ("credentials", "credentials_signer", "capture_zone", "carried_by"):
        assert column in header.split(","), column
    assert "INVALID" not in text and "invalid" in text  # the state as recorded


def test_case_uco_has_the_messages_and_credentials_and_case_validate_accepts_it(case: Path, tmp_path: Path) -> None:
    import json
    import shutil as sh
    import subprocess
    import sys

    from forensics.report.case_uco import case_uco_graph

    case_validate = Path(sys.executable).with_name("case_validate")
    if not case_validate.exists():
        case_validate = sh.which("case_validate")
    if not case_validate:
        pytest.skip("case_validate (pip package case-utils, in the test extras) is not installed")
    view = read_case(case)
    graph = case_uco_graph(exported_case(view, verify_case(case)))
    messages = [n for n in graph["@graph"] if n["@type"] == "uco-observable:Message"]
    attached = [n for n in graph["@graph"] if n.get("uco-core:kindOfRelationship") == "Attached_To"]
    carried = sum(len(i.messages.carriers) for i in view.items if i.messages is not None)
    assert messages and len(attached) == carried
    exhibits = {n["case-investigation:exhibitNumber"] for n in graph["@graph"]
                if n["@type"] == "case-investigation:ProvenanceRecord" and n["@id"].startswith("kb:")
                and str(n.get("case-investigation:exhibitNumber", "")).startswith("E")}
    assert exhibits == {f"E{n}" for n in range(1, len(view.items) + 1)}
    notes = [n for n in graph["@graph"] if n["@type"] == "uco-core:Annotation"]
    assert any("Content Credentials invalid" in n["uco-core:statement"] and "claimSignature.mismatch"
               in n["uco-core:statement"] for n in notes)
    out = tmp_path / "case.jsonld"
    out.write_text(json.dumps(graph))
    result = subprocess.run([str(case_validate), str(out)], check=False, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


def test_a_carried_file_and_the_export_that_carried_it_link_to_each_other(page: str, case: Path) -> None:
    from forensics.report.exhibits import Exhibits

    view = read_case(case)
    exhibits = Exhibits(view)
    carried = [item for item in view.items if item.messages is not None and item.messages.carriers]
    for item in carried:
        label = exhibits.of(item).label
        card = _card(page, item.display_name)
        assert f'href="#{label}-carried"' in card and f'id="{label}-carried"' in card  # the verdict block's link
        for export_name in {c.message.export for c in item.messages.carriers}:
            export = view.item_named(export_name)
            if export is None:
                continue
            assert f'href="#{exhibits.of(export).label}"' in card  # to the export's card
            assert f'href="#{label}"' in _card(page, export.display_name)  # and back
    chronology = page[page.index('<section id="chronology">'):]
    chronology = chronology[:chronology.index("</section>")]
    assert "<td data-label=\"what\"><div>message sent</div>" in chronology
