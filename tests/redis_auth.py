"""Whether a real redis-server accepts a password, asked the way the rotation asks.

``RedisServer.accepts`` uses redis-py's default client, which (redis-py 8) retries a
refused AUTH with backoff for about four seconds; the rotation's own check
(``redis_check.password_accepted``: one attempt, AUTH then a refused anonymous PING)
answers at once, so the tests use that.
"""

from __future__ import annotations

from localcloud.redis_server import RedisServer
from redis_rotation.redis_check import RedisTimeouts, password_accepted
from redis_rotation.secret import RedisSecret


def accepts(server: RedisServer, password: str) -> bool:
    secret = RedisSecret(
        f"redis-server {server.port}",
        {"host": server.host, "port": server.port, "tls": {"enabled": False}},
    )
    return password_accepted(secret, password, RedisTimeouts(connect=2, socket=2))
