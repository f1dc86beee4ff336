"""A redis-py ``CredentialProvider`` that reads a redis-rotation secret from Secrets Manager
and keeps working through a rotation.

It serves the cached AWSCURRENT. When Redis refuses those credentials on connect, the
provider's connect hook (``on_connect``, passed as redis-py's ``redis_connect_func``) marks
them refused and re-raises; redis-py's ``Retry`` then connects again and asks for
credentials again, and this time the provider re-reads the secret: AWSCURRENT, and
AWSPENDING if AWSCURRENT is the refused one (between setSecret and finishSecret the
instance already takes AWSPENDING's password).

Credentials go only to the address and TLS settings they were read with (address.py): the
connect hook moves a connection made for an old address to AWSCURRENT's, before anything is
sent, or refuses it. A read that fails (Secrets Manager, or a value that does not parse)
keeps serving the cache and logs a warning; no secret value is ever logged (quiet.py).

The re-reads are bounded: one in flight per provider (single-flight), at most one
refusal-driven re-read per ``min_refresh_interval``, and otherwise one read per ``ttl``.
One provider per secret per process (``provider_for``) makes that bound per process.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from redis.credentials import CredentialProvider
from redis.exceptions import AuthenticationError
from redis.exceptions import ConnectionError as RedisConnectionError

from redis_rotation_client.address import endpoint_of, follow, moved_error, not_a_node
from redis_rotation_client.quiet import unlogged
from redis_rotation_client.secret import (
    ClientSecret,
    Credentials,
    Endpoint,
    SecretFormatError,
    parse_secret,
)

if TYPE_CHECKING:
    from redis.asyncio.connection import AbstractConnection as AsyncConnection
    from redis.connection import AbstractConnection

DEFAULT_TTL = 3600.0
DEFAULT_MIN_REFRESH_INTERVAL = 1.0
# Connects of one cluster node connection: the cached credentials, then AWSCURRENT and
# AWSPENDING as re-read after a refusal (a credential refused is not tried again).
NODE_CONNECTS = 3

# The credentials last handed to the connection being set up in this thread or task: the
# connect hook runs in the same context as the get_credentials call of its handshake.
_served: contextvars.ContextVar[Credentials | None] = contextvars.ContextVar(
    "redis_rotation_client_served", default=None
)
# The endpoint of the connection the connect hook is setting up in this thread or task.
_connecting: contextvars.ContextVar[Endpoint | None] = contextvars.ContextVar(
    "redis_rotation_client_connecting", default=None
)

# Credentials a cluster node refused to the connection being made in this thread or task:
# passwords are per node, so another node taking them meanwhile does not make them worth
# sending to this one again.
_tried: contextvars.ContextVar[frozenset[Credentials]] = contextvars.ContextVar(
    "redis_rotation_client_tried", default=frozenset()
)

logger = logging.getLogger("redis_rotation_client")


class SecretsManagerCredentialProvider(CredentialProvider):
    """Credentials of one redis-rotation secret, re-read when Redis refuses them.

    ``client`` is a boto3 Secrets Manager client (default: ``boto3.client("secretsmanager")``).
    ``clock`` is a monotonic clock in seconds (tests pass their own).
    """

    def __init__(
        self,
        secret_id: str,
        *,
        client: Any = None,
        ttl: float = DEFAULT_TTL,
        min_refresh_interval: float = DEFAULT_MIN_REFRESH_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if client is None:
            import boto3

            client = boto3.client("secretsmanager")
        self.secret_id = secret_id
        self._client = client
        self._ttl = ttl
        self._min_interval = min_refresh_interval
        self._clock = clock
        self._state = threading.Lock()  # guards the fields below; never held across a call
        self._reading = threading.Lock()  # single-flight: one Secrets Manager read at a time
        self._candidates: tuple[Credentials, ...] = ()  # AWSCURRENT first, all for _secret's
        # endpoint: a read that finds another reach (secret.py) drops the others
        self._refused: set[Credentials] = set()
        self._secret: ClientSecret | None = None
        self._first: Endpoint | None = None  # what a connection made without the hook uses
        self._read_at = float("-inf")
        self._forced_at = float("-inf")  # last read made because every candidate was refused
        self._tried_at = float("-inf")  # last first or TTL read attempted (it may fail)
        self.reads = 0  # Secrets Manager calls made, for the applications' own metrics

    # -- redis-py's interface ---------------------------------------------------------------

    def get_credentials(self) -> tuple[str] | tuple[str, str]:
        where = _connecting.get()
        chosen = self._choose(where)
        _served.set(chosen)
        return chosen.auth_args()

    async def get_credentials_async(self) -> tuple[str] | tuple[str, str]:
        where = _connecting.get()
        chosen = self._cached_choice(where)
        if chosen is None:
            # boto3 blocks: read in a worker thread, keep the event loop free.
            chosen = await asyncio.to_thread(self._choose, where)
        _served.set(chosen)  # set here: a worker thread's context does not flow back
        return chosen.auth_args()

    def on_connect(self, connection: AbstractConnection) -> None:
        """redis-py's ``redis_connect_func``: a check that the connection goes where the
        secret says (address.py), the normal handshake, and a note of whether Redis took
        the credentials it was given."""
        where = self._follow(connection, self.secret())
        token = _connecting.set(where)
        try:
            self._handshake(connection.on_connect)
        finally:
            _connecting.reset(token)

    def on_node_connect(
        self, connection: AbstractConnection, handshake: Callable[[], None]
    ) -> None:
        """A Redis Cluster node connection's handshake (connect.py's node connections call
        it before anything is sent): only to an address the secret names."""
        here = endpoint_of(connection)
        if here is None or here not in self.secret().nodes:
            raise not_a_node(self.secret_id, here)
        token = _connecting.set(here)
        try:
            self._handshake(handshake)
        finally:
            _connecting.reset(token)

    def node_connect(self, connection: AbstractConnection, connect: Callable[[], None]) -> None:
        """A Redis Cluster node connection's connect, made again after a refused AUTH with
        re-read credentials: RedisCluster retries neither a refused AUTH nor a node's
        connect. (redis-py closes the socket on a refusal: each try is a new socket.)"""
        tried = _tried.set(frozenset())
        try:
            for attempt in range(1, NODE_CONNECTS + 1):
                try:
                    connect()
                    return
                except AuthenticationError:
                    refused, here = _served.get(), endpoint_of(connection)
                    if refused is not None:
                        _tried.set(_tried.get() | {refused})
                    if attempt == NODE_CONNECTS or here is None or not self._another_to_try(here):
                        raise
        finally:
            _tried.reset(tried)

    def _handshake(self, handshake: Callable[[], object]) -> None:
        """Run redis-py's handshake, noting whether Redis took the credentials it was given."""
        try:
            handshake()
        except AuthenticationError:
            self._report(accepted=False)
            raise
        self._report(accepted=True)

    async def on_connect_async(self, connection: AsyncConnection) -> None:
        """``on_connect`` for ``redis.asyncio``."""
        cached = self._cached_secret()
        secret = cached if cached is not None else await asyncio.to_thread(self.secret)
        where = self._follow(connection, secret)
        token = _connecting.set(where)
        try:
            await connection.on_connect()
        except AuthenticationError:
            self._report(accepted=False)
            raise
        finally:
            _connecting.reset(token)
        self._report(accepted=True)

    def _follow(self, connection: Any, secret: ClientSecret) -> Endpoint:
        endpoint = secret.endpoint
        follow(connection, self.secret_id, endpoint, secret.host)
        return endpoint

    # -- what the helpers read ----------------------------------------------------------------

    def secret(self) -> ClientSecret:
        """Where Redis is and how to reach it, from AWSCURRENT (read now if never read)."""
        self._choose(None, check=False)
        with self._state:
            assert self._secret is not None
            return self._secret

    def _cached_secret(self) -> ClientSecret | None:
        """The secret without a read, or None if a read is due."""
        with self._state:
            if self._needed_read(self._clock()) is not None:
                return None
            return self._secret

    # -- the cache ----------------------------------------------------------------------------

    def _report(self, *, accepted: bool) -> None:
        served = _served.get()
        if served is None:
            return
        with self._state:
            if accepted:
                self._refused.discard(served)
            else:
                self._refused.add(served)

    def _another_to_try(self, where: Endpoint) -> bool:
        """After a refusal: re-read if one is due, then whether some credentials are not
        known to be refused (none: the refused ones are not sent again)."""
        self._choose(where)
        with self._state:
            return self._usable() is not None

    def _usable(self) -> Credentials | None:
        tried = _tried.get()
        return next((c for c in self._candidates if c not in self._refused | tried), None)

    def _needed_read(self, now: float) -> str | None:
        """Which read the cache needs now: "first", "ttl", "forced" (every candidate refused)
        or None. A first or forced read waits out the minimum interval since the last one.
        Called with ``_state`` held."""
        if not self._candidates:
            return "first" if now - self._tried_at >= self._min_interval else None
        if self._usable() is None and now - self._forced_at >= self._min_interval:
            return "forced"
        # While Secrets Manager fails, the cache serves and a retry waits the interval.
        if now - self._read_at >= self._ttl and now - self._tried_at >= self._min_interval:
            return "ttl"
        return None

    def _cached_choice(self, where: Endpoint | None) -> Credentials | None:
        """The answer without a read, or None if a read is due."""
        with self._state:
            if self._needed_read(self._clock()) is not None:
                return None
            return self._pick(where)

    def _pick(self, where: Endpoint | None) -> Credentials | None:
        """The credentials to send to ``where`` (None: a connection made without the hook,
        for the first endpoint read). Called with ``_state`` held."""
        if self._secret is None:
            return None
        target = self._secret.endpoint
        # A hooked connection's address is one the version names (a cluster's node, or the
        # host the hook moved it to); one made without the hook must be for the first host.
        allowed = where in self._secret.nodes if where is not None else self._first == target
        if not allowed:
            raise moved_error(self.secret_id, target, hooked=where is not None)
        return self._usable() or self._candidates[0]

    def _choose(self, where: Endpoint | None, *, check: bool = True) -> Credentials:
        with self._state:
            need = self._needed_read(self._clock())
            stuck = self._usable() is None  # nothing read yet, or every candidate refused
        if need is None and stuck:
            # Another thread's read may be in flight (it set the interval's clock when it
            # began): wait for its answer rather than send a password known to be refused.
            with self._reading:
                pass
        if need is not None and not self._reading.acquire(blocking=need != "ttl"):
            need = None  # another thread is refreshing after the TTL: the cache still serves
        # For a forced read, a thread waits for the read in flight rather than start another.
        if need is not None:
            try:
                self._read()
            finally:
                self._reading.release()
        with self._state:
            if check:
                chosen = self._pick(where)
            else:
                chosen = self._usable() or (self._candidates[0] if self._candidates else None)
        if chosen is None:
            raise RedisConnectionError(
                f"no credentials for Redis yet: secret {self.secret_id} could not be read"
            )
        return chosen

    def _read(self) -> None:
        """Re-read the secret, unless the read this thread waited for already did."""
        with self._state:
            now = self._clock()
            need = self._needed_read(now)
            if need is None:
                return
            if need == "forced":
                self._forced_at = now
            else:
                self._tried_at = now
            refused = set(self._refused)
        secret = self._fetch("AWSCURRENT")
        if secret is None:
            return
        fresh = [secret.credentials]
        if secret.credentials in refused:
            # Refused AWSCURRENT: a rotation's setSecret has landed, finishSecret not yet.
            pending = self._fetch("AWSPENDING")
            # Its password is for its own addresses only; connections follow AWSCURRENT's.
            if pending is not None and pending.reach == secret.reach:
                fresh.append(pending.credentials)
        with self._state:
            # Earlier candidates stay behind the fresh ones: after a TTL read between
            # setSecret and finishSecret, the AWSPENDING read before still serves. Not
            # those of another endpoint: they never go to this one.
            moved = self._secret is not None and self._secret.reach != secret.reach
            kept = [] if moved else [c for c in self._candidates if c not in fresh]
            self._candidates = (*fresh, *kept)[:4]
            self._refused &= set(self._candidates)
            self._secret = secret
            self._first = self._first or secret.endpoint
            self._read_at = self._clock()

    def _fetch(self, stage: str) -> ClientSecret | None:
        """One GetSecretValue, with the libraries' logs of it dropped (quiet.py). A failure
        to read or to parse leaves the cache as it is, with a warning; with no cache at all
        it raises: a redis-py ConnectionError naming the code (which redis-py's Retry
        retries), or the SecretFormatError naming the field."""
        from botocore.exceptions import BotoCoreError, ClientError

        with self._state:
            self.reads += 1
        try:
            with unlogged():
                response = self._client.get_secret_value(
                    SecretId=self.secret_id, VersionStage=stage
                )
            return parse_secret(response.get("SecretString"), self.secret_id)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", "unknown"))
            if stage == "AWSPENDING" and code == "ResourceNotFoundException":
                return None
            problem: Exception = self._unreadable(stage, code)
        except BotoCoreError as exc:
            problem = self._unreadable(stage, type(exc).__name__)
        except SecretFormatError as exc:
            problem = exc
        self._failed(stage, problem)
        return None

    def _unreadable(self, stage: str, code: str) -> RedisConnectionError:
        return RedisConnectionError(
            f"cannot read {stage} of secret {self.secret_id} from Secrets Manager ({code})"
        )

    def _failed(self, stage: str, error: Exception) -> None:
        """Keep serving the cache, with a warning; without one, raise. Our messages name
        the secret, the stage, a field or an error code: never a value."""
        with self._state:
            have_cache = bool(self._candidates)
        if not have_cache:
            raise error from None
        logger.warning("%s could not be used, the cached credentials still serve: %s", stage, error)


_registry: dict[str, SecretsManagerCredentialProvider] = {}
_registry_lock = threading.Lock()


def provider_for(secret_id: str, **options: Any) -> SecretsManagerCredentialProvider:
    """The process's one provider for ``secret_id`` (made with ``options`` the first time),
    so that every pool of the process shares its cache and its bound on re-reads."""
    with _registry_lock:
        provider = _registry.get(secret_id)
        if provider is None:
            provider = SecretsManagerCredentialProvider(secret_id, **options)
            _registry[secret_id] = provider
        return provider


__all__ = [
    "DEFAULT_MIN_REFRESH_INTERVAL",
    "DEFAULT_TTL",
    "SecretsManagerCredentialProvider",
    "provider_for",
]
