"""Checks of every file outside data/: projections rebuilt from the log, records and seals by their logged
digests, the tag manifests for BagIt tools, and anything else, which should not be there."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from forensics.custody import bag
from forensics.custody.canonical import loads_json
from forensics.custody.inspection import Inspection, shown, within_case
from forensics.custody.lock import WORK_DIR
from forensics.custody.log_check import MAX_HEAD_BYTES, LogCheck
from forensics.custody.manifest import schema
from forensics.custody.projections import HEAD, KEYS, LOG, MANIFESTS, PAYLOAD_MANIFESTS, SCHEMAS, TAG_MANIFESTS
from forensics.custody.state import CaseState
from forensics.digests import named_sha256, sha256_digest
from forensics.errors import ParameterError, TimestampError

MAX_SEAL_BYTES = 16 << 20


def check_projections(ins: Inspection, expected: dict[str, bytes]) -> None:
    """Compares every projection of the log (`projection_files`), byte for byte, with the case's."""
    for rel, want in sorted(expected.items()):
        code, what = _projection_kind(rel)
        if code == "key-file" and ins.kind_at(rel) is None:
            ins.find("key-file-missing", rel, "the public key of a signer is missing from the case")
            continue
        have = ins.read(rel, max(2 * len(want), 1 << 20), _missing_code(code), what)
        if have is None or have == want:
            continue
        if code == "manifest":
            _manifest_differs(ins, rel, want, have)
        elif code == "bag-manifest":
            _payload_manifest_differs(ins, rel, want, have)
        elif code == "bag-info":
            _bag_info_differs(ins, want, have)
        elif code == "key-file":
            ins.find("key-file-swapped", rel, "the public key file holds another key than the log introduced")
        else:
            ins.find(code, rel, f"{what} differs from what this program writes from the log")


def _manifest_differs(ins: Inspection, rel: str, want: bytes, have: bytes) -> None:
    try:
        actual = loads_json(have)
    except ValueError as ex:
        ins.find("manifest-unreadable", rel, f"the incident manifest cannot be read ({ex})")
        return
    if ins.full:
        errors = list(_schema_validator().iter_errors(actual))
        for error in errors[:5]:
            where = "/".join(map(str, error.absolute_path)) or "(top)"
            ins.find("manifest-schema", rel, f"does not follow its schema at {where}: {error.message}")
    ins.find("manifest-disagrees", rel, _manifest_difference(json.loads(want), actual))


def _payload_manifest_differs(ins: Inspection, rel: str, want: bytes, have: bytes) -> None:
    try:
        listed = bag.read_manifest(have, rel)
    except (ValueError, UnicodeDecodeError) as ex:
        ins.find("bag-manifest", rel, f"the payload manifest cannot be read ({ex})")
        return
    wanted = bag.read_manifest(want, rel)
    for path in sorted(set(wanted) | set(listed)):
        if path not in listed:
            ins.find("bag-manifest", rel, f"does not list {shown(path)}")
        elif path not in wanted:
            ins.find("bag-manifest", rel, f"lists {shown(path)}, which the log never recorded")
        elif listed[path] != wanted[path]:
            ins.find("bag-manifest", rel, f"gives {shown(path)} another digest than the log")
    if listed == wanted:
        ins.find("bag-manifest", rel, "lists what the log records, but not as this program writes it")


def _bag_info_differs(ins: Inspection, want: bytes, have: bytes) -> None:
    try:
        actual = bag.read_bag_info(have)
    except ValueError as ex:
        ins.find("bag-info", "bag-info.txt", f"cannot be read ({ex})")
        return
    expected = bag.read_bag_info(want)
    labels = list(dict.fromkeys([k for k, _ in expected] + [k for k, _ in actual]))
    told = False
    for label in labels:
        a = [v for k, v in actual if k == label]
        e = [v for k, v in expected if k == label]
        if a != e:
            told = True
            ins.find("bag-info", "bag-info.txt", f"{label} is {_values(a)}, the log says {_values(e)}")
    if not told:
        ins.find("bag-info", "bag-info.txt", "holds the log's fields, but not as this program writes them")


def check_logged_tag_files(ins: Inspection, state: CaseState) -> None:
    """Checks every analysis record and seal against the digest the log recorded, and in a full pass every
    record against its kind's schema."""
    for rel, record in sorted(state.records.items()):
        what = f"the {record.kind} record of entry {record.log_seq}"
        data = _check_logged(ins, rel, record.sha256, max(2 * record.size, 1 << 20), "record", what)
        if data is not None and ins.full:
            _check_record_schema(ins, rel, record.kind, data, what)
    for seal in state.seals:
        for obj in seal.get("objects", ()):
            _check_logged(ins, obj["path"], obj["sha256"], MAX_SEAL_BYTES, "seal",
                               f"the time-stamp file of entry {seal['log_seq']}")


def _check_logged(ins: Inspection, rel: str, sha256: str, max_bytes: int, kind: str, what: str) -> bytes | None:
    """Gives the file's bytes when they are what the log recorded; else None, and the finding made."""
    if not within_case(rel):
        ins.find(f"{kind}-missing", rel, f"{what} is named by a path outside the case")
        return None
    entry = ins.tree.get(rel)
    if entry is not None and entry.kind == "file" and entry.size > max_bytes:
        ins.find(f"{kind}-modified", rel, f"{what} changed since the log recorded it (it holds {entry.size:,} "
                                           "bytes)")
        return None
    data = ins.read(rel, max_bytes, f"{kind}-missing", what)
    if data is not None and sha256_digest(data) != named_sha256(sha256):
        ins.find(f"{kind}-modified", rel, f"{what} changed since the log recorded it")
        return None
    return data


def _check_record_schema(ins: Inspection, rel: str, kind: str, data: bytes, what: str) -> None:
    """Finds a record, as the log recorded it, that does not follow its kind's schema, cannot be read as one, or is
    about another file than the one it is filed under (`record-schema`): a report and an export leave it out,
    by the same check (custody.view.record_problems)."""
    from forensics.custody.view import record_problems
    from forensics.records import record_from_json

    try:
        value = loads_json(data)
    except ValueError as ex:
        ins.find("record-schema", rel, f"{what} is not canonical JSON ({ex})")
        return
    problems = record_problems(kind, value, owner=rel)
    if not any(p.startswith("does not follow its schema") for p in problems):
        try:
            record_from_json(kind, value)
        except ParameterError as ex:
            problems.insert(0, f"does not follow its schema: {ex}")
    for problem in problems:
        ins.find("record-schema", rel, f"{what} {problem}")


def check_unknown_tag_files(ins: Inspection, state: CaseState, expected: Iterable[str]) -> None:
    """Names every file outside data/ that neither the log nor a projection accounts for."""
    known = set(expected) | {LOG, HEAD, *TAG_MANIFESTS} | set(state.records)
    known |= {o["path"] for seal in state.seals for o in seal.get("objects", ())}
    for rel, entry in ins.tree.items():
        top = rel.split("/", 1)[0]
        if top in ("data", WORK_DIR) or entry.kind != "file" or rel in known:
            continue
        folder, _, name = rel.rpartition("/")
        ins.unlogged.append(rel)
        if is_temp(name):
            ins.find("tag-file-added", rel, "a temp file a killed run left; the next writing command moves it "
                                             "to quarantine")
        elif folder == KEYS:
            ins.find("key-file-unknown", rel, "a public key file the log never introduced")
        elif folder == MANIFESTS:
            ins.find("manifest-unknown", rel, "a manifest of an incident the log never mentions")
        else:
            ins.find("tag-file-added", rel, "a file outside data/ that the custody log does not name and no "
                                             "projection of it accounts for")


def check_tag_manifests(ins: Inspection, state: CaseState, expected: dict[str, bytes], log: LogCheck) -> None:
    """Checks the tag manifests against the tag files, as BagIt tools will; they are never trusted."""
    listed_files = sorted({*expected, LOG, HEAD, *state.records,
                           *(o["path"] for s in state.seals for o in s.get("objects", ()))})
    limits = {HEAD: MAX_HEAD_BYTES, **{rel: 2 * r.size + (1 << 20) for rel, r in state.records.items()},
              **{rel: 2 * len(data) + (1 << 20) for rel, data in expected.items()},
              LOG: log.complete_size + log.torn_size}  # the log as far as its check read it
    digests = {}
    for rel in listed_files:
        # A file far larger than what it should be (a head of 4 GB) is named by its own check, never read here.
        too_large = rel in ins.tree and ins.tree[rel].size > limits.get(rel, MAX_SEAL_BYTES)
        if ins.is_file(rel) and within_case(rel) and not too_large:
            try:
                digests[rel] = ins.digest(rel)
            except OSError:
                continue
    for algorithm, name in zip(bag.ALGORITHMS, TAG_MANIFESTS):
        want = bag.manifest_text((rel, getattr(d, algorithm)) for rel, d in digests.items())
        have = ins.read(name, max(len(want) * 2, 1 << 16), "bag-manifest", "the tag manifest")
        if have is not None and have != want:
            ins.find("bag-manifest", name, "does not list the tag files as they are (BagIt tools will refuse "
                                            "the bag); verify does not rely on it")


def check_seals(ins: Inspection, state: CaseState, log: LogCheck) -> list[dict[str, Any]]:
    from forensics.custody.timestamp import verify_timestamp

    results = []
    for seal in state.seals:
        try:
            token_rel, chain_rel = (o["path"] for o in seal["objects"])
            token = ins.folder.read(token_rel, max_bytes=MAX_SEAL_BYTES)
            chain = ins.folder.read(chain_rel, max_bytes=MAX_SEAL_BYTES)
        except (OSError, ValueError, KeyError):
            continue  # reported by check_logged_tag_files
        digest = log.hash_at(seal["stamped_seq"]) or seal["stamped_entry_hash"]
        if digest != seal["stamped_entry_hash"]:
            ins.find("seal-invalid", token_rel,
                      f"the stamped entry {seal['stamped_seq']} is no longer in the log as it was")
        try:
            ts = verify_timestamp(token, digest, chain_pem=chain)
        except TimestampError as ex:
            ins.find("seal-invalid", token_rel, str(ex))
            continue
        results.append({"stamped_seq": seal["stamped_seq"], "gen_time_utc": ts.gen_time_utc,
                        "tsa": ts.tsa_name, "token": token_rel})
    return results


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


def is_temp(name: str) -> bool:
    """Whether a file name is one of this program's temp files (write_atomic's), which a killed run can leave."""
    return bool(_TEMP.match(name))


def _values(values: list[str]) -> str:
    return " / ".join(repr(v) for v in values) if values else "missing"


_validator = None


def _schema_validator() -> Any:
    global _validator
    if _validator is None:
        import jsonschema  # type: ignore[import-untyped]  # no stubs installed (types-jsonschema is not a dependency)

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
