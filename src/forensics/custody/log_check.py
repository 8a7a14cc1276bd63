"""The custody log's own checks: sequence, chain, signatures, and the signed head that fixes its length."""

from __future__ import annotations

import base64
import os
from collections import Counter
from dataclasses import dataclass, field

from forensics.custody.canonical import canonical_json, loads_json
from forensics.custody.inspection import Inspection
from forensics.custody.log import GENESIS, MAX_ENTRY_BYTES, LogEntry, log_lines, parse_line, signed_part
from forensics.custody.projections import HEAD, LOG
from forensics.custody.signing import key_id_of, public_key_from_raw, signature_valid
from forensics.custody.state import CaseState
from forensics.digests import named_sha256

MAX_HEAD_BYTES = 64 << 10
MAX_BROKEN_LINES = 200  # past this many broken lines (a log of millions of "{}"), the log is not read on


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
        return named_sha256(self.hashes[(seq - 1) * 32:seq * 32].hex())


def check_log(ins: Inspection, *, signatures_from: int = 0) -> LogCheck:
    """Checks sequence, chain and signatures; gives the projection of the entries that parse."""
    result = LogCheck()
    odd = ins.missing_or_odd(LOG)
    if odd is not None:
        ins.find("log-missing", LOG, f"the custody log {odd}")
        return result
    try:
        fd = ins.folder.open_file(LOG)
    except OSError as ex:
        ins.find("log-missing", LOG, f"the custody log cannot be read: {ex.strerror or ex}")
        return result
    prev = GENESIS
    broken = 0  # lines that are no entry, or that break the chain, or are signed by a key never introduced
    try:
        for line in log_lines(fd):
            if line.data is None:
                ins.find("log-not-read", f"log entry {line.number}", f"line {line.number} is longer than "
                         f"any entry ({MAX_ENTRY_BYTES:,} bytes at least): the log is not read past it")
                break
            if not line.complete:
                result.torn_size = line.size
                ins.find("log-torn", LOG, "the last line is unfinished (a run was killed while writing it); "
                                           "where the log still reaches its signed head, the next writing "
                                           "command sets the line aside and completes the run")
                break
            result.lines = line.number
            result.complete_size += line.size
            result.hashes += bytes.fromhex(line.line_hash[7:])
            subject = f"log entry {line.number}"
            if broken > MAX_BROKEN_LINES:
                # A log this broken holds nothing to rely on past here; reading on would only cost time.
                ins.find("log-not-read", subject, f"more than {MAX_BROKEN_LINES} lines before this one are not "
                         "entries of the chain: the log is not read past it")
                break
            try:
                parsed = parse_line(line.data)
            except (ValueError, TypeError) as ex:
                ins.find("log-entry-unreadable", subject, f"line {line.number} is not a valid entry: {ex}")
                prev = line.line_hash
                broken += 1
                continue
            broken += parsed.prev != prev or (parsed.key_id not in result.keys and not _introduces_key(parsed))
            _check_entry(ins, parsed, line.data, prev, result, signatures_from)
            prev = parsed.line_hash
    finally:
        os.close(fd)
    if not result.count:
        ins.find("log-empty", LOG, "the custody log holds no entries")
    return result


def _check_entry(ins: Inspection, entry: LogEntry, line: bytes, prev: str, result: LogCheck,
                 signatures_from: int) -> None:
    number = result.lines
    subject = f"log entry {number}"

    def find(code: str, message: str) -> None:
        ins.find(code, subject, message, names=_received_as(entry))

    if entry.seq != number:
        find("log-sequence", f"line {number} carries sequence number {entry.seq}: "
                             "entries were removed, inserted or reordered")
    if entry.prev != prev:
        find("log-chain-broken", "its hash of the previous entry does not match the entry before it: the log "
                                 "was edited, cut or reordered here")
    _register_key(ins, entry, result.keys)
    key = result.keys.get(entry.key_id)
    if key is None:
        find("signature-unknown-key", f"signed by {entry.key_id}, a key the log never introduced")
    elif number > signatures_from and not signature_valid(
            public_key_from_raw(key["public_key"]), signed_part(line, entry.signature), entry.signature):
        find("signature-invalid", f"the signature by {key['actor']} ({entry.key_id[:23]}…) does not match "
                                  "the entry: it was edited or re-signed")
    try:
        result.state.apply(entry)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as ex:
        find("log-entry-malformed", f"a {entry.action!r} entry without the fields it needs ({ex!r})")
    result.signers[entry.key_id] += 1
    result.count += 1
    result.last = entry


def _introduces_key(entry: LogEntry) -> bool:
    return entry.action in ("case-created", "key-added") and "public_key" in entry.details


def _received_as(entry: LogEntry) -> tuple[str, ...]:
    """The name an entry says a file was received under, when it is a receipt."""
    name = entry.details.get("name") if entry.action == "received" else None
    text = name.get("name") if isinstance(name, dict) else None
    return (text,) if isinstance(text, str) else ()


def _register_key(ins: Inspection, entry: LogEntry, keys: dict[str, dict[str, str]]) -> None:
    if entry.action not in ("case-created", "key-added") or not isinstance(entry.details.get("public_key"), str):
        return
    raw_b64 = entry.details["public_key"]
    try:
        actual = key_id_of(base64.b64decode(raw_b64, validate=True))
        public_key_from_raw(raw_b64)
    except ValueError:
        actual = "unreadable"
    if actual != entry.key_id:
        ins.find("key-swapped", f"log entry {entry.seq}",
                  f"the public key introduced here is {actual}, not the {entry.key_id} that signs the entry")
        return
    keys.setdefault(entry.key_id, {"actor": entry.actor, "public_key": raw_b64})


def check_head(ins: Inspection, log: LogCheck) -> int | None:
    """Checks the signed head against the log; gives the seq it names when it is validly signed."""
    data = ins.read(HEAD, MAX_HEAD_BYTES, "head-unreadable", "the signed log head")
    if data is None:
        return None
    try:
        head = loads_json(data)
        body = {k: head[k] for k in ("case_id", "seq", "entry_hash", "key_id")}
        signature = head["signature"]
        if not (isinstance(body["seq"], int) and isinstance(body["entry_hash"], str)
                and isinstance(signature, str)):
            raise TypeError("fields of the wrong type")
    except (ValueError, KeyError, TypeError) as ex:
        ins.find("head-unreadable", HEAD, f"the signed log head cannot be read ({ex})")
        return None
    if data != canonical_json({**body, "signature": signature}):
        # Signatures are deterministic: the head this program writes is exactly these five fields, canonical.
        ins.find("head-not-canonical", HEAD, "holds more, or otherwise, than the five signed fields as this "
                                             "program writes them")
    key = log.keys.get(body["key_id"]) if isinstance(body["key_id"], str) else None
    if key is None or not signature_valid(public_key_from_raw(key["public_key"]), canonical_json(body), signature):
        ins.find("head-signature-invalid", HEAD, "the log head is not signed by a key the log introduced")
        return None
    if body["case_id"] != log.state.case_id:
        ins.find("head-mismatch", HEAD, f"the head names case {body['case_id']}, the log case {log.state.case_id}")
    seq, last = body["seq"], log.lines
    if seq > last:
        ins.find("log-truncated", LOG, f"the signed head records {seq} entries, the log holds {last}: "
                                        "entries were cut off its end")
    elif log.hash_at(seq) != body["entry_hash"]:
        ins.find("head-mismatch", HEAD, f"the signed head names entry {seq} with another hash than the "
                                         "log's: the log was rewritten up to or after it")
    elif seq < last:
        ins.find("head-behind", HEAD, f"the log holds {last - seq} entries after the signed head (entry "
                                       f"{seq}): a run was interrupted, or entries were appended by other "
                                       "means; the next ingest completes an interrupted run")
    return seq


def claimed_head_seq(ins: Inspection) -> int:
    """The entry number the head file names, not yet checked (0 when it cannot be read)."""
    if ins.kind_at(HEAD) != "file":
        return 0
    try:
        seq = loads_json(ins.folder.read(HEAD, max_bytes=MAX_HEAD_BYTES)).get("seq")
    except (OSError, ValueError, AttributeError):
        return 0
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else 0
