"""seal time-stamps the log head at a (local) TSA; verify checks the seal offline."""

from __future__ import annotations

from pathlib import Path

import pytest

from forensics.custody.seal import seal_case
from forensics.custody.verify import verify_case
from forensics.errors import TimestampError
from forensics.incident import ingest
from tsa_server import make_tsa_pki, running_tsa


@pytest.fixture
def case(tmp_path, alice) -> Path:
    src = tmp_path / "raw"
    src.mkdir()
    (src / "clip.mp4").write_bytes(b"footage")
    return Path(ingest([src], tmp_path / "case", key=alice).case)


def test_seal_then_verify_offline(case, alice, tmp_path):
    with running_tsa(tmp_path / "tsa") as (url, chain):
        stamp, facts = seal_case(case, alice, tsa_url=url, chain_pem=chain)
    report = verify_case(case)  # the TSA is gone: verify works offline
    assert report.intact, report.findings
    assert [s["stamped_seq"] for s in report.seals] == [facts["stamped_seq"]]
    assert report.seals[0]["gen_time_utc"] == stamp.gen_time_utc


def test_a_tampered_token_or_a_rewritten_stamped_entry_is_caught(case, alice, tmp_path):
    with running_tsa(tmp_path / "tsa") as (url, chain):
        _stamp, facts = seal_case(case, alice, tsa_url=url, chain_pem=chain)
    token = case / facts["token"]
    data = bytearray(token.read_bytes())
    data[-5] ^= 0xFF
    token.write_bytes(bytes(data))
    codes = {f.code for f in verify_case(case).findings}
    assert {"seal-modified", "seal-invalid"} <= codes


def test_a_token_that_does_not_chain_to_the_given_root_is_not_stored(case, alice, tmp_path):
    other_chain = make_tsa_pki(tmp_path / "other", label="Other CA").chain_pem
    with running_tsa(tmp_path / "tsa") as (url, _chain), pytest.raises(TimestampError):
        seal_case(case, alice, tsa_url=url, chain_pem=other_chain)
    assert not (case / "custody/seals").exists() or not any((case / "custody/seals").iterdir())
    assert verify_case(case).intact
