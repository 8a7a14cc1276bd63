"""Hostile exports: cut short, not UTF-8, nested deep, huge, misnamed, climbing out, links and FIFOs.

Each gives a clear problem or note in bounded time and memory, never a crash; the rest is still read.
"""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

import pytest

from forensics.messages import ExportScan, scan_exports

CHAT = '{"name": "C", "type": "personal_chat", "id": 1, "messages": [%s]}'


def problems(scan: ExportScan) -> dict[str, str]:
    return {p.path: p.error for p in scan.problems}


def test_a_truncated_result_json_is_a_problem_naming_where(tmp_path: Path) -> None:
    whole = CHAT % '{"id": 1, "type": "message", "date": "2026-12-05T10:00:00", "text": "hi"}'
    (tmp_path / "result.json").write_text(whole[: len(whole) // 2])
    scan = scan_exports(tmp_path)
    assert scan.exports == ()
    assert "not valid JSON at line 1" in problems(scan)["result.json"] and "cut short" in problems(scan)["result.json"]


def test_a_result_json_that_is_not_telegrams_is_said_so(tmp_path: Path) -> None:
    (tmp_path / "result.json").write_text('{"status": "ok", "messages": 3}')
    (tmp_path / "x.info.json").write_text('[1, 2, 3]')
    (tmp_path / "settings.json").write_text('{"theme": "dark"}')  # any other JSON: not an export, no word
    scan = scan_exports(tmp_path)
    assert scan.exports == () and set(problems(scan)) == {"result.json"}
    assert "neither's fields" in problems(scan)["result.json"]


def test_deeply_nested_json_is_refused(tmp_path: Path) -> None:
    (tmp_path / "result.json").write_text('{"messages": ' + "[" * 200_000 + "]" * 200_000 + "}")
    scan = scan_exports(tmp_path)
    assert "nested too deep" in problems(scan)["result.json"]


def test_a_number_too_long_to_convert_is_refused(tmp_path: Path) -> None:
    (tmp_path / "result.json").write_text('{"name": "C", "id": ' + "9" * 100_000 + ', "messages": []}')
    assert "cannot be read" in problems(scan_exports(tmp_path))["result.json"]


def test_an_export_over_the_size_limit_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "result.json").write_text(CHAT % ", ".join(['{"id": 1, "text": "x"}'] * 1000))
    scan = scan_exports(tmp_path, max_export_bytes=10_000)
    assert "over the 0 MiB" in problems(scan)["result.json"] or "MiB" in problems(scan)["result.json"]


def test_invalid_utf8_is_read_with_notes_of_where(tmp_path: Path) -> None:
    (tmp_path / "_chat.txt").write_bytes(b"[05/12/2026, 10:00:00] A: caf\xe9\n[05/12/2026, 10:01:00] B: ok\n")
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "result.json").write_bytes(
        (CHAT % '{"id": 7, "date": "2026-12-05T10:00:00", "date_unixtime": "1796464800", "text": "caf\xff"}')
        .encode("latin-1"))
    chat, tg = scan_exports(tmp_path).exports  # sorted walk: _chat.txt before t/
    assert chat.messages[0].text == "caf\ufffd" and [(u.where, u.note) for u in chat.unparsed] == [
        ("line 1", "bytes that are not UTF-8, read as U+FFFD")]
    assert tg.messages[0].text == "caf\ufffd" and tg.unparsed[0].note == "bytes that are not UTF-8, read as U+FFFD"


def test_messages_of_the_wrong_shape_are_notes_not_crashes(tmp_path: Path) -> None:
    (tmp_path / "result.json").write_text(CHAT % (
        '1, "x", null, {"id": true, "text": 5, "photo": 3, "date": "yesterday", "date_unixtime": "soon"},'
        '{"id": 2, "text": [{"type": "bold", "text": "b"}, 4], "file": {"a": 1}, "reply_to_message_id": [1]}'))
    (e,) = scan_exports(tmp_path).exports
    assert len(e.messages) == 2 and e.messages[1].text == "b"
    notes = [(u.where, u.note) for u in e.unparsed]
    assert ("messages[0]", "a int where a message was expected, not read") in notes
    assert ("messages[3]", "text is a int, not read") in notes
    assert ("messages[3]", "date 'yesterday' is not a date") in notes
    assert ("message 2", "file is a dict, not a path; not read") in notes


def test_paths_that_climb_out_or_are_absolute_are_never_looked_at(tmp_path: Path) -> None:
    inner = tmp_path / "scan"
    inner.mkdir()
    (tmp_path / "secret.jpg").write_bytes(b"\xff\xd8\xff secret")
    (inner / "result.json").write_text(CHAT % (
        '{"id": 1, "photo": "../secret.jpg"}, {"id": 2, "file": "/etc/passwd"}, {"id": 3, "photo": "a/../../x.jpg"}'))
    scan = scan_exports(inner)
    assert [(a.where, a.state, a.path) for a in scan.absent] == [
        ("message 1", "refused", None), ("message 2", "refused", None), ("message 3", "refused", None)]
    assert "climbs out" in (scan.absent[0].note or "") and "absolute" in (scan.absent[1].note or "")
    assert scan.files == ()


def test_links_and_fifos_are_never_followed_or_opened(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "real.jpg").write_bytes(b"\xff\xd8\xff real")
    root = tmp_path / "root"
    root.mkdir()
    (root / "link.jpg").symlink_to(outside / "real.jpg")
    (root / "folder-link").symlink_to(outside)
    os.mkfifo(root / "_chat.txt")
    (root / "result.json").write_text(CHAT % '{"id": 1, "photo": "link.jpg"}, {"id": 2, "photo": "folder-link/real.jpg"}')
    started = time.monotonic()
    scan = scan_exports(root)
    assert time.monotonic() - started < 5  # the FIFO was never opened (that would block)
    found = problems(scan)
    assert "symbolic link" in found["link.jpg"] and "symbolic link" in found["folder-link"]
    assert "FIFO" in found["_chat.txt"]
    assert [(a.where, a.state) for a in scan.absent] == [("message 1", "refused"), ("message 2", "absent")]
    assert scan.files == ()


def test_names_with_newlines_and_bytes_that_are_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "a\nb.jpg").write_bytes(b"\xff\xd8\xff one")
    (tmp_path / "result.json").write_text(CHAT % '{"id": 1, "photo": "a\\nb.jpg"}')
    os.makedirs(os.fsencode(tmp_path) + b"/odd\xff")
    (Path(os.fsdecode(os.fsencode(tmp_path) + b"/odd\xff")) / "x.jpg").write_bytes(b"\xff\xd8\xff two")
    scan = scan_exports(tmp_path)
    assert [c.message.message_id for c in scan.carriers_of("a\nb.jpg")] == ["1"]
    assert scan.unnamed == (os.fsdecode(b"odd\xff/x.jpg"),)


@pytest.mark.parametrize("first", [b"", b"{", b" <"])  # random junk opens with a brace or a bracket now and then
def test_a_50_mb_junk_chat_is_refused_within_bounds(tmp_path: Path, first: bytes) -> None:
    junk = first + os.urandom(1 << 20) * 50
    (tmp_path / "_chat.txt").write_bytes(junk)
    started = time.monotonic()
    scan = scan_exports(tmp_path)
    assert time.monotonic() - started < 5
    assert "named like a WhatsApp chat export" in problems(scan)["_chat.txt"] and scan.exports == ()


@pytest.mark.parametrize("tail", [b"x" * 50_000_000, (b"junk line " * 10 + b"\n") * 450_000],
                         ids=["one-50-MB-line", "450-thousand-lines"])
def test_a_chat_followed_by_50_mb_of_junk_is_read_within_bounds(tmp_path: Path, tail: bytes) -> None:
    (tmp_path / "_chat.txt").write_bytes(b"[05/12/2026, 10:00:00] A: start\n" + tail
                                         + b"\n[05/12/2026, 10:01:00] B: end\n")
    del tail
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    (e,) = scan_exports(tmp_path).exports
    assert time.monotonic() - started < 10
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024 < 200 * 2**20
    assert [m.sender for m in e.messages] == ["A", "B"] and e.messages[1].text == "end"
    assert len(e.messages[0].text) <= 64 * 1024 + 1
    assert len(e.unparsed) <= 201
    assert any("cut there" in u.note for u in e.unparsed)


def test_a_sticker_saved_a_thousand_times_gives_bounded_carriers(tmp_path: Path) -> None:
    (tmp_path / "stickers").mkdir()
    for n in range(1000):
        (tmp_path / "stickers" / f"sticker ({n}).webp").write_bytes(b"RIFF\x10\x00\x00\x00WEBPVP8 same")
    (tmp_path / "result.json").write_text(CHAT % ", ".join(
        f'{{"id": {n}, "file": "stickers/sticker ({n}).webp", "media_type": "sticker"}}' for n in range(1000)))
    started = time.monotonic()
    scan = scan_exports(tmp_path, max_same_bytes_carriers=50)
    assert time.monotonic() - started < 10
    first = scan.files[0]
    assert len(first.carriers) == 51 and first.carriers[0].by == "path" and len(first.same_bytes_as) == 50
    assert first.same_bytes_left_out == 999 - 50
