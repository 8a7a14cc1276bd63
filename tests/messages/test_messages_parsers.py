"""What each parser reads from the fixture exports: senders, times and their zones, forwards, replies, text."""

from __future__ import annotations

from pathlib import Path

import make_exports as fx
import pytest

from forensics.errors import ParameterError
from forensics.messages import Export, ExportScan, Message, scan_exports


def export(scan: ExportScan, path: str) -> Export:
    return next(e for e in scan.exports if e.path == path)


def by_id(e: Export) -> dict[str | None, Message]:
    return {m.message_id: m for m in e.messages}


def test_telegram_times_are_utc_from_date_unixtime_with_the_local_time_as_written(scan: ExportScan) -> None:
    photo = by_id(export(scan, f"{fx.TG_CHAT}/result.json"))["2"]
    assert photo.sent is not None
    assert photo.sent.at == "2026-12-05T08:11:12+00:00"  # 10:11:12 on a computer at UTC+02:00
    assert photo.sent.local == "2026-12-05T10:11:12" and photo.sent.written == "2026-12-05T10:11:12"
    assert "date_unixtime" in photo.sent.zone_source and "UTC+02:00" in photo.sent.zone_source


def test_telegram_forward_reply_edit_service_and_text_entities(scan: ExportScan) -> None:
    chat = export(scan, f"{fx.TG_CHAT}/result.json")
    messages = by_id(chat)
    assert (chat.chat, chat.form) == ("Neighbourhood watch", "telegram-chat")
    video = messages["3"]
    assert (video.sender, video.sender_id, video.forwarded_from) == ("Taras", "user1002", "Kharkiv Live")
    assert video.text == "Posted on the channel" and video.links == ("https://t.me/kharkiv_live_demo/2",)
    assert [(m.role, m.media_type, m.mime_type, m.original_name, m.state) for m in video.media] == [
        ("file", "video_file", "video/mp4", "market.mp4", "present"), ("thumbnail", "thumbnail", None, None, "present")]
    assert messages["4"].reply_to == "3" and messages["4"].media[0].media_type == "voice_message"
    assert messages["6"].reply_to == "2"
    assert messages["6"].edited is not None and messages["6"].edited.at == "2026-12-05T08:17:45+00:00"
    service = messages["1"]
    assert (service.kind, service.sender, service.text) == ("service", "Olena", "create_group")
    assert messages["5"].media[0].original_name == "drone_full.mp4"
    assert [(u.where, u.note) for u in chat.unparsed] == [("message 7", "field 'poll' not read")]


def test_whatsapp_ios_ambiguous_dates_are_said_so_and_the_order_assumed_named(scan: ExportScan) -> None:
    ios = export(scan, f"{fx.WA_IOS}/_chat.txt")
    assert (ios.chat, ios.date_order, ios.date_order_basis) == ("Relief team", "d/m/y", "assumed")
    assert any("ambiguous" in n and "d/m/y" in n for n in ios.notes)
    first = ios.messages[0]
    assert (first.kind, first.sender, first.line) == ("system", None, 1)
    assert first.text.startswith("Messages and calls are end-to-end encrypted")
    attached = ios.messages[2]
    assert (attached.sender, attached.line, attached.text) == ("Olena", 3, "")
    assert attached.sent is not None and attached.sent.at is None  # the export names no zone
    assert attached.sent.local == "2026-12-05T10:20:05" and attached.sent.written == "05/12/2026, 10:20:05"
    assert "unknown" in attached.sent.zone_source
    multi = ios.messages[3]
    assert multi.text == "The roof is gone.\nTwo cars burning on the east side.\nAmbulances arriving now"
    assert ios.messages[-1].links == ("https://example.org/report/1205",)
    assert ios.unparsed == ()


def test_whatsapp_android_twelve_hour_times_and_the_order_a_day_past_12_decides(scan: ExportScan) -> None:
    android = export(scan, fx.WA_ANDROID_CHAT)
    assert (android.chat, android.date_order, android.date_order_basis) == ("Ahmad", "m/d/y", "a day past 12")
    assert [m.sent.local for m in android.messages if m.sent] == [
        "2026-12-05T09:40:00", "2026-12-05T10:15:00", "2026-12-05T10:16:00", "2026-12-05T10:17:00",
        "2026-12-05T22:30:00", "2026-12-14T07:02:00"]
    photo = android.messages[1]
    assert (photo.sender, photo.text, photo.media[0].named) == ("Ahmad", "Market, north side", "IMG-20261205-WA0003.jpg")
    assert android.messages[0].kind == "system" and android.messages[0].sender is None
    assert android.messages[3].media[0].state == "omitted" and android.messages[3].sender == "You"


def test_a_zone_given_makes_whatsapp_times_absolute(export_tree: Path) -> None:
    scan = scan_exports(export_tree / "whatsapp", zone="Europe/Kyiv")
    android = next(e for e in scan.exports if e.form == "whatsapp-android")
    sent = android.messages[1].sent
    assert sent is not None and sent.at == "2026-12-05T10:15:00+02:00" and "Europe/Kyiv" in sent.zone_source
    with pytest.raises(ParameterError, match="IANA"):
        scan_exports(export_tree, zone="Mars/Olympus")
    with pytest.raises(ParameterError, match="date order"):
        scan_exports(export_tree, date_order="y/d/m")


def test_a_date_order_given_overrides_the_inferred_one(export_tree: Path) -> None:
    scan = scan_exports(export_tree / "whatsapp", date_order="m/d/y")
    ios = next(e for e in scan.exports if e.form == "whatsapp-ios")
    assert (ios.date_order, ios.date_order_basis) == ("m/d/y", "given")
    assert ios.messages[1].sent is not None and ios.messages[1].sent.local == "2026-05-12T10:20:00"


def test_ytdlp_post_fields(scan: ExportScan) -> None:
    (post,) = export(scan, fx.YT_INFO).messages
    assert (post.kind, post.chat, post.sender, post.sender_id, post.title) == (
        "post", "Kharkiv Live", "Kharkiv Live", "@kharkivlive_demo", "Strike on the market")
    assert post.url == "https://www.youtube.com/watch?v=a1B2c3D4e5F" and post.chat_type == "Youtube"
    assert post.sent is not None and post.sent.at == "2026-12-05T08:40:00+00:00" and post.sent.local == "2026-12-05"
    assert [(m.role, m.path) for m in post.media] == [("download", fx.YT_VIDEO), ("thumbnail", fx.YT_THUMB)]


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_whatsapp_order_from_the_messages_running_forward(tmp_path: Path) -> None:
    # 01/02 then 02/01: as d/m/y it runs backwards (1 Feb, then 2 Jan); as m/d/y forwards.
    write(tmp_path, "_chat.txt", "[01/02/2026, 10:00:00] A: one\n[02/01/2026, 10:00:00] B: two\n")
    (e,) = scan_exports(tmp_path).exports
    assert (e.date_order, e.date_order_basis) == ("m/d/y", "the messages' order")


def test_whatsapp_year_first_and_german_dots(tmp_path: Path) -> None:
    write(tmp_path, "a/_chat.txt", "[2026-12-05, 10:00:00] A: one\n")
    write(tmp_path, "b/WhatsApp Chat mit X.txt", "05.12.26, 10:00 - A: eins\n13.12.26, 11:00 - B: zwei\n")
    a, b = scan_exports(tmp_path).exports
    assert (a.date_order, a.messages[0].sent.local if a.messages[0].sent else None) == ("y/m/d", "2026-12-05T10:00:00")
    assert (b.form, b.date_order, b.chat) == ("whatsapp-android", "d/m/y", None)
    assert b.messages[1].sent is not None and b.messages[1].sent.local == "2026-12-13T11:00:00"


def test_telegram_without_date_unixtime_keeps_the_local_time_zone_unknown(tmp_path: Path) -> None:
    write(tmp_path, "result.json", '{"name": "Old", "type": "personal_chat", "id": 1, "messages": ['
                                   '{"id": 1, "type": "message", "date": "2019-05-01T12:00:00", "from": "A", "text": "hi"}]}')
    (e,) = scan_exports(tmp_path).exports
    sent = e.messages[0].sent
    assert sent is not None and sent.at is None and sent.local == "2019-05-01T12:00:00" and "unknown" in sent.zone_source


def test_ytdlp_without_timestamp_gives_a_day_and_finds_the_file_by_its_stem(tmp_path: Path) -> None:
    write(tmp_path, "clip [x].info.json", '{"id": "x", "extractor": "twitter", "webpage_url": "https://x.com/a/status/1",'
                                          ' "upload_date": "20261204", "ext": "mp4"}')
    (tmp_path / "clip [x].mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(16))
    scan = scan_exports(tmp_path)
    (post,) = scan.exports[0].messages
    assert post.sent is not None and (post.sent.at, post.sent.local) == (None, "2026-12-04")
    assert [(m.path, m.state) for m in post.media] == [("clip [x].mp4", "present")]


def test_words_shaped_like_an_attachment_are_text_unless_the_app_wrote_them(tmp_path: Path) -> None:
    write(tmp_path, "WhatsApp Chat with B.txt", "05/12/2026, 10:00 - A: plan.pdf (see above)\n"
                                                "05/12/2026, 10:01 - A: DOC-20261205-WA0001.pdf (Datei angehängt)\n"
                                                "05/12/2026, 10:02 - A: notes.txt (fichier joint)\n"
                                                "05/12/2026, 10:03 - A: here.jpg (x)\n")
    (tmp_path / "here.jpg").write_bytes(b"\xff\xd8\xff")
    (e,) = scan_exports(tmp_path).exports
    assert [(m.text, [r.named for r in m.media]) for m in e.messages] == [
        ("plan.pdf (see above)", []), ("", ["DOC-20261205-WA0001.pdf"]), ("", ["notes.txt"]), ("", ["here.jpg"])]


def test_a_telegram_html_export_is_recognised_and_said_not_read(tmp_path: Path) -> None:
    write(tmp_path, "ChatExport/messages.html", '<!DOCTYPE html>\n<html>\n<head>\n<title>Exported Data</title>\n'
                                                '</head><body><div class="page_wrap">...</div></body></html>')
    (tmp_path / "ChatExport" / "images").mkdir()
    (tmp_path / "ChatExport" / "images" / "back.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(8))
    (tmp_path / "ChatExport" / "photos").mkdir()
    (tmp_path / "ChatExport" / "photos" / "photo_1.jpg").write_bytes(b"\xff\xd8\xff")
    scan = scan_exports(tmp_path)
    assert [(p.path, "again as JSON" in p.error) for p in scan.problems] == [("ChatExport/messages.html", True)]
    assert scan.exports == () and [f.path for f in scan.files] == ["ChatExport/photos/photo_1.jpg"]


def test_telegram_times_before_telegram_or_beyond_any_zone_are_not_taken(tmp_path: Path) -> None:
    import json

    (tmp_path / "result.json").write_text(json.dumps({"name": "c", "type": "personal_chat", "id": 1, "messages": [
        {"id": 1, "type": "message", "date": "1970-01-01T00:00:00", "date_unixtime": "0", "from": "A", "text": "a"},
        {"id": 2, "type": "message", "date": "2026-12-05T10:00:00", "date_unixtime": "-1", "from": "A", "text": "b"},
        {"id": 3, "type": "message", "date": "2030-01-01T00:00:00", "date_unixtime": "1796457600", "from": "A",
         "text": "c"}]}))
    e = export(scan_exports(tmp_path), "result.json")
    messages = by_id(e)
    assert messages["1"].sent is not None and messages["1"].sent.at is None
    assert messages["2"].sent is not None and messages["2"].sent.at is None
    third = messages["3"].sent
    assert third is not None and third.at == "2026-12-05T08:00:00+00:00" and third.local is None
    notes = " ".join(u.note for u in e.unparsed)
    assert "before Telegram existed" in notes and "further apart than any time zone" in notes
    assert "UTC+4" not in " ".join(m.sent.zone_source for m in messages.values() if m.sent)
