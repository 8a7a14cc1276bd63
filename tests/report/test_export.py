"""`forensics export`: CASE/UCO that case_validate accepts, CSV rows per item, redaction that keeps digests."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
import socket
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from case_builder import SERIAL, report_case  # noqa: F401
from forensics.custody.log import LogEntry, read_entries
from forensics.custody.names import is_invisible
from forensics.custody.view import read_case
from forensics.errors import ParameterError
from forensics.media.metadata.record import Device
from forensics.report.document import exported_case
from forensics.report.export import CSV_COLUMNS, csv_bytes, document_bytes, write_export
from forensics_cli.main import cli


def exported(report_case, tmp_path, fmt, *, redacted=False, name=None):
    out = tmp_path / (name or f"export-{fmt}{'-redacted' if redacted else ''}")
    entry, data = write_export(report_case.path, report_case.key, fmt=fmt, redacted=redacted, out_path=out)
    assert out.read_bytes() == data
    return entry, data


def log_entry(report_case, seq):
    return next(e for e in read_entries(report_case.path / "custody/log.jsonl") if e.seq == seq)


@pytest.mark.slow
def test_case_validate_accepts_the_case_uco_export(report_case, tmp_path):
    case_validate = Path(sys.executable).with_name("case_validate")
    if not case_validate.exists():
        case_validate = shutil.which("case_validate")
    if not case_validate:
        pytest.skip("case_validate (pip package case-utils, in the test extras) is not installed")
    entry, data = exported(report_case, tmp_path, "case-uco", name="case.jsonld")
    graph = json.loads(data)
    types = {node["@type"] for node in graph["@graph"]}
    assert {"uco-observable:File", "case-investigation:InvestigativeAction", "case-investigation:ProvenanceRecord",
            "case-investigation:Investigation", "uco-identity:Identity", "uco-tool:Tool"} <= types
    hashes = {h["uco-types:hashValue"]["@value"] for node in graph["@graph"] if node["@type"] == "uco-observable:File"
              for facet in node["uco-core:hasFacet"] for h in facet.get("uco-observable:hash", ())}
    assert set(report_case.sha256.values()) <= hashes
    actions = [n for n in graph["@graph"] if n["@type"] == "case-investigation:InvestigativeAction"]
    assert len(actions) == entry.log_seq - 1  # every entry before the export's own
    assert all("uco-action:performer" in a and "uco-action:instrument" in a and "uco-action:startTime" in a
               for a in actions)
    latitudes = {float(f["uco-location:latitude"]["@value"]) for n in graph["@graph"]
                 if n["@type"] == "uco-location:Location" for f in n["uco-core:hasFacet"]}
    assert latitudes == {36.20213, 36.2021}  # the photos' EXIF GPS and the original video's ISO 6709 location
    extracted = [n for n in graph["@graph"] if n.get("uco-core:kindOfRelationship") == "Extracted_From"]
    view = read_case(report_case.path)
    assert len(extracted) == sum(len(i.item.derived) for i in view.items) > 0
    result = subprocess.run([str(case_validate), str(tmp_path / "case.jsonld")], capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode == 0 and "Conforms: True" in result.stdout, result.stdout[-3000:] + result.stderr[-2000:]


def test_redaction_removes_every_identity_and_keeps_digests_and_times(report_case, tmp_path):
    key = report_case.key
    secrets = ["Amina Haddad", key.key_id, key.key_id.split(":", 1)[1], SERIAL, str(report_case.path.parent),
               socket.gethostname()]
    secrets.append(exported_case(read_case(report_case.path)).signing_keys[0].public_key)
    first = None
    for fmt in ("json", "csv", "case-uco"):
        entry, data = exported(report_case, tmp_path, fmt, redacted=True)
        text = data.decode("utf-8")
        for secret in secrets:
            assert secret not in text, (fmt, secret)
        for sha256 in report_case.sha256.values():
            assert sha256 in text
        logged = log_entry(report_case, entry.log_seq)
        assert logged.details["redacted"] is True and logged.details["format"] == fmt
        assert logged.objects[0]["sha256"] == hashlib.sha256(data).hexdigest()
        if fmt == "json":
            first = json.loads(data)
    plain = exported_case(read_case(report_case.path))
    assert [i["sha512"] for i in first["items"]] == [i.stored.sha512 for i in plain.exhibits]
    assert [e["time"] for e in first["custody_log"]] == [e.time for e in plain.custody_log[:len(first["custody_log"])]]
    assert {e["actor"] for e in first["custody_log"]} == {"actor-1"} and first["custody_log"][0]["host"] == "host-1"
    serial_items = [i for i in first["items"] if (i["raw_tags"] or {}).get("exif", {}).get("EXIF BodySerialNumber")]
    assert [i["raw_tags"]["exif"]["EXIF BodySerialNumber"] for i in serial_items] == ["serial-1"]
    assert all("signature" not in e for e in first["custody_log"]) and all("public_key" not in k for k in first["keys"])
    # Stable: a later export gives the same pseudonyms to the same entries.
    _entry, again = exported(report_case, tmp_path, "json", redacted=True, name="again.json")
    later = json.loads(again)
    assert later["custody_log"][:len(first["custody_log"])] == first["custody_log"]


def test_csv_has_one_row_per_item_and_never_a_formula(report_case, tmp_path):
    _entry, data = exported(report_case, tmp_path, "csv")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert sorted(r["sha256"] for r in rows) == sorted(set(report_case.sha256.values()))
    by_name = {r["name"]: r for r in rows}
    photo = by_name["photo/IMG_0001.jpg"]
    assert (photo["latitude_deg"], photo["device_make"], photo["captured_at_utc"]) == ("36.20213", "samsung",
                                                                                       "2024-03-14T09:26:58Z")
    assert by_name["video/strike_original.mp4"]["same_footage_as"] == report_case.sha256["video/strike_whatsapp.mp4"]
    excerpt = next(r for r in rows if r["sha256"] == report_case.sha256["video/strike_excerpt.mp4"])
    # The newline inside a name is shown as \n: a line break in the cell only ever separates two names.
    assert {excerpt["name"], *excerpt["other_names"].split("\n")} == {"video/strike_excerpt.mp4",
                                                                       "hostile/strike\\nsecond line.mp4"}
    case = exported_case(read_case(report_case.path))
    first = next(i for i in case.exhibits if i.metadata is not None)
    hostile = replace(first, receipts=(replace(first.receipts[0], name='=HYPERLINK("http://evil.example","x")'),),
                      metadata=replace(first.metadata, device=Device(make="@SUM(1+1)", model="-2+3")))
    row = next(r for r in csv.DictReader(io.StringIO(csv_bytes(replace(case, exhibits=(hostile,))).decode("utf-8-sig"))))
    assert row["name"] == '\'=HYPERLINK("http://evil.example","x")' and row["device_make"] == "'@SUM(1+1)"
    assert row["device_model"] == "'-2+3"


def _case_named(report_case, *groups: tuple[str, ...]):
    """The exported case with one item per group of names (the first the name it was received by first)."""
    case = exported_case(read_case(report_case.path))
    first = next(i for i in case.exhibits if i.metadata is not None)
    items = tuple(replace(first, receipts=tuple(replace(first.receipts[0], name=n) for n in names)) for names in groups)
    return replace(case, exhibits=items)


def _rows(case) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(csv_bytes(case).decode("utf-8-sig"))))


def test_csv_shows_terminal_escapes_and_bidirectional_controls_as_escapes_never_raw(report_case):
    esc, override, isolate = "esc\x1b[2J\x1b]0;owned\x07.jpg", "photo\u202egpj.exe", "a\u2066\u202eb\u2069c\u200f.mp4"
    case = _case_named(report_case, (esc,), (override,), (isolate, "second\x1b[31m\nname\u200e.jpg"))
    data = csv_bytes(case)
    assert [c for c in "\x1b\x07\u202e\u2066\u2069\u200f\u200e" if c.encode() in data] == []
    rows = _rows(case)
    assert [r["name"] for r in rows] == ["esc\\x1b[2J\\x1b]0;owned\\x07.jpg", "photo\\u202egpj.exe",
                                         "a\\u2066\\u202eb\\u2069c\\u200f.mp4"]
    # Further names one a line, a newline inside one escaped: a line break only ever separates two names.
    assert rows[2]["other_names"] == "second\\x1b[31m\\nname\\u200e.jpg"
    # Only the CSV's display changes: the JSON export of the same case carries the names exactly.
    received = json.loads(document_bytes(case, "json"))["items"]
    assert [[r["name"] for r in i["received"]] for i in received] == [[esc], [override],
                                                                      [isolate, "second\x1b[31m\nname\u200e.jpg"]]


def test_the_whole_csv_of_a_hostile_case_holds_no_character_that_would_not_show(report_case, tmp_path):
    _entry, data = exported(report_case, tmp_path, "csv")
    text = data.decode("utf-8")
    assert text.startswith("\ufeff")
    hidden = {c for c in text[1:] if is_invisible(c) and c not in "\r\n"}
    assert not hidden, sorted(map(hex, map(ord, hidden)))
    rows = {r["name"]: r for r in csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))}
    assert "hostile/invoice\\u202egpj.exe" in rows
    assert "hostile/strike\\nsecond line.mp4" in {n for r in rows.values() for n in (r["name"], r["other_names"])}


def test_csv_keeps_names_of_every_script_and_plain_names_byte_for_byte(report_case):
    names = ("فيديو_القصف_٢٠٢٤.mp4", "Київ_обстріл_фото.jpg", "סרטון.mov", "视频 2024.mp4", "Ärger über Öl.jpg",
             "C:\\Users\\a.jpg", "written\\x1b as text.txt")
    case = _case_named(report_case, *[(n,) for n in names], ("فيديو.mp4", "Київ.jpg"))
    assert [r["name"] for r in _rows(case)] == [*names, "فيديو.mp4"]
    assert _rows(case)[-1]["other_names"] == "Київ.jpg"
    # Exactly what csv.writer gave for these cells before invisible characters were escaped.
    lines = csv_bytes(case).decode("utf-8-sig").split("\r\n")
    assert [line.split(",")[6] for line in lines[1:len(names) + 1]] == list(names)
    # A Persian name's zero-width non-joiner is a format character: shown, as the HTML and PDF reports show it.
    persian = "کتاب\u200cخانه.jpg"  # noqa: RUF001 (Persian letters, not look-alikes of Latin ones)
    assert _rows(_case_named(report_case, (persian,)))[0]["name"] == persian.replace("\u200c", "\\u200c")


def test_the_command_prints_to_stdout_and_refuses_to_write_into_the_case(report_case, tmp_path):
    runner = CliRunner()
    args = ["export", str(report_case.path), "--key", str(report_case.key.path), "--quiet"]
    result = runner.invoke(cli, [*args, "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["verification"]["intact"] and document["schema"] == "forensics-export/1.0"
    last = list(read_entries(report_case.path / "custody/log.jsonl"))[-1]
    assert last.action == "exported" and last.objects[0]["path"] == "-"
    assert last.objects[0]["sha256"] == hashlib.sha256(result.stdout_bytes).hexdigest()
    result = runner.invoke(cli, [*args, "--format", "csv", "--out", str(report_case.path / "x.csv")])
    assert result.exit_code == 2 and "inside the case" in result.stderr
    with pytest.raises(ParameterError):
        write_export(report_case.path, report_case.key, fmt="xml")
    assert runner.invoke(cli, ["export", "--help"]).exit_code == 0
    # --out replaces an earlier export of this case, never a file of the user's.
    notes = tmp_path / "notes.csv"
    notes.write_text("my own notes\n")
    result = runner.invoke(cli, [*args, "--format", "csv", "--out", str(notes)])
    assert result.exit_code == 2 and "not an export this case's log records" in result.stderr
    assert notes.read_text() == "my own notes\n"
    fresh = tmp_path / "export.csv"
    for _ in range(2):  # the second run replaces the first's export
        assert runner.invoke(cli, [*args, "--format", "csv", "--out", str(fresh)]).exit_code == 0


def _entry(actor, host, key_id, action, details):
    return LogEntry(1, "2026-12-05T10:00:00.000000Z", actor, host, "forensics", "1", action, "incident", (), details,
                    "ok", "sha256:" + "0" * 64, key_id, "c2lnbmF0dXJl", "sha256:" + "1" * 64)


def _case(entries, *, raw=None, name="x.jpg", bag_info=None, findings=()):
    """An exported case of one photo whose metadata holds the tags `raw`, logged by `entries`."""
    from forensics.custody.inspection import Finding  # noqa: F401 - for callers' findings
    from forensics.custody.state import Receipt, StoredFile
    from forensics.media.metadata.record import MediaRecord
    from forensics.report.document import ExportedCase, ExportedItem, KeyInfo, Verification

    metadata = MediaRecord.from_json({"path": name, "media_type": "image", "raw": raw or {}})
    item = ExportedItem("E1", StoredFile("data/originals/aa/x.jpg", "a" * 64, "b" * 128, 1, 1), "image", "image/jpeg",
                        (Receipt("incident", name, None, "/evidence", 1, "2026-12-05T10:00:00.000000Z", None),),
                        metadata, None, (), {}, (), (), (), None)
    return ExportedCase("1", "case-1", None, bag_info or {}, ("incident",), entries[-1] if entries else None,
                        Verification(not findings, tuple(findings), "sha256:" + "1" * 64), None,
                        tuple(KeyInfo(e.key_id, e.actor, "cHVibGlj") for e in entries), (item,), (), (), (), (), (),
                        tuple(entries), ())


def test_serials_given_as_numbers_or_inside_other_text_are_replaced_too():
    from forensics.report.redact import redact

    case = _case([_entry("Dr. Sami Nour", "laptop-sami", "ed25519:ab12", "received",
                         {"source_root": "/home/sami/Downloads"})],
                 bag_info={"Contact-Email": "sami@example.org"},
                 raw={"makernote": {"InternalSerialNumber": 4711, "SerialNumberFormat": True},
                      "exif": {"Image ImageDescription": "sent by Dr. Sami Nour from laptop-sami (sami@example.org), "
                                                         "camera 4711"}})
    redacted = redact(case)
    tags = redacted.exhibits[0].metadata.raw
    assert tags["makernote"] == {"InternalSerialNumber": "serial-1", "SerialNumberFormat": True}
    assert tags["exif"]["Image ImageDescription"] == "sent by actor-1 from host-1 (contact-1), camera serial-1"
    assert redacted.exhibits[0].sha256 == "a" * 64 and redacted.custody_log[0].key_id == "key-1"
    assert redacted.custody_log[0].details["source_root"] == "source-1"
    assert redacted.exhibits[0].receipts[0].source_root == "/evidence"  # a folder no entry names is no identity
    # Typed values in, typed values out; the JSON rendering leaves signatures and public keys out.
    assert type(redacted.exhibits[0].metadata) is type(case.exhibits[0].metadata)
    document = redacted.to_json()
    assert "signature" not in document["custody_log"][0] and "public_key" not in document["keys"][0]
    # The bag's e-mail is a contact and, under a key naming an e-mail, a person too: either way it is gone.
    assert document["redacted"]["pseudonyms"] == {"actor": 1, "host": 1, "key": 1, "source": 1, "incident": 1,
                                                  "contact": 1, "person": 1, "serial": 1}
    assert "sami@example.org" not in json.dumps(document)
    assert "signature" in case.to_json()["custody_log"][0] and case.redaction is None  # the original is unchanged


def test_notes_short_names_and_shortened_key_ids_are_redacted_too():
    from forensics.custody.inspection import Finding
    from forensics.report.redact import redact

    key = "ed25519:" + "f46d67da081334c0929a4b29e906c6d227e1fcbf29e1ec4b6b1c64327b9328f1"
    case = _case([_entry("Bo", "vm", key, "ingested", {"note": "footage from Umm Ali's phone, handed over by Bo"})],
                 name="Bo at the checkpoint.mp4", raw={"xmp": {"tag": "vmware-Boston"}},
                 findings=[Finding("log-untrusted", "log entry 3",
                                   "entry 3 signed by ed25519:f46d67da081334c, not a trusted key")])
    redacted = redact(case)
    assert redacted.custody_log[0].details["note"] == "note-1"
    assert redacted.verification.findings[0].message == "entry 3 signed by ed25519:key-1, not a trusted key"
    assert redacted.exhibits[0].names == ["actor-1 at the checkpoint.mp4"]
    assert redacted.exhibits[0].metadata.path == "actor-1 at the checkpoint.mp4"
    assert redacted.exhibits[0].metadata.raw["xmp"]["tag"] == "vmware-Boston"  # inside other words, short names stay


def test_owner_artist_author_and_an_unnamed_camera_serial_are_redacted():
    from forensics.report.redact import redact

    case = _case([], raw={"exif": {"Image Tag 0xC62F": "CAMSER777", "EXIF CameraOwnerName": "Bob Smith bob@example.com",
                                   "Image Artist": "Bob Smith", "Image Copyright": "+15551234567",
                                   "Image Make": "Canon", "Image ImageDescription": "shot by Bob Smith"},
                          "format": {"author": "Eve eve@example.com"}})
    tags = redact(case).exhibits[0].metadata.raw
    exif = tags["exif"]
    assert exif["Image Tag 0xC62F"] == "serial-1" and exif["Image Make"] == "Canon"
    assert {exif["EXIF CameraOwnerName"], exif["Image Artist"], exif["Image Copyright"],
            tags["format"]["author"]} <= {f"person-{n}" for n in range(1, 5)}
    assert "Bob Smith" not in exif["Image ImageDescription"]
    assert exif["Image ImageDescription"].startswith("shot by person-")


def test_the_exported_case_is_a_typed_value_not_a_mapping_of_its_json():
    from collections.abc import Mapping

    case = _case([_entry("Bo", "vm", "ed25519:ab12", "received", {})])
    # Read by its fields: a key asked for by name would blank a column when a field is renamed, not fail.
    assert not isinstance(case, Mapping)
    with pytest.raises(TypeError):
        case["items"]  # type: ignore[index]
    document = case.to_json()
    assert [i["exhibit"] for i in document["items"]] == [i.exhibit for i in case.exhibits] == ["E1"]
    assert [k["key_id"] for k in document["keys"]] == [k.key_id for k in case.signing_keys] == ["ed25519:ab12"]
