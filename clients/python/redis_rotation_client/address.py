"""Credentials go only to the address and TLS settings they were read with.

redis-py fixes a connection's host, port and TLS when it is made; the secret may name
another address later (an instance moved, TLS turned on). The connect hook runs after the
socket is open and before the handshake sends AUTH, so it is where a connection made for an
old address is stopped: moved to the new host and port (redis-py's ``Retry`` then connects
again, there), or refused if its TLS settings differ (a connection's class, plain or TLS,
cannot change).
"""

from __future__ import annotations

import ssl
from typing import Any

from redis.asyncio.connection import SSLConnection as AsyncSSLConnection
from redis.connection import SSLConnection
from redis.exceptions import ConnectionError as RedisConnectionError

from redis_rotation_client.secret import PLAIN, Endpoint, Tls, describe


class AddressChangedError(RedisConnectionError):
    """The secret names another address or other TLS settings than the connection's; nothing
    was sent. A ``ConnectionError``, so redis-py's ``Retry`` connects again."""


def endpoint_of(connection: Any) -> Endpoint | None:
    """The address and TLS settings a redis-py connection (sync or asyncio) was made with;
    None for one with no host and port (a Unix socket)."""
    host, port = getattr(connection, "host", None), getattr(connection, "port", None)
    if not isinstance(host, str) or not isinstance(port, int):
        return None
    tls = PLAIN
    if isinstance(connection, (SSLConnection, AsyncSSLConnection)):
        verify = connection.cert_reqs == ssl.CERT_REQUIRED
        tls = Tls(enabled=True, verify=verify, ca_certificate=connection.ca_data)
    return Endpoint.of(host, port, tls)


def follow(connection: Any, secret_id: str, target: Endpoint, host: str) -> None:
    """Check a connection about to authenticate against the endpoint of the credentials it
    would get. Same endpoint: return. Same TLS settings, another address: point the
    connection at the new one and raise a retryable error. Otherwise: raise."""
    here = endpoint_of(connection)
    if here == target:
        return
    if here is None:
        raise AddressChangedError(
            f"secret {secret_id}: this connection has no host and port to check against "
            f"{target}; nothing was sent"
        )
    if here.tls != target.tls:
        raise AddressChangedError(
            f"secret {secret_id}: the secret now asks for {describe(target.tls)} at {target}, "
            f"this connection was made with {describe(here.tls)}; nothing was sent. Build the "
            "client again from the secret (redis_kwargs, pool_kwargs)"
        )
    connection.host, connection.port = host, target.port
    raise AddressChangedError(
        f"secret {secret_id}: Redis moved from {here} to {target}; nothing was sent to the "
        "old address, the connection is made again at the new one"
    )


def moved_error(secret_id: str, target: Endpoint, *, hooked: bool) -> AddressChangedError:
    """For credentials asked for by a connection made for another endpoint than the
    secret's now (``hooked``: the connect hook checked it, and will move it next time)."""
    advice = (
        "the connect hook moves the connection when it connects again"
        if hooked
        else "pass redis_connect_func=provider.on_connect (the helpers do) to follow it, "
        "or build the client again"
    )
    return AddressChangedError(
        f"secret {secret_id}: the secret now names {target}, not the address this connection "
        f"was made for; nothing was sent: {advice}"
    )


class NotANodeError(RedisConnectionError):
    """A cluster client's connection to an address the secret does not name (a node that
    announced, or redirected to, another address); nothing was sent."""


def not_a_node(secret_id: str, here: Endpoint | None) -> NotANodeError:
    where = str(here) if here is not None else "an address with no host and port"
    return NotANodeError(
        f"secret {secret_id}: the cluster sent this client to {where}, which the secret "
        "names neither as host nor in readOnlyEndpoints; nothing was sent there"
    )
