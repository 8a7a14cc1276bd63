"""verify catches every kind of tampering the issue names, and says which file or entry."""

from __future__ import annotations

import base64
import json
import os
import shutil
from pathlib import Path

import pytest

from forensics.custody.canonical import canonical_json
from forensics.custody.case import LOG, open_case
from forensics.custody.log import parse_line
from forensics.custody.verify import verify_case
from forensics.incident import ingest


@pytest.fixture
def case(tmp_path, alice) -> Path:
    src = tmp_path / "raw"
    src.mkdir()
    (src / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(20_000))
    (src / "photo.jpg").write_bytes(b"\xff\xd8\xff" + os.urandom(3_000))
    (src / "notes.txt").write_text("heard jets at 14:02")
    path = Path(ingest([src], tmp_path / "case", key=alice, incident="strike", analyse=False).case)
    with open_case(path, alice) as c:
        item = next(iter(c.state.items))
        c.add_derived(item, b"\x89PNG fake frame bytes", name="frame-000.png", operation="frames.keyframes",
                      parameters={"pts_s": 0.0})
        c.add_record(item, "metadata", {"path": "clip.mp4", "media_type": "video",
                                        "captured_at": "2024-03-14T12:26:54+03:00"})
    assert verify_case(path).intact
    return path


def codes(case: Path, **kwargs) -> set[str]:
    return {f.code for f in verify_case(case, **kwargs).findings}


def subjects(case: Path, code: str) -> set[str]:
    return {f.subject for f in verify_case(case).findings if f.code == code}


def payload(case: Path, kind: str) -> Path:
    return next(p for p in (case / "data" / kind).rglob("*") if p.is_file())


def lines(case: Path) -> list[bytes]:
    return (case / LOG).read_bytes().splitlines(keepends=True)


def write_lines(case: Path, new: list[bytes]) -> None:
    (case / LOG).write_bytes(b"".join(new))


def flip_byte(path: Path, offset: int = 10) -> None:
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def test_a_byte_changed_in_an_original(case):
    original = payload(case, "originals")
    flip_byte(original)
    assert subjects(case, "payload-modified") == {original.relative_to(case).as_posix()}


def test_a_byte_changed_in_a_derived_file(case):
    derived = payload(case, "derived")
    flip_byte(derived, 3)
    assert subjects(case, "payload-modified") == {derived.relative_to(case).as_posix()}


def test_a_file_added_removed_or_renamed(case):
    (case / "data/originals/planted.mp4").write_bytes(b"planted")
    assert subjects(case, "payload-added") == {"data/originals/planted.mp4"}
    (case / "data/originals/planted.mp4").unlink()
    victim = payload(case, "originals")
    rel = victim.relative_to(case).as_posix()
    renamed = victim.with_name("renamed.mp4")
    victim.rename(renamed)
    assert subjects(case, "payload-renamed") == {rel}
    renamed.unlink()
    assert subjects(case, "payload-missing") == {rel}


def test_an_edited_incident_manifest(case):
    path = case / "custody/manifests/strike.json"
    manifest = json.loads(path.read_bytes())
    manifest["items"][0]["received"][0]["name"] = "innocent.mp4"
    path.write_bytes(canonical_json(manifest))
    assert "manifest-disagrees" in codes(case)


def test_an_edited_payload_manifest(case):
    path = case / "manifest-sha256.txt"
    text = path.read_text()
    path.write_text(text.replace(text[0], "f" if text[0] != "f" else "e", 1))
    assert "bag-manifest" in codes(case)


def test_an_edited_log_entry(case):
    entries = lines(case)
    data = json.loads(entries[2])
    data["details"]["name"]["name"] = "someone-else.mp4"
    entries[2] = canonical_json(data) + b"\n"
    write_lines(case, entries)
    found = verify_case(case).findings
    assert ("signature-invalid", "log entry 3") in {(f.code, f.subject) for f in found}
    assert ("log-chain-broken", "log entry 4") in {(f.code, f.subject) for f in found}
    # A finding about a receipt names the file it records, as the entry now has it.
    assert next(f for f in found if f.subject == "log entry 3").received_as == ("someone-else.mp4",)


def test_an_entry_edited_by_hand_even_if_only_its_spacing(case):
    entries = lines(case)
    entries[3] = entries[3].replace(b'":', b'": ', 1)
    write_lines(case, entries)
    assert ("log-entry-unreadable") in codes(case)


def test_a_removed_log_entry(case):
    entries = lines(case)
    del entries[3]
    write_lines(case, entries)
    found = {(f.code, f.subject) for f in verify_case(case).findings}
    assert ("log-sequence", "log entry 4") in found and ("log-chain-broken", "log entry 4") in found


def test_entries_cut_off_the_end(case):
    write_lines(case, lines(case)[:-2])
    assert "log-truncated" in codes(case)


def test_reordered_log_entries(case):
    entries = lines(case)
    entries[3], entries[4] = entries[4], entries[3]
    write_lines(case, entries)
    assert {"log-sequence", "log-chain-broken"} <= codes(case)


def test_an_inserted_log_entry_even_a_validly_signed_one(case, mallory):
    entries = lines(case)
    forged = json.loads(entries[2])
    forged["details"]["name"]["name"] = "inserted.mp4"
    forged.update(key_id=mallory.key_id, signature="")
    body = {k: v for k, v in forged.items() if k != "signature"}
    forged["signature"] = mallory.sign(canonical_json(body))
    entries.insert(3, canonical_json(forged) + b"\n")
    write_lines(case, entries)
    found = {(f.code, f.subject) for f in verify_case(case).findings}
    assert ("signature-unknown-key", "log entry 4") in found
    assert ("log-sequence", "log entry 4") in found and ("log-chain-broken", "log entry 5") in found


def test_a_signature_swapped_for_another_entrys(case):
    entries = lines(case)
    a, b = json.loads(entries[2]), json.loads(entries[3])
    a["signature"], b["signature"] = b["signature"], a["signature"]
    entries[2], entries[3] = canonical_json(a) + b"\n", canonical_json(b) + b"\n"
    write_lines(case, entries)
    assert subjects(case, "signature-invalid") == {"log entry 3", "log entry 4"}


def test_a_public_key_file_swapped(case, mallory):
    key_file = next((case / "custody/keys").iterdir())
    key_file.write_bytes(mallory.public_pem())
    assert subjects(case, "key-file-swapped") == {key_file.relative_to(case).as_posix()}


def test_a_public_key_swapped_inside_the_log(case, mallory):
    entries = lines(case)
    first = json.loads(entries[0])
    first["details"]["public_key"] = base64.b64encode(mallory.public_raw).decode()
    entries[0] = canonical_json(first) + b"\n"
    write_lines(case, entries)
    assert {"key-swapped", "signature-unknown-key"} <= codes(case)


def test_a_case_rewritten_and_resigned_whole_by_another_key_is_caught_by_trust(case, alice, mallory):
    """Someone who re-signs everything with a key of their own makes a consistent case; only trust catches it."""
    forged_case = case.parent / "forged"
    shutil.copytree(case, forged_case)
    entries = [parse_line(line.rstrip(b"\n")) for line in lines(case)]
    assert codes(forged_case) == set()
    assert codes(forged_case, trusted_keys=[alice.key_id]) == set()
    assert "key-untrusted" in codes(forged_case, trusted_keys=[mallory.key_id])
    assert "log-rewritten" in codes(forged_case, expect_head="sha256:" + "ab" * 32)
    assert codes(forged_case, expect_head=entries[-1].line_hash) == set()


def test_a_changed_analysis_record(case):
    record = next((case / "custody/records").rglob("*.json"))
    record.write_bytes(record.read_bytes().replace(b"12:26", b"13:26"))
    assert "record-modified" in codes(case)


def test_a_changed_bag_info(case):
    path = case / "bag-info.txt"
    path.write_text(path.read_text().replace("Payload-Oxum: ", "Payload-Oxum: 1"))
    assert "bag-info" in codes(case)
