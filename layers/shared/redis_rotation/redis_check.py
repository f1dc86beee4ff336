"""Proving a version (its account, password, endpoints and TLS) with a real Redis ``AUTH``
followed by ``PING``.

One connection attempt is a ``RedisProbe``: the real one speaks redis-py; tests and the
local cloud's instrument pass in their own, so nothing patches this module.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol

from redis_rotation import observability
from redis_rotation.errors import DeadlineExceededError, RedisUnreachableError, tls_mismatch
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
        # "NOAUTH", or "AUTH called without any password configured": refused. So is NOPERM
        # for a client that sent no password: the default user exists (nopass) but may run
        # nothing (-@all), which is how a named-user instance keeps anonymous clients out.
        if "AUTH" in str(exc).upper():
            return False
        if password is None and isinstance(exc, redis.exceptions.NoPermissionError):
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


class Level(Enum):
    """How much a proof shows."""

    # The version's credentials are accepted: enough to tell whether a change landed.
    AUTH = "auth"
    # ...and the same user with a wrong password, and a client without one, are refused. A
    # user without a password ("nopass") accepts any password, so AUTH alone proves nothing.
    FULL = "full"


class Where(Enum):
    """Which endpoints a proof asks."""

    # The instance the provider changes: it tells whether a change took effect.
    PRIMARY = "primary"
    # The primary and every read-only endpoint the version names.
    EVERY = "every"


def _endpoint_proves(
    version: RedisSecret,
    endpoint: Endpoint,
    level: Level,
    timeouts: RedisTimeouts,
    probe: RedisProbe,
) -> bool:
    """Whether ``endpoint`` accepts the version's own credentials (its account or user name,
    its password, its TLS settings), and, for ``Level.FULL``, refuses the same user with a
    random wrong password and a client without one.

    Raises RedisUnreachableError when the endpoint cannot be asked at all, so that "wrong
    password" and "no route to Redis" are never confused.
    """
    target = RedisTarget(endpoint, version.tls, timeouts)
    username, secret_word = version.auth(version.password)
    if not observability.redis_auth(
        str(endpoint), lambda: probe.ping(target, username, secret_word)
    ):
        return False
    if level is Level.AUTH:
        return True
    wrong_user, wrong_word = version.auth(secrets.token_urlsafe(24))
    return not probe.ping(target, wrong_user, wrong_word) and not probe.ping(target, None, None)


# Polls for a change to show start fast and stay frequent: the time between the provider
# finishing and us noticing is wasted Lambda time.
STATUS_BACKOFF = Backoff(first=0.05, cap=1.0)


@dataclass(frozen=True)
class Proof:
    """The one proof of a version: the function, preflight, status and repair all ask Redis
    through it, with the function's timeouts and one probe. Two verbs: ``proves`` (ask
    once) and ``wait`` (ask until it does; ``holds`` answers instead of raising)."""

    timeouts: RedisTimeouts
    probe: RedisProbe = REDIS_PROBE

    def proves(
        self, version: RedisSecret, level: Level, where: Where | Endpoint = Where.PRIMARY
    ) -> bool:
        """Whether Redis proves ``version`` at ``where`` (one endpoint: for the tools, which
        report per endpoint). Raises RedisUnreachableError when an endpoint cannot be
        asked."""
        if isinstance(where, Where):
            endpoints = version.endpoints if where is Where.EVERY else version.endpoints[:1]
        else:
            endpoints = (where,)
        return all(
            _endpoint_proves(version, e, level, self.timeouts, self.probe) for e in endpoints
        )

    def wait(
        self, version: RedisSecret, deadline: Deadline, level: Level, where: Where = Where.PRIMARY
    ) -> None:
        """Return once Redis proves ``version``; DeadlineExceededError if not in time. An
        unreachable endpoint is asked again, as a refusing one is."""

        def proven() -> bool | None:
            try:
                return True if self.proves(version, level, where) else None
            except RedisUnreachableError:
                return None

        poll(
            proven,
            deadline=deadline,
            what=f"Redis to accept the new password of {version.instance_id}",
            backoff=STATUS_BACKOFF,
        )

    def holds(self, version: RedisSecret, deadline: Deadline) -> bool:
        """``wait`` for the full proof on every endpoint, answering False, not raising, when
        the deadline passes: what testSecret and finishSecret ask before they go on."""
        try:
            self.wait(version, deadline, Level.FULL, Where.EVERY)
        except DeadlineExceededError:
            return False
        return True
