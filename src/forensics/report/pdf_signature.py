"""The PDF report's signature: PAdES (CMS, ETSI.CAdES.detached) with the actor's Ed25519 custody key, or with a
certificate given (PKCS#12: an organisation's RSA or ECDSA signing certificate), and its check.

The key that signs the custody log signs the PDF. PDF signatures carry X.509
certificates, so the public key is wrapped in a self-signed certificate whose
subject is the actor and whose serial-number attribute is the key's SHA-256
(the hex of the key id the custody log and `custody/keys/` name): a reader who
has the case, or its key id from a submission, can tell the signer is the
case's key without trusting any certificate authority. The signature covers
the whole file; any byte changed after signing breaks it.

Few PDF readers check Ed25519 yet (ISO 32002; Debian 12's poppler and NSS do not): a submission
that must verify in any reader is signed with a certificate given instead (`given_signer`), an
RSA or ECDSA one an organisation holds; the custody log entry of the export, signed with the
custody key, names the PDF's SHA-256 and that certificate's.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asn1crypto import keys as asn1_keys, x509 as asn1_x509  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from forensics.custody.folder import read_named_file
from forensics.custody.signing import SigningKey, key_id_of
from forensics.errors import ParameterError

FIELD_NAME = "ForensicsCustodySignature"
CERTIFICATE_YEARS = 30  # a submission is read for years; the certificate says whose key, not how long to trust it


def certificate_for(key: SigningKey, *, now_utc: datetime) -> x509.Certificate:
    """Gives a self-signed certificate of the key: subject the actor, serial number attribute the key's SHA-256."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, key.actor),
                      x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "forensics custody key"),
                      x509.NameAttribute(NameOID.SERIAL_NUMBER, key.key_id.removeprefix("ed25519:"))])
    usage = x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                          encipher_only=False, decipher_only=False)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.private.public_key())
            .serial_number(int.from_bytes(hashlib.sha256(key.public_raw).digest()[:16], "big") >> 1)
            .not_valid_before(now_utc - timedelta(days=1))
            .not_valid_after(now_utc + timedelta(days=365 * CERTIFICATE_YEARS))
            .add_extension(usage, critical=True)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(key.private, None))


def _asn1(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


@dataclass(frozen=True, slots=True)
class PdfSigner:
    """Who signs the PDF: pyHanko's signer, and how the document and the custody log name it."""

    signer: signers.SimpleSigner
    name: str  # the signer as a person reads it: the actor, or the certificate's subject
    signed_by: str  # for the log: the custody key id, or "x509-sha256:<hex>" of the certificate given
    custody_key: bool  # the actor's custody key (else a certificate given)


def custody_signer(key: SigningKey, *, now_utc: datetime) -> PdfSigner:
    """Gives the signer of the actor's custody key, in its self-signed certificate (certificate_for)."""
    certificate = _asn1(certificate_for(key, now_utc=now_utc))
    private = asn1_keys.PrivateKeyInfo.load(key.private.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    # The signing certificate goes into the signature once, by pyHanko itself: a second copy in the registry
    # was a copy no signature covers, whose bytes could be changed with both pdfsig and pyHanko still content.
    return PdfSigner(signers.SimpleSigner(signing_cert=certificate, signing_key=private,
                                          cert_registry=SimpleCertificateStore()),
                     key.actor, key.key_id, True)


MAX_PKCS12_BYTES = 1 << 20


def given_signer(pkcs12: bytes, password: bytes | None) -> PdfSigner:
    """Gives the signer of a PKCS#12 file's key and certificate (and its chain, which goes into the signature);
    raises ParameterError when it is not one, the password does not open it, or its key cannot sign PDFs."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.hazmat.primitives.serialization import pkcs12 as p12

    try:
        private, certificate, chain = p12.load_key_and_certificates(pkcs12, password)
    except ValueError as ex:  # not PKCS#12, or a wrong or missing password
        raise ParameterError(f"the signing certificate file cannot be opened ({ex}); give the PKCS#12 file and its "
                             "password in FORENSICS_PDF_SIGNER_PASSWORD") from ex
    if private is None or certificate is None:
        raise ParameterError("the signing certificate file holds no key and certificate to sign with")
    if not isinstance(private, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ParameterError(f"the signing certificate's key is {type(private).__name__}: give an RSA or ECDSA one, "
                             "which PDF readers check (the custody key is the Ed25519 one)")
    now = datetime.now(UTC)
    if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        raise ParameterError(f"the signing certificate is valid from {certificate.not_valid_before_utc:%Y-%m-%d} to "
                             f"{certificate.not_valid_after_utc:%Y-%m-%d}, not now: a PDF signed with it would show "
                             "as signed with an expired (or not yet valid) certificate for good")
    key_info = asn1_keys.PrivateKeyInfo.load(private.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    signing_cert = _asn1(certificate)
    der = certificate.public_bytes(serialization.Encoding.DER)
    others = [_asn1(c) for c in chain or () if c.public_bytes(serialization.Encoding.DER) != der]
    fingerprint = hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()
    return PdfSigner(signers.SimpleSigner(signing_cert=signing_cert, signing_key=key_info,
                                          cert_registry=SimpleCertificateStore.from_certs(others)),
                     certificate.subject.rfc4514_string(), f"x509-sha256:{fingerprint}", False)


def load_given_signer(path: Path, password: bytes | None) -> PdfSigner:
    """Gives the signer of the PKCS#12 file at `path` (given_signer); raises ParameterError when it cannot be read."""
    try:
        data = read_named_file(path, max_bytes=MAX_PKCS12_BYTES)
    except OSError as ex:
        raise ParameterError(f"{path}: not a signing certificate file to read ({ex.strerror or ex})") from ex
    return given_signer(data, password)


def sign_pdf(data: bytes, signer: PdfSigner, *, reason: str, location: str = "") -> bytes:
    """Gives the PDF signed by `signer` (PAdES baseline B, SHA-512 digest, the whole file covered)."""
    # A certification signature that permits no change: a reader that meets a later revision (an annotation,
    # a page drawn over) says the document was changed after it was certified, not merely "signed before".
    meta = signers.PdfSignatureMetadata(field_name=FIELD_NAME, md_algorithm="sha512", reason=reason,
                                        location=location or None, name=signer.name,
                                        subfilter=fields.SigSeedSubFilter.PADES, certify=True,
                                        docmdp_permissions=fields.MDPPerm.NO_CHANGES)
    try:
        out = signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(data)), meta, signer=signer.signer)
    except (PdfError, ValueError) as ex:
        raise ParameterError(f"the PDF could not be signed: {ex}") from ex
    return out.getvalue()


@dataclass(frozen=True, slots=True)
class SignatureCheck:
    """What a PDF's signature shows."""

    intact: bool  # the signed bytes are unchanged
    valid: bool  # the signature is the certificate's key's
    trusted: bool  # the certificate is one given as trusted (else only the PDF's own was used)
    covers_whole_file: bool  # nothing was added after signing
    signer: str  # the certificate's subject, as text
    key_id: str | None  # "ed25519:<sha256 of the raw key>", to compare with the case's keys
    summary: str  # pyhanko's account, for a reader

    @property
    def ok(self) -> bool:
        return self.intact and self.valid and self.covers_whole_file


def check_pdf_signature(data: bytes, *, trusted: x509.Certificate | None = None) -> SignatureCheck:
    """Gives what the PDF's one signature shows, checked by pyhanko's validator.

    With `trusted`, only that certificate is trusted; without, the PDF's own
    signing certificate is, so the check proves integrity and gives the key id,
    which the caller compares with the case's keys.
    """
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        signatures = reader.embedded_signatures
    except (PdfError, ValueError, KeyError) as ex:
        return SignatureCheck(False, False, False, False, "", None, f"not a readable signed PDF: {ex}")
    if len(signatures) != 1:
        return SignatureCheck(False, False, False, False, "", None,
                              f"{len(signatures)} signatures where one was made")
    embedded = signatures[0]
    signer_cert = embedded.signer_cert
    anchor = _asn1(trusted) if trusted is not None else signer_cert
    try:
        status = validate_pdf_signature(embedded, ValidationContext(trust_roots=[anchor]))
    except (SignatureValidationError, PdfError, ValueError) as ex:
        return SignatureCheck(False, False, False, False, signer_cert.subject.human_friendly, None, str(ex))
    public = signer_cert.public_key
    key_id = None
    if public.algorithm == "ed25519":
        raw = Ed25519PublicKey.from_public_bytes(public["public_key"].native).public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        key_id = key_id_of(raw)
    whole = status.coverage is not None and status.coverage.name == "ENTIRE_FILE"
    return SignatureCheck(bool(status.intact), bool(status.valid), trusted is not None and bool(status.trusted),
                          whole, signer_cert.subject.human_friendly, key_id, status.pretty_print_details())
