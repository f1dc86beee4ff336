"""A client as Tencent documents it for custom accounts: redis-py with ``password=`` alone,
so that it sends the one-argument ``AUTH <account>@<password>``."""

from __future__ import annotations

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry


def logs_in_one_argument(host: str, port: int, secret: str) -> bool:
    """Whether ``AUTH <secret>`` (one argument, RESP2, one attempt) then PING succeeds."""
    client = redis.Redis(
        host=host, port=port, password=secret, protocol=2, retry=Retry(NoBackoff(), 0)
    )
    try:
        return bool(client.ping())
    except redis.AuthenticationError:
        return False
    finally:
        client.close()
