"""Sealing a case: an RFC 3161 time-stamp of the custody log's head, kept in the case."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from forensics.custody.case import open_case
from forensics.custody.signing import SigningKey
from forensics.custody.timestamp import Timestamp, request_timestamp, verify_timestamp

SEALS = "custody/seals"


def seal_case(path: Path, key: SigningKey, *, tsa_url: str, chain_pem: bytes,
              timeout_s: float = 30.0) -> tuple[Timestamp, dict[str, Any]]:
    """Time-stamps the log head at a TSA, stores the token with the TSA's chain, and logs it as sealed.

    The token is checked against `chain_pem` before it is stored, so a case
    never holds a seal that its own verify would refuse.
    """
    with open_case(path, key, create=False) as case:
        head = case.log.head
        assert head is not None  # an opened case holds at least its creation
        stamp = request_timestamp(head.line_hash, tsa_url, timeout_s=timeout_s)
        verify_timestamp(stamp.response_der, head.line_hash, chain_pem=chain_pem)
        token_rel, chain_rel = f"{SEALS}/{head.seq:08d}.tsr", f"{SEALS}/{head.seq:08d}.chain.pem"
        case.folder.write_atomic(token_rel, stamp.response_der)
        case.folder.write_atomic(chain_rel, chain_pem)
        entry = case.record("sealed", objects=[
            {"role": "timestamp-token", "path": token_rel, "sha256": hashlib.sha256(stamp.response_der).hexdigest()},
            {"role": "tsa-chain", "path": chain_rel, "sha256": hashlib.sha256(chain_pem).hexdigest()}],
            details={"stamped_seq": head.seq, "stamped_entry_hash": head.line_hash, "tsa_url": tsa_url,
                     "gen_time_utc": stamp.gen_time_utc, "serial_number": str(stamp.serial_number),
                     "tsa": stamp.tsa_name or ""})
    return stamp, {"stamped_seq": head.seq, "stamped_entry_hash": head.line_hash, "sealed_seq": entry.seq,
                   "token": token_rel, "chain": chain_rel}
