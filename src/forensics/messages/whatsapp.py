"""WhatsApp's chat export: `_chat.txt` (iOS) and `WhatsApp Chat with NAME.txt` (Android), with its attachments.

Each message starts a line with the phone's local date and time, in the phone's locale and without a
zone: `[05/12/2026, 10:11:12] Name: text` on iOS, `05/12/2026, 10:11 - Name: text` on Android,
dates day-first or month-first, years of 2 or 4 digits, 12-hour times with AM/PM (often after a
narrow no-break space, U+202F). Lines that start otherwise continue the message before. iOS puts
U+200E (left-to-right mark) before attachments and the app's own lines. The export says nothing of
forwards or replies, and names no chat: the chat's name is taken from the file's or folder's name.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from forensics.messages.folder import ExportFolder
from forensics.messages.reading import UnparsedNotes
from forensics.messages.record import Export, MediaRef, Message, MessageKind, SentTime

MAX_LINE_BYTES = 64 * 1024  # a longer line is read in pieces, each a line of its own
MAX_TEXT_CHARS = 64 * 1024  # a message's text past this is cut, with a note

_DATE = r"(?P<date>(?P<a>\d{1,4})[./-](?P<b>\d{1,2})[./-](?P<c>\d{1,4}))"
_TIME = (r"(?P<time>(?P<h>\d{1,2})[:.](?P<m>\d{2})(?:[:.](?P<s>\d{2}))?"
         r"(?:[\s\u202f\u00a0]*(?P<ampm>[AaPp]\.?\s?[Mm]\.?))?)")
IOS_LINE = re.compile(rf"\[{_DATE},?\s{_TIME}\]\s(?P<rest>.*)", re.DOTALL)
ANDROID_LINE = re.compile(rf"{_DATE},?\s{_TIME}\s[-\u2013]\s(?P<rest>.*)", re.DOTALL)
_MARKS = "\u200e\u200f\ufeff\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_SENDER = re.compile(r"(?P<name>[^:\n]{1,120}?): (?P<text>.*)", re.DOTALL)
_IOS_ATTACHED = re.compile(r"<(?P<label>[^<>:]{1,40}):\s*(?P<name>[^<>]+)>")
_ANDROID_ATTACHED = re.compile(r"(?P<name>[^\s()/][^()/]*?\.\w{1,5}) \((?P<label>[^()]{1,40})\)")
# How the app names what it saves (iOS: 00000012-PHOTO-2026-12-05-10-11-12.jpg; Android: IMG-20261205-WA0003.jpg).
_APP_NAME = re.compile(r"\d{8}-[A-Z]+-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}\.\w+|[A-Z]{3}-\d{8}-WA\d{4,}\.\w+")
# The words the app puts around an attachment, in the locales seen; another locale's word counts when the
# file is in the folder or has the app's kind of name.
_ATTACHED_WORDS = frozenset({"attached", "file attached", "anhang", "datei angehängt", "adjunto", "archivo adjunto",
                             "anexo", "arquivo anexado", "allegato", "file allegato", "pièce jointe", "fichier joint",
                             "вложение", "файл прикреплён", "ek", "dosya ekli", "załącznik", "załączony plik",
                             "bijlage", "bestand bijgevoegd", "مرفق", "ملف مرفق", "файл додано", "вкладення"})
_OMITTED = re.compile(r"<?(media|image|video|audio|sticker|gif|document|contact card|media file) omitted>?$", re.IGNORECASE)
_DELETED = ("This message was deleted", "You deleted this message")
_URL = re.compile(r"https?://[^\s<>\"]+")
_CHAT_NAME = re.compile(r"WhatsApp Chat (?:with|-) (?P<name>.+?)(?:\.txt)?$")


def header(line: str) -> tuple[str, re.Match[str]] | None:
    """Gives ("ios" or "android", the match) when a line starts a WhatsApp message, else None."""
    stripped = line.lstrip(_MARKS)
    found = IOS_LINE.match(stripped)
    if found:
        return "ios", found
    found = ANDROID_LINE.match(stripped)
    return ("android", found) if found else None


def looks_like_whatsapp(head: str) -> bool:
    """Whether the first lines of a text are WhatsApp messages (a line of the first five non-empty ones starts one)."""
    lines = [line for line in head.split("\n")[:50] if line.strip()][:5]
    return any(header(line) for line in lines)


@dataclass(slots=True)
class _Entry:
    line: int
    form: str
    date: tuple[str, str, str]
    clock: tuple[int, int, int, str | None]
    written: str
    rest: str
    more: list[str] = field(default_factory=list)
    size: int = 0


def read_whatsapp(fd: int, *, export: str, folder: ExportFolder, notes: UnparsedNotes, zone: ZoneInfo | None = None,
                  date_order: str | None = None) -> Export:
    """Gives the messages of a WhatsApp chat export read from `fd` (closed here), each with the file it names.

    `zone` (an IANA zone) makes the local times absolute; without it they stay local, zone unknown.
    `date_order` ("d/m/y", "m/d/y", "y/m/d") overrides the order inferred from the dates.
    """
    entries: list[_Entry] = []
    bad_text = 0
    with os.fdopen(fd, "rb") as fh:
        number = 0
        while True:
            raw = fh.readline(MAX_LINE_BYTES)
            if not raw:
                break
            number += 1
            if len(raw) == MAX_LINE_BYTES and not raw.endswith(b"\n"):
                notes.add(f"line {number}", f"longer than {MAX_LINE_BYTES} bytes: read in pieces")
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError:
                line = raw.decode("utf-8", "replace")
                bad_text += 1
                if bad_text <= 20:
                    notes.add(f"line {number}", "bytes that are not UTF-8, read as U+FFFD")
            line = line.rstrip("\r\n")
            started = header(line)
            if started is not None:
                form, found = started
                clock = (int(found["h"]), int(found["m"]), int(found["s"] or 0), found["ampm"])
                entries.append(_Entry(number, form, (found["a"], found["b"], found["c"]), clock,
                                      f"{found['date']}, {found['time']}", found["rest"], size=len(found["rest"])))
            elif entries:
                last = entries[-1]
                if last.size + len(line) <= MAX_TEXT_CHARS:
                    last.more.append(line)
                    last.size += len(line) + 1
                elif last.size <= MAX_TEXT_CHARS:
                    notes.add(f"line {last.line}", f"a message longer than {MAX_TEXT_CHARS} characters: cut there")
                    last.size = MAX_TEXT_CHARS + 1
            elif line.strip():
                notes.add(f"line {number}", "not a message, and no message before it to continue")
    if bad_text > 20:
        notes.add("(file)", f"{bad_text - 20} more lines with bytes that are not UTF-8")
    order, basis, said = _date_order(entries, date_order)
    forms = {e.form for e in entries}
    form = "whatsapp-ios" if forms == {"ios"} else "whatsapp-android" if forms == {"android"} else "whatsapp-mixed"
    chat = _chat_name(export)
    messages = [_message(e, order, zone, export=export, chat=chat, folder=folder, notes=notes) for e in entries]
    told = [said]
    if zone is not None:
        told.append(f"times read in the zone given, {zone.key}")
    else:
        told.append("times are the phone's local time; the export names no zone")
    if chat is None:
        told.append("the chat is not named: the file's name is not WhatsApp's")
    return Export(export, "whatsapp", form, chat, tuple(messages), notes.notes(), tuple(told), order, basis)


def _date_order(entries: list[_Entry], given: str | None) -> tuple[str, str, str]:
    """Gives the date order, what decided it ("given", "a day past 12", "a four-digit year first",
    "the messages' order", "assumed") and a sentence saying so."""
    if given is not None:
        return given, "given", f"dates read as {given}, as given"
    if any(len(e.date[0]) == 4 for e in entries):
        return "y/m/d", "a four-digit year first", "dates read as y/m/d (the year is written first)"
    first_big = any(int(e.date[0]) > 12 for e in entries)
    second_big = any(int(e.date[1]) > 12 for e in entries)
    if first_big and not second_big:
        return "d/m/y", "a day past 12", "dates read as d/m/y: a first field past 12 can only be a day"
    if second_big and not first_big:
        return "m/d/y", "a day past 12", "dates read as m/d/y: a second field past 12 can only be a day"
    twelve_hour = any(e.clock[3] for e in entries)
    assumed = "m/d/y" if twelve_hour else "d/m/y"
    if first_big and second_big:
        return assumed, "assumed", (f"dates in doubt: fields past 12 stand first and second, so the file mixes "
                                    f"orders; read as {assumed}, check each date")
    fits = [order for order in ("d/m/y", "m/d/y") if _in_order(entries, order)]
    if len(fits) == 1:
        return fits[0], "the messages' order", (f"dates read as {fits[0]}: no field is past 12, and only in this "
                                                "order do the messages run forward in time")
    why = "12-hour times, as in the US" if twelve_hour else "24-hour times"
    return assumed, "assumed", (f"dates ambiguous: no day is past 12, so day and month cannot be told apart; "
                                f"read as {assumed} ({why}); the other order is as likely, check with the sender")


def _in_order(entries: list[_Entry], order: str) -> bool:
    last = None
    for e in entries:
        when = _local(e, order)
        if when is None:
            return False
        if last is not None and when < last:
            return False
        last = when
    return True


def _local(e: _Entry, order: str) -> datetime | None:
    a, b, c = e.date
    year, month, day = ((int(a), int(b), int(c)) if order == "y/m/d" else (int(c), int(b), int(a)) if order == "d/m/y"
                        else (int(c), int(a), int(b)))
    if year < 100:
        year += 2000
    hour, minute, second, ampm = e.clock
    if ampm:
        if hour > 12 or hour == 0:
            return None
        hour = hour % 12 + (12 if ampm.lower().startswith("p") else 0)
    try:
        return datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None


def _message(e: _Entry, order: str, zone: ZoneInfo | None, *, export: str, chat: str | None, folder: ExportFolder,
             notes: UnparsedNotes) -> Message:
    local = _local(e, order)
    if local is None:
        notes.add(f"line {e.line}", f"{e.written!r} is not a date and time read as {order}")
        sent = None
    elif zone is not None:
        sent = SentTime(local.replace(tzinfo=zone).isoformat(), local.isoformat(), f"given by the caller: {zone.key}",
                        e.written)
    else:
        sent = SentTime(None, local.isoformat(), "unknown: WhatsApp writes the phone's local time without a zone",
                        e.written)
    found = _SENDER.fullmatch(e.rest)
    sender = found["name"].strip(_MARKS + " ") if found else None
    first = found["text"] if found else e.rest
    kind: MessageKind = "message" if found else "system"
    media: tuple[MediaRef, ...] = ()
    shown = first.strip(_MARKS + " ")
    attached = _IOS_ATTACHED.fullmatch(shown) or _ANDROID_ATTACHED.fullmatch(shown)
    if attached and not _is_attachment(attached["label"], attached["name"].strip(_MARKS + " "), folder):
        attached = None
    if attached:
        media = (folder.ref(attached["name"].strip(_MARKS + " "), role="attachment"),)
        first = ""
    elif _OMITTED.match(shown):
        media = (MediaRef(shown, None, "attachment", "omitted", note="exported without media"),)
        first = ""
    elif found and first.startswith("\u200e") and not shown.startswith(_DELETED):
        kind = "system"  # iOS writes the app's own lines under the chat's name, behind a left-to-right mark
        sender = None
        first = shown
    text = "\n".join([first, *e.more]).strip("\n") if e.more else first
    return Message(source="whatsapp", export=export, kind=kind, chat=chat, chat_id=None, chat_type=None,
                   message_id=None, line=e.line, sender=sender, sender_id=None, author=None, sent=sent, edited=None,
                   forwarded_from=None, reply_to=None, title=None, text=text, url=None,
                   links=tuple(_URL.findall(text)), media=media)


def _is_attachment(label: str, name: str, folder: ExportFolder) -> bool:
    """Whether `<label: name>` or `name (label)` is the app's attachment line, not a person's words of that shape."""
    if label.strip(_MARKS + " ").lower() in _ATTACHED_WORDS or _APP_NAME.fullmatch(name):
        return True
    path, _refused = folder.resolve(name)
    return path is not None and path in folder.entries


def _chat_name(export: str) -> str | None:
    """Gives the chat's name from the export's file name (Android) or its folder's (iOS, unzipped)."""
    parts = export.split("/")
    for part in (parts[-1], *reversed(parts[:-1])):
        found = _CHAT_NAME.fullmatch(part)
        if found:
            return found["name"]
    return None
