"""The local Secrets Manager's front door: loopback names only, and no web page.

moto's server answers every cross-origin request with ``Access-Control-Allow-Origin`` set
to the caller, so any page open in a browser could read the local secrets; a page on a
rebound DNS name could even skip CORS. boto3 and the AWS CLI send no Origin and name the
endpoint's own loopback address, so they pass.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

LOOPBACK = ("127.0.0.1", "localhost", "[::1]")

Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def loopback_hosts(port: int) -> set[str]:
    """The Host headers that name a loopback server on ``port``."""
    return {f"{name}:{port}" for name in LOOPBACK}


def refusal(host: str, origin: str | None, port: int) -> str | None:
    """Why a request with this Host and Origin is refused, or None."""
    if host not in loopback_hosts(port):
        return "the Host must name this loopback address and port"
    if origin is not None and origin not in {f"http://{h}" for h in loopback_hosts(port)}:
        return "no web page of another origin may call the local cloud"
    return None


class LoopbackOnly:
    """WSGI middleware: refuses a foreign Host or Origin (403), and answers no request
    with CORS headers (no page of another origin needs them)."""

    def __init__(self, app: Wsgi) -> None:
        self.app = app
        self.port = 0  # known once the server is bound

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        refused = refusal(environ.get("HTTP_HOST", ""), environ.get("HTTP_ORIGIN"), self.port)
        if refused is not None:
            body = refused.encode()
            start_response(
                "403 Forbidden",
                [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))],
            )
            return [body]

        def without_cors(status: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
            kept = [(k, v) for k, v in headers if not k.lower().startswith("access-control-")]
            return start_response(status, kept, *exc)

        return self.app(environ, without_cors)


class GuardedMotoServer:
    """moto's server on 127.0.0.1 behind ``LoopbackOnly``; as moto's ThreadedMotoServer."""

    def __init__(self) -> None:
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        app = LoopbackOnly(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(
            "127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler
        )
        app.port = self._server.server_port
        # A short poll interval: stop() waits for it, and every local cloud stops one.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def get_host_and_port(self) -> tuple[str, int]:
        return "127.0.0.1", int(self._server.server_port)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
