"""Telegram Desktop's JSON export (`result.json`): one chat or channel, or a whole account's chats.

Telegram Desktop writes `date` in the exporting computer's local time without a zone, and (since
2021) `date_unixtime`, the same instant as a UTC epoch: the message's time is taken from the latter,
and the difference between the two names the exporter's UTC offset. Media paths are relative to
the export's folder; a file the exporter did not download is written as a sentence in brackets
("(File not included. Change data exporting settings to download.)").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from forensics.messages.folder import ExportFolder
from forensics.messages.reading import UnparsedNotes
from forensics.messages.record import Export, MediaRef, Message, SentTime

# Fields read into a Message, and fields left out on purpose: sizes and shapes the media record
# reads from the file itself, and the app's own furniture (buttons, reactions).
_READ = frozenset({"id", "type", "date", "date_unixtime", "edited", "edited_unixtime", "from", "from_id", "actor",
                   "actor_id", "author", "forwarded_from", "saved_from", "reply_to_message_id", "text",
                   "text_entities", "photo", "file", "thumbnail", "media_type", "mime_type", "file_name", "action"})
_LEFT_OUT = frozenset({"width", "height", "photo_file_size", "file_size", "thumbnail_file_size", "duration_seconds",
                       "sticker_emoji", "inline_bot_buttons", "reactions", "via_bot", "performer", "title",
                       "reply_to_peer_id", "forwarded_from_id", "saved_from_id", "members", "message_id"})
_LINK_ENTITIES = frozenset({"link", "text_link", "email"})
_URL = re.compile(r"https?://[^\s<>\"]+")


def is_telegram(data: Any) -> bool:
    """Whether a JSON value has the shape of a Telegram Desktop export (a chat, or an account's chats)."""
    if not isinstance(data, Mapping):
        return False
    if isinstance(data.get("messages"), list) and ("type" in data or "name" in data) and "id" in data:
        return True
    chats = data.get("chats")
    return isinstance(chats, Mapping) and isinstance(chats.get("list"), list)


def read_telegram(data: Mapping[str, Any], *, export: str, folder: ExportFolder, notes: UnparsedNotes) -> Export:
    """Gives the messages of a Telegram Desktop JSON export, each with the files it names."""
    unread: dict[str, list[str]] = {}
    messages: list[Message] = []
    if isinstance(data.get("messages"), list):
        form, chat_name = "telegram-chat", _text_or_none(data.get("name"))
        messages += _chat_messages(data, "", export=export, folder=folder, notes=notes, unread=unread)
    else:
        form, chat_name = "telegram-account", None
        for part in ("chats", "left_chats"):
            section = data.get(part)
            chats = section.get("list") if isinstance(section, Mapping) else None
            for n, chat in enumerate(chats if isinstance(chats, list) else []):
                where = f"{part}.list[{n}]"
                if not isinstance(chat, Mapping) or not isinstance(chat.get("messages"), list):
                    notes.add(where, "a chat without a list of messages, not read")
                    continue
                messages += _chat_messages(chat, where + ".", export=export, folder=folder, notes=notes,
                                           unread=unread)
    for key, places in sorted(unread.items()):
        shown = ", ".join(places[:5]) + (f" and {len(places) - 5} more" if len(places) > 5 else "")
        notes.add(shown, f"field {key!r} not read")
    offsets = {m.sent.zone_source for m in messages if m.sent is not None and m.sent.at is not None}
    summary = sorted(offsets)[:3]  # more than one offset: the exporter's zone changed (summer time) over the chat
    return Export(export, "telegram", form, chat_name, tuple(messages), notes.notes(), tuple(summary))


def _chat_messages(chat: Mapping[str, Any], prefix: str, *, export: str, folder: ExportFolder,
                   notes: UnparsedNotes, unread: dict[str, list[str]]) -> list[Message]:
    name, chat_type = _text_or_none(chat.get("name")), _text_or_none(chat.get("type"))
    chat_id = _id(chat.get("id"))
    out = []
    for n, raw in enumerate(chat["messages"]):
        if not isinstance(raw, Mapping):
            notes.add(f"{prefix}messages[{n}]", f"a {type(raw).__name__} where a message was expected, not read")
            continue
        message_id = _id(raw.get("id"))
        where = f"message {message_id}" if message_id is not None else f"{prefix}messages[{n}]"
        for key in raw:
            if key not in _READ and key not in _LEFT_OUT:
                unread.setdefault(str(key), []).append(where)
        kind = raw.get("type", "message")
        if kind not in ("message", "service"):
            notes.add(where, f"a message of type {kind!r}, read as a message")
        sent = _time(raw.get("date"), raw.get("date_unixtime"), where, notes)
        edited = _time(raw.get("edited"), raw.get("edited_unixtime"), where, notes) if "edited" in raw else None
        text, found_links = _text(raw.get("text", raw.get("text_entities", "")), where, notes)
        sender, sender_id = _text_or_none(raw.get("from")), _text_or_none(raw.get("from_id"))
        if kind == "service":
            sender = sender or _text_or_none(raw.get("actor"))
            sender_id = sender_id or _text_or_none(raw.get("actor_id"))
            action = _text_or_none(raw.get("action"))
            text = f"{action}: {text}" if action and text else action or text
        reply = raw.get("reply_to_message_id")
        out.append(Message(
            source="telegram", export=export, kind="service" if kind == "service" else "message", chat=name,
            chat_id=chat_id, chat_type=chat_type, message_id=message_id, line=None, sender=sender,
            sender_id=sender_id, author=_text_or_none(raw.get("author")), sent=sent, edited=edited,
            forwarded_from=_text_or_none(raw.get("forwarded_from")) or _text_or_none(raw.get("saved_from")),
            reply_to=_id(reply) if reply is not None else None, title=None, text=text, url=None,
            links=tuple(found_links), media=_media(raw, where, folder, notes)))
    return out


def _media(raw: Mapping[str, Any], where: str, folder: ExportFolder, notes: UnparsedNotes) -> tuple[MediaRef, ...]:
    refs = []
    media_type, mime_type = _text_or_none(raw.get("media_type")), _text_or_none(raw.get("mime_type"))
    for field, role in (("photo", "photo"), ("file", "file"), ("thumbnail", "thumbnail")):
        if field not in raw:
            continue
        value = raw[field]
        if not isinstance(value, str):
            notes.add(where, f"{field} is a {type(value).__name__}, not a path; not read")
            continue
        kinds = {"photo": ("photo", mime_type),
                 "file": (media_type, mime_type), "thumbnail": ("thumbnail", None)}[role]
        original = _text_or_none(raw.get("file_name")) if role == "file" else None
        if value.startswith("(") and value.endswith(")"):  # "(File not included. Change data exporting settings...)"
            refs.append(MediaRef(value, None, role, "not-included", kinds[0], kinds[1], original,
                                 "the exporter did not download it: " + value.strip("()")))
        else:
            refs.append(folder.ref(value, role=role, media_type=kinds[0], mime_type=kinds[1], original_name=original))
    return tuple(refs)


def _time(local: Any, epoch: Any, where: str, notes: UnparsedNotes) -> SentTime | None:
    """Gives a message's time: UTC from the epoch, the local time as written, and the exporter's offset."""
    if local is None and epoch is None:
        notes.add(where, "no date")
        return None
    written = str(local) if local is not None else str(epoch)
    local_dt = None
    if isinstance(local, str):
        try:
            local_dt = datetime.fromisoformat(local)
        except ValueError:
            notes.add(where, f"date {local!r} is not a date")
    if local_dt is not None and local_dt.tzinfo is not None:
        local_dt = local_dt.replace(tzinfo=None)  # not what Telegram writes; read as the local time it shows
    at = None
    if epoch is not None:
        try:
            at = datetime.fromtimestamp(int(str(epoch)), UTC)
        except (ValueError, OverflowError, OSError):
            notes.add(where, f"date_unixtime {epoch!r} is not a time")
        if at is not None and at < _TELEGRAM_LAUNCH:
            notes.add(where, f"date_unixtime {epoch!r} is {at:%Y-%m-%d}, before Telegram existed: not a time")
            at = None
    if at is None:
        return SentTime(None, local_dt.isoformat() if local_dt else None,
                        "unknown: the local time of the computer that exported it (no date_unixtime)", written)
    zone = "date_unixtime (UTC)"
    if local_dt is not None and abs((local_dt - at.replace(tzinfo=None)).total_seconds()) > 14 * 3600 + 900:
        notes.add(where, f"date {local!r} and date_unixtime {epoch!r} are further apart than any time zone")
        local_dt = None
    if local_dt is not None:
        offset_min = round((local_dt - at.replace(tzinfo=None)).total_seconds() / 60)
        sign = "+" if offset_min >= 0 else "-"
        zone += f"; the exporting computer wrote its local times at UTC{sign}{abs(offset_min) // 60:02d}:{abs(offset_min) % 60:02d}"
    return SentTime(at.isoformat(), local_dt.isoformat() if local_dt else None, zone, written)


_TELEGRAM_LAUNCH = datetime(2013, 8, 14, tzinfo=UTC)


def _text(value: Any, where: str, notes: UnparsedNotes) -> tuple[str, list[str]]:
    """Gives a message's text and the links in it, from a string or Telegram's list of strings and entities."""
    if isinstance(value, str):
        return value, _URL.findall(value)
    if not isinstance(value, list):
        notes.add(where, f"text is a {type(value).__name__}, not read")
        return "", []
    parts, links = [], []
    for part in value:
        if isinstance(part, str):
            parts.append(part)
            links += _URL.findall(part)
        elif isinstance(part, Mapping) and isinstance(part.get("text", ""), str):
            parts.append(part.get("text", ""))
            if part.get("type") == "text_link" and isinstance(part.get("href"), str):
                links.append(part["href"])
            elif part.get("type") in _LINK_ENTITIES:
                links.append(part.get("text", ""))
        else:
            notes.add(where, f"a part of the text that is a {type(part).__name__}, left out")
    return "".join(parts), links


def _id(value: Any) -> str | None:
    return str(value) if isinstance(value, (int, str)) and not isinstance(value, bool) else None


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None
