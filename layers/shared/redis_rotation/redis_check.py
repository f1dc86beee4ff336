"""Proving a password with a real Redis ``AUTH`` followed by ``PING``, on every endpoint.

One connection attempt is a ``RedisProbe``: the real one speaks redis-py; tests and the
local cloud's instrument pass in their own, so nothing patches this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from redis_rotation import observability
from redis_rotation.errors import RedisUnreachableError, tls_mismatch
from redis_rotation.polling import Backoff, Deadline, poll

if TYPE_CHECKING:
    from redis_rotation.secret import Endpoint, RedisSecret, TlsSettings


@dataclass(frozen=True)
class RedisTimeouts:
    connect: float = 5.0
    socket: float = 5.0


@dataclass(frozen=True)
class RedisTarget:
    """Where one connection attempt goes, and how."""

    endpoint: Endpoint
    tls: TlsSettings
    timeouts: RedisTimeouts


class RedisProbe(Protocol):
    """One connection attempt: AUTH (when given a password; no password: anonymous) + PING."""

    def ping(self, target: RedisTarget, username: str | None, password: str | None) -> bool:
        """True on PONG; False if the server refuses the credentials (or the lack of them).

        Raises RedisUnreachableError when the endpoint cannot be asked at all."""
        ...


def _client_options(tls: TlsSettings, timeouts: RedisTimeouts) -> dict[str, Any]:
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
    if tls.enabled:
        options["ssl"] = True
        options["ssl_cert_reqs"] = "required" if tls.verify else "none"
        options["ssl_check_hostname"] = tls.verify
        if tls.ca_certificate:
            options["ssl_ca_data"] = tls.ca_certificate
    return options


class RedisPyProbe:
    """The real probe: a single-connection redis-py client, one attempt, RESP2."""

    def ping(self, target: RedisTarget, username: str | None, password: str | None) -> bool:
        options = _client_options(target.tls, target.timeouts)
        return _ping(target.endpoint, options, username, password)


REDIS_PROBE: RedisProbe = RedisPyProbe()


def _ping(
    endpoint: Endpoint,
    options: dict[str, Any],
    username: str | None = None,
    password: str | None = None,
) -> bool:
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
        hint = tls_mismatch(exc, bool(options.get("ssl"))) or (
            "check the network path, security groups and TLS settings"
        )
        raise RedisUnreachableError(
            f"cannot reach Redis at {endpoint} ({type(exc).__name__}); {hint}"
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
    probe: RedisProbe = REDIS_PROBE,
) -> bool:
    """True if ``endpoint`` accepts ``password``; False if it refuses it. With
    ``require_refusal`` (the full proof) it must also refuse a client without a password.

    Raises RedisUnreachableError when the endpoint cannot be asked at all, so that "wrong
    password" and "no route to Redis" are never confused.
    """
    target = RedisTarget(endpoint, secret.tls, timeouts)
    username, secret_word = secret.auth(password)
    if not observability.redis_auth(
        str(endpoint), lambda: probe.ping(target, username, secret_word)
    ):
        return False
    # A user without a password ("nopass") accepts *any* password given with a user name,
    # so AUTH alone proves nothing: the instance must also refuse a client that does not
    # authenticate.
    return not require_refusal or not probe.ping(target, None, None)


def password_accepted(
    secret: RedisSecret,
    password: str,
    timeouts: RedisTimeouts,
    *,
    everywhere: bool = True,
    require_refusal: bool = True,
    probe: RedisProbe = REDIS_PROBE,
) -> bool:
    """True if every endpoint of ``secret`` accepts ``password`` (only the primary one, the
    instance the provider changes, when ``everywhere`` is False)."""
    endpoints = secret.endpoints if everywhere else secret.endpoints[:1]
    return all(
        endpoint_accepts(
            secret, e, password, timeouts, require_refusal=require_refusal, probe=probe
        )
        for e in endpoints
    )


# Polls for a change to show start fast and stay frequent: the time between the provider
# finishing and us noticing is wasted Lambda time.
STATUS_BACKOFF = Backoff(first=0.05, cap=1.0)


@dataclass(frozen=True)
class RedisCheck:
    """The engine's questions to Redis, through one probe with the function's timeouts."""

    timeouts: RedisTimeouts
    probe: RedisProbe = REDIS_PROBE

    def accepts(
        self,
        secret: RedisSecret,
        password: str,
        *,
        tolerate_unreachable: bool = False,
        everywhere: bool = False,
        require_refusal: bool = True,
    ) -> bool:
        """Whether Redis accepts ``password``. By default only the primary endpoint is
        asked: it is the instance the provider changes, so it tells whether a change took
        effect; replicas follow, and testSecret waits for ``everywhere``. Unreachable counts
        as "no" when ``tolerate_unreachable``."""
        try:
            return password_accepted(
                secret,
                password,
                self.timeouts,
                everywhere=everywhere,
                require_refusal=require_refusal,
                probe=self.probe,
            )
        except RedisUnreachableError:
            if tolerate_unreachable:
                return False
            raise

    def wait_accepted(
        self,
        secret: RedisSecret,
        deadline: Deadline,
        *,
        everywhere: bool = False,
        require_refusal: bool = True,
    ) -> None:
        """Return once Redis accepts the secret's own password; DeadlineExceededError if not."""

        def accepted() -> bool | None:
            ok = self.accepts(
                secret,
                secret.password,
                tolerate_unreachable=True,
                everywhere=everywhere,
                require_refusal=require_refusal,
            )
            return True if ok else None

        poll(
            accepted,
            deadline=deadline,
            what=f"Redis to accept the new password of {secret.instance_id}",
            backoff=STATUS_BACKOFF,
        )
