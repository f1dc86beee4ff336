"""The X-Ray daemon, played: what a traced function sends over UDP, collected."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any


class TraceCollector:
    """Plays the X-Ray daemon on a loopback UDP port: keeps every document sent to it."""

    SENTINEL = b"end-of-test"

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self.address = "{}:{}".format(*self._socket.getsockname())
        self.packets: list[str] = []
        self._ended = threading.Event()
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        while True:
            data = self._socket.recv(65536)
            if data == self.SENTINEL:
                self._ended.set()
                return
            self.packets.append(data.decode("utf-8"))

    def finish(self) -> list[dict[str, Any]]:
        """Every subsegment received, nested ones flattened. Packets on loopback arrive in
        the order sent, so once our own sentinel is read, all of the functions' are in."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            sender.sendto(self.SENTINEL, self._socket.getsockname())
        assert self._ended.wait(30), "the trace collector did not drain"
        self._socket.close()
        found: list[dict[str, Any]] = []
        for packet in self.packets:
            header, _, body = packet.partition("\n")
            assert json.loads(header) == {"format": "json", "version": 1}
            found.extend(_flatten(json.loads(body)))
        return found


def new_trace_header() -> str:
    """What Lambda puts in _X_AMZN_TRACE_ID for a sampled invocation."""
    root = f"1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"
    return f"Root={root};Parent={uuid.uuid4().hex[:16]};Sampled=1"


def _flatten(segment: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield segment
    for child in segment.get("subsegments", []):
        yield from _flatten(child)
