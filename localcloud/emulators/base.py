"""What the provider API emulators share: a threaded HTTP server on loopback, a record of
every call, and fault injection.

A fault fires either *before* the call takes effect (the provider never saw it) or *after*
(the provider applied it, but its answer is lost or broken): the two sides of every call a
crash-safe rotation must survive. The "echo" fault answers with an error whose message
quotes fields of the request, as some provider messages do: the functions must redact them.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import unquote_plus

FaultKind = Literal["code", "http", "timeout", "reset", "garbage", "truncated", "echo"]


@dataclass
class Fault:
    """One injected failure. ``code`` is the provider's error code for kind "code"."""

    kind: FaultKind
    action: str | None = None  # None: the next call of any action
    after: bool = False  # apply the call, then break the answer
    code: str | int | None = None
    status: int = 503
    delay: float = 0.0  # for "timeout": how long to hold the connection before closing
    times: int = 1
    # For "echo" (an error with provider code ``code``): the request's fields (form or JSON
    # parameters, or headers) its message quotes, in this order, as sent and decoded.
    echo: tuple[str, ...] = ()


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes
    query: str


@dataclass(frozen=True)
class Response:
    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Echo:
    """One "echo" answer: the decoded values of the fields it quoted, and its message."""

    values: Mapping[str, str]
    message: str


def request_fields(request: Request) -> dict[str, tuple[str, str]]:
    """Every field of ``request`` as (sent, decoded): headers, form parameters (query and
    form body, sent URL-encoded) and the top-level strings of a JSON body (sent escaped)."""
    fields = {name: (value, value) for name, value in request.headers.items()}
    body = request.body.decode("utf-8", "replace")
    parsed: Any = None
    if body.lstrip().startswith("{"):
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
    if isinstance(parsed, dict):
        for key, value in parsed.items():
            if isinstance(value, str):
                fields[str(key)] = (json.dumps(value)[1:-1], value)
        body = ""
    for raw in (request.query, body):
        for pair in raw.split("&") if raw else ():
            key, _, value = pair.partition("=")
            fields[unquote_plus(key)] = (value, unquote_plus(value))
    return fields


@dataclass(frozen=True)
class CallRecord:
    action: str
    outcome: str  # "ok", a provider error code, or the fault kind
    at: float


class ApiEmulator:
    """Base class: subclasses implement ``action_of``, ``dispatch`` and ``error``."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.calls: list[CallRecord] = []
        self.faults: list[Fault] = []
        self.seen_bodies: list[bytes] = []  # raw requests, for tests that inspect the wire
        self.echoes: list[Echo] = []  # what each "echo" fault quoted
        self._server: _EmulatorServer | None = None
        self._thread: threading.Thread | None = None

    # -- subclass interface --------------------------------------------------------------

    def action_of(self, request: Request) -> str:
        raise NotImplementedError

    def dispatch(self, request: Request) -> Response:
        raise NotImplementedError

    def error(self, request: Request, code: str | int, message: str) -> Response:
        raise NotImplementedError

    def on_request(self) -> None:
        """Called before each request that reaches the provider (no "before" fault)."""

    # -- fault injection -----------------------------------------------------------------

    def inject(self, fault: Fault) -> None:
        with self.lock:
            self.faults.append(fault)

    def _take_fault(self, action: str, after: bool) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.after == after and fault.action in (None, action):
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def count(self, action: str, outcome: str | None = "ok") -> int:
        with self.lock:
            return sum(1 for c in self.calls if c.action == action and outcome in (None, c.outcome))

    def _record(self, action: str, outcome: str) -> None:
        with self.lock:
            self.calls.append(CallRecord(action, outcome, time.monotonic()))

    # -- serving -------------------------------------------------------------------------

    def handle(self, request: Request) -> Response | Fault:
        with self.lock:
            self.seen_bodies.append(request.body)
        action = self.action_of(request)
        fault = self._take_fault(action, after=False)
        if fault is None:
            self.on_request()
            response = self.dispatch(request)
            outcome = self.outcome_of(response)
            fault = self._take_fault(action, after=True)
            if fault is None:
                self._record(action, outcome)
                return response
            self._record(action, f"{outcome}+{fault.kind}")
        else:
            self._record(action, fault.kind if fault.kind != "code" else str(fault.code))
        if fault.kind == "code":
            return self.error(request, fault.code or "", "injected fault")
        if fault.kind == "echo":
            return self.error(request, fault.code or "", self._echo(request, fault.echo))
        return fault

    def _echo(self, request: Request, names: tuple[str, ...]) -> str:
        """The message of an "echo" fault: each named field as sent (and decoded, if that
        differs), recorded so that a test knows what the functions were shown."""
        fields = request_fields(request)
        # Header names arrive lower-cased (see _Handler._serve).
        quoted = {n: fields.get(n) or fields.get(n.lower()) or ("", "") for n in names}
        parts = [
            f"{name}={sent}" + (f" (decoded: {decoded})" if decoded != sent else "")
            for name, (sent, decoded) in quoted.items()
        ]
        message = "the request was refused: " + "; ".join(parts)
        with self.lock:
            self.echoes.append(Echo({n: d for n, (_, d) in quoted.items()}, message))
        return message

    def outcome_of(self, response: Response) -> str:
        return "ok" if response.status == 200 else f"HTTP{response.status}"

    def start(self) -> ApiEmulator:
        self._server = _EmulatorServer(self)
        # A short poll interval: shutdown() waits for it, and tests start many emulators.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    @property
    def port(self) -> int:
        assert self._server is not None, "emulator not started"
        return int(self._server.server_address[1])

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class _EmulatorServer(ThreadingHTTPServer):
    """One emulator's loopback server: its handlers reach the emulator through it."""

    daemon_threads = True

    def __init__(self, emulator: ApiEmulator) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.emulator = emulator


class _Handler(BaseHTTPRequestHandler):
    """Turns HTTP into ``Request``s for the emulator, and its answers or faults back."""

    protocol_version = "HTTP/1.1"
    # Headers and body are two writes: with Nagle's algorithm on a kept-alive connection the
    # body waits for the client's delayed ACK, 40 ms per answer.
    disable_nagle_algorithm = True

    @property
    def emulator(self) -> ApiEmulator:
        server = self.server
        assert isinstance(server, _EmulatorServer)
        return server.emulator

    def log_message(self, format: str, *args: Any) -> None:
        pass  # request lines carry query strings: never printed

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        request = Request(
            method=self.command,
            path=path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            query=query,
        )
        result = self.emulator.handle(request)
        if isinstance(result, Fault):
            self._fail(result)
            return
        # bytes go out as they are (an XML API sets its own Content-Type); the rest as JSON.
        body = result.body
        payload = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
        self._send(result.status, payload, result.headers)

    def _send(self, status: int, payload: bytes, headers: Mapping[str, str]) -> None:
        self.send_response(status)
        if "Content-Type" not in headers:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _fail(self, fault: Fault) -> None:
        if fault.kind == "http":
            self._send(fault.status, b'{"error": "injected"}', {})
        elif fault.kind == "garbage":
            self._send(200, b"<html>502 Bad Gateway</html>", {})
        elif fault.kind == "truncated":
            self._send(200, b'{"RetCode": 0, "Response": {"Ta', {})
        else:  # "timeout" holds the connection; "reset" drops it at once
            if fault.kind == "timeout":
                time.sleep(fault.delay)
            self.close_connection = True
            self.connection.close()

    do_GET = _serve
    do_POST = _serve
