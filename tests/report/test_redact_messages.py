"""`forensics export --redact` of a case holding messenger exports: the people in them do not leak."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from forensics.incident import ingest
from forensics.report.export import write_export

SECRETS = ("Olena Kovalenko", "user987654321", "987654321", "+380671234567", "@olena_k", "Petro Forwarder",
           "UCsecretchannel", "jane.investigator")


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    from forensics.custody.signing import new_key

    root = tmp_path_factory.mktemp("redact")
    tree = root / "received"
    (tree / "tg" / "photos").mkdir(parents=True)
    (tree / "yt").mkdir()
    photo = Path(__file__).parents[2] / "fixtures" / "incident" / "photo" / "IMG_0001.jpg"
    (tree / "tg" / "photos" / "p.jpg").write_bytes(photo.read_bytes())
    (tree / "tg" / "result.json").write_text(json.dumps(
        {"name": "Olena Kovalenko", "type": "personal_chat", "id": 987654321, "messages": [
            {"id": 7, "type": "message", "date": "2026-12-05T10:00:00", "date_unixtime": "1796457600",
             "from": "Olena Kovalenko", "from_id": "user987654321", "forwarded_from": "Petro Forwarder",
             "photo": "photos/p.jpg", "text": "call +380671234567 or @olena_k; on 2026-12-05 at 10:00"}]}))
    (tree / "yt" / "v.jpg").write_bytes(b"\xff\xd8" + photo.read_bytes()[2:])
    (tree / "yt" / "v.info.json").write_text(json.dumps(
        {"id": "v1", "title": "strike", "uploader": "Olena Kovalenko", "channel_id": "UCsecretchannel",
         "channel_url": "https://www.youtube.com/channel/UCsecretchannel", "webpage_url": "https://e.org/v1",
         "extractor": "youtube", "_filename": "/home/jane.investigator/Downloads/v.jpg", "timestamp": 1796457600}))
    key = new_key("Ines", root / "ines.key")
    return Path(ingest([tree], root / "case", key=key).case), key


@pytest.mark.parametrize("fmt", ["json", "csv", "case-uco"])
def test_a_redacted_export_names_no_sender_chat_id_phone_handle_or_home_folder(case, fmt, tmp_path):
    path, key = case
    _exported, plain = write_export(path, key, fmt=fmt, out_path=tmp_path / f"plain.{fmt}")
    _exported, redacted = write_export(path, key, fmt=fmt, redacted=True, out_path=tmp_path / f"redacted.{fmt}")
    text, shown = redacted.decode("utf-8"), plain.decode("utf-8")
    assert "Olena Kovalenko" in shown  # the plain export has them: the test sees what it checks
    for secret in SECRETS:
        assert secret not in text, (fmt, secret)
    if fmt != "csv":
        assert "2026-12-05 at 10:00" in text  # a date in the text is not a phone number
