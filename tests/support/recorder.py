"""A loopback listener that relays to a real server and keeps every byte its clients sent:
the attacker's (or the forgotten old host's) view of what a client gave it."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from typing import Any


def relay(source: Any, target: Any, keep: Callable[[bytes], None] | None = None) -> None:
    """Copy ``source`` to ``target`` (sockets, plain or TLS) until either closes, handing
    each chunk to ``keep`` first; then close both."""
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            if keep is not None:
                keep(data)
            target.sendall(data)
    for end in (source, target):
        with contextlib.suppress(OSError):
            end.close()


class RecordingRelay:
    """Listens on a free loopback port, relays each connection to ``upstream_port`` and
    records what the clients sent, in order."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self._received = bytearray()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def received(self) -> bytes:
        with self._lock:
            return bytes(self._received)

    def _keep(self, data: bytes) -> None:
        with self._lock:
            self._received += data

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            threading.Thread(target=relay, args=(upstream, client), daemon=True).start()
            threading.Thread(target=relay, args=(client, upstream, self._keep), daemon=True).start()

    def close(self) -> None:
        self.listener.close()
