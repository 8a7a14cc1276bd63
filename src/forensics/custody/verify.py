"""Offline verification of a case: every digest, the log's chain and signatures, and every projection."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from forensics.custody import bag
from forensics.custody.canonical import canonical_json, sha256_digest
from forensics.custody.case import HEAD, KEYS, LOG, case_lock, is_case
from forensics.custody.hashing import hash_file
from forensics.custody.log import GENESIS, LogEntry, parse_line
from forensics.custody.manifest import incident_manifest, manifest_name, schema
from forensics.custody.signing import key_id_of, public_key_from_raw, public_raw_from_pem, signature_valid
from forensics.custody.state import CaseState
from forensics.errors import CaseInvalid, TimestampError
from forensics.progress import ProgressCallback, report


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing found wrong: its kind, which file or entry, and what."""

    code: str  # e.g. "payload-modified", "log-chain-broken"; stable, for scripts
    subject: str  # a path in the case, or "log entry N"
    message: str

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "subject": self.subject, "message": self.message}


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


class _Checker:
    def __init__(self, path: Path, progress: ProgressCallback | None) -> None:
        self.path = path
        self.findings: list[Finding] = []
        self.progress = progress
        self.files = 0
        self.bytes = 0

    def find(self, code: str, subject: str, message: str) -> None:
        self.findings.append(Finding(code, subject, message))

    # -- the log ----------------------------------------------------------------------------------
    def check_log(self) -> tuple[list[LogEntry], dict[str, dict[str, str]]]:
        """Checks sequence, chain and signatures; returns the entries that parse and the keys registered."""
        try:
            data = (self.path / LOG).read_bytes()
        except OSError as ex:
            self.find("log-missing", LOG, f"the custody log cannot be read: {ex.strerror}")
            return [], {}
        if data and not data.endswith(b"\n"):
            self.find("log-torn", LOG, "the last line is unfinished (a run was killed while writing it); "
                                        "the next ingest repairs this")
        entries: list[LogEntry] = []
        keys: dict[str, dict[str, str]] = {}
        prev = GENESIS
        for number, line in enumerate(data.split(b"\n")[:-1] if data.endswith(b"\n") else data.split(b"\n"), 1):
            subject = f"log entry {number}"
            try:
                entry = parse_line(line)
            except ValueError as ex:
                self.find("log-entry-unreadable", subject, f"line {number} is not a valid entry: {ex}")
                prev = sha256_digest(line)
                continue
            if entry.seq != number:
                self.find("log-sequence", subject, f"line {number} carries sequence number {entry.seq}: "
                                                   "entries were removed, inserted or reordered")
            if entry.prev != prev:
                self.find("log-chain-broken", subject, "its hash of the previous entry does not match the "
                                                       "entry before it: the log was edited, cut or reordered here")
            self._register_key(entry, keys)
            key = keys.get(entry.key_id)
            if key is None:
                self.find("signature-unknown-key", subject, f"signed by {entry.key_id}, a key the log never introduced")
            elif not signature_valid(public_key_from_raw(key["public_key"]), entry.signed_message(), entry.signature):
                self.find("signature-invalid", subject, f"the signature by {key['actor']} ({entry.key_id[:23]}…) "
                                                        "does not match the entry: it was edited or re-signed")
            entries.append(entry)
            prev = entry.line_hash
        if not entries:
            self.find("log-empty", LOG, "the custody log holds no entries")
        return entries, keys

    def _register_key(self, entry: LogEntry, keys: dict[str, dict[str, str]]) -> None:
        if entry.action not in ("case-created", "key-added") or "public_key" not in entry.details:
            return
        raw_b64 = entry.details["public_key"]
        try:
            actual = key_id_of(base64.b64decode(raw_b64, validate=True))
        except ValueError:
            actual = "unreadable"
        if actual != entry.key_id:
            self.find("key-swapped", f"log entry {entry.seq}",
                      f"the public key introduced here is {actual}, not the {entry.key_id} that signs the entry")
            return
        keys.setdefault(entry.key_id, {"actor": entry.actor, "public_key": raw_b64})

    def check_head(self, entries: list[LogEntry], keys: dict[str, dict[str, str]], case_id: str | None) -> None:
        try:
            head = json.loads((self.path / HEAD).read_bytes())
            body = {k: head[k] for k in ("case_id", "seq", "entry_hash", "key_id")}
            signature = head["signature"]
        except (OSError, ValueError, KeyError, TypeError) as ex:
            self.find("head-unreadable", HEAD, f"the signed log head cannot be read ({ex})")
            return
        key = keys.get(body["key_id"])
        if key is None or not signature_valid(public_key_from_raw(key["public_key"]), canonical_json(body), signature):
            self.find("head-signature-invalid", HEAD, "the log head is not signed by a key the log introduced")
        if body["case_id"] != case_id:
            self.find("head-mismatch", HEAD, f"the head names case {body['case_id']}, the log case {case_id}")
        last = entries[-1] if entries else None
        if last is None or body["seq"] > last.seq:
            self.find("log-truncated", LOG, f"the signed head records {body['seq']} entries, the log holds "
                                            f"{last.seq if last else 0}: entries were cut off its end")
        elif body["seq"] < last.seq:
            self.find("head-behind", HEAD, f"the log holds {last.seq - body['seq']} entries after the signed head "
                                           f"(seq {body['seq']}): a run was interrupted, or entries were appended "
                                           "by other means; the next ingest completes an interrupted run")
        elif body["entry_hash"] != last.line_hash:
            self.find("head-mismatch", HEAD, "the signed head does not match the log's last entry")

    def check_key_files(self, keys: dict[str, dict[str, str]]) -> None:
        key_dir = self.path / KEYS
        wanted = {key_id.split(":", 1)[1] + ".pub": info for key_id, info in keys.items()}
        present = {p.name for p in key_dir.iterdir()} if key_dir.is_dir() else set()
        for name, info in sorted(wanted.items()):
            rel = f"{KEYS}/{name}"
            if name not in present:
                self.find("key-file-missing", rel, f"the public key of {info['actor']} is missing from the case")
                continue
            try:
                raw = public_raw_from_pem((key_dir / name).read_bytes())
            except ValueError:
                raw = b""
            if base64.b64encode(raw).decode() != info["public_key"]:
                self.find("key-file-swapped", rel, f"the public key file of {info['actor']} holds another key "
                                                   "than the log introduced")
        for name in sorted(present - set(wanted)):
            self.find("key-file-unknown", f"{KEYS}/{name}", "a public key file the log never introduced")

    # -- files ------------------------------------------------------------------------------------
    def check_payload(self, state: CaseState) -> None:
        expected = {f.path: f for f in state.payload()}
        on_disk = sorted(_walk_files(self.path / "data", self.path))
        total = len(on_disk)
        digests = {}
        for done, rel in enumerate(on_disk):
            report(self.progress, done, total, rel)
            try:
                digests[rel] = hash_file(self.path / rel)
            except OSError as ex:
                self.find("payload-unreadable", rel, f"cannot be read: {ex.strerror}")
                continue
            self.files += 1
            self.bytes += digests[rel].size
        report(self.progress, total, total, "")
        extra = {rel: d for rel, d in digests.items() if rel not in expected}
        by_sha = {d.sha256: rel for rel, d in extra.items()}
        for rel, want in expected.items():
            got = digests.get(rel)
            if got is None:
                moved = by_sha.pop(want.sha256, None)
                if moved is not None:
                    extra.pop(moved)
                    self.find("payload-renamed", rel, f"missing here, but its exact bytes are at {moved}")
                elif rel not in on_disk:
                    self.find("payload-missing", rel, "recorded in the custody log but missing from the case")
                continue
            if (got.sha256, got.sha512, got.size) != (want.sha256, want.sha512, want.size):
                self.find("payload-modified", rel,
                          f"its bytes changed since entry {want.log_seq} recorded them: size {want.size} -> "
                          f"{got.size}, sha256 {want.sha256[:16]}… -> {got.sha256[:16]}…")
        for rel in sorted(extra):
            self.find("payload-added", rel, "a file in the payload that the custody log never recorded")

    def check_bag_files(self, state: CaseState, entries: list[LogEntry]) -> None:
        try:
            declaration = (self.path / "bagit.txt").read_bytes()
        except OSError:
            declaration = b""
        if declaration != bag.BAGIT_TXT:
            self.find("bag-declaration", "bagit.txt", "missing or not a BagIt 1.0 declaration")
        payload = state.payload()
        for algorithm in bag.ALGORITHMS:
            name = f"manifest-{algorithm}.txt"
            want = {f.path: getattr(f, algorithm) for f in payload}
            self._compare_manifest(name, want, "payload manifest")
        fields = dict(bag.read_bag_info(self.path / "bag-info.txt")) if (self.path / "bag-info.txt").exists() else {}
        oxum = f"{sum(f.size for f in payload)}.{len(payload)}"
        if fields.get("Payload-Oxum") != oxum:
            self.find("bag-info", "bag-info.txt", f"Payload-Oxum is {fields.get('Payload-Oxum')}, the log says {oxum}")
        if fields.get("External-Identifier") != state.case_id:
            self.find("bag-info", "bag-info.txt", "External-Identifier does not name this case's id")
        tag_digests = {rel: hash_file(self.path / rel) for rel in bag.tag_files(self.path)}
        for algorithm in bag.ALGORITHMS:
            want = {rel: getattr(d, algorithm) for rel, d in tag_digests.items()}
            self._compare_manifest(f"tagmanifest-{algorithm}.txt", want, "tag manifest")

    def _compare_manifest(self, name: str, want: dict[str, str], what: str) -> None:
        try:
            have = bag.read_manifest(self.path / name)
        except (OSError, ValueError) as ex:
            self.find("bag-manifest", name, f"the {what} cannot be read ({ex})")
            return
        for rel in sorted(set(want) | set(have)):
            if rel not in have:
                self.find("bag-manifest", name, f"does not list {rel}")
            elif rel not in want:
                self.find("bag-manifest", name, f"lists {rel}, which the case does not hold or the log never recorded")
            elif have[rel] != want[rel]:
                self.find("bag-manifest", name, f"the digest of {rel} differs from the file's or the log's")

    def check_manifests(self, state: CaseState, entries: list[LogEntry]) -> None:
        if not entries:
            return
        wanted = {manifest_name(i): i for i in state.incidents}
        folder = self.path / "custody/manifests"
        present = {f"custody/manifests/{p.name}" for p in folder.iterdir()} if folder.is_dir() else set()
        for rel, incident in sorted(wanted.items()):
            expected = incident_manifest(state, incident, entries[-1])
            try:
                data = (self.path / rel).read_bytes()
                actual = json.loads(data)
            except (OSError, ValueError) as ex:
                self.find("manifest-unreadable", rel, f"the manifest of incident {incident} cannot be read ({ex})")
                continue
            errors = list(jsonschema.Draft202012Validator(schema()).iter_errors(actual))
            for error in errors[:5]:
                self.find("manifest-schema", rel, f"does not follow its schema at "
                                                  f"{'/'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}")
            if data != canonical_json(expected):
                self.find("manifest-disagrees", rel, _manifest_difference(expected, actual))
        for rel in sorted(present - set(wanted)):
            self.find("manifest-unknown", rel, "a manifest of an incident the log never mentions")

    def check_records(self, state: CaseState) -> None:
        for rel, record in sorted(state.records.items()):
            try:
                data = (self.path / rel).read_bytes()
            except OSError:
                self.find("record-missing", rel, f"the {record.kind} record of entry {record.log_seq} is missing")
                continue
            if sha256_digest(data) != "sha256:" + record.sha256:
                self.find("record-modified", rel, f"the {record.kind} record changed since entry {record.log_seq}")

    def check_seals(self, state: CaseState, entries: list[LogEntry]) -> list[dict[str, Any]]:
        from forensics.custody.timestamp import verify_timestamp

        results = []
        by_seq = {e.seq: e for e in entries}
        for seal in state.seals:
            token_rel, chain_rel = (o["path"] for o in seal["objects"])
            subject = token_rel
            try:
                token, chain = (self.path / token_rel).read_bytes(), (self.path / chain_rel).read_bytes()
            except OSError as ex:
                self.find("seal-missing", subject, f"the time-stamp of entry {seal['log_seq']} cannot be read ({ex})")
                continue
            for obj, data in zip(seal["objects"], (token, chain)):
                if sha256_digest(data) != "sha256:" + obj["sha256"]:
                    self.find("seal-modified", obj["path"], f"changed since entry {seal['log_seq']} recorded it")
            stamped = by_seq.get(seal["stamped_seq"])
            digest = stamped.line_hash if stamped else seal["stamped_entry_hash"]
            if stamped is None or stamped.line_hash != seal["stamped_entry_hash"]:
                self.find("seal-invalid", subject, f"the stamped entry {seal['stamped_seq']} is no longer in the log as it was")
            try:
                ts = verify_timestamp(token, digest, chain_pem=chain)
            except TimestampError as ex:
                self.find("seal-invalid", subject, str(ex))
                continue
            results.append({"stamped_seq": seal["stamped_seq"], "gen_time_utc": ts.gen_time_utc,
                            "tsa": ts.tsa_name, "token": token_rel})
        return results


def _manifest_difference(expected: dict[str, Any], actual: Any) -> str:
    if not isinstance(actual, dict):
        return "is not a JSON object"
    keys = sorted(k for k in set(expected) | set(actual) if expected.get(k) != actual.get(k))
    if "items" in keys and isinstance(actual.get("items"), list):
        want = {i["sha256"]: i for i in expected["items"]}
        have = {i.get("sha256"): i for i in actual["items"] if isinstance(i, dict)}
        changed = sorted(s for s in set(want) | set(have) if want.get(s) != have.get(s))
        return (f"differs from what the custody log records in item(s) "
                f"{', '.join(str(s)[:16] + '…' for s in changed[:5])}" + (f" and {len(changed) - 5} more" if len(changed) > 5 else ""))
    return f"differs from what the custody log records in: {', '.join(keys) or 'its formatting'}"


def _walk_files(top: Path, base: Path) -> Iterable[str]:
    for root, _dirs, files in os.walk(top):
        for name in files:
            yield (Path(root) / name).relative_to(base).as_posix()


def verify_case(path: Path, *, trusted_keys: Iterable[str] = (), expect_head: str | None = None,
                progress: ProgressCallback | None = None) -> VerifyReport:
    """Checks a case offline and returns every finding; an intact case has none.

    `trusted_keys` (key ids) must have signed every entry when given: the only
    defence against someone who rewrites and re-signs a whole case with a key
    of their own. `expect_head` (an entry hash noted earlier, e.g. in a
    submission) must still be in the log: it catches a log cut back to an
    earlier, consistently signed state.
    """
    path = Path(os.path.abspath(path))
    if not is_case(path):
        raise CaseInvalid(f"{path} is not a case folder (no {LOG})")
    with case_lock(path, exclusive=False):
        checker = _Checker(path, progress)
        entries, keys = checker.check_log()
        state = CaseState.from_entries(entries)
        if entries:
            checker.check_head(entries, keys, state.case_id)
        checker.check_key_files(keys)
        checker.check_payload(state)
        checker.check_bag_files(state, entries)
        checker.check_manifests(state, entries)
        checker.check_records(state)
        seals = checker.check_seals(state, entries)
        trusted = set(trusted_keys)
        counts: dict[str, int] = {}
        for e in entries:
            counts[e.key_id] = counts.get(e.key_id, 0) + 1
        if trusted:
            for key_id in sorted(set(counts) - trusted):
                checker.find("key-untrusted", key_id, f"{counts[key_id]} entries are signed by a key you did not trust")
        if expect_head and expect_head not in {e.line_hash for e in entries}:
            checker.find("log-rewritten", LOG, f"the entry {expect_head} you expected is not in the log: "
                                               "it was rewritten or cut back")
    signers = tuple(Signer(keys[k]["actor"] if k in keys else "?", k, n) for k, n in counts.items())
    return VerifyReport(str(path), tuple(checker.findings), len(entries), checker.files, checker.bytes,
                        entries[-1].line_hash if entries else GENESIS, signers, tuple(seals))
