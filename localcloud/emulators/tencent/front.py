"""Tencent's proxy layer in front of a redis-server, as far as AUTH goes.

Tencent clients authenticate as a custom account with one argument, ``AUTH
account@password``, which open-source Redis does not speak. Tencent documents how its
server reads it: the whole string is first tried as the default account's password, then
it is split at the first ``@``. This front does the same and lets the real redis-server
decide both times: it asks the server whether the whole string is the default user's
password (on a side connection), and forwards either the command as sent or the
two-argument ``AUTH account password``. Every other command, and every reply, passes
through unchanged.

Limits (enough for rotation clients and tests): RESP2 commands, whole arguments of at most
``MAX_ARGUMENT`` bytes; a password change does not drop connections already open (Tencent
does not document which it does).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from localcloud.redis_server import RedisServer

MAX_ARGUMENT = 1 << 20


def encode_command(arguments: list[bytes]) -> bytes:
    parts = [b"*%d\r\n" % len(arguments)]
    for argument in arguments:
        parts.append(b"$%d\r\n%s\r\n" % (len(argument), argument))
    return b"".join(parts)


def read_command(stream: BinaryIO) -> tuple[list[bytes], bytes] | None:
    """One command from a client: (its arguments, its bytes as sent); None at the end."""
    line = stream.readline(MAX_ARGUMENT)
    if not line:
        return None
    if not line.startswith(b"*"):  # an inline command
        return line.split(), line
    raw, arguments = [line], []
    for _ in range(int(line[1:].strip() or b"0")):
        header = stream.readline(64)
        length = int(header[1:].strip())
        if not header.startswith(b"$") or not 0 <= length <= MAX_ARGUMENT:
            raise ValueError("not a RESP bulk string")
        body = stream.read(length + 2)
        raw += [header, body]
        arguments.append(body[:-2])
    return arguments, b"".join(raw)


class AuthFront:
    """A TCP front of ``redis`` on a free loopback port."""

    separator = b"@"  # between account and password in the one-argument AUTH

    def __init__(self, redis: RedisServer) -> None:
        self.redis = redis
        self.host = "127.0.0.1"
        self._listener = socket.create_server((self.host, 0))
        self.port: int = self._listener.getsockname()[1]
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> AuthFront:
        threading.Thread(target=self._accept, daemon=True, name="auth-front").start()
        return self

    def rewrite(self, arguments: list[bytes], raw: bytes) -> bytes:
        """The bytes to forward for one client command."""
        if (
            len(arguments) != 2
            or arguments[0].upper() != b"AUTH"
            or self.separator not in arguments[1]
        ):
            return raw
        whole = arguments[1]
        # First as the default account's password, asked of the real server.
        if self.redis.accepts(whole.decode("utf-8", "surrogateescape")):
            return raw
        account, _, password = whole.partition(self.separator)
        return encode_command([b"AUTH", account, password])

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection((self.redis.host, self.redis.port), timeout=10)
        except OSError:
            client.close()
            return
        upstream.settimeout(None)
        with self._lock:
            self._open |= {client, upstream}
        threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()
        try:
            with client.makefile("rb") as stream:
                while (command := read_command(stream)) is not None:
                    upstream.sendall(self.rewrite(*command))
        except (OSError, ValueError):
            pass
        finally:
            self._close(client, upstream)

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        """Replies pass through as they come."""
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            self._close(source, sink)

    def _close(self, *sockets: socket.socket) -> None:
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
            with self._lock:
                self._open.discard(sock)

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
        self._listener.close()
        with self._lock:
            open_sockets = list(self._open)
        self._close(*open_sockets)
