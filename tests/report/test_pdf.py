"""`forensics report CASE --pdf`: pages, exhibits, the case id and log head on every page, a signature that holds."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from case_builder import BIDI_NAME, HOSTILE_TEXT_NAME, NEWLINE_NAME, ReportCase, build_case
from conftest import REPO
from forensics.custody.log import read_entries
from forensics.custody.signing import new_key
from forensics.custody.verify import verify_case
from forensics.custody.view import read_case
from forensics.errors import ParameterError
from forensics.report.pdf import exhibits_of, methods, write_pdf_report
from forensics.report.pdf_page import pdf_text
from forensics.report.pdf_signature import check_pdf_signature
from forensics_cli.main import cli


@pytest.fixture(scope="module")
def pdf_case(tmp_path_factory: pytest.TempPathFactory) -> tuple[ReportCase, Path, dict]:
    """A case of the fixture incident with hostile names, and its PDF report written by the command."""
    root = tmp_path_factory.mktemp("pdf-case")
    key = new_key("Amina Haddad", root / "amina.key")
    case = build_case(root, key)
    out = root / "submission.pdf"
    result = CliRunner().invoke(cli, ["report", str(case.path), "--pdf", "--out", str(out), "--key",
                                      str(root / "amina.key"), "--json"])
    assert result.exit_code == 0, result.output
    return case, out, json.loads(result.output)


def squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_every_page_carries_the_case_id_the_log_head_and_its_number(pdf_case):
    case, out, printed = pdf_case
    view = read_case(case.path)
    reader = PdfReader(out)
    pages = len(reader.pages)
    assert pages > 1
    head = next(e for e in view.entries if e.seq == printed["rendered_from_seq"])
    for number, page in enumerate(reader.pages, start=1):
        text = squeezed(page.extract_text())
        assert squeezed(f"Case {view.state.case_id}") in text, number
        assert squeezed(head.line_hash) in text, number
        assert f"page{number}of{pages}" in text, number


def test_the_exhibit_list_names_every_item_escaped(pdf_case):
    case, out, _ = pdf_case
    reader = PdfReader(out)
    listing = next(squeezed(p.extract_text()) for p in reader.pages if "Exhibitlist" in squeezed(p.extract_text()))
    listing += "".join(squeezed(p.extract_text()) for p in reader.pages[2:3])  # a list that runs onto a second page
    view = read_case(case.path)
    for item in view.items:
        for name in item.names:
            assert squeezed(pdf_text(name)) in listing, name
    assert squeezed(HOSTILE_TEXT_NAME) in listing  # shown as text, never taken for anything else
    assert squeezed("strike\\nsecond line.mp4") in listing and NEWLINE_NAME not in listing
    assert "\\u202e" in listing and BIDI_NAME not in listing
    assert "\\xff\\xfe" in listing
    assert f"E{len(view.items)}" in listing


def test_the_pdf_is_signed_with_the_case_key_and_covers_the_whole_file(pdf_case):
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader

    case, out, printed = pdf_case
    data = out.read_bytes()
    [embedded] = PdfFileReader(io.BytesIO(data)).embedded_signatures
    # The signer's certificate is in the signature once: a second copy was covered by nothing, and changing it
    # went unseen by pdfsig and pyHanko alike.
    assert [c.chosen.dump() for c in embedded.signed_data["certificates"]] == [embedded.signer_cert.dump()]
    check = check_pdf_signature(data)
    assert check.intact and check.valid and check.covers_whole_file, check.summary
    assert check.key_id == case.key.key_id == printed["signed_by"]
    assert (case.path / "custody/keys" / f"{case.key.key_id.removeprefix('ed25519:')}.pub").is_file()  # the case's
    assert "Amina Haddad" in check.signer
    assert b'pdfaid:part="4"' in data or b"<pdfaid:part>4</pdfaid:part>" in data  # PDF/A-4 claimed in its XMP
    if shutil.which("pdfsig"):  # poppler reads the signature too (its NSS may not know Ed25519: coverage only)
        shown = subprocess.run(["pdfsig", str(out)], capture_output=True, text=True, check=False).stdout
        assert "Total document signed" in shown and "Amina Haddad" in shown


def test_the_export_is_logged_with_the_pdf_digest(pdf_case):
    case, out, printed = pdf_case
    entry = next(e for e in read_entries(case.path / "custody/log.jsonl") if e.seq == printed["log_seq"])
    assert entry.action == "exported" and entry.details["format"] == "pdf"
    assert entry.objects[0]["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest() == printed["sha256"]
    assert entry.details["rendered_from"]["seq"] == printed["rendered_from_seq"]
    assert printed["pages"] == len(PdfReader(out).pages)
    assert verify_case(case.path).intact  # the case, with its new entry, still verifies


def test_a_pdf_altered_after_signing_fails_validation(pdf_case):
    _case, out, _ = pdf_case
    data = bytearray(out.read_bytes())
    title = data.find(b"/Title")
    assert title > 0
    data[title + 8] ^= 0x01  # one bit of the document's title, inside the signed bytes
    altered = check_pdf_signature(bytes(data))
    assert not altered.ok and not altered.intact, altered.summary
    appended = check_pdf_signature(out.read_bytes() + b"\n%% a line added after signing\n")
    assert not appended.ok and not appended.covers_whole_file, appended.summary


def test_the_methods_quote_the_figures_of_record_word_for_word():
    statement = methods()
    assert statement["version"] >= 1
    sources = {name: " ".join((REPO / name).read_text("utf-8").split()) for name in ("README.md",
                                                                                      "benchmarks/README.md")}
    quoted = 0
    for analysis in statement["analyses"]:
        assert analysis["cannot_show"], analysis["name"]
        for figure in analysis["figures"]:
            assert " ".join(figure["quote"].split()) in sources[figure["source"]], figure["quote"]
            assert figure["command"].split()[-1] and "bench_" in figure["command"]
            quoted += 1
    assert quoted >= 8


def test_text_a_font_cannot_draw_is_an_escape_and_invisible_characters_are_shown():
    assert pdf_text("Київ") == "Київ"
    assert pdf_text("漢字") == "\\u6f22\\u5b57"
    assert pdf_text("a\u202eb\nc\udcff") == "a\\u202eb\\nc\\xff"


def test_a_pdf_is_refused_inside_the_case(pdf_case, tmp_path):
    case, _, _ = pdf_case
    result = CliRunner().invoke(cli, ["report", str(case.path), "--pdf", "--out", str(case.path / "r.pdf"),
                                      "--key", str(case.key.path)])
    assert result.exit_code == 2, result.output
    assert "inside the case" in result.output


def test_an_exhibit_whose_stored_copy_was_altered_is_marked_failed(tmp_path, alice):
    case = build_case(tmp_path, alice, analyse=False)
    item = read_case(case.path).item(case.sha256["photo/IMG_0001.jpg"])
    stored = case.path / item.item.stored.path
    stored.chmod(0o644)
    data = bytearray(stored.read_bytes())
    data[-10] ^= 0xFF  # same size: only verify, reading every byte, sees it
    stored.write_bytes(bytes(data))
    exported = write_pdf_report(case.path, alice, out_path=tmp_path / "r.pdf")
    assert exported.details["verified_intact"] is False and exported.details["verify_findings"] >= 1
    text = "".join(squeezed(page.extract_text()) for page in PdfReader(tmp_path / "r.pdf").pages)
    number = next(e.number for e in exhibits_of(read_case(case.path)) if e.item.sha256 == item.sha256)
    assert f"E{number}photo/IMG_0001.jpgimage" in text and "FAILED" in text
    assert "payload-modified" in text
    assert check_pdf_signature((tmp_path / "r.pdf").read_bytes()).ok  # the document holds; the case does not


def test_the_pdf_chronology_has_the_messages_sending_times_as_the_html_does(tmp_path, export_tree):
    from forensics.incident import ingest

    key = new_key("Amina Haddad", tmp_path / "amina.key")
    case = Path(ingest([export_tree], tmp_path / "case", key=key).case)
    out = tmp_path / "r.pdf"
    write_pdf_report(case, key, out_path=out)
    text = squeezed(" ".join(page.extract_text() for page in PdfReader(out).pages))
    assert squeezed("message sent") in text


def test_a_pdf_never_replaces_a_file_that_is_not_one_nor_writes_into_another_case(pdf_case, tmp_path):
    case, out, _ = pdf_case
    key = new_key("Amina Haddad", tmp_path / "k.key")
    other = tmp_path / "other"
    shutil.copytree(case.path, other)
    log = other / "custody" / "log.jsonl"
    before = log.read_bytes()
    text = tmp_path / "notes.txt"
    text.write_text("an investigator's notes\n")
    for target in (log, text, other / "data" / "x.pdf"):
        with pytest.raises(ParameterError):
            write_pdf_report(case.path, key, out_path=target)
    assert log.read_bytes() == before and text.read_text() == "an investigator's notes\n"
    assert verify_case(other).intact
    # A PDF that is not an export this case logged (an investigator's only copy of a brief) is never replaced.
    brief = tmp_path / "brief.pdf"
    brief.write_bytes(b"%PDF-1.7\n% a court brief, the only copy\n")
    with pytest.raises(ParameterError, match="not an export this case's log records"):
        write_pdf_report(case.path, key, out_path=brief)
    assert brief.read_bytes() == b"%PDF-1.7\n% a court brief, the only copy\n"
    write_pdf_report(case.path, key, out_path=out)  # an earlier PDF report of this case is replaced


def test_a_name_of_thousands_of_characters_fits_the_pdf(tmp_path):
    from forensics.incident import ingest

    folder = tmp_path / "in"
    deep = folder
    for _ in range(16):
        deep = deep / ("D" * 250)
    deep.mkdir(parents=True)
    shutil.copy(REPO / "fixtures" / "incident" / "photo" / "IMG_0001.jpg", deep / "deep.jpg")
    key = new_key("Amina Haddad", tmp_path / "amina.key")
    case = Path(ingest([folder], tmp_path / "case", key=key).case)
    out = tmp_path / "r.pdf"
    write_pdf_report(case, key, out_path=out)
    text = " ".join(page.extract_text() for page in PdfReader(out).pages)
    assert "characters; whole in" in squeezed(text) or "characters;wholein" in squeezed(text)


def _pkcs12(tmp_path: Path, password: bytes, *, ed25519: bool = False, days: tuple[int, int] = (-1, 365),
            name: str = "unit") -> tuple[Path, object]:
    """An organisation's signing certificate, self-signed, in a PKCS#12 file: ECDSA P-256 (or Ed25519)."""
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519 as ed
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    private = ed.Ed25519PrivateKey.generate() if ed25519 else ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Evidence Unit"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example Rights Group")])
    now = datetime.now(UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(private.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now + timedelta(days=days[0]))
                   .not_valid_after(now + timedelta(days=days[1]))
                   .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True,
                                                key_encipherment=False, data_encipherment=False, key_agreement=False,
                                                key_cert_sign=False, crl_sign=False, encipher_only=False,
                                                decipher_only=False), critical=True)
                   .sign(private, None if ed25519 else hashes.SHA256()))
    path = tmp_path / f"{name}.p12"
    path.write_bytes(pkcs12.serialize_key_and_certificates(
        b"unit", private, certificate, None, serialization.BestAvailableEncryption(password)))
    return path, certificate


def test_a_pdf_signed_with_a_certificate_given_validates_against_it_and_is_logged_with_the_custody_key(
        pdf_case, tmp_path, monkeypatch):
    from cryptography.hazmat.primitives import serialization

    case, _out, _ = pdf_case
    p12, certificate = _pkcs12(tmp_path, b"s3cret")
    out = tmp_path / "signed-by-unit.pdf"
    key = str(case.path.parent / "amina.key")
    args = ["report", str(case.path), "--pdf", "--out", str(out), "--key", key, "--pdf-signer", str(p12), "--json"]
    monkeypatch.setenv("FORENSICS_PDF_SIGNER_PASSWORD", "wrong")
    refused = CliRunner().invoke(cli, args)
    assert refused.exit_code == 2 and "cannot be opened" in refused.output and not out.exists()
    monkeypatch.setenv("FORENSICS_PDF_SIGNER_PASSWORD", "s3cret")
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    check = check_pdf_signature(data, trusted=certificate)
    assert check.ok and check.trusted and "Evidence Unit" in check.signer and check.key_id is None
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader

    [embedded] = PdfFileReader(io.BytesIO(data)).embedded_signatures  # the certificate in the signature once
    assert [c.chosen.dump() for c in embedded.signed_data["certificates"]] == [
        certificate.public_bytes(serialization.Encoding.DER)]
    fingerprint = hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()
    title = squeezed(PdfReader(out).pages[0].extract_text())
    assert "acertificategiven" in title and fingerprint[:16] in title and "Ed25519key" not in title
    [logged] = [e for e in read_entries(case.path / "custody" / "log.jsonl")
                if e.action == "exported" and e.details.get("format") == "pdf" and e.objects
                and e.objects[0]["sha256"] == hashlib.sha256(data).hexdigest()]
    assert logged.details["signed_by"] == f"x509-sha256:{fingerprint}" and logged.key_id.startswith("ed25519:")
    if shutil.which("pdfsig"):  # poppler's checker, an ordinary PDF tool, where it is installed
        shown = subprocess.run(["pdfsig", str(out)], capture_output=True, text=True, check=False).stdout
        assert "Signature is Valid" in shown, shown
    for days in ((-400, -30), (30, 400)):  # expired, and not yet valid: refused before anything is written
        dated, _ = _pkcs12(tmp_path, b"s3cret", days=days, name=f"dated{days[0]}")
        before = (case.path / "custody" / "log.jsonl").read_bytes()
        late = CliRunner().invoke(cli, [*args[:-3], "--pdf-signer", str(dated), "--json"])
        assert late.exit_code == 2 and "not now" in late.output
        assert (case.path / "custody" / "log.jsonl").read_bytes() == before
    ed_p12, _ = _pkcs12(tmp_path, b"x", ed25519=True, name="ed")
    monkeypatch.setenv("FORENSICS_PDF_SIGNER_PASSWORD", "x")
    ed = CliRunner().invoke(cli, [*args[:-3], "--pdf-signer", str(ed_p12), "--json"])
    assert ed.exit_code == 2 and "RSA or ECDSA" in ed.output
