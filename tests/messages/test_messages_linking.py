"""scan_exports on the fixture tree: each file linked to the messages that carried it, item by item."""

from __future__ import annotations

import json
from pathlib import Path

import make_exports as fx
import pytest

from forensics.messages import CarriedFile, ExportScan, Message, scan_exports


def carriers(scan: ExportScan, path: str) -> list[tuple[str, str, str, str]]:
    return [(c.by, c.named_path, c.message.source, c.message.where) for c in scan.carriers_of(path)]


def test_every_export_is_found_by_its_content(scan: ExportScan) -> None:
    assert [(e.path, e.form) for e in scan.exports] == [
        (f"{fx.TG_CHAT}/result.json", "telegram-chat"),
        (f"{fx.TG_ACCOUNT}/result.json", "telegram-account"),
        (f"{fx.WA_IOS}/_chat.txt", "whatsapp-ios"),
        (fx.WA_ANDROID_CHAT, "whatsapp-android"),
        (fx.YT_INFO, "yt-dlp-video"),
    ]
    assert scan.problems == ()


def test_each_media_file_gets_the_messages_that_carried_it(scan: ExportScan) -> None:
    assert carriers(scan, fx.TG_VOICE) == [("path", fx.TG_VOICE, "telegram", "message 4")]
    assert carriers(scan, fx.TG_THUMB) == [("path", fx.TG_THUMB, "telegram", "message 3")]
    assert carriers(scan, fx.WA_ANDROID_PHOTO) == [("path", fx.WA_ANDROID_PHOTO, "whatsapp", "line 2")]
    assert carriers(scan, fx.WA_ANDROID_VIDEO) == [("path", fx.WA_ANDROID_VIDEO, "whatsapp", "line 4")]
    assert carriers(scan, fx.YT_VIDEO) == [("path", fx.YT_VIDEO, "yt-dlp", "video a1B2c3D4e5F")]
    assert [c.message.media[1].role for c in scan.carriers_of(fx.YT_THUMB)] == ["thumbnail"]
    assert {f.path for f in scan.files} == {
        fx.TG_PHOTO, fx.TG_VIDEO, fx.TG_THUMB, fx.TG_VOICE, fx.TG_CHANNEL_VIDEO, fx.WA_IOS_PHOTO, fx.WA_ANDROID_PHOTO,
        fx.WA_ANDROID_VIDEO, fx.YT_VIDEO, fx.YT_THUMB, fx.UNNAMED_PHOTO}


def test_the_same_bytes_received_twice_keep_both_contexts(scan: ExportScan) -> None:
    # The video forwarded from the channel into the group: two paths, one content, both messages on each.
    assert carriers(scan, fx.TG_VIDEO) == [("path", fx.TG_VIDEO, "telegram", "message 3"),
                                          ("same-bytes", fx.TG_CHANNEL_VIDEO, "telegram", "message 2")]
    assert carriers(scan, fx.TG_CHANNEL_VIDEO) == [("path", fx.TG_CHANNEL_VIDEO, "telegram", "message 2"),
                                                  ("same-bytes", fx.TG_VIDEO, "telegram", "message 3")]
    # The photo sent in Telegram and again in WhatsApp.
    assert carriers(scan, fx.TG_PHOTO) == [("path", fx.TG_PHOTO, "telegram", "message 2"),
                                          ("same-bytes", fx.WA_IOS_PHOTO, "whatsapp", "line 3")]
    photo = next(f for f in scan.files if f.path == fx.TG_PHOTO)
    assert photo.same_bytes_as == (fx.WA_IOS_PHOTO,) and photo.sha256.startswith("sha256:")
    channel_post = scan.carriers_of(fx.TG_VIDEO)[1].message
    assert (channel_post.chat, channel_post.chat_type, channel_post.sender, channel_post.author) == (
        "Kharkiv Live", "public_channel", "Kharkiv Live", "Editor M.")


def test_absent_not_included_and_omitted_media_are_listed(scan: ExportScan) -> None:
    assert [(a.export, a.where, a.state, a.path) for a in scan.absent] == [
        (f"{fx.TG_CHAT}/result.json", "message 5", "not-included", None),
        (f"{fx.WA_IOS}/_chat.txt", "line 7", "absent", fx.WA_IOS_MISSING),
        (f"{fx.WA_IOS}/_chat.txt", "line 8", "omitted", None),
        (fx.WA_ANDROID_CHAT, "line 5", "omitted", None),
    ]
    assert "Change data exporting settings" in (scan.absent[0].note or "")


def test_media_no_export_names_is_listed_and_export_files_are_not_media(scan: ExportScan) -> None:
    assert scan.unnamed == (fx.UNNAMED_PHOTO,)
    assert scan.carriers_of(fx.UNNAMED_PHOTO) == ()


def test_a_folder_without_exports_lists_no_unnamed_media(export_tree: Path) -> None:
    loose = scan_exports(export_tree / "loose")
    assert loose.exports == () and loose.unnamed == () and [f.path for f in loose.files] == ["IMG_4411.jpg"]


def test_paths_are_relative_to_the_folder_scanned(export_tree: Path) -> None:
    part = scan_exports(export_tree / "whatsapp")
    assert [e.path for e in part.exports] == ["WhatsApp Chat - Relief team/_chat.txt", "android/WhatsApp Chat with Ahmad.txt"]
    assert carriers(part, "android/IMG-20261205-WA0003.jpg") == [
        ("path", "android/IMG-20261205-WA0003.jpg", "whatsapp", "line 2")]


def test_records_go_to_json_and_back(scan: ExportScan) -> None:
    for item in scan.files:
        data = json.loads(json.dumps(item.to_json()))
        assert CarriedFile.from_json(data) == item
    message = scan.exports[0].messages[2]
    assert Message.from_json(message.to_json()) == message
    with pytest.raises(Exception, match="version"):
        Message.from_json({**message.to_json(), "record_version": 99})
    json.dumps(scan.to_json())


def test_the_tree_is_the_same_on_every_run(export_tree: Path, tmp_path: Path) -> None:
    again = fx.generate(tmp_path)
    listed = dict(line.split("  ", 1)[::-1] for line in (export_tree / "SHA256SUMS").read_text().splitlines())
    assert again == listed


def test_a_listing_of_stored_copies_under_their_received_names_scans_as_the_folder(export_tree: Path,
                                                                                  tmp_path: Path) -> None:
    """How a case scans: its stored copies (named by digest elsewhere) under the names they were received by, with
    the digests it holds; the same links as the folder, and a digest given is not worked out again."""
    import hashlib
    import os

    from forensics.messages.scan import Listed, scan_listing

    store = tmp_path / "store"
    store.mkdir()
    listing = {}
    for path in sorted(p for p in export_tree.rglob("*") if p.is_file() and not p.is_symlink()):
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        stored = store / digest
        stored.write_bytes(data)
        # A stand-in digest for the photos (one per distinct content, as a real one) shows the listing's is used.
        known = "sha256:" + (hashlib.sha256(b"stand-in" + data).hexdigest() if path.suffix == ".jpg" else digest)
        listing[path.relative_to(export_tree).as_posix()] = Listed(os.fspath(stored), known, len(data))
    from_folder = scan_exports(export_tree)
    from_listing = scan_listing(listing, root="case")
    def links(scan: ExportScan) -> dict[str, list[tuple[str, str, str]]]:
        return {f.path: sorted((c.message.export, c.message.where, c.by) for c in f.carriers) for f in scan.files}
    assert links(from_listing) == links(from_folder) and links(from_folder)
    assert [a.named for a in from_listing.absent] == [a.named for a in from_folder.absent]
    assert from_listing.unnamed == from_folder.unnamed
    photos = {f.path: f.sha256 for f in from_listing.files if f.path.endswith(".jpg")}
    assert photos and all(digest == "sha256:" + hashlib.sha256(b"stand-in" + (export_tree / path).read_bytes())
                          .hexdigest() for path, digest in photos.items())
