"""Provider APIs are called over HTTPS with certificate verification."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from redis_rotation.errors import ProviderError
from redis_rotation.polling import Deadline, Runtime
from redis_rotation.providers.transport import Transport
from tests.support.pki import make_pki

pytestmark = pytest.mark.integration


class Answer(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def https_server(tmp_path: Path) -> Iterator[int]:
    pki = make_pki(tmp_path, "127.0.0.1")  # a CA no trust store knows
    server = HTTPServer(("127.0.0.1", 0), Answer)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki.cert_file, pki.key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


def test_an_untrusted_api_certificate_is_a_clear_failure_not_a_retry(https_server: int) -> None:
    transport = Transport("uredis", 3.0, Deadline.after(Runtime(), 10))
    with pytest.raises(ProviderError, match="does not verify") as caught:
        transport.post(f"https://127.0.0.1:{https_server}/", action="DescribeUMem", data={})
    assert caught.value.code == "TLSError"
    assert type(caught.value) is ProviderError, "not a retryable error"
