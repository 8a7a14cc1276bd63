"""RFC 3161 time-stamps of the custody log head: ask a TSA for one, check one offline.

A time-stamp proves that the log head (and so every record before it) existed no later
than the TSA's clock says. `request_timestamp` talks to the network; `verify_timestamp`
never does, so a case can be checked years later on a machine with no connection,
given the TSA's certificate chain as it was when the case was sealed.
"""

from __future__ import annotations

import datetime
import http.client
import logging
import re
import secrets
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from rfc3161_client import (
    MessageImprint,
    PKIStatus,
    TimeStampResponse,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)

from forensics.digests import named_sha256
from forensics.errors import ParameterError, TimestampError

__all__ = ["Timestamp", "request_timestamp", "verify_timestamp"]

logger = logging.getLogger(__name__)

_SHA256_OID = x509.ObjectIdentifier("2.16.840.1.101.3.4.2.1")
# DER of AlgorithmIdentifier { id-sha256, NULL }, as RFC 5754 and most TSAs write it.
_SHA256_ALGORITHM_DER = bytes.fromhex("300d06096086480165030402010500")
# Lower-case only: one digest has one spelling, so digests compare as strings.
_DIGEST_PATTERN = re.compile(r"sha256:([0-9a-f]{64})")
# A reply carries a token and a few certificates; anything far larger is not a TSA talking.
_MAX_REPLY_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Timestamp:
    """One RFC 3161 time-stamp token over a digest, with the fields worth showing."""

    # The TSA's TimeStampResp exactly as received (DER); kept out of repr, it is kilobytes.
    response_der: bytes = field(repr=False)
    digest: str  # "sha256:<hex>", the message imprint that was stamped
    gen_time_utc: str  # ISO 8601 with Z, the TSA's genTime
    serial_number: int  # the TSA's serial number for this token
    tsa_name: str | None  # the TSA's name, or its signer certificate's subject; display only
    policy_oid: str  # dotted TSA policy under which the token was issued


def request_timestamp(digest: str, tsa_url: str, *, timeout_s: float = 30.0) -> Timestamp:
    """Returns a time-stamp over `digest` ("sha256:<hex>") from the TSA at `tsa_url`.

    The reply is checked for status, nonce and imprint, not for its signature: that needs
    the TSA's certificate chain, which `verify_timestamp` takes.
    """
    imprint = _imprint_bytes(digest)
    if not timeout_s > 0:
        raise ParameterError(f"timeout_s must be positive, not {timeout_s}")
    if urllib.parse.urlsplit(tsa_url).scheme not in ("http", "https"):
        raise ParameterError(f"TSA URL {tsa_url!r} is not an http:// or https:// URL; "
                             "give the time-stamp service's full URL")
    nonce = secrets.randbits(64)
    query = _timestamp_query_der(imprint, nonce=nonce)
    logger.debug("requesting a time-stamp for %s from %s", digest, tsa_url)
    reply, content_type = _post_query(tsa_url, query, timeout_s=timeout_s)

    response = _decode(reply, what=f"the reply from {tsa_url} (Content-Type {content_type})")
    if response.status != PKIStatus.GRANTED:
        raise TimestampError(f"the TSA at {tsa_url} did not grant a time-stamp: "
                             f"{_status_text(response)}; try again later or use another TSA")
    try:
        token_nonce = response.tst_info.nonce
        stamped = response.tst_info.message_imprint
        signer = _embedded_signer(response)
    except ValueError as ex:
        raise TimestampError(f"the reply from {tsa_url} holds no readable token ({ex}); "
                             "use another TSA") from ex
    # A reply with another nonce may be a replay of an older token, not an answer to us.
    if token_nonce != nonce:
        raise TimestampError(f"the reply from {tsa_url} does not answer this request "
                             "(nonce mismatch); do not use this TSA")
    if stamped.hash_algorithm != _SHA256_OID or stamped.message != imprint:
        raise TimestampError(f"the TSA at {tsa_url} stamped another digest "
                             f"({_digest_text(stamped)}) than {digest}; do not use this TSA")
    return _timestamp_of(response, reply, signer=signer)


def verify_timestamp(response_der: bytes, digest: str, *, chain_pem: bytes) -> Timestamp:
    """Returns the time-stamp in `response_der` once it is proven to stamp `digest`.

    Proven means: signed by a certificate with the timeStamping EKU that chains, at the
    token's own time, to a self-signed root in `chain_pem` (a PEM bundle of the TSA
    certificate, intermediates and root, in any order), over an imprint equal to `digest`.
    """
    imprint = _imprint_bytes(digest)
    roots, others = _split_chain(chain_pem)
    response = _decode(response_der, what="the stored time-stamp reply")
    if response.status != PKIStatus.GRANTED:
        raise TimestampError(f"the stored time-stamp reply holds no token: {_status_text(response)}")

    builder = VerifierBuilder()
    for root in roots:
        builder = builder.add_root_certificate(root)
    for cert in others:
        builder = builder.add_intermediate_certificate(cert)
    try:
        signer = _embedded_signer(response)
        if signer is None:
            # Without embedded certificates the signer must come from the user's bundle.
            signer = _chain_signer(response, others)
            builder = builder.tsa_certificate(signer)
        stamped = response.tst_info.message_imprint
        # The token's own imprint is passed so the library checks signature and chain only;
        # the comparison with `digest` follows, with a message that names both digests.
        builder.build().verify(response, stamped.message)
    except VerificationError as ex:
        raise TimestampError(_verification_failure_text(str(ex))) from ex
    except ValueError as ex:
        raise TimestampError(f"the stored time-stamp token cannot be read ({ex}); "
                             "the case's time-stamp file is damaged") from ex
    if stamped.hash_algorithm != _SHA256_OID or stamped.message != imprint:
        raise TimestampError(f"imprint mismatch: the time-stamp is over {_digest_text(stamped)}, "
                             f"not over {digest}; it belongs to another log head")
    return _timestamp_of(response, response_der, signer=signer)


def _imprint_bytes(digest: str) -> bytes:
    match = _DIGEST_PATTERN.fullmatch(digest)
    if match is None:
        raise ParameterError(f"digest {digest!r} is not 'sha256:' followed by 64 lower-case "
                             "hex digits")
    return bytes.fromhex(match.group(1))


def _der_tlv(tag: int, content: bytes) -> bytes:
    length = len(content)
    if length < 0x80:
        return bytes([tag, length]) + content
    size = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + content


def _der_positive_integer(value: int) -> bytes:
    # One spare bit, so a value with its top bit set gets the 0x00 that keeps it positive.
    return _der_tlv(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def _timestamp_query_der(imprint: bytes, *, nonce: int) -> bytes:
    """Returns a DER TimeStampReq over the SHA-256 `imprint`, asking for the TSA certificate."""
    # Built by hand because rfc3161-client's TimestampRequestBuilder hashes its input,
    # while the custody log head is already a SHA-256 digest and must be the imprint itself.
    message_imprint = _der_tlv(0x30, _SHA256_ALGORITHM_DER + _der_tlv(0x04, imprint))
    version = _der_positive_integer(1)
    cert_req = bytes.fromhex("0101ff")  # BOOLEAN TRUE
    return _der_tlv(0x30, version + message_imprint + _der_positive_integer(nonce) + cert_req)


def _post_query(tsa_url: str, query: bytes, *, timeout_s: float) -> tuple[bytes, str]:
    request = urllib.request.Request(tsa_url, data=query, method="POST", headers={
        "Content-Type": "application/timestamp-query",
        "Accept": "application/timestamp-reply",
    })
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as reply:
            body = reply.read(_MAX_REPLY_BYTES + 1)
            content_type = reply.headers.get("Content-Type", "none")
    except urllib.error.HTTPError as ex:
        raise TimestampError(f"the TSA at {tsa_url} answered HTTP {ex.code} {ex.reason}; "
                             "check the URL, or try again later or another TSA") from ex
    except TimeoutError as ex:
        raise TimestampError(f"the TSA at {tsa_url} did not answer within {timeout_s} s; "
                             "check the network, or raise the time limit") from ex
    except urllib.error.URLError as ex:
        raise TimestampError(f"cannot reach the TSA at {tsa_url} ({ex.reason}); "
                             "check the URL and the network connection") from ex
    except (OSError, http.client.HTTPException) as ex:
        raise TimestampError(f"the connection to the TSA at {tsa_url} failed ({ex}); "
                             "check the network connection and try again") from ex
    if len(body) > _MAX_REPLY_BYTES:
        raise TimestampError(f"the reply from {tsa_url} is larger than {_MAX_REPLY_BYTES} bytes, "
                             "so it is not a time-stamp; check the URL")
    return body, content_type


def _decode(response_der: bytes, *, what: str) -> TimeStampResponse:
    try:
        return decode_timestamp_response(_der_sorted_certificates(response_der))
    except ValueError as ex:
        raise TimestampError(f"{what} is not an RFC 3161 time-stamp reply ({ex})") from ex


def _der_read(data: bytes, pos: int) -> tuple[int, int, int]:
    """Returns (tag, content start, content end) of the DER element at `pos`."""
    if pos + 2 > len(data) or data[pos] & 0x1F == 0x1F:
        raise ValueError("truncated or multi-byte tag")
    length, start = data[pos + 1], pos + 2
    if length & 0x80:
        size = length & 0x7F
        if not 1 <= size <= 4:
            raise ValueError("indefinite or oversized length")
        length, start = int.from_bytes(data[start:start + size], "big"), start + size
    if start + length > len(data):
        raise ValueError("element runs past the end")
    return data[pos], start, start + length


def _der_children(data: bytes, start: int, end: int) -> list[tuple[int, int, int, int]]:
    """Returns (tag, element start, content start, end) of each element in data[start:end]."""
    children, pos = [], start
    while pos < end:
        tag, content_start, content_end = _der_read(data, pos)
        children.append((tag, pos, content_start, content_end))
        pos = content_end
    return children


def _der_sorted_certificates(response_der: bytes) -> bytes:
    """Returns `response_der` with the token's certificate SET in DER order.

    OpenSSL-based TSAs list the signer first and its chain after it, but DER wants a
    SET OF sorted by encoding, and rfc3161-client refuses any other order. The set lies
    outside the signed content and sorting keeps its length, so the token stays valid.
    Anything unexpected returns the input unchanged, for the decoder to judge.
    """
    try:
        _, start, end = _der_read(response_der, 0)
        resp = _der_children(response_der, start, end)  # status, timeStampToken
        token = _der_children(response_der, resp[1][2], resp[1][3])  # contentType, [0] content
        signed_data = _der_children(response_der, token[1][2], token[1][3])[0]
        fields = _der_children(response_der, signed_data[2], signed_data[3])
        certificates = next((f for f in fields if f[0] == 0xA0), None)  # [0] IMPLICIT SET OF
        if certificates is None:
            return response_der
        _, _, set_start, set_end = certificates
        elements = [response_der[begin:stop]
                    for _, begin, _, stop in _der_children(response_der, set_start, set_end)]
    except (ValueError, IndexError):
        return response_der
    return response_der[:set_start] + b"".join(sorted(elements)) + response_der[set_end:]


def _split_chain(chain_pem: bytes) -> tuple[list[x509.Certificate], list[x509.Certificate]]:
    """Returns (self-signed roots, other certificates) of a PEM bundle, without duplicates."""
    try:
        certificates = x509.load_pem_x509_certificates(chain_pem)
    except ValueError as ex:
        raise TimestampError(f"the TSA certificate chain is not a PEM certificate bundle ({ex}); "
                             "give the TSA's certificates in PEM form") from ex
    unique = list({cert.public_bytes(Encoding.DER): cert for cert in certificates}.values())
    roots = [cert for cert in unique if cert.subject == cert.issuer]
    if not roots:
        raise TimestampError("the TSA certificate chain holds no self-signed root certificate; "
                             "add the TSA's root CA certificate to the bundle")
    return roots, [cert for cert in unique if cert.subject != cert.issuer]


def _signer_id(response: TimeStampResponse) -> tuple[x509.Name, int] | None:
    signer_infos = list(response.signed_data.signer_infos)
    if len(signer_infos) != 1:
        return None
    return signer_infos[0].issuer, signer_infos[0].serial_number


def _embedded_signer(response: TimeStampResponse) -> x509.Certificate | None:
    """Returns the certificate in the token that its SignerInfo names, if the TSA sent it."""
    signer_id = _signer_id(response)
    for der in response.signed_data.certificates:
        cert = x509.load_der_x509_certificate(der)
        if (cert.issuer, cert.serial_number) == signer_id:
            return cert
    return None


def _chain_signer(response: TimeStampResponse,
                  certificates: list[x509.Certificate]) -> x509.Certificate:
    signer_id = _signer_id(response)
    for cert in certificates:
        if (cert.issuer, cert.serial_number) == signer_id:
            return cert
    raise TimestampError("the time-stamp token carries no TSA certificate and the chain has "
                         "none matching its signer; add the TSA's own certificate to the bundle")


def _status_text(response: TimeStampResponse) -> str:
    try:
        name = PKIStatus(response.status).name
    except ValueError:
        name = f"status {response.status}"
    detail = "; ".join(response.status_string)
    return f"{name} ({detail})" if detail else name


def _digest_text(imprint: MessageImprint) -> str:
    if imprint.hash_algorithm == _SHA256_OID:
        return named_sha256(imprint.message.hex())
    return f"{imprint.hash_algorithm.dotted_string}:{imprint.message.hex()}"


def _verification_failure_text(library_message: str) -> str:
    # rfc3161-client wraps OpenSSL's error stack in one string; its reason names tell a
    # damaged token from an untrusted one, which is what a reader needs to act on.
    if "signature failure" in library_message or "digest failure" in library_message:
        return ("bad signature: the time-stamp token does not match its TSA signature, so it "
                f"was altered or damaged ({library_message})")
    if "certificate verify error" in library_message or "verify certificate" in library_message:
        return ("untrusted chain: the TSA certificate does not chain to a root in the given "
                "bundle at the token's time; check that the bundle is the TSA's "
                f"({library_message})")
    return f"the time-stamp token does not verify: {library_message}"


def _tsa_display_name(response: TimeStampResponse, signer: x509.Certificate | None) -> str | None:
    try:
        name = response.tst_info.name
    except ValueError:  # the optional tsa field is absent
        name = None
    if isinstance(name, x509.DirectoryName):
        return name.value.rfc4514_string()
    if name is not None:
        return str(name.value)
    return signer.subject.rfc4514_string() if signer is not None else None


def _timestamp_of(response: TimeStampResponse, response_der: bytes,
                  *, signer: x509.Certificate | None) -> Timestamp:
    info = response.tst_info
    gen_time = info.gen_time.astimezone(datetime.UTC)
    if info.policy is None:
        raise TimestampError("the time-stamp token names no TSA policy; it is malformed")
    return Timestamp(
        response_der=response_der,
        digest=_digest_text(info.message_imprint),
        gen_time_utc=gen_time.isoformat().replace("+00:00", "Z"),
        serial_number=info.serial_number,
        tsa_name=_tsa_display_name(response, signer),
        policy_oid=info.policy.dotted_string,
    )
