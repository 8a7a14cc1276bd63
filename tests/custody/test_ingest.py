"""Ingest takes a folder into a case: byte-identical copies, both digests, a manifest, a valid bag."""

from __future__ import annotations

import hashlib
import json
import os
import socket
from pathlib import Path

from conftest import bag_valid, snapshot
from forensics.custody import hashing
from forensics.custody.case import LOG, Case
from forensics.custody.log import parse_line
from forensics.custody.names import name_bytes
from forensics.custody.verify import verify_case
from forensics.incident import ingest


def make_source(root: Path) -> Path:
    src = root / "raw"
    (src / "day1").mkdir(parents=True)
    (src / "day1" / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(300_000))
    (src / "day1" / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + os.urandom(5000))
    (src / "copy-of-photo.jpg").write_bytes((src / "day1" / "photo.jpg").read_bytes())
    (src / "notes.txt").write_text("radio heard at 14:02\n")
    (src / "empty.bin").write_bytes(b"")
    (src / "big.bin").write_bytes(os.urandom(3 * hashing.CHUNK_BYTES + 17))  # the threaded path
    return src


def manifest_of(case: Path, incident: str) -> dict:
    return json.loads((case / f"custody/manifests/{incident}.json").read_bytes())


def entries(case: Path):
    return [parse_line(line) for line in (case / LOG).read_bytes().splitlines()]


def test_copies_are_byte_identical_with_both_digests_and_the_source_untouched(tmp_path, alice):
    src = make_source(tmp_path)
    before = snapshot(src)
    result = ingest([src], tmp_path / "case", key=alice)
    case = Path(result.case)
    assert snapshot(src) == before  # contents and mtimes as they were
    assert result.counts == {"added": 5, "duplicate": 1}
    manifest = manifest_of(case, "raw")
    by_name = {r["name"]: item for item in manifest["items"] for r in item["received"]}
    assert set(by_name) == {"day1/clip.mp4", "day1/photo.jpg", "copy-of-photo.jpg", "notes.txt", "empty.bin", "big.bin"}
    for name, item in by_name.items():
        original = (src / name).read_bytes()
        stored = (case / item["path"]).read_bytes()
        assert stored == original
        assert item["sha256"] == hashlib.sha256(original).hexdigest()
        assert item["sha512"] == hashlib.sha512(original).hexdigest()
        assert item["size"] == len(original)
        receipt = next(r for r in item["received"] if r["name"] == name)
        assert receipt["stat"]["mtime_ns"] == os.stat(src / name).st_mtime_ns
        assert receipt["stat"]["size"] == len(original)
    # identical content is stored once, with both names
    assert by_name["day1/photo.jpg"] is by_name["copy-of-photo.jpg"]
    assert len(manifest["items"]) == 5
    bag_valid(case)
    assert verify_case(case).intact


def test_media_type_comes_from_content_not_the_name(tmp_path, alice, shared_data):
    src = tmp_path / "raw"
    src.mkdir()
    (src / "looks-like-a-photo.jpg").write_text("just text")
    (src / "video-named-as.txt").write_bytes((shared_data / "metadata-extractor-images/mov/with-gps.mov").read_bytes())
    case = Path(ingest([src], tmp_path / "case", key=alice).case)
    types = {r["name"]: (i["media_type"], i["mime"]) for i in manifest_of(case, "raw")["items"] for r in i["received"]}
    assert types["video-named-as.txt"] == ("video", "video/quicktime")
    assert types["looks-like-a-photo.jpg"][0] == "other"


def test_second_run_adds_nothing_and_a_new_file_is_added(tmp_path, alice):
    src = make_source(tmp_path)
    case = tmp_path / "case"
    ingest([src], case, key=alice)
    received_before = [e for e in entries(case) if e.action == "received"]
    again = ingest([src], case, key=alice)
    assert again.added_nothing and again.counts == {"already-present": 6}
    assert [e for e in entries(case) if e.action == "received"] == received_before
    (src / "day1" / "late.mp4").write_bytes(b"late arrival")
    third = ingest([src], case, key=alice)
    assert third.counts == {"added": 1, "already-present": 6}
    bag_valid(case)
    assert verify_case(case).intact


def test_a_touched_file_with_the_same_bytes_is_not_taken_in_twice(tmp_path, alice):
    src = make_source(tmp_path)
    case = tmp_path / "case"
    ingest([src], case, key=alice)
    os.utime(src / "notes.txt", ns=(1, 1))
    again = ingest([src], case, key=alice)
    assert again.counts == {"already-present": 6} and again.bytes_copied == len("radio heard at 14:02\n")


def test_hostile_names_and_special_files_are_recorded_each_with_its_reason(tmp_path, alice):
    src = tmp_path / "raw"
    src.mkdir()
    raw = os.fsencode(src)
    newline_name = b"strike\nfootage.mp4"
    invalid_utf8 = b"caf\xe9-\xff.jpg"
    for name in (newline_name, invalid_utf8, b"-rf *;'\" $(x).txt"):
        with open(os.path.join(raw, name), "wb") as f:
            f.write(b"content of " + name)
    os.mkfifo(src / "a-fifo")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(src / "a-socket"))
    (src / "outside-link").symlink_to("/etc/passwd")
    (src / "inside-link").symlink_to("notes.txt")
    (src / "notes.txt").write_text("n")
    os.symlink(b"/etc", os.path.join(raw, b"dir-link"))
    result = ingest([src], tmp_path / "case", key=alice)  # must not hang on the FIFO
    sock.close()
    case = Path(result.case)
    manifest = manifest_of(case, "raw")
    names = {name_bytes(r) for item in manifest["items"] for r in item["received"]}
    assert names == {newline_name, invalid_utf8, b"-rf *;'\" $(x).txt", b"notes.txt"}
    for item in manifest["items"]:
        for r in item["received"]:
            assert (case / item["path"]).read_bytes() == (src.joinpath(os.fsdecode(name_bytes(r)))).read_bytes()
    skipped = {p["name"]: p["reason"] for p in manifest["not_taken_in"]}
    assert set(skipped) == {"a-fifo", "a-socket", "outside-link", "inside-link", "dir-link"}
    assert "fifo" in skipped["a-fifo"] and "socket" in skipped["a-socket"]
    assert "outside the source" in skipped["outside-link"] and "inside the source" in skipped["inside-link"]
    assert not any("passwd" in str(i) for i in manifest["items"])
    assert result.counts == {"added": 4, "skipped": 5}
    bag_valid(case)
    assert verify_case(case).intact
    # skipped entries are recorded once, not again on every run
    assert ingest([src], case, key=alice).counts == {"already-present": 4, "skipped": 5}
    assert len(manifest_of(case, "raw")["not_taken_in"]) == 5


def test_unreadable_vanished_and_changing_files_get_errors_and_the_rest_goes_on(tmp_path, alice, monkeypatch):
    src = make_source(tmp_path)
    (src / "locked.mp4").write_bytes(b"secret")
    (src / "vanishing.mp4").write_bytes(b"gone soon")
    (src / "growing.mp4").write_bytes(os.urandom(2 * hashing.CHUNK_BYTES))
    real_open, real_read = hashing.open_for_reading, hashing._read_into
    grown = []

    def refuse_locked(path):
        if os.fsencode(path).endswith(b"locked.mp4"):
            raise PermissionError(13, "Permission denied")
        return real_open(path)

    def grow_while_read(fd, buffer):
        chunk = real_read(fd, buffer)
        if os.readlink(f"/proc/self/fd/{fd}").endswith("growing.mp4") and chunk and not grown:
            grown.append(True)
            with open(src / "growing.mp4", "ab") as f:
                f.write(b"appended by the camera app")
        return chunk

    real_copy_in = Case.copy_in

    def vanish_first(case, entry):
        if entry.rel == b"vanishing.mp4":
            (src / "vanishing.mp4").unlink()  # deleted after the folder was listed, before it is read
        return real_copy_in(case, entry)

    monkeypatch.setattr("forensics.custody.case.open_for_reading", refuse_locked)
    monkeypatch.setattr(hashing, "_read_into", grow_while_read)
    monkeypatch.setattr(Case, "copy_in", vanish_first)
    result = ingest([src], tmp_path / "case", key=alice)
    reasons = {p["name"]: p["reason"] for p in result.problems}
    assert "Permission denied" in reasons["locked.mp4"]
    assert "vanished" in reasons["vanishing.mp4"]
    assert "changed while it was read" in reasons["growing.mp4"]
    assert result.counts["error"] == 3 and result.counts["added"] == 5
    case = Path(result.case)
    logged = {e.details["name"]["name"]: e for e in entries(case) if e.action == "received" and e.result == "error"}
    assert set(logged) == {"locked.mp4", "vanishing.mp4", "growing.mp4"}
    assert not list((case / ".forensics/tmp").glob("*"))  # no half copies left behind
    bag_valid(case)
    assert verify_case(case).intact


def test_a_case_inside_its_own_source_is_not_ingested_into_itself(tmp_path, alice):
    src = make_source(tmp_path)
    ingest([src], src / "case", key=alice)
    again = ingest([src], src / "case", key=alice)
    assert again.added_nothing
    assert not any("case/" in r["name"] for i in manifest_of(src / "case", "raw")["items"] for r in i["received"])


def test_two_incidents_share_content_but_have_their_own_manifests(tmp_path, alice):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    (a / "clip.mp4").write_bytes(b"same footage")
    (b / "repost.mp4").write_bytes(b"same footage")
    (b / "other.mp4").write_bytes(b"other footage")
    case = tmp_path / "case"
    ingest([a], case, key=alice, incident="strike-2024-03-01")
    ingest([b], case, key=alice, incident="strike-2024-03-07")
    first, second = manifest_of(case, "strike-2024-03-01"), manifest_of(case, "strike-2024-03-07")
    assert [i["received"][0]["name"] for i in first["items"]] == ["clip.mp4"]
    assert first["items"][0]["also_received_in"] == ["strike-2024-03-07"]
    assert len(second["items"]) == 2
    bag_info = (case / "bag-info.txt").read_text()
    assert "Incident-Identifier: strike-2024-03-01" in bag_info and "Incident-Identifier: strike-2024-03-07" in bag_info
    assert "Payload-Oxum: 25.2" in bag_info
    bag_valid(case)
    assert verify_case(case).intact


def test_round_trip_on_the_shared_real_media(tmp_path, alice, shared_data):
    before = snapshot(shared_data)
    result = ingest([shared_data], tmp_path / "case", key=alice, incident="shared-data")
    assert snapshot(shared_data) == before
    assert result.counts.get("error", 0) == 0
    assert result.counts["added"] + result.counts.get("duplicate", 0) == len(before)
    report = verify_case(Path(result.case))
    assert report.intact, report.findings[:5]
    unique_bytes = sum(size for _sha, size, _mtime in {v[0]: v for v in before.values()}.values())
    items = manifest_of(Path(result.case), "shared-data")["items"]
    assert sum(item["size"] for item in items) == unique_bytes
    assert report.bytes_checked >= unique_bytes  # the originals, and the frames derived from them
    bag_valid(Path(result.case))


def test_one_content_under_many_names_and_extensions_is_stored_once_with_no_stray_copy(tmp_path, alice):
    # The copying threads put copies in place themselves, several at a time: copies of one content
    # under other extensions finish in any order, and only the one the log names may stay.
    src = tmp_path / "raw"
    src.mkdir()
    content = b"\x00\x00\x00\x18ftypmp42" + os.urandom(2 * hashing.CHUNK_BYTES + 5)
    small = os.urandom(3000)
    for n in range(12):
        (src / f"clip{n:02d}{('.mp4', '.MOV', '', '.bin')[n % 4]}").write_bytes(content)
        (src / f"note{n:02d}{('.txt', '.md', '')[n % 3]}").write_bytes(small)
    result = ingest([src], tmp_path / "case", key=alice)
    case = Path(result.case)
    assert result.counts == {"added": 2, "duplicate": 22}
    stored = sorted(p for p in (case / "data/originals").rglob("*") if p.is_file())
    assert len(stored) == 2
    assert {p.read_bytes() for p in stored} == {content, small}
    manifest = manifest_of(case, "raw")
    assert sorted(len(item["received"]) for item in manifest["items"]) == [12, 12]
    assert {item["path"] for item in manifest["items"]} == {p.relative_to(case).as_posix() for p in stored}
    assert not (case / ".forensics/tmp").exists()
    assert verify_case(case).intact
    bag_valid(case)


def test_without_syncfs_every_copy_and_folder_is_fsynced_one_by_one(tmp_path, alice, monkeypatch):
    from forensics import atomic
    from forensics.custody import case as case_module

    synced: list[str] = []
    monkeypatch.setattr(atomic, "_syncfs", None)
    monkeypatch.setattr(case_module, "fsync_file", lambda folder, rel: synced.append(rel))
    result = ingest([make_source(tmp_path)], tmp_path / "case", key=alice)
    case = Path(result.case)
    stored = {p.relative_to(case).as_posix() for p in (case / "data/originals").rglob("*") if p.is_file()}
    assert stored and stored <= set(synced)
    assert verify_case(case).intact
