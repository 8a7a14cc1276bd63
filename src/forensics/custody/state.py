"""What a case holds, as the custody log says: the projection every other record is checked against."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from forensics.custody.log import LogEntry
from forensics.custody.names import name_bytes


@dataclass(slots=True)
class StoredFile:
    """A file in the payload (`data/...`) with the digests the log recorded for it."""

    path: str
    sha256: str
    sha512: str
    size: int
    log_seq: int


@dataclass(slots=True)
class DerivedFile:
    """A file made from another by a recorded operation."""

    stored: StoredFile
    source_sha256: str
    operation: str
    parameters: dict[str, Any]


@dataclass(slots=True)
class RecordFile:
    """An analysis record (JSON tag file) about one object."""

    path: str
    sha256: str
    size: int
    kind: str
    log_seq: int


@dataclass(frozen=True, slots=True)
class FileStat:
    """A received file's filesystem facts, read before its bytes were."""

    size: int
    mtime_ns: int  # nanoseconds since the Unix epoch
    atime_ns: int
    ctime_ns: int
    mode: str  # permission bits in octal, "0o644"

    def to_json(self) -> dict[str, Any]:
        return {"size": self.size, "mtime_ns": self.mtime_ns, "atime_ns": self.atime_ns, "ctime_ns": self.ctime_ns,
                "mode": self.mode}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FileStat:
        return cls(data["size"], data["mtime_ns"], data["atime_ns"], data["ctime_ns"], data["mode"])


@dataclass(frozen=True, slots=True)
class Receipt:
    """One name an item was received under, from the `received` entry that took it in (a manifest's `received`)."""

    incident: str | None
    name: str  # as received, relative to the source folder; bytes that are not UTF-8 shown as \xNN escapes
    name_b64: str | None  # the name's exact bytes (base64), when they are not UTF-8
    source_root: str  # the source folder as given to ingest, absolute
    log_seq: int  # the entry that received it
    time: str  # that entry's time, ISO 8601 UTC
    stat: FileStat | None

    def to_json(self) -> dict[str, Any]:
        """Gives the receipt as the manifests list it."""
        data: dict[str, Any] = {"incident": self.incident, "name": self.name}
        if self.name_b64 is not None:
            data["name_b64"] = self.name_b64
        data.update(source_root=self.source_root, log_seq=self.log_seq, time=self.time)
        if self.stat is not None:
            data["stat"] = self.stat.to_json()
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Receipt:
        """Gives back the receipt `to_json` wrote."""
        stat = data.get("stat")
        return cls(data["incident"], data["name"], data.get("name_b64"), data["source_root"], data["log_seq"],
                   data["time"], None if stat is None else FileStat.from_json(stat))


@dataclass(slots=True)
class Item:
    """One piece of evidence: content stored once, with every name it was received under."""

    stored: StoredFile
    media_type: str
    mime: str | None
    receipts: list[Receipt] = field(default_factory=list)
    derived: list[DerivedFile] = field(default_factory=list)
    records: dict[str, RecordFile] = field(default_factory=dict)


@dataclass(slots=True)
class CaseState:
    """The projection of a custody log."""

    case_id: str | None = None
    created: str | None = None
    bag_info: dict[str, str] = field(default_factory=dict)
    keys: dict[str, dict[str, str]] = field(default_factory=dict)  # key_id -> {actor, public_key}
    items: dict[str, Item] = field(default_factory=dict)  # by sha256
    derived: dict[str, DerivedFile] = field(default_factory=dict)  # by path: equal bytes may be derived twice
    derived_by_sha256: dict[str, list[DerivedFile]] = field(default_factory=dict)
    records: dict[str, RecordFile] = field(default_factory=dict)  # by path
    problems: list[dict[str, Any]] = field(default_factory=list)  # files not taken in, each with its reason
    incidents: list[str] = field(default_factory=list)  # in order of first appearance
    # (incident, source folder, name) -> size, mtime_ns, sha256: a file another folder holds under the same name is
    # another receipt, read and hashed, however alike its size and time.
    seen: dict[tuple[str, str, bytes], tuple[int, int, str]] = field(default_factory=dict)
    skipped_seen: set[tuple[str, str, bytes, str]] = field(default_factory=set)  # (incident, folder, name, reason)
    seals: list[dict[str, Any]] = field(default_factory=list)
    quarantined: dict[str, StoredFile] = field(default_factory=dict)  # by path: files recovery set aside

    @classmethod
    def from_entries(cls, entries: Iterable[LogEntry]) -> CaseState:
        state = cls()
        for entry in entries:
            state.apply(entry)
        return state

    def apply(self, entry: LogEntry) -> None:
        """Takes one entry into the projection."""
        d = entry.details
        if entry.incident and entry.incident not in self.incidents:
            self.incidents.append(entry.incident)
        if entry.action in ("case-created", "key-added") and "public_key" in d:
            self.keys.setdefault(entry.key_id, {"actor": entry.actor, "public_key": d["public_key"]})
        if entry.action == "case-created":
            self.case_id, self.created = d["case_id"], entry.time
            self.bag_info.update(d.get("bag_info", {}))
        elif entry.action == "described":
            self.bag_info.update(d.get("bag_info", {}))
        elif entry.action == "received":
            self._apply_received(entry)
        elif entry.action == "derived" and entry.result == "ok":
            source, out = entry.objects
            derived = DerivedFile(_stored(out, entry.seq), source["sha256"], d["operation"], dict(d["parameters"]))
            self.derived[derived.stored.path] = derived
            self.derived_by_sha256.setdefault(derived.stored.sha256, []).append(derived)
            owner = self.owner_item(source["sha256"])
            if owner is not None:
                owner.derived.append(derived)
        elif entry.action == "analysed" and entry.result == "ok":
            source, out = entry.objects
            record = RecordFile(out["path"], out["sha256"], out["size"], d["kind"], entry.seq)
            self.records[record.path] = record
            owner = self.owner_item(source["sha256"])
            if owner is not None:
                owner.records[d["kind"]] = record
        elif entry.action == "recovered":
            for obj in entry.objects:
                if obj.get("role") == "quarantined":
                    self.quarantined[obj["path"]] = _stored(obj, entry.seq)
        elif entry.action == "sealed" and entry.result == "ok":
            self.seals.append({"log_seq": entry.seq, **dict(d), "objects": [dict(o) for o in entry.objects]})

    def _apply_received(self, entry: LogEntry) -> None:
        d = entry.details
        receipt = {"incident": entry.incident, **dict(d["name"]), "source_root": d["source_root"],
                   "log_seq": entry.seq, "time": entry.time}
        if "stat" in d:
            receipt["stat"] = dict(d["stat"])
        key = (entry.incident or "", str(d["source_root"]), name_bytes(d["name"]))
        if entry.result != "ok":
            # What was not taken in keeps the entry's own keys: a skipped FIFO's name, its reason, maybe no stat.
            self.problems.append({**receipt, "result": entry.result, "reason": d.get("reason", "")})
            if entry.result == "skipped":
                self.skipped_seen.add((*key, d.get("reason", "")))
            return
        obj = entry.objects[0]
        item = self.items.get(obj["sha256"])
        if item is None:
            item = Item(_stored(obj, entry.seq), d["media_type"], d.get("mime"))
            self.items[obj["sha256"]] = item
        item.receipts.append(Receipt.from_json(receipt))
        stat = d["stat"]
        self.seen[key] = (stat["size"], stat["mtime_ns"], obj["sha256"])

    def owner_item(self, sha256: str) -> Item | None:
        """Returns the evidence item an object comes from, following derived files back to it."""
        seen: set[str] = set()
        while sha256 not in self.items and sha256 in self.derived_by_sha256 and sha256 not in seen:
            seen.add(sha256)
            sha256 = self.derived_by_sha256[sha256][0].source_sha256
        return self.items.get(sha256)

    def payload(self) -> list[StoredFile]:
        """Returns every file the payload must hold, sorted by path."""
        files = [item.stored for item in self.items.values()]
        files += [d.stored for d in self.derived.values()]
        files += self.quarantined.values()
        return sorted(files, key=lambda f: f.path)

    def object_known(self, sha256: str) -> bool:
        return sha256 in self.items or sha256 in self.derived_by_sha256


def _stored(obj: Mapping[str, Any], seq: int) -> StoredFile:
    return StoredFile(obj["path"], obj["sha256"], obj["sha512"], obj["size"], seq)
