"""The CSV and CASE/UCO exports show what the typed records say, field by field.

Each cell is checked against the record's own JSON (the keys its schema names), so a
field renamed in a record (`software`, `latitude_deg`, a message's `sender`, the
credentials' `signer`) breaks these tests instead of blanking a column or a node.
"""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest

from conftest import FIXTURES, SHARED_DATA
from forensics.custody.view import read_case
from forensics.incident import ingest
from forensics.report.case_uco import case_uco_graph
from forensics.report.document import exported_case
from forensics.report.export import CSV_COLUMNS, csv_bytes


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory, export_tree: Path) -> Path:
    """The demo incident, the messenger exports and, when the shared media are here, files with Content Credentials."""
    from forensics.custody.signing import new_key

    root = tmp_path_factory.mktemp("typed")
    sources = [FIXTURES / "incident", export_tree]
    if (SHARED_DATA / "c2pa").is_dir():
        signed = root / "signed"
        signed.mkdir()
        for name in ("CA.jpg", "ocsp.jpg", "cloud.jpg"):
            shutil.copy(SHARED_DATA / "c2pa" / name, signed / name)
        shutil.copy(SHARED_DATA / "metadata-extractor-images" / "heic" / "IMG_1034.heic", signed / "IMG_1034.heic")
        sources.append(signed)
    return Path(ingest(sources, root / "case", key=new_key("Ines", root / "ines.key")).case)


def _text(value) -> str:
    return "" if value is None else str(value)


def test_every_csv_cell_is_what_the_record_says(case):
    view = read_case(case)
    rows = {r["sha256"]: r for r in csv.DictReader(io.StringIO(csv_bytes(exported_case(view)).decode("utf-8-sig")))}
    assert len(rows) == len(view.items)
    filled = dict.fromkeys(CSV_COLUMNS, 0)
    for item in view.items:
        row = rows[item.sha256]
        filled.update({c: filled[c] + 1 for c in CSV_COLUMNS if row[c]})
        said = item.metadata.to_json() if item.metadata is not None else {}
        gps, device = said.get("gps") or {}, said.get("device") or {}
        credentials, zone = said.get("provenance") or {}, said.get("capture_zone")
        expected = {
            "captured_at_utc": said.get("captured_at_utc"), "captured_at": said.get("captured_at"),
            "captured_at_source": said.get("captured_at_source"), "latitude_deg": gps.get("latitude_deg"),
            "longitude_deg": gps.get("longitude_deg"), "altitude_m": gps.get("altitude_m"),
            "device_make": device.get("make"), "device_model": device.get("model"), "software": device.get("software"),
            "duration_s": (said.get("container") or {}).get("duration_s"),
            "capture_zone": f"{zone['name']} {zone['offset']}" if zone else None,
            "credentials": credentials.get("state") if credentials.get("state") not in (None, "none") else None,
            "credentials_signed_at": credentials.get("signed_at"),
            "credentials_actions": " ".join(a["action"].removeprefix("c2pa.") for a in credentials.get("actions", ())),
        }
        for column, value in expected.items():
            assert row[column].removeprefix("'") == _text(value), (item.display_name, column)
        codes = [f["code"] for f in said.get("flags", ())]
        messages = item.messages.to_json() if item.messages is not None else {"carriers": [], "leads": []}
        assert row["flags"].split() == codes + [lead["code"] for lead in messages["leads"]]
        if credentials.get("signer"):
            assert row["credentials_signer"].startswith(f"{credentials['signer']} / {credentials['issuer']}")
        for carrier in messages["carriers"]:
            m = carrier["message"]
            assert f"{m['source']} {m['chat'] or ''} {m['sender'] or ''}".replace("  ", " ") in row["carried_by"]
        sent = sorted(c["message"]["sent"]["at"] for c in messages["carriers"] if (c["message"]["sent"] or {}).get("at"))
        assert row["first_sent"] == (sent[0] if sent else "")
    # Every column shows something for some item of this case: a column gone blank is seen.
    blank = {c for c, n in filled.items() if not n}
    if not (SHARED_DATA / "c2pa").is_dir():
        blank -= {"capture_zone", "credentials", "credentials_signer", "credentials_signed_at", "credentials_actions",
                  "credentials_ai"}
    assert blank == set()


def test_the_case_uco_graph_holds_what_the_records_say(case):
    view = read_case(case)
    graph = case_uco_graph(exported_case(view))["@graph"]
    by_type: dict[str, list[dict]] = {}
    for node in graph:
        by_type.setdefault(node["@type"], []).append(node)
    claimed = {float(f["uco-location:latitude"]["@value"]) for n in by_type["uco-location:Location"]
               for f in n["uco-core:hasFacet"]}
    positions = [i.metadata.to_json()["gps"] for i in view.items if i.metadata is not None and i.metadata.gps]
    assert claimed == {g["latitude_deg"] for g in positions if g["latitude_deg"] is not None} != set()
    carriers = [c for i in view.items if i.messages is not None for c in i.messages.to_json()["carriers"]]
    texts = {f["uco-observable:messageText"] for n in by_type["uco-observable:Message"] for f in n["uco-core:hasFacet"]}
    assert carriers and {c["message"]["text"] for c in carriers} == texts
    described = " ".join(n["uco-core:description"] for n in by_type["uco-observable:Message"])
    assert all(c["message"]["sender"] in described for c in carriers if c["message"]["sender"])
    credentials = [i.metadata.to_json()["provenance"] for i in view.items if i.metadata is not None]
    shown = [c for c in credentials if c and c["state"] != "none"]
    assert len(by_type.get("uco-core:Annotation", [])) == len(shown)
    statements = " ".join(n["uco-core:statement"] for n in by_type.get("uco-core:Annotation", []))
    assert all(c["signer"] in statements for c in shown if c.get("signer"))
    actions = by_type["case-investigation:InvestigativeAction"]
    assert [a["uco-core:name"] for a in actions] == [e.action for e in view.entries]
    assert all(e.line_hash in a["uco-core:description"] for a, e in zip(actions, view.entries))
