"""Keyword arguments for ``redis.Redis``, ``redis.ConnectionPool``, ``redis.asyncio.Redis``
and ``redis.cluster.RedisCluster`` built from a secret id: the two lines an application
changes.

    from redis_rotation_client import redis_kwargs
    client = redis.Redis(**redis_kwargs("prod/redis"), decode_responses=True)
"""

from __future__ import annotations

from functools import partial
from typing import Any

from redis.backoff import ExponentialWithJitterBackoff
from redis.connection import AbstractConnection, Connection, SSLConnection

from redis_rotation_client.provider import SecretsManagerCredentialProvider, provider_for
from redis_rotation_client.secret import ClientSecret

# Retries of a connect (and of a command on a dropped connection).
RETRIES = 5
BACKOFF_BASE = 0.005
BACKOFF_CAP = 0.25


class FirstRetryAtOnce(ExponentialWithJitterBackoff):
    """No wait before the first retry: after a refused AUTH the provider has marked the
    password refused, so the next attempt already gets re-read credentials. Later retries
    back off with jitter."""

    def compute(self, failures: int) -> float:
        return 0.0 if failures <= 1 else super().compute(failures)


def backoff() -> FirstRetryAtOnce:
    return FirstRetryAtOnce(cap=BACKOFF_CAP, base=BACKOFF_BASE)


def _tls(secret: ClientSecret) -> dict[str, Any]:
    if not secret.tls.enabled:
        return {}
    options: dict[str, Any] = {
        "ssl_cert_reqs": "required" if secret.tls.verify else "none",
        "ssl_check_hostname": secret.tls.verify,
    }
    if secret.tls.ca_certificate:
        options["ssl_ca_data"] = secret.tls.ca_certificate
    return options


def _provider(
    secret_id: str, provider: SecretsManagerCredentialProvider | None, options: dict[str, Any]
) -> SecretsManagerCredentialProvider:
    return provider if provider is not None else provider_for(secret_id, **options)


def _common(secret: ClientSecret, provider: SecretsManagerCredentialProvider) -> dict[str, Any]:
    return {
        "host": secret.host,
        "port": secret.port,
        "credential_provider": provider,
        # RESP2: a one-tuple is sent as the one-argument AUTH the providers document
        # (Tencent's <account>@<password>); redis-py 8 defaults to RESP3's HELLO AUTH default.
        "protocol": 2,
    }


def redis_kwargs(
    secret_id: str,
    *,
    provider: SecretsManagerCredentialProvider | None = None,
    **provider_options: Any,
) -> dict[str, Any]:
    """Arguments for ``redis.Redis(...)``. ``provider_options`` go to the process's provider
    for ``secret_id`` when it is first made (``client``, ``ttl``, ``min_refresh_interval``)."""
    from redis.retry import Retry

    chosen = _provider(secret_id, provider, provider_options)
    secret = chosen.secret()
    tls = _tls(secret)
    return {
        **_common(secret, chosen),
        **({"ssl": True, **tls} if secret.tls.enabled else {}),
        "redis_connect_func": chosen.on_connect,
        "retry": Retry(backoff(), RETRIES),
    }


def pool_kwargs(
    secret_id: str,
    *,
    provider: SecretsManagerCredentialProvider | None = None,
    **provider_options: Any,
) -> dict[str, Any]:
    """Arguments for ``redis.ConnectionPool(...)`` (or ``BlockingConnectionPool``)."""
    options = redis_kwargs(secret_id, provider=provider, **provider_options)
    tls = options.pop("ssl", False)
    options["connection_class"] = SSLConnection if tls else Connection
    return options


def async_redis_kwargs(
    secret_id: str,
    *,
    provider: SecretsManagerCredentialProvider | None = None,
    **provider_options: Any,
) -> dict[str, Any]:
    """Arguments for ``redis.asyncio.Redis(...)``. The first read of the secret happens
    here, synchronously: call it at start-up, or in a worker thread."""
    from redis.asyncio.retry import Retry

    options = redis_kwargs(secret_id, provider=provider, **provider_options)
    chosen: SecretsManagerCredentialProvider = options["credential_provider"]
    options["redis_connect_func"] = chosen.on_connect_async
    options["retry"] = Retry(backoff(), RETRIES)
    return options


def _provider_of(connection: AbstractConnection) -> SecretsManagerCredentialProvider:
    provider = connection.credential_provider
    if not isinstance(provider, SecretsManagerCredentialProvider):
        raise TypeError("a cluster node connection needs a SecretsManagerCredentialProvider")
    return provider


class _Node(AbstractConnection):
    """What a Redis Cluster node's connection adds, plain or TLS: its provider checks the
    address before the handshake (RedisCluster's own connect hook runs only after the
    AUTH), and connects again after a refused AUTH."""

    def on_connect(self) -> None:
        _provider_of(self).on_node_connect(self, super().on_connect)

    def connect_check_health(
        self, check_health: bool = True, retry_socket_connect: bool = True
    ) -> None:
        connect = partial(super().connect_check_health, check_health, retry_socket_connect)
        _provider_of(self).node_connect(self, connect)


class NodeConnection(_Node, Connection):
    """A Redis Cluster node's connection."""


class NodeSSLConnection(_Node, SSLConnection):
    """A Redis Cluster node's connection over TLS."""


def cluster_kwargs(
    secret_id: str,
    *,
    provider: SecretsManagerCredentialProvider | None = None,
    **provider_options: Any,
) -> dict[str, Any]:
    """Arguments for ``redis.cluster.RedisCluster(...)``. The secret's ``host`` is the startup
    node; credentials go only to the addresses the secret names (``host`` and
    ``readOnlyEndpoints``). redis-py takes a connection class only with ``url``, hence the
    URL (TLS comes from the class and the ``ssl_*`` options, not from the scheme)."""
    from redis.retry import Retry

    chosen = _provider(secret_id, provider, provider_options)
    secret = chosen.secret()
    host = f"[{secret.host}]" if ":" in secret.host else secret.host
    options = _common(secret, chosen)
    del options["host"], options["port"]
    return {
        **options,
        "url": f"redis://{host}:{secret.port}",
        "connection_class": NodeSSLConnection if secret.tls.enabled else NodeConnection,
        **_tls(secret),
        "retry": Retry(backoff(), RETRIES),
    }
