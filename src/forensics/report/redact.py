"""Redaction of the exported case (document.ExportedCase): investigators' identities and device serials replaced by stable pseudonyms.

Actor names, host names, key ids (also where shown shortened), contact names and
e-mails, the folders files were received from, ingest notes, and every device serial
number (any tag whose name says serial) become "actor-1", "host-1", "key-1",
"contact-1", "source-1", "note-1", "export-1", "serial-1", "person-1" (a tag naming the
camera's owner, the photographer or an author) ... numbered in the order the custody log first shows them. The log
is append-only, so the same case gives the same pseudonyms in every later
export. Public keys and signatures are left out: either would identify the
signer. Digests and times are kept exactly.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import fields, is_dataclass, replace
from typing import Any

from forensics.media.metadata.record import MediaRecord
from forensics.messages.case_records import ExportRecord
from forensics.messages.record import Carrier
from forensics.report.document import ExportedCase, Redaction

_SERIAL = re.compile(r"serial|0xc62f", re.IGNORECASE)  # 0xC62F: the DNG CameraSerialNumber, unnamed by exifread
# Tags that name or reach a person (the camera's owner, the photographer, an author): a witness, often.
# A message's sender, its forwarder and their ids are people too (a source, often), and so is a post's uploader.
# So are a chat's and a channel's ids (a private chat's id is the other person's account) and the channel's link.
_PERSON = re.compile(r"owner|artist|author|copyright|creator|by-?line|photographer|e-?mail|phone|sender|forwarded|"
                     r"uploader|chat_id|channel_id|channel_url", re.IGNORECASE)
# In a message's text: phone numbers and @handles reach a person as surely as a name does.
_TEXT_CONTACT = re.compile(r"(?<![\w+])\+\d[\d ()-]{6,}\d(?!\w)|(?<!\w)\d{9,}(?!\w)|(?<![\w@])@[A-Za-z0-9_]{3,}")
# A path on someone's machine (a downloader's home folder, as yt-dlp writes it) names that person.
_HOME_PATH = re.compile(r"^(?:/home/|/Users/|[A-Za-z]:[\\/](?:Users|Documents and Settings)[\\/])[^/\\]+",
                        re.IGNORECASE)
_DIGEST = re.compile(r"^(sha256:|sha512:)?[0-9a-f]{64}([0-9a-f]{64})?$")
_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?$")
DROPPED = ("public_key", "signature")
_THROUGH_JSON = (MediaRecord, Carrier, ExportRecord)  # records whose JSON keys name what their values are
MIN_SUBSTRING = 4  # characters a secret needs to be replaced anywhere inside longer text; shorter: as a whole word
MIN_KEY_PREFIX = 8  # hex digits of a key id that identify it when shown shortened ("ed25519:f46d67da…")
_HEX_RUN = re.compile(r"[0-9a-f]{%d,}" % MIN_KEY_PREFIX)  # noqa: UP031 - plainer than an f-string's {{{...},}}


class Pseudonyms:
    """Stable replacement names, one numbering per kind."""

    def __init__(self) -> None:
        self.by_kind: dict[str, dict[str, str]] = {}

    def of(self, kind: str, value: str) -> str:
        names = self.by_kind.setdefault(kind, {})
        if value not in names:
            names[value] = f"{kind}-{len(names) + 1}"
        return names[value]

    def replacements(self) -> list[tuple[str, str]]:
        """Gives (secret, pseudonym) pairs, longest secret first, so a name inside another is replaced after it."""
        pairs = [(secret, name) for names in self.by_kind.values() for secret, name in names.items() if secret]
        return sorted(pairs, key=lambda p: -len(p[0]))


def redact(case: ExportedCase) -> ExportedCase:
    """Gives a copy of the exported case with identities replaced, marked as redacted."""
    names = Pseudonyms()
    # Numbered in log order first, so pseudonyms do not depend on where else a name appears.
    for entry in case.custody_log:
        names.of("actor", entry.actor)
        names.of("host", entry.host)
        names.of("key", entry.key_id)
        details = entry.details or {}
        for folder in [details.get("source_root"), *(details.get("sources") or ())]:
            if isinstance(folder, str):
                names.of("source", folder)
        if entry.action == "exported":
            for obj in entry.objects:
                names.of("export", str(obj.get("path")))
        # An investigator's note is their own words: who sent what, from where. It is withheld whole.
        if isinstance(details.get("note"), str) and details["note"]:
            names.of("note", details["note"])
    for label in ("Contact-Name", "Contact-Email"):
        if case.bag_info.get(label):
            names.of("contact", case.bag_info[label])
    # Tags that name a person or a serial are found by their names wherever they are, in the order the
    # json export shows them: the numbering stays what earlier versions gave the same case.
    _collect_identifying(case.to_json(), names)
    keys = {key.split(":", 1)[-1]: name for key, name in names.by_kind.get("key", {}).items() if key}
    redactor = _Redactor(names, names.replacements(), keys)
    redacted = redactor.typed(replace(case, redaction=None))
    return replace(redacted, redaction=Redaction(
        pseudonyms={kind: len(v) for kind, v in names.by_kind.items()}, left_out=DROPPED,
        note="actor names, hosts, key ids (also shortened), contacts, source folders, ingest notes, device serial "
             "numbers, the people tags name (owner, artist, author, copyright), messages' senders, forwarders and "
             "chat or channel ids, phone numbers and @handles in their text, and home folders in paths are "
             "replaced by stable pseudonyms; digests and times are exact"))


def _collect_identifying(value: Any, names: Pseudonyms, key: str = "") -> None:
    if isinstance(value, Mapping):
        for k, v in value.items():
            _collect_identifying(v, names, str(k))
    elif isinstance(value, list):
        for v in value:
            _collect_identifying(v, names, key)
    elif (kind := _kind_of(key)) and _is_serial_value(value):
        names.of(kind, str(value))


def _kind_of(key: str) -> str | None:
    """Gives the pseudonym kind a tag of this name holds ("serial", "person"), or None."""
    return "serial" if _SERIAL.search(key) else "person" if _PERSON.search(key) else None


def _is_serial_value(value: Any) -> bool:
    # Maker notes give some serials as numbers; a flag or an empty tag is no serial.
    return isinstance(value, (str, int, float)) and not isinstance(value, bool) and str(value).strip() != ""


class _Redactor:
    """Replaces identities in typed values and in the JSON values they hold (tags, log details)."""

    def __init__(self, names: Pseudonyms, replacements: list[tuple[str, str]], keys: Mapping[str, str]) -> None:
        self.names, self.replacements, self.keys = names, replacements, keys

    def typed(self, value: Any, key: str = "") -> Any:
        """Gives `value` (a dataclass, a record, or JSON values) with identities replaced, of the same type."""
        if isinstance(value, _THROUGH_JSON):
            # A step's record is redacted in its own JSON, whose keys (tag names, "sender") say what a value is;
            # its reader gives the typed value back.
            return type(value).from_json(self.typed(value.to_json(), key))
        if is_dataclass(value) and not isinstance(value, type):
            return replace(value, **{f.name: "" if f.name in DROPPED else self.typed(getattr(value, f.name), f.name)
                                     for f in fields(value) if f.init})
        if isinstance(value, Mapping):
            return {k: self.typed(v, str(k)) for k, v in value.items() if k not in DROPPED}
        if isinstance(value, (list, tuple)):
            return type(value)(self.typed(v, key) for v in value)
        return self.scalar(value, key)

    def scalar(self, value: Any, key: str) -> Any:
        kind = _kind_of(key)
        if kind and _is_serial_value(value):
            return self.names.of(kind, str(value))
        if isinstance(value, str) and key == "text":
            value = _TEXT_CONTACT.sub(lambda m: self.names.of("contact", m.group(0)), value)
        if isinstance(value, str) and not _DIGEST.match(value) and not _TIME.match(value):
            for secret, pseudonym in self.replacements:
                if value == secret or (len(secret) >= MIN_SUBSTRING and secret in value):
                    value = value.replace(secret, pseudonym)
                elif secret in value:
                    # A short secret (an actor "Bo", a host "vm") only as a whole word: inside other words it
                    # would mangle evidence names and tags that merely contain those letters.
                    value = re.sub(rf"(?<!\w){re.escape(secret)}(?!\w)", pseudonym, value)
            # After the names known: a source folder in a home folder is "source-1" whole, not "home-1/Downloads".
            value = _HOME_PATH.sub(lambda m: self.names.of("home", m.group(0)), value)
            return _shortened_keys(value, self.keys) if self.keys else value
        return value


def _shortened_keys(text: str, keys: Mapping[str, str]) -> str:
    """Replaces a key id shown by its first hex digits (MIN_KEY_PREFIX or more) by the key's pseudonym."""
    def named(found: re.Match[str]) -> str:
        run = found.group(0)
        return next((name for hexes, name in keys.items() if hexes.startswith(run)), run)

    return _HEX_RUN.sub(named, text)
