"""Redaction of the exported case (document.ExportedCase): investigators' identities and device serials replaced by stable pseudonyms.

Actor names, host names, key ids (also where shown shortened), the case's bag-info
(the organisation that received the files and its address, contact names, e-mails and
phones, identifiers a sender gave), the folders files were received from, the
incident ids, ingest notes, and every device serial number (any tag whose name says
serial) become "actor-1", "host-1", "key-1", "organisation-1", "contact-1", "bag-info-1",
"source-1", "incident-1", "note-1", "export-1", "serial-1", "person-1" (a tag naming the
camera's owner, the photographer or an author) ... numbered in the order the custody log first shows them. The log
is append-only, so the same case gives the same pseudonyms in every later
export. Public keys and signatures are left out: either would identify the
signer. Digests and times are kept exactly, and so is the case id: a random UUID
that says nothing of who or where, by which the holder of the case finds it.

An incident id is the user's word for where or from whom files came (by default the
name of the folder they were received in, which is a source folder's name), so it
goes too: in every field that holds one, in the incident manifest's path, and where
verify's findings quote one. Unlike the other names it is not replaced inside other
text: ids such as "photo" or "video" (a folder's name) would turn evidence names,
media types and MIME types into pseudonyms, and the exports write an incident id
nowhere else.
"""

from __future__ import annotations

import base64
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
# Credits, rights, writers, contributors and composers name people as surely (IPTC 2:118 is the Contact, 2:122 the
# Writer-Editor, shown by number when the reader has no name for them).
_PERSON = re.compile(r"owner|artist|author|copyright|creator|by-?line|photographer|e-?mail|phone|sender|forwarded|"
                     r"uploader|chat_id|channel_id|channel_url|rights|writer|credit|contributor|composer|"
                     r"^2:118$|^2:122$", re.IGNORECASE)
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
# Fields whose values are the software's own words or the case's own paths (a media type, a MIME type, where an
# original is stored, by its digest): never a name, and a secret that happens to spell one ("image") must not
# change them, nor make the export unreadable.
_VOCABULARY = frozenset({"media_type", "mime", "stored_path"})
# Fields that hold an incident id (a log entry's, a receipt's, a problem's; the case's list of them; the bag's).
_INCIDENT_KEYS = ("incident", "incidents", "Incident-Identifier")
# Bag-info fields (RFC 8493) that describe the bag, not who made it: dates and sizes, kept as they are.
_BAG_FACTS = frozenset({"bagging-date", "bag-size", "payload-oxum", "bag-count", "bag-software-agent",
                        "custody-log-head"})
# The incident manifest's path (custody/manifest.py's manifest_name), which verify findings name.
_MANIFEST_PATH = re.compile(r"(?<![\w.-])(custody/manifests/)([A-Za-z0-9._-]{1,128})(\.json)(?![\w.-])")


class Pseudonyms:
    """Stable replacement names, one numbering per kind."""

    def __init__(self) -> None:
        self.by_kind: dict[str, dict[str, str]] = {}
        self.aliases: dict[str, str] = {}  # another spelling of a secret -> its pseudonym; not numbered, not counted

    def alias(self, spelling: str, pseudonym: str) -> None:
        """Replaces `spelling` too wherever the secret it spells is replaced, by the secret's pseudonym."""
        if spelling and not any(spelling in names for names in self.by_kind.values()):
            self.aliases.setdefault(spelling, pseudonym)

    def of(self, kind: str, value: str) -> str:
        names = self.by_kind.setdefault(kind, {})
        if value not in names:
            names[value] = f"{kind}-{len(names) + 1}"
        return names[value]

    def replacements(self) -> list[tuple[str, str]]:
        """Gives (secret, pseudonym) pairs to replace inside any text, longest secret first, so a name inside another
        is replaced after it. Incident ids are replaced only where a field holds one (see the module's docstring)."""
        pairs = [(secret, name) for kind, names in self.by_kind.items() if kind != "incident"
                 for secret, name in names.items() if secret]
        return sorted([*pairs, *self.aliases.items()], key=lambda p: -len(p[0]))


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
        if entry.incident:
            names.of("incident", entry.incident)
    for incident in case.incidents:
        names.of("incident", incident)
    # The contacts first, as earlier versions numbered them; then every other bag-info field, as the log gave it
    # (a case's description may have changed since it was made: the log keeps the earlier values too).
    for label in ("Contact-Name", "Contact-Email"):
        if case.bag_info.get(label):
            names.of("contact", case.bag_info[label])
    described = [entry.details.get("bag_info") for entry in case.custody_log if entry.details]
    for bag_info in [*described, case.bag_info]:
        # The organisation first: it is "organisation-1" whatever else describes it (the log sorts the labels).
        for label, value in sorted(bag_info.items() if isinstance(bag_info, Mapping) else (),
                                   key=lambda field: field[0] != "Source-Organization"):
            if isinstance(value, str) and value.strip() and (kind := _bag_info_kind(str(label))):
                # bag-info.txt holds it on one line, its spaces collapsed; verify quotes it so when the file differs.
                names.alias(" ".join(value.split()), names.of(kind, value))
    # Tags that name a person or a serial are found by their names wherever they are, in the order the
    # json export shows them: the numbering stays what earlier versions gave the same case.
    _collect_identifying(case.to_json(), names)
    keys = {key.split(":", 1)[-1]: name for key, name in names.by_kind.get("key", {}).items() if key}
    redactor = _Redactor(names, names.replacements(), keys)
    redacted = redactor.typed(replace(case, redaction=None))
    return replace(redacted, redaction=Redaction(
        pseudonyms={kind: len(v) for kind, v in names.by_kind.items()}, left_out=DROPPED,
        note="actor names, hosts, key ids (also shortened), the bag-info's organisation, contacts and identifiers, "
             "source folders, incident ids, ingest notes, device serial "
             "numbers, the people tags name (owner, artist, author, copyright), messages' senders, forwarders and "
             "chat or channel ids, phone numbers and @handles in their text, and home folders in paths are "
             "replaced by stable pseudonyms; digests and times are exact"))


def _bag_info_kind(label: str) -> str | None:
    """Gives the pseudonym kind of a bag-info field's value, or None for a field that only describes the bag."""
    name = label.lower()
    if name in _BAG_FACTS:
        return None
    if name == "incident-identifier":
        return "incident"
    if name.startswith("contact-"):
        return "contact"
    # Source-Organization, Organization-Address; any other field a user gave (External-Identifier, Internal-Sender-
    # Description, a field of their own) is theirs to describe the case by, and names them as surely.
    return "organisation" if "organization" in name else "bag-info"


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
        # A secret long enough to be replaced inside other text is found as it is spelled anywhere, and otherwise
        # cased or with its words otherwise joined where no letter or digit runs on either side of it: "acme relief
        # report.jpg", "ACME_Relief_scan.jpg" and "ACMERelief.jpg" name "ACME Relief" too, but "Mines.jpg" does not
        # name an actor "Ines".
        self.spelled = {secret: re.compile(r"(?<![^\W_])" + r"[\W_]*".join(map(re.escape, secret.split()))
                                           + r"(?![^\W_])", re.IGNORECASE)
                        for secret, _ in replacements if len(secret) >= MIN_SUBSTRING and secret.strip()}
        # An incident id quoted in text (verify's "Incident-Identifier is 'x', the log says 'y'") is that id.
        incidents = sorted(names.by_kind.get("incident", {}), key=len, reverse=True)
        either = "|".join(map(re.escape, incidents))
        self.quoted_incident = re.compile(r"(['\"])(" + either + r")\1") if incidents else None

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
        if key in _VOCABULARY:
            return value
        if key.endswith("_b64") and isinstance(value, str):
            return self._encoded(value, key.removesuffix("_b64"))
        if key in _INCIDENT_KEYS and isinstance(value, str) and value:
            return self.names.of("incident", value)
        kind = _kind_of(key)
        if kind and _is_serial_value(value):
            return self.names.of(kind, str(value))
        if isinstance(value, str) and key == "text":
            value = _TEXT_CONTACT.sub(lambda m: self.names.of("contact", m.group(0)), value)
        if isinstance(value, str) and not _DIGEST.match(value) and not _TIME.match(value):
            for secret, pseudonym in self.replacements:
                if secret in self.spelled:
                    value = self.spelled[secret].sub(pseudonym.replace("\\", r"\\"), value.replace(secret, pseudonym))
                elif value == secret:
                    value = pseudonym
                elif secret in value:
                    # A short secret (an actor "Bo", a host "vm") only as a whole word: inside other words it
                    # would mangle evidence names and tags that merely contain those letters.
                    value = re.sub(rf"(?<!\w){re.escape(secret)}(?!\w)", pseudonym, value)
            # After the names known: a source folder in a home folder is "source-1" whole, not "home-1/Downloads".
            value = _HOME_PATH.sub(lambda m: self.names.of("home", m.group(0)), value)
            value = _MANIFEST_PATH.sub(lambda m: m.group(1) + self.names.of("incident", m.group(2)) + m.group(3), value)
            if self.quoted_incident is not None:
                value = self.quoted_incident.sub(lambda m: m.group(1) + self.names.of("incident", m.group(2))
                                                 + m.group(1), value)
            return _shortened_keys(value, self.keys) if self.keys else value
        return value

    def _encoded(self, value: str, key: str) -> str:
        """Gives a name's exact bytes (base64, a name that was not UTF-8) redacted as the name beside them is: the
        bytes of its redacted text, the same bytes again where nothing in it was replaced."""
        try:
            raw = base64.b64decode(value, validate=True)
        except ValueError:
            return value
        text = raw.decode("utf-8", "surrogateescape")
        redacted = self.scalar(text, key)
        if redacted == text:
            return value
        return base64.b64encode(str(redacted).encode("utf-8", "surrogateescape")).decode("ascii")


def _shortened_keys(text: str, keys: Mapping[str, str]) -> str:
    """Replaces a key id shown by its first hex digits (MIN_KEY_PREFIX or more) by the key's pseudonym."""
    def named(found: re.Match[str]) -> str:
        run = found.group(0)
        return next((name for hexes, name in keys.items() if hexes.startswith(run)), run)

    return _HEX_RUN.sub(named, text)
