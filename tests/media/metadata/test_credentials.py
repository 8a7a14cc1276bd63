"""Content Credentials (C2PA) in the metadata record: what c2pa-python reads, and the flags a verifier acts on."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import c2pa  # type: ignore[import-untyped]
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from PIL import Image

from conftest import SHARED_DATA
from forensics.media.metadata.probe import probe_many, probe_media
from forensics.media.metadata.record import MediaRecord

C2PA = SHARED_DATA / "c2pa"
_OFFLINE = {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False, "verify_trust": False}}


@pytest.fixture(scope="module")
def records() -> dict[str, MediaRecord]:
    if not C2PA.is_dir():
        pytest.skip(f"the C2PA reference media are not here ({C2PA.resolve()}); see ../shared/data/README.md")
    files = [p for p in C2PA.rglob("*") if p.is_file() and p.name != "LICENSE-MIT"]
    return {r.path: r for r in probe_many(files)}


def _codes(record: MediaRecord) -> list[str]:
    return [f.code for f in record.flags]


def _flag(record: MediaRecord, code: str) -> str:
    return next(f.message for f in record.flags if f.code == code)


def _direct(path: Path) -> dict | str:
    """What c2pa-python itself reads from the file (by its name, offline): the store, or the error's text."""
    try:
        with c2pa.Reader(str(path), context=c2pa.Context(c2pa.Settings.from_dict(_OFFLINE))) as reader:
            return json.loads(reader.json())
    except c2pa.C2paError as ex:
        return str(ex)


def test_every_file_gets_the_credentials_c2pa_python_reads_with_its_validation_state(records):
    seen = {"valid": 0, "invalid": 0, "none": 0, "not_checked": 0}
    for path, record in records.items():
        c = record.provenance
        direct = _direct(Path(path))
        if c is None:  # a format c2pa-rs does not read: it says so too
            assert isinstance(direct, str) and ("NotSupported" in direct or "type is unsupported" in direct), path
            continue
        seen[c.state] = seen.get(c.state, 0) + 1
        if isinstance(direct, str):
            if "ManifestNotFound" in direct:
                assert c.state == "none" and c.manifest is None, path
                named = "http://purl.org/dc/terms/:provenance" in record.raw.get("xmp", {})
                assert ("credentials_missing" in _codes(record)) == named, path
            elif direct.startswith("Remote:"):
                assert c.state == "not_checked" and c.remote_url and c.remote_url in direct, path
                assert "credentials_not_checked" in _codes(record)
            else:
                assert c.state == "not_checked" and c.note and direct[:40] in c.note, path
            continue
        manifest = direct["manifests"][direct["active_manifest"]]
        assert c.state == direct["validation_state"].lower(), path
        assert c.manifest == direct["active_manifest"] and c.manifests == len(direct["manifests"])
        assert c.signer == manifest["signature_info"].get("common_name")
        assert c.issuer == manifest["signature_info"].get("issuer")
        assert c.signed_at == manifest["signature_info"].get("time")
        assert c.title == manifest.get("title")
        assert len(c.ingredients) == len(manifest.get("ingredients") or [])
        actions = [a["action"] for s in manifest.get("assertions", []) if s["label"].startswith("c2pa.actions")
                   for a in s["data"]["actions"]]
        assert [a.action for a in c.actions] == actions, path
        assert c.trust == "unverified"  # no trust anchors given: the signer is named, never assumed trusted
        # The record as stored reads back the same.
        assert MediaRecord.from_json(record.to_json()).provenance == c
    # The collection holds each kind: signed and valid, broken, none, remote or refused.
    assert seen["valid"] >= 10 and seen["invalid"] >= 4 and seen["none"] >= 20 and seen["not_checked"] >= 5


def test_signer_time_stamp_generator_actions_and_ingredients_of_an_edit(records):
    c = records[str(C2PA / "CA.jpg")].provenance
    assert c is not None and c.state == "valid"
    assert (c.signer, c.issuer, c.signing_alg) == ("C2PA Signer", "C2PA Test Signing Cert", "Ps256")
    assert c.signed_at == "2024-08-06T21:53:37+00:00" and c.time_stamp == "DigiCert Timestamp 2023"
    assert c.claim_generator == "make_test_images/0.33.1 c2pa-rs/0.33.1"
    assert [a.action for a in c.actions] == ["c2pa.opened", "c2pa.color_adjustments"]
    assert [(i.title, i.relationship, i.has_credentials) for i in c.ingredients] == [("A.jpg", "parentOf", False)]
    assert "color_adjustments" in _flag(records[str(C2PA / "CA.jpg")], "credentials_edited")


def test_credentials_that_fail_say_which_part(records):
    signature = records[str(C2PA / "E-sig-CA.jpg")]
    assert signature.provenance is not None and signature.provenance.state == "invalid"
    assert "the signature over the claim (claimSignature.mismatch)" in _flag(signature, "credentials_invalid")
    content = records[str(C2PA / "XCA.jpg")]
    assert "the file changed after it was signed" in _flag(content, "credentials_invalid")
    video = records[str(C2PA / "dashinit.mp4")]
    assert "assertion.bmffHash.mismatch" in _flag(video, "credentials_invalid")
    # A valid one raises no such flag.
    assert "credentials_invalid" not in _codes(records[str(C2PA / "C.jpg")])


def test_generated_media_is_named(records):
    photoshop = records[str(C2PA / "ocsp.jpg")]
    assert photoshop.provenance is not None
    assert photoshop.provenance.ai_source_types == ("compositeWithTrainedAlgorithmicMedia",)
    assert "compositeWithTrainedAlgorithmicMedia" in _flag(photoshop, "credentials_ai")
    assert "cropped, edited" in _flag(photoshop, "credentials_edited")
    camera = records[str(C2PA / "C_with_CAWG_data.jpg")]  # digitalCapture: a camera, not a generator
    assert camera.provenance is not None and camera.provenance.actions[0].digital_source_type == "digitalCapture"
    assert "credentials_ai" not in _codes(camera)


def test_a_remote_manifest_is_not_fetched_and_says_so(records):
    cloud = records[str(C2PA / "cloud.jpg")]
    assert cloud.provenance is not None and cloud.provenance.state == "not_checked"
    assert cloud.provenance.remote_url == ("https://cai-manifests.adobe.com/manifests/"
                                           "adobe-urn-uuid-5f37e182-3687-462e-a7fb-573462780391")
    assert "they were not fetched (offline) and not checked" in _flag(cloud, "credentials_not_checked")


def test_hostile_containers_get_a_reason_not_a_crash(records):
    for name in ("nested_moov_1000.mp4", "riff_bomb_1000.wav", "sample3.invalid.wav", "no_alg.jpg"):
        record = records[str(C2PA / name)]
        assert record.provenance is not None and record.provenance.state in ("none", "not_checked"), name


def test_a_video_whose_manifest_was_removed_is_flagged_as_stripped(records):
    record = records[str(C2PA / "video1_no_manifest.mp4")]
    assert record.provenance is not None and record.provenance.state == "none"
    assert "self#jumbf=/c2pa/urn:uuid:" in _flag(record, "credentials_missing")


def test_credentials_named_in_the_xmp_but_missing_are_flagged_as_stripped(tmp_path):
    xmp = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
           b'<rdf:Description xmlns:dcterms="http://purl.org/dc/terms/" dcterms:provenance="self#jumbf=/c2pa/'
           b'urn:uuid:54281c07-ad34-430e-bea5-112a18facf0b/c2pa.claim"/></rdf:RDF></x:xmpmeta>')
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (90, 120, 60)).save(buffer, "JPEG")
    jpeg = buffer.getvalue()
    segment = b"http://ns.adobe.com/xap/1.0/\x00" + xmp
    stripped = tmp_path / "stripped.jpg"
    stripped.write_bytes(jpeg[:2] + b"\xff\xe1" + (len(segment) + 2).to_bytes(2, "big") + segment + jpeg[2:])
    record = probe_media(stripped)
    assert record.provenance is not None and record.provenance.state == "none"
    assert "urn:uuid:54281c07" in _flag(record, "credentials_missing")
    plain = tmp_path / "plain.jpg"
    plain.write_bytes(jpeg)
    assert "credentials_missing" not in _codes(probe_media(plain))


def _self_signed_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Some other root")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=9))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def test_with_trust_anchors_a_signer_outside_them_is_untrusted_and_still_valid():
    if not C2PA.is_dir():
        pytest.skip(f"the C2PA reference media are not here ({C2PA.resolve()})")
    record = probe_media(C2PA / "CA.jpg", trust_anchors_pem=_self_signed_pem())
    c = record.provenance
    assert c is not None and c.trust == "untrusted" and c.state == "valid"
    assert "signingCredential.untrusted" in [f.code for f in c.failures]
    assert "credentials_invalid" not in _codes(record)  # distrust is reported, it is not a broken signature


def test_ingest_checks_signers_against_the_trust_anchors_given(tmp_path, alice):
    import shutil

    from forensics.custody.view import read_case
    from forensics.incident import ingest

    if not C2PA.is_dir():
        pytest.skip(f"the C2PA reference media are not here ({C2PA.resolve()})")
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(C2PA / "CA.jpg", folder / "CA.jpg")
    ingest([folder], tmp_path / "case", key=alice, trust_anchors_pem=_self_signed_pem())
    [item] = read_case(tmp_path / "case").items
    assert item.metadata is not None and item.metadata.provenance is not None
    assert item.metadata.provenance.trust == "untrusted"


def test_generated_media_declared_past_the_listed_actions_is_still_named():
    """A manifest may record thousands of actions; the record lists the first ones, and the flags look at all."""
    from forensics.media.metadata.formats.credentials import credentials_from_store
    from forensics.media.metadata.record import MediaRecord

    actions = [{"action": "c2pa.created", "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/"
                                                               "digitalCapture"}]
    actions += [{"action": "c2pa.color_adjustments"}] * 60
    actions += [{"action": "c2pa.edited", "softwareAgent": "HiddenAIGen",
                 "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"}]
    store = {"active_manifest": "m", "validation_state": "Valid",
             "manifests": {"m": {"assertions": [{"label": "c2pa.actions.v2", "data": {"actions": actions}}],
                                 "ingredients": [{"title": f"i{n}.jpg"} for n in range(300)],
                                 "signature_info": {"common_name": "S", "issuer": "I"}}}}
    c = credentials_from_store(store, trusted_check=False)
    assert len(c.actions) == 50 and c.actions_total == 62
    assert len(c.ingredients) == 50 and c.ingredients_total == 300
    assert c.ai_source_types == ("trainedAlgorithmicMedia",) and c.edits == ("c2pa.color_adjustments", "c2pa.edited")
    record = _record_with(c)
    assert "trainedAlgorithmicMedia" in _flag(record, "credentials_ai")
    assert MediaRecord.from_json(record.to_json()).provenance == c


def _record_with(c):
    from dataclasses import replace

    from forensics.media.metadata.flags import flags_for
    from forensics.media.metadata.record import Device, MediaRecord

    record = MediaRecord(path="x.jpg", sha256=None, size_bytes=1, media_type="image", detected_format="image/jpeg",
                         captured_at=None, captured_at_source=None, utc_offset=None, created_at=None,
                         created_at_source=None, filesystem_modified_at=None, times=(), gps=None, device=Device(),
                         container=None, streams=(), image=None, provenance=c)
    return replace(record, flags=flags_for(record))


def test_a_trust_list_that_is_not_one_is_refused_before_any_file_is_read(tmp_path, alice):
    import os

    from click.testing import CliRunner

    from forensics.errors import ParameterError
    from forensics.incident import ingest
    from forensics_cli.probe import command

    good = _self_signed_pem()
    broken = good.replace(good.splitlines()[3], "!!!!" + good.splitlines()[3][4:])
    photo = tmp_path / "a.jpg"
    Image.new("RGB", (8, 8)).save(photo)
    for bad in (broken, "no certificate", good * 4000):
        with pytest.raises(ParameterError):
            probe_media(photo, trust_anchors_pem=bad)
        with pytest.raises(ParameterError):
            ingest([photo], tmp_path / "case", key=alice, trust_anchors_pem=bad)
    assert not (tmp_path / "case").exists()
    fifo = tmp_path / "anchors.pem"
    os.mkfifo(fifo)
    refused = CliRunner().invoke(command, [str(photo), "-q", "--trust-anchors", str(fifo)])
    assert refused.exit_code == 2 and "not a regular file" in refused.output
