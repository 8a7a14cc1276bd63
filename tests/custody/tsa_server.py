"""A local RFC 3161 time-stamp authority for tests: `openssl ts -reply` behind a loopback HTTP server.

No network: the server binds 127.0.0.1 on a free port, and shuts itself down after
`lifetime_s` even if a test forgets to leave the context.
"""

from __future__ import annotations

import datetime
import http.server
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

OPENSSL = "/usr/bin/openssl"
TSA_POLICY_OID = "1.3.6.1.4.1.99999.3161.1"  # a private-arc OID; only the tests read it
_MAX_QUERY_BYTES = 64 * 1024

Reply = Callable[[bytes], tuple[int, bytes, str]]  # query -> (HTTP status, body, Content-Type)


@dataclass(frozen=True, slots=True)
class TsaPki:
    """Files of one test PKI: a self-signed root and a TSA certificate it issued."""

    root_cert_path: Path
    tsa_cert_path: Path
    tsa_key_path: Path
    chain_pem: bytes  # TSA cert then root, as a user would hand it to verify_timestamp


def _name(common_name: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "forensics tests"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def make_tsa_pki(directory: Path, *, label: str = "Test") -> TsaPki:
    """Writes a root CA and a TSA certificate (critical EKU timeStamping) into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    # Backdated so that a token stamped "now" falls inside both validity periods.
    not_before = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)
    not_after = not_before + datetime.timedelta(days=30)

    # P-256 keys: generation is instant, unlike RSA, which keeps the test run short.
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = _name(f"{label} Root CA")
    root_cert = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()),
                       critical=False)
        .sign(root_key, hashes.SHA256())
    )

    tsa_key = ec.generate_private_key(ec.SECP256R1())
    tsa_cert = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{label} TSA"))
        .issuer_name(root_name)
        .public_key(tsa_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=True, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
            encipher_only=False, decipher_only=False), critical=True)
        # RFC 3161 section 2.3: the TSA certificate must carry exactly this EKU, critical.
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
                       critical=False)
        .sign(root_key, hashes.SHA256())
    )

    root_pem = root_cert.public_bytes(serialization.Encoding.PEM)
    tsa_pem = tsa_cert.public_bytes(serialization.Encoding.PEM)
    pki = TsaPki(
        root_cert_path=directory / "root.pem",
        tsa_cert_path=directory / "tsa.pem",
        tsa_key_path=directory / "tsa.key",
        chain_pem=tsa_pem + root_pem,
    )
    pki.root_cert_path.write_bytes(root_pem)
    pki.tsa_cert_path.write_bytes(tsa_pem)
    pki.tsa_key_path.write_bytes(tsa_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return pki


def _write_openssl_config(directory: Path, pki: TsaPki) -> Path:
    (directory / "tsaserial").write_text("01\n")
    config = directory / "tsa.cnf"
    config.write_text(f"""\
[ tsa ]
default_tsa = tsa_config

[ tsa_config ]
serial = {directory / "tsaserial"}
crypto_device = builtin
signer_cert = {pki.tsa_cert_path}
certs = {pki.root_cert_path}
signer_key = {pki.tsa_key_path}
signer_digest = sha256
default_policy = {TSA_POLICY_OID}
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
""")
    return config


class _ReplyServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    reply: Reply  # set by _serve before the server thread starts


class _Handler(http.server.BaseHTTPRequestHandler):
    timeout = 10  # seconds a client may stall before the handler gives up on it

    def do_POST(self) -> None:  # the name http.server dispatches to
        length = int(self.headers.get("Content-Length", "0"))
        query = self.rfile.read(min(length, _MAX_QUERY_BYTES))
        status, body, content_type = self.server.reply(query)  # type: ignore[attr-defined]
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep pytest output clean


@contextmanager
def _serve(reply: Reply, *, lifetime_s: float) -> Iterator[str]:
    server = _ReplyServer(("127.0.0.1", 0), _Handler)
    server.reply = reply
    # A short poll interval lets shutdown() return promptly when the test is done.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="test-tsa", daemon=True)
    thread.start()
    # A watchdog, so a server left running by a broken test cannot outlive its budget.
    watchdog = threading.Timer(lifetime_s, server.shutdown)
    watchdog.daemon = True
    watchdog.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host}:{port}/tsa"
    finally:
        watchdog.cancel()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def running_tsa(directory: Path, *, lifetime_s: float = 120.0) -> Iterator[tuple[str, bytes]]:
    """Yields (url, chain_pem) of a TSA that stamps every query it is POSTed."""
    pki = make_tsa_pki(directory / "pki")
    config = _write_openssl_config(directory, pki)
    # openssl increments the serial file in place; one reply at a time keeps serials unique.
    lock = threading.Lock()

    def reply(query: bytes) -> tuple[int, bytes, str]:
        with lock, tempfile.TemporaryDirectory(dir=directory) as work:
            query_path = Path(work) / "query.tsq"
            reply_path = Path(work) / "reply.tsr"
            query_path.write_bytes(query)
            done = subprocess.run(
                [OPENSSL, "ts", "-reply", "-config", str(config), "-queryfile", str(query_path),
                 "-inkey", str(pki.tsa_key_path), "-signer", str(pki.tsa_cert_path),
                 "-chain", str(pki.root_cert_path), "-out", str(reply_path)],
                capture_output=True, timeout=10, check=False)
            if done.returncode != 0 or not reply_path.exists():
                return 500, done.stderr, "text/plain"
            return 200, reply_path.read_bytes(), "application/timestamp-reply"

    with _serve(reply, lifetime_s=lifetime_s) as url:
        yield url, pki.chain_pem


@contextmanager
def fixed_reply_server(status: int, body: bytes = b"", *,
                       content_type: str = "text/plain",
                       lifetime_s: float = 60.0) -> Iterator[str]:
    """Yields the URL of a server that answers every POST with `status` and `body`."""
    with _serve(lambda _query: (status, body, content_type), lifetime_s=lifetime_s) as url:
        yield url
