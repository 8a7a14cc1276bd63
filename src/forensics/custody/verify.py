"""Offline verification of a case: every digest, the log's chain and signatures, and every file outside data/.

What is bound to what:
- the custody log: each entry chained to the one before and signed by a key the
  log itself introduced; the signed head (`custody/head.json`) names the last
  entry's number and hash, so a log cut back or rewritten after it shows;
- the payload (`data/`): every file the log names, with its size and both digests;
  any other file is a finding;
- everything outside `data/`: analysis records and seals have the digests the log
  gives; manifests, keys, the schema, both payload manifests, `bag-info.txt` and
  `bagit.txt` are rebuilt from the log and compared byte for byte; the tag
  manifests are checked against the tag files for BagIt tools, never trusted;
  any other file is `tag-file-added`;
- the case is read through `CaseFolder`: links, FIFOs, devices and sockets are
  findings (`not-a-regular-file`), never followed or opened; every read is
  bounded by what the log says the file holds.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from forensics.custody import bag
from forensics.custody.canonical import canonical_json, sha256_digest
from forensics.custody.folder import CaseFolder, Entry, NotRegular, TooLarge, parts_of
from forensics.custody.hashing import Digests, copy_and_hash
from forensics.custody.lock import WORK_DIR, case_lock
from forensics.custody.log import GENESIS, LogEntry, log_lines, parse_line
from forensics.custody.manifest import schema
from forensics.custody.names import received_name
from forensics.custody.projections import (HEAD, KEYS, LOG, MANIFESTS, PAYLOAD_MANIFESTS, SCHEMAS, TAG_MANIFESTS,
                                           projection_files)
from forensics.custody.signing import key_id_of, public_key_from_raw, signature_valid
from forensics.custody.state import CaseState
from forensics.errors import CaseInvalid, TimestampError
from forensics.progress import ProgressCallback, report

MAX_FINDINGS_PER_CODE = 200  # a hostile case can hold millions of wrong things; the count of the rest is given
MAX_HEAD_BYTES = 64 << 10
MAX_SEAL_BYTES = 16 << 20


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing found wrong: its kind, which file or entry, what, and the evidence item it concerns."""

    code: str  # e.g. "payload-modified", "log-chain-broken"; stable, for scripts
    subject: str  # a path in the case (undecodable bytes as \xNN), or "log entry N"
    message: str
    received_as: tuple[str, ...] = ()  # the names the item concerned was received under, when there is one

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "subject": self.subject, "message": self.message,
                "received_as": list(self.received_as)}


@dataclass(frozen=True, slots=True)
class Signer:
    actor: str
    key_id: str
    entries: int


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """What verify checked and found; `intact` when it found nothing."""

    case: str
    findings: tuple[Finding, ...]
    entries: int
    files_checked: int
    bytes_checked: int
    log_head: str
    signers: tuple[Signer, ...]
    seals: tuple[dict[str, Any], ...] = field(default=())

    @property
    def intact(self) -> bool:
        return not self.findings

    def to_json(self) -> dict[str, Any]:
        return {"case": self.case, "intact": self.intact, "findings": [f.to_json() for f in self.findings],
                "log_entries": self.entries, "log_head": self.log_head, "files_checked": self.files_checked,
                "bytes_checked": self.bytes_checked,
                "signers": [{"actor": s.actor, "key_id": s.key_id, "entries": s.entries} for s in self.signers],
                "seals": list(self.seals)}


@dataclass(slots=True)
class LogCheck:
    """What reading the log found: the projection of the entries that parse, and where the log ends."""

    state: CaseState = field(default_factory=CaseState)
    keys: dict[str, dict[str, str]] = field(default_factory=dict)  # key_id -> {actor, public_key}
    last: LogEntry | None = None
    count: int = 0  # entries that parse
    lines: int = 0  # complete lines
    signers: Counter[str] = field(default_factory=Counter)
    complete_size: int = 0  # bytes of complete lines; a torn tail starts here
    torn_size: int = 0  # bytes of an unfinished last line
    hashes: bytearray = field(default_factory=bytearray)  # 32 bytes per complete line: its SHA-256

    def hash_at(self, seq: int) -> str | None:
        """The hash of complete line `seq`, "sha256:..."; None beyond the log."""
        if not 1 <= seq <= self.lines:
            return None
        return "sha256:" + self.hashes[(seq - 1) * 32:seq * 32].hex()


@dataclass(slots=True)
class CaseCheck:
    """Everything one pass over a case found, for verify and for the writers' check before they write."""

    findings: list[Finding]
    log: LogCheck
    head_seq: int | None  # the entry the signed head names, when it is readable and validly signed
    tree: dict[str, Entry]  # every file and oddity in the case, by path
    unlogged: list[str]  # files no log entry or projection names (payload-added, tag-file-added), raw paths
    files_checked: int = 0
    bytes_checked: int = 0
    seals: list[dict[str, Any]] = field(default_factory=list)


class _Checker:
    def __init__(self, folder: CaseFolder, progress: ProgressCallback | None, *, read_payload: bool) -> None:
        self.folder = folder
        self.progress = progress
        self.read_payload = read_payload
        self.findings: list[Finding] = []
        self.per_code: Counter[str] = Counter()
        self.unlogged: list[str] = []
        self.files = 0
        self.bytes = 0
        self.digests: dict[str, Digests] = {}
        self.names: dict[str, tuple[str, ...]] = {}  # path -> names as received of the item it belongs to
        self.tree: dict[str, Entry] = {}

    def find(self, code: str, subject: str, message: str, *, path: str | None = None) -> None:
        self.per_code[code] += 1
        if self.per_code[code] <= MAX_FINDINGS_PER_CODE:
            names = self.names.get(path if path is not None else subject, ())
            if names:
                message += f" (evidence received as {', '.join(repr(n) for n in names[:3])}" + \
                           (f" and {len(names) - 3} more names)" if len(names) > 3 else ")")
            self.findings.append(Finding(code, _shown(subject), message, names))

    def finish(self) -> None:
        for code, count in sorted(self.per_code.items()):
            if count > MAX_FINDINGS_PER_CODE:
                self.findings.append(Finding(code, "…", f"and {count - MAX_FINDINGS_PER_CODE:,} more findings "
                                                        f"of this kind, not listed one by one"))

    # -- the tree -----------------------------------------------------------------------------------
    def walk(self) -> None:
        """Looks at every entry of the case once (lstat only) and names what is not a file or folder."""
        for entry in self.folder.walk():
            self.tree[entry.rel] = entry
            if entry.kind != "file":
                what = ("a folder nested deeper than any case holds" if entry.kind == "folder" else f"a {entry.kind}")
                self.find("not-a-regular-file", entry.rel, f"is {what}; a case holds only regular files and "
                                                           "folders, so it is never followed, opened or written through")

    def is_file(self, rel: str) -> bool:
        entry = self.tree.get(rel)
        return entry is not None and entry.kind == "file"

    def read(self, rel: str, max_bytes: int, code: str, what: str) -> bytes | None:
        """A tag file's bytes, or None after a finding `code` naming why it cannot be had."""
        entry = self.tree.get(rel)
        if entry is None:
            self.find(code, rel, f"{what} is missing")
            return None
        if entry.kind != "file":
            self.find(code, rel, f"{what} cannot be read: it is a {entry.kind}")
            return None
        try:
            return self.folder.read(rel, max_bytes=max_bytes)
        except TooLarge as ex:
            self.find(code, rel, f"{what} holds {ex.size:,} bytes, more than it can ({max_bytes:,})")
        except NotRegular as ex:
            self.find(code, rel, f"{what} cannot be read: {ex.rel} is a {ex.kind}")
        except OSError as ex:
            self.find(code, rel, f"{what} cannot be read: {ex.strerror or ex}")
        return None

    def digest(self, rel: str) -> Digests:
        """Both digests of a regular file of the case, read once; raises OSError."""
        known = self.digests.get(rel)
        if known is None:
            fd = self.folder.open_file(rel)
            try:
                known = self.digests[rel] = copy_and_hash(fd, None)[0]
            finally:
                os.close(fd)
        return known

    # -- the log ----------------------------------------------------------------------------------
    def check_log(self) -> LogCheck:
        """Checks sequence, chain and signatures; gives the projection of the entries that parse."""
        result = LogCheck()
        entry = self.tree.get(LOG)
        if entry is None or entry.kind != "file":
            self.find("log-missing", LOG, "the custody log is missing" if entry is None else
                      f"the custody log cannot be read: it is a {entry.kind}")
            return result
        try:
            fd = self.folder.open_file(LOG)
        except OSError as ex:
            self.find("log-missing", LOG, f"the custody log cannot be read: {ex.strerror or ex}")
            return result
        prev = GENESIS
        try:
            for line in log_lines(fd):
                if not line.complete:
                    result.torn_size = line.size
                    self.find("log-torn", LOG, "the last line is unfinished (a run was killed while writing it); "
                                               "the next ingest sets it aside and completes the run")
                    break
                result.lines = line.number
                result.complete_size += line.size
                result.hashes += bytes.fromhex(line.line_hash[7:])
                subject = f"log entry {line.number}"
                try:
                    if line.data is None:
                        raise ValueError(f"longer than any entry ({line.size:,} bytes)")
                    parsed = parse_line(line.data)
                except (ValueError, TypeError) as ex:
                    self.find("log-entry-unreadable", subject, f"line {line.number} is not a valid entry: {ex}")
                    prev = line.line_hash
                    continue
                self._check_entry(parsed, line.number, prev, result)
                prev = parsed.line_hash
        finally:
            os.close(fd)
        if not result.count:
            self.find("log-empty", LOG, "the custody log holds no entries")
        return result

    def _check_entry(self, entry: LogEntry, number: int, prev: str, result: LogCheck) -> None:
        subject = f"log entry {number}"
        if entry.seq != number:
            self.find("log-sequence", subject, f"line {number} carries sequence number {entry.seq}: "
                                               "entries were removed, inserted or reordered")
        if entry.prev != prev:
            self.find("log-chain-broken", subject, "its hash of the previous entry does not match the "
                                                   "entry before it: the log was edited, cut or reordered here")
        self._register_key(entry, result.keys)
        key = result.keys.get(entry.key_id)
        if key is None:
            self.find("signature-unknown-key", subject, f"signed by {entry.key_id}, a key the log never introduced")
        elif not signature_valid(public_key_from_raw(key["public_key"]), entry.signed_message(), entry.signature):
            self.find("signature-invalid", subject, f"the signature by {key['actor']} ({entry.key_id[:23]}…) "
                                                    "does not match the entry: it was edited or re-signed")
        try:
            result.state.apply(entry)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as ex:
            self.find("log-entry-malformed", subject, f"a {entry.action!r} entry without the fields it needs ({ex!r})")
        result.signers[entry.key_id] += 1
        result.count += 1
        result.last = entry

    def _register_key(self, entry: LogEntry, keys: dict[str, dict[str, str]]) -> None:
        if entry.action not in ("case-created", "key-added") or not isinstance(entry.details.get("public_key"), str):
            return
        raw_b64 = entry.details["public_key"]
        try:
            actual = key_id_of(base64.b64decode(raw_b64, validate=True))
            public_key_from_raw(raw_b64)
        except ValueError:
            actual = "unreadable"
        if actual != entry.key_id:
            self.find("key-swapped", f"log entry {entry.seq}",
                      f"the public key introduced here is {actual}, not the {entry.key_id} that signs the entry")
            return
        keys.setdefault(entry.key_id, {"actor": entry.actor, "public_key": raw_b64})

    def check_head(self, log: LogCheck) -> int | None:
        """Checks the signed head against the log; gives the seq it names when it is validly signed."""
        data = self.read(HEAD, MAX_HEAD_BYTES, "head-unreadable", "the signed log head")
        if data is None:
            return None
        try:
            head = json.loads(data)
            body = {k: head[k] for k in ("case_id", "seq", "entry_hash", "key_id")}
            signature = head["signature"]
            if not (isinstance(body["seq"], int) and isinstance(body["entry_hash"], str)
                    and isinstance(signature, str)):
                raise TypeError("fields of the wrong type")
        except (ValueError, KeyError, TypeError) as ex:
            self.find("head-unreadable", HEAD, f"the signed log head cannot be read ({ex})")
            return None
        key = log.keys.get(body["key_id"]) if isinstance(body["key_id"], str) else None
        if key is None or not signature_valid(public_key_from_raw(key["public_key"]), canonical_json(body), signature):
            self.find("head-signature-invalid", HEAD, "the log head is not signed by a key the log introduced")
            return None
        if body["case_id"] != log.state.case_id:
            self.find("head-mismatch", HEAD, f"the head names case {body['case_id']}, the log case {log.state.case_id}")
        seq, last = body["seq"], log.lines
        if seq > last:
            self.find("log-truncated", LOG, f"the signed head records {seq} entries, the log holds {last}: "
                                            "entries were cut off its end")
        elif log.hash_at(seq) != body["entry_hash"]:
            self.find("head-mismatch", HEAD, f"the signed head names entry {seq} with another hash than the "
                                             "log's: the log was rewritten up to or after it")
        elif seq < last:
            self.find("head-behind", HEAD, f"the log holds {last - seq} entries after the signed head (entry "
                                           f"{seq}): a run was interrupted, or entries were appended by other "
                                           "means; the next ingest completes an interrupted run")
        return seq

    # -- files outside data/ ----------------------------------------------------------------------
    def check_projections(self, state: CaseState, last: LogEntry) -> None:
        """Rebuilds every projection of the log and compares it, byte for byte, with the case's."""
        expected = projection_files(state, last)
        for rel, want in sorted(expected.items()):
            code, what = _projection_kind(rel)
            if code == "key-file" and not self.is_file(rel) and rel not in self.tree:
                self.find("key-file-missing", rel, "the public key of a signer is missing from the case")
                continue
            have = self.read(rel, max(2 * len(want), 1 << 20), _missing_code(code), what)
            if have is None or have == want:
                continue
            if code == "manifest":
                self._manifest_differs(rel, want, have)
            elif code == "bag-manifest":
                self._payload_manifest_differs(rel, want, have)
            elif code == "bag-info":
                self._bag_info_differs(want, have)
            elif code == "key-file":
                self.find("key-file-swapped", rel, "the public key file holds another key than the log introduced")
            else:
                self.find(code, rel, f"{what} differs from what this program writes from the log")

    def _manifest_differs(self, rel: str, want: bytes, have: bytes) -> None:
        try:
            actual = json.loads(have)
        except ValueError as ex:
            self.find("manifest-unreadable", rel, f"the incident manifest cannot be read ({ex})")
            return
        if self.read_payload:
            errors = list(_schema_validator().iter_errors(actual))
            for error in errors[:5]:
                where = "/".join(map(str, error.absolute_path)) or "(top)"
                self.find("manifest-schema", rel, f"does not follow its schema at {where}: {error.message}")
        self.find("manifest-disagrees", rel, _manifest_difference(json.loads(want), actual))

    def _payload_manifest_differs(self, rel: str, want: bytes, have: bytes) -> None:
        try:
            listed = bag.read_manifest(have, rel)
        except (ValueError, UnicodeDecodeError) as ex:
            self.find("bag-manifest", rel, f"the payload manifest cannot be read ({ex})")
            return
        wanted = bag.read_manifest(want, rel)
        for path in sorted(set(wanted) | set(listed)):
            if path not in listed:
                self.find("bag-manifest", rel, f"does not list {_shown(path)}")
            elif path not in wanted:
                self.find("bag-manifest", rel, f"lists {_shown(path)}, which the log never recorded")
            elif listed[path] != wanted[path]:
                self.find("bag-manifest", rel, f"gives {_shown(path)} another digest than the log")
        if listed == wanted:
            self.find("bag-manifest", rel, "lists what the log records, but not as this program writes it")

    def _bag_info_differs(self, want: bytes, have: bytes) -> None:
        try:
            actual = bag.read_bag_info(have)
        except ValueError as ex:
            self.find("bag-info", "bag-info.txt", f"cannot be read ({ex})")
            return
        expected = bag.read_bag_info(want)
        labels = list(dict.fromkeys([k for k, _ in expected] + [k for k, _ in actual]))
        told = False
        for label in labels:
            a = [v for k, v in actual if k == label]
            e = [v for k, v in expected if k == label]
            if a != e:
                told = True
                self.find("bag-info", "bag-info.txt", f"{label} is {_values(a)}, the log says {_values(e)}")
        if not told:
            self.find("bag-info", "bag-info.txt", "holds the log's fields, but not as this program writes them")

    def check_logged_tag_files(self, state: CaseState) -> None:
        """Checks every analysis record and seal against the digest the log recorded."""
        for rel, record in sorted(state.records.items()):
            self._check_logged(rel, record.sha256, max(2 * record.size, 1 << 20), "record",
                               f"the {record.kind} record of entry {record.log_seq}")
        for seal in state.seals:
            for obj in seal.get("objects", ()):
                self._check_logged(obj["path"], obj["sha256"], MAX_SEAL_BYTES, "seal",
                                   f"the time-stamp file of entry {seal['log_seq']}")

    def _check_logged(self, rel: str, sha256: str, max_bytes: int, kind: str, what: str) -> None:
        if not _inside(rel):
            self.find(f"{kind}-missing", rel, f"{what} is named by a path outside the case")
            return
        entry = self.tree.get(rel)
        if entry is not None and entry.kind == "file" and entry.size > max_bytes:
            self.find(f"{kind}-modified", rel, f"{what} changed since the log recorded it (it holds {entry.size:,} "
                                               "bytes)")
            return
        data = self.read(rel, max_bytes, f"{kind}-missing", what)
        if data is not None and sha256_digest(data) != "sha256:" + sha256:
            self.find(f"{kind}-modified", rel, f"{what} changed since the log recorded it")

    def check_unknown_tag_files(self, state: CaseState, expected: Iterable[str]) -> None:
        """Names every file outside data/ that neither the log nor a projection accounts for."""
        known = set(expected) | {LOG, HEAD, *TAG_MANIFESTS} | set(state.records)
        known |= {o["path"] for seal in state.seals for o in seal.get("objects", ())}
        for rel, entry in self.tree.items():
            top = rel.split("/", 1)[0]
            if top in ("data", WORK_DIR) or entry.kind != "file" or rel in known:
                continue
            folder, _, name = rel.rpartition("/")
            self.unlogged.append(rel)
            if _is_temp(name):
                self.find("tag-file-added", rel, "a temp file a killed run left; the next writing command moves it "
                                                 "to quarantine")
            elif folder == KEYS:
                self.find("key-file-unknown", rel, "a public key file the log never introduced")
            elif folder == MANIFESTS:
                self.find("manifest-unknown", rel, "a manifest of an incident the log never mentions")
            else:
                self.find("tag-file-added", rel, "a file outside data/ that the custody log does not name and no "
                                                 "projection of it accounts for")

    def check_tag_manifests(self, state: CaseState, expected: Iterable[str]) -> None:
        """Checks the tag manifests against the tag files, as BagIt tools will; they are never trusted."""
        listed_files = sorted({*expected, LOG, HEAD, *state.records,
                               *(o["path"] for s in state.seals for o in s.get("objects", ()))})
        digests = {}
        for rel in listed_files:
            if self.is_file(rel) and _inside(rel):
                try:
                    digests[rel] = self.digest(rel)
                except OSError:
                    continue
        for algorithm, name in zip(bag.ALGORITHMS, TAG_MANIFESTS):
            want = bag.manifest_text((rel, getattr(d, algorithm)) for rel, d in digests.items())
            have = self.read(name, max(len(want) * 2, 1 << 16), "bag-manifest", "the tag manifest")
            if have is not None and have != want:
                self.find("bag-manifest", name, "does not list the tag files as they are (BagIt tools will refuse "
                                                "the bag); verify does not rely on it")

    def check_seals(self, state: CaseState, log: LogCheck) -> list[dict[str, Any]]:
        from forensics.custody.timestamp import verify_timestamp

        results = []
        for seal in state.seals:
            try:
                token_rel, chain_rel = (o["path"] for o in seal["objects"])
                token = self.folder.read(token_rel, max_bytes=MAX_SEAL_BYTES)
                chain = self.folder.read(chain_rel, max_bytes=MAX_SEAL_BYTES)
            except (OSError, ValueError, KeyError):
                continue  # reported by check_logged_tag_files
            digest = log.hash_at(seal["stamped_seq"]) or seal["stamped_entry_hash"]
            if digest != seal["stamped_entry_hash"]:
                self.find("seal-invalid", token_rel,
                          f"the stamped entry {seal['stamped_seq']} is no longer in the log as it was")
            try:
                ts = verify_timestamp(token, digest, chain_pem=chain)
            except TimestampError as ex:
                self.find("seal-invalid", token_rel, str(ex))
                continue
            results.append({"stamped_seq": seal["stamped_seq"], "gen_time_utc": ts.gen_time_utc,
                            "tsa": ts.tsa_name, "token": token_rel})
        return results

    # -- data/ ------------------------------------------------------------------------------------
    def check_payload(self, state: CaseState) -> None:
        """Checks every payload file the log names: with `read_payload` its digests, else its size."""
        expected = {f.path: f for f in state.payload()}
        on_disk = {rel: e for rel, e in self.tree.items() if rel.startswith("data/") and e.kind == "file"}
        missing: dict[int, list[str]] = {}
        done = 0
        total = len(expected)
        for rel, want in sorted(expected.items()):
            report(self.progress, done, total, rel)
            done += 1
            entry = on_disk.get(rel)
            if entry is None:
                if rel in self.tree or not _inside(rel):
                    self.find("payload-missing", rel, "recorded in the custody log but not a regular file in "
                                                      "the case" if rel in self.tree else
                                                      "recorded at a path outside the case")
                else:
                    missing.setdefault(want.size, []).append(rel)
                continue
            if entry.size != want.size:
                self.find("payload-modified", rel, f"its size changed since entry {want.log_seq} recorded it: "
                                                   f"{want.size:,} -> {entry.size:,} bytes")
                continue
            if not self.read_payload:
                continue
            try:
                got = self.digest(rel)
            except OSError as ex:
                self.find("payload-unreadable", rel, f"cannot be read: {ex.strerror or ex}")
                continue
            self.files += 1
            self.bytes += got.size
            if (got.sha256, got.sha512, got.size) != (want.sha256, want.sha512, want.size):
                self.find("payload-modified", rel,
                          f"its bytes changed since entry {want.log_seq} recorded them: sha256 "
                          f"{want.sha256[:16]}… -> {got.sha256[:16]}…")
        report(self.progress, total, total, "")
        for rel in sorted(set(on_disk) - set(expected)):
            moved_from = self._renamed(rel, on_disk[rel], missing, expected)
            if moved_from is not None:
                self.find("payload-renamed", moved_from, f"missing here, but its exact bytes are at {_shown(rel)}",
                          path=moved_from)
                continue
            self.unlogged.append(rel)
            self.find("payload-added", rel, "a file in the payload that the custody log never recorded")
        for paths in missing.values():
            for rel in paths:
                self.find("payload-missing", rel, "recorded in the custody log but missing from the case")

    def _renamed(self, rel: str, entry: Entry, missing: dict[int, list[str]], expected: dict[str, Any]) -> str | None:
        """The missing payload file whose bytes `rel` holds, when there is one (only files of a missing size are read)."""
        candidates = missing.get(entry.size)
        if not candidates or not self.read_payload:
            return None
        try:
            got = self.digest(rel)
        except OSError:
            return None
        for path in candidates:
            if expected[path].sha256 == got.sha256:
                candidates.remove(path)
                return path
        return None

    def learn_names(self, state: CaseState) -> None:
        """Maps every stored path to the names as received of the evidence item it is, or comes from."""
        for item in state.items.values():
            names = tuple(dict.fromkeys(r["name"] for r in item.receipts))
            self.names[item.stored.path] = names
            for derived in item.derived:
                self.names[derived.stored.path] = names
            for record in item.records.values():
                self.names[record.path] = names


def check_case(folder: CaseFolder, *, read_payload: bool, progress: ProgressCallback | None = None) -> CaseCheck:
    """One pass over a case: the tree, the log and its head, every file outside data/, and the payload.

    With `read_payload`, every payload file is hashed (verify); without, only its
    presence, kind and size are checked (the writers' check before they write).
    """
    checker = _Checker(folder, progress, read_payload=read_payload)
    checker.walk()
    log = checker.check_log()
    state = log.state
    checker.learn_names(state)
    head_seq = checker.check_head(log) if log.count else None
    expected: set[str] = set()
    if log.last is not None:
        expected = set(projection_files(state, log.last))
        checker.check_projections(state, log.last)
    checker.check_logged_tag_files(state)
    checker.check_unknown_tag_files(state, expected)
    checker.check_payload(state)
    seals: list[dict[str, Any]] = []
    if read_payload:
        checker.check_tag_manifests(state, expected)
        seals = checker.check_seals(state, log)
    checker.finish()
    return CaseCheck(checker.findings, log, head_seq, checker.tree, checker.unlogged, checker.files, checker.bytes,
                     seals)


def verify_case(path: Path, *, trusted_keys: Iterable[str] = (), expect_head: str | None = None,
                progress: ProgressCallback | None = None) -> VerifyReport:
    """Checks a case offline and returns every finding; an intact case has none.

    `trusted_keys` (key ids) must have signed every entry when given: the only
    defence against someone who rewrites and re-signs a whole case with a key
    of their own. `expect_head` (an entry hash noted earlier, e.g. in a
    submission) must still be in the log: it catches a log cut back to an
    earlier, consistently signed state. Nothing in the case is written, but the
    shared lock where the case can hold one; nothing in it is followed or opened
    that is not a regular file, and every read is bounded.
    """
    path = Path(os.path.abspath(path))
    if not path.is_dir() or not (os.path.lexists(path / LOG) or os.path.lexists(path / "bagit.txt")):
        raise CaseInvalid(f"{path} is not a case folder (no {LOG})")
    with CaseFolder(path) as folder, case_lock(folder, exclusive=False):
        checked = check_case(folder, read_payload=True, progress=progress)
    findings = list(checked.findings)
    log = checked.log
    trusted = set(trusted_keys)
    if trusted:
        for key_id in sorted(set(log.signers) - trusted):
            findings.append(Finding("key-untrusted", key_id,
                                    f"{log.signers[key_id]} entries are signed by a key you did not trust"))
    if expect_head and not any(log.hash_at(seq) == expect_head for seq in range(1, log.lines + 1)):
        findings.append(Finding("log-rewritten", LOG, f"the entry {expect_head} you expected is not in the log: "
                                                      "it was rewritten or cut back"))
    signers = tuple(Signer(log.keys[k]["actor"] if k in log.keys else "?", k, n) for k, n in log.signers.items())
    return VerifyReport(str(path), tuple(findings), log.count, checked.files_checked, checked.bytes_checked,
                        log.last.line_hash if log.last else GENESIS, signers, tuple(checked.seals))


def _projection_kind(rel: str) -> tuple[str, str]:
    """(finding code, what it is) for a projection's path."""
    if rel.startswith(MANIFESTS + "/"):
        return "manifest", "the incident manifest"
    if rel.startswith(KEYS + "/"):
        return "key-file", "the public key file"
    if rel.startswith(SCHEMAS + "/"):
        return "schema-modified", "the manifest schema"
    if rel in PAYLOAD_MANIFESTS:
        return "bag-manifest", "the payload manifest"
    if rel == "bag-info.txt":
        return "bag-info", "bag-info.txt"
    return "bag-declaration", "the BagIt declaration"


def _missing_code(code: str) -> str:
    return {"manifest": "manifest-unreadable", "key-file": "key-file-missing"}.get(code, code)


_TEMP = re.compile(r"^\.tmp-[A-Za-z0-9._-]{1,80}$")


def _is_temp(name: str) -> bool:
    """Whether a file name is one of this program's temp files (write_atomic's), which a killed run can leave."""
    return bool(_TEMP.match(name))


def _inside(rel: str) -> bool:
    try:
        parts_of(rel)
    except ValueError:
        return False
    return True


def _shown(path: str) -> str:
    """A path for display and JSON: bytes that are not UTF-8 shown as \\xNN."""
    return received_name(os.fsencode(path))["name"] if any("\udc80" <= c <= "\udcff" for c in path) else path


def _values(values: list[str]) -> str:
    return " / ".join(repr(v) for v in values) if values else "missing"


_validator = None


def _schema_validator() -> Any:
    global _validator
    if _validator is None:
        import jsonschema

        _validator = jsonschema.Draft202012Validator(schema())
    return _validator


def _manifest_difference(expected: dict[str, Any], actual: Any) -> str:
    if not isinstance(actual, dict):
        return "is not a JSON object"
    keys = sorted(k for k in set(expected) | set(actual) if expected.get(k) != actual.get(k))
    if "items" in keys and isinstance(actual.get("items"), list):
        want = {i["sha256"]: i for i in expected["items"]}
        have = {i.get("sha256"): i for i in actual["items"] if isinstance(i, dict)}
        changed = sorted(str(s) for s in set(want) | set(have) if want.get(s) != have.get(s))
        return (f"differs from what the custody log records in item(s) "
                f"{', '.join(s[:16] + '…' for s in changed[:5])}" + (f" and {len(changed) - 5} more" if len(changed) > 5 else ""))
    return f"differs from what the custody log records in: {', '.join(keys) or 'its formatting'}"

