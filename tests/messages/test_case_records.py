"""The exports of a case read over its stored copies: the records each carried item and each export file get."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from forensics.messages import ExportScan
from forensics.messages.case_records import (
    CarriersRecord,
    ExportRecord,
    Received,
    carriers_records,
    export_records,
    scan_received,
)


def _received(tree: Path, store: Path, root: str) -> list[Received]:
    store.mkdir(exist_ok=True)
    out = []
    for path in sorted(p for p in tree.rglob("*") if p.is_file() and not p.is_symlink()):
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        (store / digest).write_bytes(data)
        out.append(Received(root, path.relative_to(tree).as_posix(), os.fspath(store / digest), "sha256:" + digest,
                            len(data)))
    return out


def test_each_carried_item_gets_its_messages_once_and_each_export_its_reading(export_tree: Path, scan: ExportScan,
                                                                            tmp_path: Path) -> None:
    received = _received(export_tree, tmp_path / "store", "/evidence/2026-12-05")
    scans = scan_received(received)
    assert len(scans) == 1 and scans[0].root == "/evidence/2026-12-05"
    records = carriers_records(scans, {})
    # Every file the folder scan links is an item with the same messages (one item per distinct content).
    expected: dict[str, set[tuple[str, str]]] = {}
    for f in scan.files:
        expected.setdefault(f.sha256, set()).update((c.message.export, c.message.where) for c in f.carriers)
    expected = {k: v for k, v in expected.items() if v}
    assert expected
    assert {d: {(c.message.export, c.message.where) for c in r.carriers} for d, r in records.items()} == expected
    for record in records.values():
        keys = [(c.message.export, c.message.where, c.message.chat) for c in record.carriers]
        assert len(keys) == len(set(keys))  # a message reaches an item once, whichever of its names it came by
        assert CarriersRecord.from_json(record.to_json()) == record
    digest_of = {(r.source_root, r.name): r.sha256 for r in received}
    exports = export_records(scans, digest_of)
    assert {e.export.path for e in exports.values()} == {e.path for e in scan.exports}
    for record in exports.values():
        assert all(a.export == record.export.path for a in record.absent)
        assert ExportRecord.from_json(record.to_json()) == record and record.message_count > 0
    assert sum(len(e.absent) for e in exports.values()) == len(scan.absent)


def test_a_capture_after_the_carrying_message_was_sent_is_a_lead(export_tree: Path, tmp_path: Path) -> None:
    scans = scan_received(_received(export_tree, tmp_path / "store", "/evidence"))
    records = carriers_records(scans, {})
    digest, record = next((d, r) for d, r in records.items()
                          if any(c.message.sent and c.message.sent.at for c in r.carriers))
    sent = min(datetime.fromisoformat(c.message.sent.at) for c in record.carriers
               if c.message.sent and c.message.sent.at)
    late = carriers_records(scans, {digest: sent + timedelta(hours=2, minutes=5)})[digest]
    assert [lead.code for lead in late.leads] == ["captured_after_sent"]
    assert "is 2 h 5 min after the" in late.leads[0].message and "message (" in late.leads[0].message
    assert carriers_records(scans, {digest: sent - timedelta(minutes=3)})[digest].leads == ()
    digest, record = next((d, r) for d, r in records.items()
                          if all(c.message.sent and c.message.sent.at is None and c.message.sent.local
                                 for c in r.carriers))
    local = min(datetime.fromisoformat(c.message.sent.local) for c in record.carriers
                if c.message.sent and c.message.sent.at is None and c.message.sent.local)
    # Zone unknown: only a capture later than any zone allows is a lead.
    assert carriers_records(scans, {digest: (local + timedelta(hours=13)).replace(tzinfo=UTC)})[digest].leads == ()
    far = carriers_records(scans, {digest: (local + timedelta(hours=20)).replace(tzinfo=UTC)})[digest]
    assert far.leads and "zone unknown) in any time zone, by 6 h 0 min at least" in far.leads[0].message
