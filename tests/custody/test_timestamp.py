"""RFC 3161 time-stamps against a local OpenSSL TSA: stamp, verify offline, and every refusal."""

from __future__ import annotations

import datetime
import hashlib
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from forensics.custody.timestamp import Timestamp, request_timestamp, verify_timestamp
from forensics.errors import ParameterError, TimestampError
from tsa_server import TSA_POLICY_OID, fixed_reply_server, make_tsa_pki, running_tsa

HEAD = "sha256:" + hashlib.sha256(b"custody log head").hexdigest()
OTHER_HEAD = "sha256:" + hashlib.sha256(b"another log head").hexdigest()


@pytest.fixture(scope="module")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, bytes]]:
    with running_tsa(tmp_path_factory.mktemp("tsa")) as url_and_chain:
        yield url_and_chain


@pytest.fixture(scope="module")
def stamped(tsa: tuple[str, bytes]) -> Timestamp:
    url, _ = tsa
    return request_timestamp(HEAD, url, timeout_s=10)


def _flip(data: bytes, index: int) -> bytes:
    changed = bytearray(data)
    changed[index] ^= 0x01
    return bytes(changed)


def test_request_returns_token_fields(stamped: Timestamp) -> None:
    assert stamped.digest == HEAD
    assert stamped.policy_oid == TSA_POLICY_OID
    assert stamped.serial_number > 0
    assert stamped.tsa_name is not None and "CN=Test TSA" in stamped.tsa_name
    assert stamped.gen_time_utc.endswith("Z")
    gen_time = datetime.datetime.fromisoformat(stamped.gen_time_utc)
    now = datetime.datetime.now(datetime.UTC)
    assert abs((now - gen_time).total_seconds()) < 120


def test_verify_offline_returns_same_timestamp(tsa: tuple[str, bytes], stamped: Timestamp) -> None:
    _, chain_pem = tsa
    assert verify_timestamp(stamped.response_der, HEAD, chain_pem=chain_pem) == stamped


def test_verify_accepts_root_alone_and_any_bundle_order(tsa: tuple[str, bytes],
                                                        stamped: Timestamp) -> None:
    _, chain_pem = tsa
    tsa_pem, root_pem = chain_pem.split(b"-----END CERTIFICATE-----\n", 1)
    tsa_pem += b"-----END CERTIFICATE-----\n"
    # The token embeds the TSA certificate, so the trust anchor alone is enough.
    assert verify_timestamp(stamped.response_der, HEAD, chain_pem=root_pem).digest == HEAD
    assert verify_timestamp(stamped.response_der, HEAD, chain_pem=root_pem + tsa_pem).digest == HEAD


def test_successive_tokens_have_distinct_serials(tsa: tuple[str, bytes],
                                                 stamped: Timestamp) -> None:
    url, chain_pem = tsa
    again = request_timestamp(HEAD, url, timeout_s=10)
    assert again.serial_number != stamped.serial_number
    assert verify_timestamp(again.response_der, HEAD, chain_pem=chain_pem).digest == HEAD


def test_verify_rejects_another_digest(tsa: tuple[str, bytes], stamped: Timestamp) -> None:
    _, chain_pem = tsa
    with pytest.raises(TimestampError, match="imprint mismatch"):
        verify_timestamp(stamped.response_der, OTHER_HEAD, chain_pem=chain_pem)


def test_verify_rejects_flipped_signature_byte(tsa: tuple[str, bytes], stamped: Timestamp) -> None:
    _, chain_pem = tsa
    # The SignerInfo comes last in the reply, so its signature value ends the DER.
    tampered = _flip(stamped.response_der, len(stamped.response_der) - 5)
    with pytest.raises(TimestampError, match="bad signature"):
        verify_timestamp(tampered, HEAD, chain_pem=chain_pem)


def test_verify_rejects_token_retargeted_to_another_digest(tsa: tuple[str, bytes],
                                                           stamped: Timestamp) -> None:
    _, chain_pem = tsa
    imprint = bytes.fromhex(HEAD.removeprefix("sha256:"))
    other = bytes.fromhex(OTHER_HEAD.removeprefix("sha256:"))
    assert stamped.response_der.count(imprint) == 1
    # Rewriting the signed imprint must break the signature, not re-date another head.
    retargeted = stamped.response_der.replace(imprint, other)
    with pytest.raises(TimestampError, match="bad signature"):
        verify_timestamp(retargeted, OTHER_HEAD, chain_pem=chain_pem)


def test_verify_rejects_chain_of_another_ca(tmp_path: Path, stamped: Timestamp) -> None:
    stranger = make_tsa_pki(tmp_path / "stranger", label="Stranger")
    with pytest.raises(TimestampError, match="untrusted chain"):
        verify_timestamp(stamped.response_der, HEAD, chain_pem=stranger.chain_pem)


def test_verify_rejects_bundle_without_root(tsa: tuple[str, bytes], stamped: Timestamp) -> None:
    _, chain_pem = tsa
    tsa_only = chain_pem.split(b"-----END CERTIFICATE-----\n", 1)[0] + b"-----END CERTIFICATE-----\n"
    with pytest.raises(TimestampError, match="no self-signed root"):
        verify_timestamp(stamped.response_der, HEAD, chain_pem=tsa_only)


def test_verify_rejects_non_pem_chain(stamped: Timestamp) -> None:
    with pytest.raises(TimestampError, match="not a PEM certificate bundle"):
        verify_timestamp(stamped.response_der, HEAD, chain_pem=b"not a certificate")


def test_verify_rejects_garbage_reply(tsa: tuple[str, bytes]) -> None:
    _, chain_pem = tsa
    with pytest.raises(TimestampError, match="not an RFC 3161"):
        verify_timestamp(b"\x30\x03garbage", HEAD, chain_pem=chain_pem)


def test_request_raises_on_refused_connection() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/tsa"  # just closed, so nothing listens there
    with pytest.raises(TimestampError, match="cannot reach the TSA") as caught:
        request_timestamp(HEAD, url, timeout_s=5)
    assert url in str(caught.value)


def test_request_raises_on_http_500() -> None:
    with fixed_reply_server(500, b"internal error") as url, pytest.raises(TimestampError, match="HTTP 500") as caught:
        request_timestamp(HEAD, url, timeout_s=5)
    assert url in str(caught.value)


def test_request_raises_on_silent_server() -> None:
    # A listening socket that never accepts: the request is sent, no answer ever comes.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/tsa"
        with pytest.raises(TimestampError, match="did not answer within"):
            request_timestamp(HEAD, url, timeout_s=0.5)


def test_request_raises_on_non_timestamp_body() -> None:
    with (fixed_reply_server(200, b"<html>captive portal</html>", content_type="text/html") as url,
          pytest.raises(TimestampError, match="not an RFC 3161 time-stamp reply")):
        request_timestamp(HEAD, url, timeout_s=5)


def test_request_raises_on_rejection() -> None:
    # TimeStampResp { status: PKIStatusInfo { rejection(2) } } with no token.
    rejection = bytes.fromhex("30053003020102")
    with (fixed_reply_server(200, rejection, content_type="application/timestamp-reply") as url,
          pytest.raises(TimestampError, match=r"did not grant.*REJECTION")):
        request_timestamp(HEAD, url, timeout_s=5)


def test_request_rejects_replayed_token(stamped: Timestamp) -> None:
    # An old, validly signed token replayed by a server must not pass as a fresh answer.
    with (fixed_reply_server(200, stamped.response_der, content_type="application/timestamp-reply") as url,
          pytest.raises(TimestampError, match="nonce mismatch")):
        request_timestamp(HEAD, url, timeout_s=5)


def test_request_rejects_malformed_digest_and_url(tsa: tuple[str, bytes]) -> None:
    url, _ = tsa
    with pytest.raises(ParameterError):
        request_timestamp("sha256:abc", url)
    with pytest.raises(ParameterError):
        request_timestamp("md5:" + "0" * 32, url)
    with pytest.raises(ParameterError, match="not an http"):
        request_timestamp(HEAD, "file:///etc/passwd")
    with pytest.raises(ParameterError):
        request_timestamp(HEAD.upper().replace("SHA256", "sha256"), url)
    with pytest.raises(ParameterError):
        request_timestamp(HEAD, url, timeout_s=0)
