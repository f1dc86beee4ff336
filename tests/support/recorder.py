"""A loopback listener that relays to a real server and keeps every byte its clients sent:
the attacker's (or the forgotten old host's) view of what a client gave it."""

from __future__ import annotations

import contextlib
import socket
import threading


class RecordingRelay:
    """Listens on a free loopback port, relays each connection to ``upstream_port`` and
    records what the clients sent, in order."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self._received = bytearray()
        self._lock = threading.Lock()
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def received(self) -> bytes:
        with self._lock:
            return bytes(self._received)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            for source, target, record in ((upstream, client, False), (client, upstream, True)):
                relay = threading.Thread(target=self._relay, args=(source, target, record))
                relay.daemon = True
                relay.start()

    def _relay(self, source: socket.socket, target: socket.socket, record: bool) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if record:
                    with self._lock:
                        self._received += data
                target.sendall(data)
        for end in (source, target):
            with contextlib.suppress(OSError):
                end.close()

    def close(self) -> None:
        self.listener.close()
