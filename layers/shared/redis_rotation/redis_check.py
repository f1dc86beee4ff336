"""Proving a password with a real Redis ``AUTH`` followed by ``PING``, on every endpoint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from redis_rotation import observability
from redis_rotation.errors import RedisUnreachableError

if TYPE_CHECKING:
    from redis_rotation.secret import Endpoint, RedisSecret


@dataclass(frozen=True)
class RedisTimeouts:
    connect: float = 5.0
    socket: float = 5.0


def _client_options(secret: RedisSecret, timeouts: RedisTimeouts) -> dict[str, Any]:
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    options: dict[str, Any] = {
        "socket_connect_timeout": timeouts.connect,
        "socket_timeout": timeouts.socket,
        # One attempt per check: the engine's own polling decides when to try again.
        "retry": Retry(NoBackoff(), 0),
        "single_connection_client": True,
        "protocol": 2,
    }
    tls = secret.tls
    if tls.enabled:
        options["ssl"] = True
        options["ssl_cert_reqs"] = "required" if tls.verify else "none"
        options["ssl_check_hostname"] = tls.verify
        if tls.ca_certificate:
            options["ssl_ca_data"] = tls.ca_certificate
    return options


def _ping(
    endpoint: Endpoint,
    options: dict[str, Any],
    username: str | None = None,
    password: str | None = None,
) -> bool:
    """True on PONG; False if the server refuses the credentials (or the lack of them)."""
    import redis

    client = None
    try:
        # Inside the try: a single-connection client connects (and AUTHs) on construction.
        client = redis.Redis(
            host=endpoint.host, port=endpoint.port, username=username, password=password, **options
        )
        return bool(client.ping())
    except redis.AuthenticationError:
        return False
    except redis.ResponseError as exc:
        # "NOAUTH", or "AUTH called without any password configured": refused.
        if "AUTH" in str(exc).upper():
            return False
        raise RedisUnreachableError(
            f"{endpoint} answered PING with an error ({type(exc).__name__})"
        ) from None
    except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
        # The exception text can quote server replies; only its type leaves this function.
        raise RedisUnreachableError(
            f"cannot reach Redis at {endpoint} ({type(exc).__name__}); check the network path, "
            "security groups and TLS settings"
        ) from None
    finally:
        if client is not None:
            client.close()


def endpoint_accepts(
    secret: RedisSecret,
    endpoint: Endpoint,
    password: str,
    timeouts: RedisTimeouts,
    *,
    require_refusal: bool = True,
) -> bool:
    """True if ``endpoint`` accepts ``password``; False if it refuses it. With
    ``require_refusal`` (the full proof) it must also refuse a client without a password.

    Raises RedisUnreachableError when the endpoint cannot be asked at all, so that "wrong
    password" and "no route to Redis" are never confused.
    """
    options = _client_options(secret, timeouts)
    if not observability.redis_auth(
        str(endpoint), lambda: _ping(endpoint, options, username=secret.username, password=password)
    ):
        return False
    # A user without a password ("nopass") accepts *any* password given with a user name,
    # so AUTH alone proves nothing: the instance must also refuse a client that does not
    # authenticate.
    return not require_refusal or not _ping(endpoint, options)


def password_accepted(
    secret: RedisSecret,
    password: str,
    timeouts: RedisTimeouts,
    *,
    everywhere: bool = True,
    require_refusal: bool = True,
) -> bool:
    """True if every endpoint of ``secret`` accepts ``password`` (only the primary one, the
    instance the provider changes, when ``everywhere`` is False)."""
    endpoints = secret.endpoints if everywhere else secret.endpoints[:1]
    return all(
        endpoint_accepts(secret, e, password, timeouts, require_refusal=require_refusal)
        for e in endpoints
    )
