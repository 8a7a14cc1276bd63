"""The messages and posts an export holds, and the files they carried, as typed values.

A `Message` is one message of a Telegram or WhatsApp export or one post a yt-dlp `.info.json`
describes; `MediaRef` is a file it names; `SentTime` says when it was sent and how sure the zone is.
Every path is relative to the folder scanned, with `/` between its parts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

from forensics.errors import ParameterError
from forensics.record_kinds import readable_version

RECORD_VERSION = 1  # the version `to_json` writes into a Message and a CarriedFile; bump on any change of fields

SourceKind = Literal["telegram", "whatsapp", "yt-dlp"]
MessageKind = Literal["message", "service", "system", "post"]
# What became of a file a message names: in the folder; named but not there; left out by the exporter
# (Telegram's "File not included", WhatsApp's "<Media omitted>"); named with a path that is not followed.
MediaState = Literal["present", "absent", "not-included", "omitted", "refused"]
LinkBasis = Literal["path", "same-bytes"]


@dataclass(frozen=True, slots=True)
class SentTime:
    """When a message was sent or a post published, and where its zone comes from."""

    at: str | None  # ISO 8601 with its offset ("2026-12-05T08:11:12+00:00") when the zone is known, else None
    local: str | None  # the time as the export writes it, as ISO 8601 without zone ("2026-12-05T10:11:12"); a date alone for yt-dlp's upload_date
    zone_source: str  # why `at` has the zone it has, or why there is none, in words
    written: str  # the time exactly as written in the export

    def to_json(self) -> dict[str, Any]:
        return {"at": self.at, "local": self.local, "zone_source": self.zone_source, "written": self.written}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SentTime:
        return cls(at=data["at"], local=data["local"], zone_source=data["zone_source"], written=data["written"])


@dataclass(frozen=True, slots=True)
class MediaRef:
    """A file a message names, and where it is in the folder scanned."""

    named: str  # the name as the export writes it ("photos/photo_1@05-12-2026_10-11-12.jpg", "IMG-20261205-WA0003.jpg")
    path: str | None  # relative to the folder scanned, when the name resolves to a place inside it
    role: str  # "photo", "file", "thumbnail", "attachment", "download"
    state: MediaState
    media_type: str | None = None  # as the export says: Telegram's media_type ("video_file", "voice_message"...)
    mime_type: str | None = None  # as the export says
    original_name: str | None = None  # the sender's own name of the file, where the export keeps it (Telegram's file_name)
    note: str | None = None  # why the file is not there, in the export's words or ours

    def to_json(self) -> dict[str, Any]:
        return {"named": self.named, "path": self.path, "role": self.role, "state": self.state,
                "media_type": self.media_type, "mime_type": self.mime_type, "original_name": self.original_name,
                "note": self.note}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MediaRef:
        return cls(named=data["named"], path=data["path"], role=data["role"], state=cast(MediaState, data["state"]),
                   media_type=data["media_type"], mime_type=data["mime_type"], original_name=data["original_name"],
                   note=data["note"])


@dataclass(frozen=True, slots=True)
class Message:
    """One message of a chat or channel, or one post on a platform (then `kind` is "post")."""

    source: SourceKind
    export: str  # the export file, relative to the folder scanned ("tg/result.json", "wa/_chat.txt")
    kind: MessageKind  # "service" (Telegram) and "system" (WhatsApp): written by the app, not a person
    chat: str | None  # chat, group or channel name; a platform channel for a post
    chat_id: str | None
    chat_type: str | None  # Telegram's ("personal_chat", "public_channel"...), yt-dlp's extractor ("Youtube")
    message_id: str | None  # Telegram's id, the platform's video id; None for WhatsApp, which numbers nothing
    line: int | None  # the line a WhatsApp message starts on (from 1); None elsewhere
    sender: str | None  # who sent it (a channel's name for its posts; Telegram's actor of a service message)
    sender_id: str | None
    author: str | None  # a channel post's signature
    sent: SentTime | None
    edited: SentTime | None
    forwarded_from: str | None
    reply_to: str | None  # the message_id this one answers
    title: str | None  # a post's title (yt-dlp)
    text: str
    url: str | None  # where the post is published (yt-dlp's webpage_url)
    links: tuple[str, ...]  # link targets in the text (Telegram's text_link entities and written links)
    media: tuple[MediaRef, ...]

    @property
    def where(self) -> str:
        """Gives where the message is in its export: "message 12", "line 40", "video dQw4w9"."""
        if self.line is not None:
            return f"line {self.line}"
        if self.message_id is not None:
            return f"{'video' if self.source == 'yt-dlp' else 'message'} {self.message_id}"
        return "(no id)"

    def to_json(self) -> dict[str, Any]:
        return {"record_version": RECORD_VERSION, "source": self.source, "export": self.export, "kind": self.kind,
                "chat": self.chat, "chat_id": self.chat_id, "chat_type": self.chat_type,
                "message_id": self.message_id, "line": self.line, "sender": self.sender, "sender_id": self.sender_id,
                "author": self.author, "sent": self.sent.to_json() if self.sent else None,
                "edited": self.edited.to_json() if self.edited else None, "forwarded_from": self.forwarded_from,
                "reply_to": self.reply_to, "title": self.title, "text": self.text, "url": self.url,
                "links": list(self.links), "media": [m.to_json() for m in self.media]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Message:
        """Gives the Message a `to_json` wrote; raises ParameterError for another version or a missing field."""
        readable_version(data, (RECORD_VERSION,), "message")
        try:
            return cls(source=data["source"], export=data["export"], kind=data["kind"], chat=data["chat"],
                       chat_id=data["chat_id"], chat_type=data["chat_type"], message_id=data["message_id"],
                       line=data["line"], sender=data["sender"], sender_id=data["sender_id"], author=data["author"],
                       sent=SentTime.from_json(data["sent"]) if data["sent"] else None,
                       edited=SentTime.from_json(data["edited"]) if data["edited"] else None,
                       forwarded_from=data["forwarded_from"], reply_to=data["reply_to"], title=data["title"],
                       text=data["text"], url=data["url"], links=tuple(data["links"]),
                       media=tuple(MediaRef.from_json(m) for m in data["media"]))
        except (KeyError, TypeError) as ex:
            raise ParameterError(f"a message record lacks a field or has one of the wrong type ({ex})") from ex


@dataclass(frozen=True, slots=True)
class Unparsed:
    """Something in an export that was not understood, and where."""

    where: str  # "line 12", "message 345", "chats.list[2]", "(file)"
    note: str

    def to_json(self) -> dict[str, Any]:
        return {"where": self.where, "note": self.note}


@dataclass(frozen=True, slots=True)
class Export:
    """One export found in the folder scanned, and what was read from it."""

    path: str  # the export file, relative to the folder scanned
    source: SourceKind
    form: str  # "telegram-chat", "telegram-account", "whatsapp-ios", "whatsapp-android", "yt-dlp-video"
    chat: str | None  # the chat the export is of, where it names one (several for a Telegram account: None)
    messages: tuple[Message, ...]
    unparsed: tuple[Unparsed, ...]  # at most a few hundred; the last one counts those left out
    notes: tuple[str, ...]  # how the export was read: the date order assumed, the zone given, a date order in doubt
    date_order: str | None = None  # WhatsApp: "d/m/y", "m/d/y" or "y/m/d"
    date_order_basis: str | None = None  # WhatsApp: "a day past 12", "the messages' order", "assumed" (ambiguous)

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "source": self.source, "form": self.form, "chat": self.chat,
                "messages": len(self.messages), "unparsed": [u.to_json() for u in self.unparsed],
                "notes": list(self.notes), "date_order": self.date_order, "date_order_basis": self.date_order_basis}


@dataclass(frozen=True, slots=True)
class Carrier:
    """A message that carried a file: by naming its path, or by naming a file with the same bytes."""

    message: Message
    named_path: str  # the file the message names, relative to the folder scanned
    by: LinkBasis  # "path": this file; "same-bytes": another path with the same SHA-256

    def to_json(self) -> dict[str, Any]:
        return {"by": self.by, "named_path": self.named_path, "message": self.message.to_json()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Carrier:
        return cls(message=Message.from_json(data["message"]), named_path=data["named_path"],
                   by=cast(LinkBasis, data["by"]))


@dataclass(frozen=True, slots=True)
class CarriedFile:
    """A file in the folder scanned and every message that carried it (none: no export names it)."""

    path: str  # relative to the folder scanned
    sha256: str  # "sha256:<64 hex>"
    size_bytes: int
    carriers: tuple[Carrier, ...]  # in the order of the exports and their messages
    same_bytes_as: tuple[str, ...]  # other files of the folder with these very bytes (the first ones, past a bound)
    same_bytes_left_out: int = 0  # messages carrying a copy of these bytes past the bound, counted, not listed

    def to_json(self) -> dict[str, Any]:
        return {"record_version": RECORD_VERSION, "path": self.path, "sha256": self.sha256,
                "size_bytes": self.size_bytes, "carriers": [c.to_json() for c in self.carriers],
                "same_bytes_as": list(self.same_bytes_as), "same_bytes_left_out": self.same_bytes_left_out}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CarriedFile:
        """Gives the CarriedFile a `to_json` wrote; raises ParameterError for another version or a missing field."""
        readable_version(data, (RECORD_VERSION,), "carried-file")
        try:
            return cls(path=data["path"], sha256=data["sha256"], size_bytes=data["size_bytes"],
                       carriers=tuple(Carrier.from_json(c) for c in data["carriers"]),
                       same_bytes_as=tuple(data["same_bytes_as"]), same_bytes_left_out=data["same_bytes_left_out"])
        except (KeyError, TypeError) as ex:
            raise ParameterError(f"a carried-file record lacks a field or has one of the wrong type ({ex})") from ex


@dataclass(frozen=True, slots=True)
class AbsentMedia:
    """A file an export names that the folder does not hold (or holds as something not followed)."""

    export: str
    chat: str | None  # the message's chat (an account's export holds many, each numbering its messages from 1)
    where: str  # the message, as Message.where says it
    named: str  # as the export writes it ("<Media omitted>" when the exporter left even the name out)
    path: str | None  # where it would be, relative to the folder scanned
    state: MediaState  # "absent", "not-included", "omitted" or "refused"
    note: str | None

    def to_json(self) -> dict[str, Any]:
        return {"export": self.export, "chat": self.chat, "where": self.where, "named": self.named, "path": self.path,
                "state": self.state, "note": self.note}


@dataclass(frozen=True, slots=True)
class ScanProblem:
    """A file of the folder scanned that could not be read, or that looked like an export and was not read."""

    path: str
    error: str

    def to_json(self) -> dict[str, str]:
        return {"path": self.path, "error": self.error}


@dataclass(frozen=True, slots=True)
class ExportScan:
    """What the exports in a folder say about the files beside them."""

    root: str  # the folder scanned, as given
    exports: tuple[Export, ...]
    files: tuple[CarriedFile, ...]  # every file an export names that is here, and every other media file
    absent: tuple[AbsentMedia, ...]
    unnamed: tuple[str, ...]  # media files no export names; empty when the folder holds no export
    problems: tuple[ScanProblem, ...]

    def carriers_of(self, path: str) -> tuple[Carrier, ...]:
        """Gives the messages that carried the file at `path` (relative to the root), () when none."""
        return next((f.carriers for f in self.files if f.path == path), ())

    def to_json(self) -> dict[str, Any]:
        return {"root": self.root, "exports": [e.to_json() for e in self.exports],
                "files": [f.to_json() for f in self.files], "absent": [a.to_json() for a in self.absent],
                "unnamed": list(self.unnamed), "problems": [p.to_json() for p in self.problems]}


