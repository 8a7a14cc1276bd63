"""`forensics export --redact`: the organisation, its contacts and the incident id do not leak, in any format."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest

from conftest import FIXTURES
from forensics.custody.signing import SigningKey
from forensics.custody.verify import verify_case
from forensics.custody.view import read_case
from forensics.incident import ingest
from forensics.report.document import exported_case
from forensics.report.export import FORMATS, document_bytes, write_export
from forensics.report.redact import redact

INCIDENT = "Bucha-Yablunska-St"  # a place, as a folder the files came in is often named
BAG_INFO = {"Source-Organization": "Kharkiv Witness Group", "Organization-Address": "vul. Sumska 12, Kharkiv",
            "Contact-Name": "Mykola Kontaktenko", "Contact-Email": "mykola@witness.example",
            "Contact-Phone": "+380 57 700 1234", "External-Identifier": "KWG-intake-2026-017"}
SECRETS = (INCIDENT, "Yablunska", *BAG_INFO.values(), "Kharkiv", "Mykola", "witness.example", "KWG-intake")


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SigningKey]:
    """A case of a photo and a note, received from a folder named for a place, by an organisation that said who it is."""
    root = tmp_path_factory.mktemp("redact-bag-info")
    source = root / "received" / INCIDENT
    source.mkdir(parents=True)
    shutil.copy(FIXTURES / "incident" / "photo" / "IMG_0001.jpg", source / "IMG_0001.jpg")
    shutil.copy(FIXTURES / "incident" / "notes.txt", source / "notes.txt")
    return _ingested(source, root, BAG_INFO)


def _ingested(source: Path, root: Path, bag_info: dict[str, str] | None = None) -> tuple[Path, SigningKey]:
    """Gives (case, key) of `source`, its files written, ingested without analysis into root/case by Ines."""
    from forensics.custody.signing import new_key

    key = new_key("Ines", root / "ines.key")
    return Path(ingest([source], root / "case", key=key, bag_info=bag_info, analyse=False).case), key


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_redacted_export_names_no_organisation_contact_or_incident(case, fmt, tmp_path):
    path, key = case
    _exported, plain = write_export(path, key, fmt=fmt, out_path=tmp_path / f"plain.{fmt}")
    _exported, redacted = write_export(path, key, fmt=fmt, redacted=True, out_path=tmp_path / f"redacted.{fmt}")
    assert INCIDENT in plain.decode("utf-8")  # the plain export has it: the test sees what it checks
    text = redacted.decode("utf-8")
    for secret in SECRETS:
        assert secret not in text, (fmt, secret)
    assert "incident-1" in text  # one placeholder, wherever the exports show the incident
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
        assert {r["incidents"] for r in rows} == {"incident-1"}
        return
    case_id = read_case(path).state.case_id
    assert case_id and case_id in text  # a random UUID: kept, so the holder of the case can find it
    if fmt == "case-uco":
        graph = json.loads(text)["@graph"]
        records = [n for n in graph if n["@type"] == "case-investigation:ProvenanceRecord"
                   and n["uco-core:description"].startswith("the evidence items received in incident")]
        assert [r["case-investigation:exhibitNumber"] for r in records] == ["incident-1"]
        assert [n["uco-core:name"] for n in graph if n["@type"] == "case-investigation:Investigation"] == ["incident-1"]


def test_the_json_export_gives_each_bag_info_field_and_the_incident_one_stable_pseudonym(case, tmp_path):
    path, key = case
    documents = [json.loads(write_export(path, key, fmt="json", redacted=True, out_path=tmp_path / f"{n}.json")[1])
                 for n in range(2)]
    first = documents[0]
    assert first["bag_info"] == {"Source-Organization": "organisation-1", "Organization-Address": "organisation-2",
                                 "Contact-Name": "contact-1", "Contact-Email": "person-1",
                                 "Contact-Phone": "person-2", "External-Identifier": "bag-info-1"}
    created = first["custody_log"][0]
    assert created["action"] == "case-created" and created["details"]["bag_info"] == first["bag_info"]
    assert first["incidents"] == ["incident-1"]
    assert {r["incident"] for i in first["items"] for r in i["received"]} == {"incident-1"}
    assert {e["incident"] for e in first["custody_log"]} == {None, "incident-1"}
    assert first["redacted"]["pseudonyms"]["incident"] == 1 and "incident ids" in first["redacted"]["note"]
    # The log is append-only: a later export gives the same entries the same pseudonyms.
    assert documents[1]["custody_log"][:len(first["custody_log"])] == first["custody_log"]
    assert documents[1]["bag_info"] == first["bag_info"]


def test_an_incident_named_like_a_media_type_is_replaced_only_where_it_is_the_incident(tmp_path):

    source = tmp_path / "image"
    source.mkdir()
    shutil.copy(FIXTURES / "incident" / "photo" / "IMG_0001.jpg", source / "IMG_0001.jpg")
    path, _key = _ingested(source, tmp_path)
    document = json.loads(document_bytes(redact(exported_case(read_case(path))), "json"))
    item = document["items"][0]
    assert item["received"][0]["incident"] == "incident-1" and document["incidents"] == ["incident-1"]
    assert (item["media_type"], item["mime"], item["received"][0]["name"]) == ("image", "image/jpeg", "IMG_0001.jpg")


def test_findings_of_a_damaged_case_name_neither_the_incident_nor_the_organisation(case, tmp_path):
    path, _key = case
    damaged = tmp_path / "damaged"
    shutil.copytree(path, damaged)
    (damaged / "custody" / "manifests" / f"{INCIDENT}.json").write_text("{}")
    (damaged / "custody" / "manifests" / "Secret-Village.json").write_text("{}")
    info = damaged / "bag-info.txt"
    info.write_text("".join("Incident-Identifier: Elsewhere\n" if line.startswith("Incident-Identifier:")
                            else "Source-Organization: Other\n" if line.startswith("Source-Organization:") else line
                            for line in info.read_text().splitlines(keepends=True)))
    verification = verify_case(damaged)
    plain = exported_case(read_case(damaged), verification)
    said = json.dumps([f.to_json() for f in verification.findings])
    assert INCIDENT in said and "Secret-Village" in said and BAG_INFO["Source-Organization"] in said
    redacted = redact(plain)
    for fmt in FORMATS:
        text = document_bytes(redacted, fmt).decode("utf-8")
        for secret in (*SECRETS, "Secret-Village"):
            assert secret not in text, (fmt, secret)
    findings = [(f.subject, f.message) for f in redacted.verification.findings]
    assert ("bag-info.txt", "Incident-Identifier is 'Elsewhere', the log says 'incident-1'") in findings
    assert ("bag-info.txt", "Source-Organization is 'Other', the log says 'organisation-1'") in findings
    assert {s for s, _m in findings if s.startswith("custody/manifests/")} == {"custody/manifests/incident-1.json",
                                                                              "custody/manifests/incident-2.json"}


def test_an_organisation_written_with_runs_of_spaces_is_replaced_as_bag_info_txt_collapses_it_too(tmp_path):

    source = tmp_path / "received"
    source.mkdir()
    (source / "note.txt").write_text("a note\n")
    spaced = {"Source-Organization": "Kharkiv  Witness\tGroup "}
    path, _key = _ingested(source, tmp_path, spaced)
    info = path / "bag-info.txt"
    info.write_text(info.read_text().replace("Source-Organization: Kharkiv Witness Group",
                                             "Source-Organization: Other"))
    redacted = redact(exported_case(read_case(path), verify_case(path)))
    for fmt in FORMATS:
        assert "Kharkiv" not in document_bytes(redacted, fmt).decode("utf-8"), fmt
    assert ("bag-info.txt", "Source-Organization is 'Other', the log says 'organisation-1'") in [
        (f.subject, f.message) for f in redacted.verification.findings]


def test_the_exact_bytes_of_a_name_that_was_not_utf8_are_redacted_as_the_name_is(tmp_path):
    """A name whose bytes were not UTF-8 is shown with \\xff escapes and kept exactly in name_b64: the secret in it
    must not come back from those bytes (found by the adversarial pass)."""
    import base64
    import os


    source = tmp_path / "received" / "intake"
    source.mkdir(parents=True)
    odd = os.fsencode(source) + b"/Kharkiv Witness Group \xff.jpg"
    with open(odd, "wb") as out:
        out.write((FIXTURES / "incident" / "photo" / "IMG_0001.jpg").read_bytes())
    path, key = _ingested(source, tmp_path, BAG_INFO)
    _exported, plain = write_export(path, key, fmt="json", out_path=tmp_path / "plain.json")
    _exported, redacted = write_export(path, key, fmt="json", redacted=True, out_path=tmp_path / "redacted.json")

    def encoded(data: bytes) -> list[bytes]:
        found: list[bytes] = []

        def walk(value, key=""):
            if isinstance(value, dict):
                for k, v in value.items():
                    walk(v, k)
            elif isinstance(value, list):
                for v in value:
                    walk(v, key)
            elif key.endswith("_b64") and isinstance(value, str):
                found.append(base64.b64decode(value))
        walk(json.loads(data))
        return found

    assert b"Kharkiv Witness Group \xff.jpg" in encoded(plain)  # the plain export keeps the exact bytes
    names = encoded(redacted)
    assert names and all(b"Kharkiv" not in n for n in names)
    assert b"organisation-1 \xff.jpg" in names  # the redacted name's bytes, the byte that was not UTF-8 kept


def test_a_secret_that_spells_a_media_type_leaves_media_types_mime_types_and_stored_paths_alone(tmp_path):

    source = tmp_path / "received" / "intake"
    source.mkdir(parents=True)
    shutil.copy(FIXTURES / "incident" / "photo" / "IMG_0001.jpg", source / "image of the strike.jpg")
    path, key = _ingested(source, tmp_path, {"Source-Organization": "image", "Contact-Name": "image/jpeg"})
    for fmt in FORMATS:  # the export is written (an organisation named "image" once made it unreadable)
        _exported, redacted = write_export(path, key, fmt=fmt, redacted=True, out_path=tmp_path / f"r.{fmt}")
        if fmt == "json":
            [item] = json.loads(redacted)["items"]
            assert (item["media_type"], item["mime"]) == ("image", "image/jpeg")
            assert item["stored_path"].startswith("data/originals/")
            assert item["received"][0]["name"].startswith("organisation-1 of the strike")


def test_credits_rights_writers_contributors_and_composers_are_tags_that_name_people():
    """Tags the adversarial pass found kept as received; each names a person as an artist tag does."""
    from forensics.report.redact import _kind_of

    for key in ("dc:rights", "Writer-Editor", "2:118", "2:122", "Credit", "photoshop:CaptionWriter",
                "photoshop:Credit", "dc:contributor", "composer"):
        assert _kind_of(key) == "person", key
    for key in ("media_type", "mime", "width_px", "2:080x", "12:118", "codec", "handler_name"):
        assert _kind_of(key) is None, key


def test_a_secret_is_found_however_a_file_name_cases_it_or_joins_its_words(tmp_path):
    """Variants the adversarial pass found kept: another case, underscores, no space, two spaces, a no-break space."""

    source = tmp_path / "received" / "intake"
    source.mkdir(parents=True)
    variants = ("kharkiv witness group report.jpg", "KHARKIV_WITNESS_GROUP scan.jpg", "KharkivWitnessGroup.jpg",
                "Kharkiv  Witness\u00a0Group copy.jpg")
    for name in variants:
        (source / name).write_bytes((FIXTURES / "incident" / "photo" / "IMG_0001.jpg").read_bytes() + name.encode())
    path, key = _ingested(source, tmp_path, BAG_INFO)
    for fmt in FORMATS:
        _exported, redacted = write_export(path, key, fmt=fmt, redacted=True, out_path=tmp_path / f"r.{fmt}")
        text = redacted.decode("utf-8").lower()
        assert "witness" not in text and "kharkiv" not in text, fmt
        assert text.count("organisation-1") >= len(variants), fmt


def test_a_secret_otherwise_cased_inside_a_longer_word_is_left_as_it_is():
    from forensics.report.redact import Pseudonyms, _Redactor

    names = Pseudonyms()
    names.of("actor", "Ines")
    redactor = _Redactor(names, names.replacements(), {})
    assert redactor.scalar("Mines near INES_report and Ines.jpg", "name") == "Mines near actor-1_report and actor-1.jpg"
