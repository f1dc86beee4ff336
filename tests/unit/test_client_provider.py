"""The client's credential provider and secret reading, with a fake Secrets Manager client
and a fake clock (the real ones: tests/e2e/test_client_rotation.py)."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import redis
from botocore.exceptions import ClientError
from redis.exceptions import AuthenticationError
from redis.exceptions import ConnectionError as RedisConnectionError

from redis_rotation_client import (
    AddressChangedError,
    NotANodeError,
    SecretFormatError,
    SecretsManagerCredentialProvider,
)
from redis_rotation_client.address import endpoint_of
from redis_rotation_client.connect import (
    NodeConnection,
    NodeSSLConnection,
    async_redis_kwargs,
    cluster_kwargs,
    pool_kwargs,
    redis_kwargs,
)
from tests.support.clock import FakeClock

pytestmark = pytest.mark.unit

BASE = {"provider": "uredis", "host": "10.0.0.5", "port": 6379, "tls": {"enabled": False}}


class FakeSecrets:
    """get_secret_value over a stage -> SecretString map; counts the calls."""

    def __init__(self, stages: dict[str, dict[str, Any]]) -> None:
        self.stages = stages
        self.calls: list[str] = []

    def get_secret_value(self, SecretId: str, VersionStage: str) -> dict[str, Any]:
        assert SecretId == "app/redis"
        self.calls.append(VersionStage)
        if VersionStage not in self.stages:
            error = {"Error": {"Code": "ResourceNotFoundException", "Message": "none"}}
            raise ClientError(error, "GetSecretValue")  # type: ignore[arg-type]
        return {"SecretString": json.dumps(self.stages[VersionStage])}


class Handshake:
    """A connection whose AUTH the test decides: it asks the provider as redis-py does."""

    def __init__(self, provider: SecretsManagerCredentialProvider, accepted: set[str]) -> None:
        self.provider = provider
        self.accepted = accepted
        self.sent: tuple[str, ...] = ()
        self.host, self.port = BASE["host"], BASE["port"]  # where redis-py connected it

    def on_connect(self) -> None:
        self.sent = self.provider.get_credentials()
        if self.sent[-1] not in self.accepted:
            raise AuthenticationError("WRONGPASS")

    def connect(self) -> tuple[str, ...]:
        self.provider.on_connect(self)  # type: ignore[arg-type]
        return self.sent


def provider(
    stages: dict[str, dict[str, Any]], clock: FakeClock, **options: Any
) -> tuple[SecretsManagerCredentialProvider, FakeSecrets]:
    secrets = FakeSecrets(stages)
    made = SecretsManagerCredentialProvider(
        "app/redis", client=secrets, clock=clock.clock, **options
    )
    return made, secrets


def test_serves_awscurrent_from_the_cache_until_the_ttl(fake_clock: FakeClock) -> None:
    made, secrets = provider({"AWSCURRENT": {**BASE, "password": "p-one"}}, fake_clock, ttl=60)
    assert [made.get_credentials() for _ in range(5)] == [("p-one",)] * 5
    assert secrets.calls == ["AWSCURRENT"]
    secrets.stages["AWSCURRENT"]["password"] = "p-two"
    fake_clock.now += 61
    assert made.get_credentials() == ("p-two",)
    assert secrets.calls == ["AWSCURRENT", "AWSCURRENT"]


def test_a_refused_awscurrent_is_re_read_then_awspending_is_tried(fake_clock: FakeClock) -> None:
    stages = {"AWSCURRENT": {**BASE, "password": "p-old"}}
    made, secrets = provider(stages, fake_clock)
    assert Handshake(made, {"p-old"}).connect() == ("p-old",)
    # setSecret: AWSPENDING written, the instance changed; AWSCURRENT not moved yet.
    stages["AWSPENDING"] = {**BASE, "password": "p-new"}
    handshake = Handshake(made, {"p-new"})
    with pytest.raises(AuthenticationError):
        handshake.connect()
    assert handshake.connect() == ("p-new",)  # redis-py's Retry: the second attempt
    assert secrets.calls == ["AWSCURRENT", "AWSCURRENT", "AWSPENDING"]
    # finishSecret moves AWSCURRENT; the TTL read finds it, and AWSPENDING is not read again.
    stages["AWSCURRENT"], stages["AWSPREVIOUS"] = stages.pop("AWSPENDING"), stages["AWSCURRENT"]
    fake_clock.now += 3601
    assert handshake.connect() == ("p-new",)
    assert secrets.calls[3:] == ["AWSCURRENT"]


class GatedSecrets(FakeSecrets):
    """Its AWSPENDING read waits until the test opens the gate."""

    def __init__(self, stages: dict[str, dict[str, Any]]) -> None:
        super().__init__(stages)
        self.gate = threading.Event()

    def get_secret_value(self, SecretId: str, VersionStage: str) -> dict[str, Any]:
        answer = super().get_secret_value(SecretId, VersionStage)
        if VersionStage == "AWSPENDING":
            assert self.gate.wait(timeout=10)
        return answer


def test_a_refused_connection_waits_for_the_re_read_in_flight() -> None:
    secrets = GatedSecrets({"AWSCURRENT": {**BASE, "password": "p-old"}})
    made = SecretsManagerCredentialProvider("app/redis", client=secrets)
    made.get_credentials()
    secrets.stages["AWSPENDING"] = {**BASE, "password": "p-new"}
    with pytest.raises(AuthenticationError):
        Handshake(made, {"p-new"}).connect()
    answers: dict[str, tuple[str, ...]] = {}

    def ask(name: str) -> None:
        answers[name] = made.get_credentials()

    reader = threading.Thread(target=ask, args=("reader",))
    reader.start()
    wait_for(lambda: "AWSPENDING" in secrets.calls)
    waiter = threading.Thread(target=ask, args=("waiter",))
    waiter.start()  # within the interval: no read of its own, and not the refused password
    secrets.gate.set()
    for thread in (reader, waiter):
        thread.join(timeout=10)
    assert answers == {"reader": ("p-new",), "waiter": ("p-new",)}
    assert secrets.calls == ["AWSCURRENT", "AWSCURRENT", "AWSPENDING"]


def wait_for(condition: Callable[[], bool]) -> None:
    for _ in range(1000):
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError("timed out")


def test_refusals_re_read_at_most_once_per_interval(fake_clock: FakeClock) -> None:
    made, secrets = provider({"AWSCURRENT": {**BASE, "password": "p-x"}}, fake_clock)
    refusing = Handshake(made, set())
    for _ in range(20):
        with pytest.raises(AuthenticationError):
            refusing.connect()
    # The first read, and one re-read (AWSCURRENT, then the absent AWSPENDING).
    assert secrets.calls == ["AWSCURRENT", "AWSCURRENT", "AWSPENDING"]
    fake_clock.now += 1.0
    with pytest.raises(AuthenticationError):
        refusing.connect()
    assert len(secrets.calls) == 5


def test_an_accepted_password_is_served_again_after_a_refusal(fake_clock: FakeClock) -> None:
    # A refusal by a replica lagging behind, say: a later success clears the mark.
    made, _ = provider({"AWSCURRENT": {**BASE, "password": "p-a"}}, fake_clock)
    with pytest.raises(AuthenticationError):
        Handshake(made, set()).connect()
    fake_clock.now += 2
    assert Handshake(made, {"p-a"}).connect() == ("p-a",)
    assert made.get_credentials() == ("p-a",)


def test_a_secret_that_cannot_be_read_is_a_retryable_connection_error(
    fake_clock: FakeClock,
) -> None:
    made, secrets = provider({}, fake_clock)
    with pytest.raises(RedisConnectionError, match=r"app/redis .*ResourceNotFoundException"):
        made.get_credentials()
    for _ in range(3):
        with pytest.raises(RedisConnectionError, match="app/redis could not be read"):
            made.get_credentials()
    assert secrets.calls == ["AWSCURRENT"], "bounded: no read before the minimum interval"


def test_while_secrets_manager_fails_the_cache_serves_and_retries_wait(
    fake_clock: FakeClock,
) -> None:
    made, secrets = provider({"AWSCURRENT": {**BASE, "password": "p-1"}}, fake_clock, ttl=60)
    made.get_credentials()
    del secrets.stages["AWSCURRENT"]  # from now on every read fails
    fake_clock.now += 61
    assert [made.get_credentials() for _ in range(10)] == [("p-1",)] * 10
    fake_clock.now += 1
    assert made.get_credentials() == ("p-1",)
    assert secrets.calls == ["AWSCURRENT"] * 3


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"provider": "tencent", "account": "acct1"}, ("acct1@pw-1",)),
        ({"provider": "tencent", "username": "app"}, ("app", "pw-1")),
        ({"provider": "uredis", "username": "app"}, ("app", "pw-1")),
        ({"provider": "tencent"}, ("pw-1",)),
    ],
)
def test_auth_arguments_follow_the_provider(
    fake_clock: FakeClock, extra: dict[str, str], expected: tuple[str, ...]
) -> None:
    made, _ = provider({"AWSCURRENT": {**BASE, "password": "pw-1", **extra}}, fake_clock)
    assert made.get_credentials() == expected


def test_a_bad_field_is_named_and_its_value_never_shown(fake_clock: FakeClock) -> None:
    made, _ = provider({"AWSCURRENT": {**BASE, "password": "pw-1", "port": "s3cr3t"}}, fake_clock)
    with pytest.raises(SecretFormatError, match="field 'port'") as caught:
        made.get_credentials()
    assert "s3cr3t" not in str(caught.value)
    assert "pw-1" not in repr(made.get_credentials) + repr(caught.value)


def test_the_helpers_pass_tls_and_the_hook(fake_clock: FakeClock) -> None:
    tls = {"enabled": True, "verify": False}
    made, _ = provider({"AWSCURRENT": {**BASE, "password": "pw-1", "tls": tls}}, fake_clock)
    options = redis_kwargs("app/redis", provider=made)
    assert (options["host"], options["port"], options["ssl"]) == ("10.0.0.5", 6379, True)
    assert (options["ssl_cert_reqs"], options["ssl_check_hostname"]) == ("none", False)
    assert options["redis_connect_func"] == made.on_connect
    assert "ssl" not in pool_kwargs("app/redis", provider=made)
    assert pool_kwargs("app/redis", provider=made)["connection_class"].__name__ == "SSLConnection"


def test_a_malformed_awscurrent_after_the_ttl_keeps_serving_the_cache(
    fake_clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    made, secrets = provider({"AWSCURRENT": {**BASE, "password": "p-1"}}, fake_clock, ttl=60)
    assert made.get_credentials() == ("p-1",)
    # A hand edit gone wrong: the new password is there, the port is not an integer.
    secrets.stages["AWSCURRENT"] = {**BASE, "password": "p-typo", "port": "63 79"}
    fake_clock.now += 61
    with caplog.at_level("DEBUG", logger="redis_rotation_client"):
        assert [made.get_credentials() for _ in range(5)] == [("p-1",)] * 5
    assert secrets.calls == ["AWSCURRENT"] * 2, "retried after the interval, not per call"
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1
    assert "field 'port'" in warnings[0].getMessage()
    assert "p-typo" not in caplog.text
    assert "63 79" not in caplog.text
    secrets.stages["AWSCURRENT"]["port"] = 6379  # fixed: the next read takes it
    fake_clock.now += 1
    assert made.get_credentials() == ("p-typo",)


def test_a_malformed_awspending_is_not_tried_and_the_cache_serves(fake_clock: FakeClock) -> None:
    stages = {"AWSCURRENT": {**BASE, "password": "p-old"}}
    made, _ = provider(stages, fake_clock)
    made.get_credentials()
    stages["AWSPENDING"] = {**BASE, "password": "p-new", "host": ""}
    with pytest.raises(AuthenticationError):
        Handshake(made, {"p-new"}).connect()
    assert made.get_credentials() == ("p-old",)


def test_without_the_hook_a_moved_secret_is_refused_not_sent(fake_clock: FakeClock) -> None:
    made, secrets = provider({"AWSCURRENT": {**BASE, "password": "p-1"}}, fake_clock, ttl=60)
    assert made.get_credentials() == ("p-1",)
    secrets.stages["AWSCURRENT"] = {**BASE, "password": "p-2", "host": "10.0.0.9"}
    fake_clock.now += 61
    # redis-py asked without the connect hook: the connection is one made for 10.0.0.5.
    with pytest.raises(RedisConnectionError, match=r"app/redis\b.*10\.0\.0\.9:6379") as caught:
        made.get_credentials()
    assert "p-" not in str(caught.value)


TLS_VARIANTS = [
    {"enabled": False},
    {"enabled": False, "verify": True, "caCertificate": "a CA"},
    {"enabled": True},
    {"enabled": True, "verify": False},
    {"enabled": True, "verify": True, "caCertificate": "a CA"},
]


@pytest.mark.parametrize("tls", TLS_VARIANTS, ids=str)
@pytest.mark.parametrize("kind", ["sync", "pool", "async"])
def test_a_connection_made_from_the_helpers_is_where_its_secret_says(
    fake_clock: FakeClock, tls: dict[str, Any], kind: str
) -> None:
    # Real redis-py connection objects (never connected): had the helpers' settings and the
    # hook's reading of them ever disagreed, every connection would be refused.
    import redis.asyncio

    value = {**BASE, "host": "Redis.Example", "password": "pw-1", "tls": tls}
    made, _ = provider({"AWSCURRENT": value}, fake_clock)
    if kind == "pool":
        pool = redis.ConnectionPool(**pool_kwargs("app/redis", provider=made))
    elif kind == "sync":
        pool = redis.Redis(**redis_kwargs("app/redis", provider=made)).connection_pool
    else:
        client = redis.asyncio.Redis(**async_redis_kwargs("app/redis", provider=made))
        pool = client.connection_pool  # type: ignore[assignment]
    connection = pool.make_connection()
    assert endpoint_of(connection) == made.secret().endpoint
    assert made.secret().endpoint.host == "redis.example"


@pytest.mark.parametrize(
    "change",
    [{"verify": False}, {"caCertificate": "another CA"}, {"enabled": False}],
    ids=str,
)
def test_other_tls_settings_are_refused_and_the_connection_left_alone(
    fake_clock: FakeClock, change: dict[str, Any]
) -> None:
    tls = {"enabled": True, "verify": True, "caCertificate": "a CA"}
    made, secrets = provider({"AWSCURRENT": {**BASE, "password": "pw-1", "tls": tls}}, fake_clock)
    pool = redis.Redis(**redis_kwargs("app/redis", provider=made)).connection_pool
    built = pool.make_connection()
    assert isinstance(built, redis.connection.SSLConnection)
    secrets.stages["AWSCURRENT"] = {**BASE, "password": "pw-2", "tls": {**tls, **change}}
    fake_clock.now += 3601
    with pytest.raises(AddressChangedError, match="Build the client again") as caught:
        made.on_connect(built)
    assert "pw-" not in str(caught.value)
    assert (built.host, built.port) == ("10.0.0.5", 6379)


def test_a_moved_address_with_the_same_tls_is_followed(fake_clock: FakeClock) -> None:
    made, secrets = provider({"AWSCURRENT": {**BASE, "password": "pw-1"}}, fake_clock)
    pool = redis.Redis(**redis_kwargs("app/redis", provider=made)).connection_pool
    connection = pool.make_connection()
    assert isinstance(connection, redis.connection.Connection)
    secrets.stages["AWSCURRENT"] = {**BASE, "password": "pw-2", "host": "New.Example", "port": 7000}
    fake_clock.now += 3601
    with pytest.raises(AddressChangedError, match=r"to new\.example:7000 \(no TLS\)"):
        made.on_connect(connection)
    assert (connection.host, connection.port) == ("New.Example", 7000)


@pytest.mark.parametrize(
    ("tls", "field"),
    [
        ({"enabled": "false"}, "tls.enabled"),
        ({"verify": 0}, "tls.verify"),
        ({"caCertificate": 5}, "tls.caCertificate"),
    ],
    ids=str,
)
def test_tls_settings_of_the_wrong_type_are_named_not_guessed(
    fake_clock: FakeClock, tls: dict[str, Any], field: str
) -> None:
    # "false" is truthy: read as a boolean it would turn TLS on, or verification off.
    made, _ = provider({"AWSCURRENT": {**BASE, "password": "pw-1", "tls": tls}}, fake_clock)
    with pytest.raises(SecretFormatError, match=f"field '{field}' must be"):
        made.get_credentials()


def test_awspending_at_another_address_is_never_sent_to_awscurrents(
    fake_clock: FakeClock,
) -> None:
    stages = {"AWSCURRENT": {**BASE, "password": "p-old"}}
    made, secrets = provider(stages, fake_clock)
    made.get_credentials()
    stages["AWSPENDING"] = {**BASE, "password": "p-elsewhere", "host": "10.9.9.9"}
    handshake = Handshake(made, set())
    for _ in range(2):
        with pytest.raises(AuthenticationError):
            handshake.connect()
    assert secrets.calls == ["AWSCURRENT", "AWSCURRENT", "AWSPENDING"]
    assert handshake.sent == ("p-old",)


# -- Redis Cluster: node connections (the real ones: tests/integration/test_client_cluster.py)

NODES = [{"host": "10.0.0.6", "port": 6379}, {"host": "10.0.0.7", "port": 6380}]


class NodeHandshake(Handshake):
    """A cluster node's connection at ``host:port``: every handshake it runs is kept."""

    def __init__(
        self, made: SecretsManagerCredentialProvider, accepted: set[str], host: str, port: int
    ) -> None:
        super().__init__(made, accepted)
        self.host, self.port = host, port
        self.handshakes: list[tuple[str, ...]] = []

    def on_connect(self) -> None:
        self.sent = self.provider.get_credentials()
        self.handshakes.append(self.sent)
        if self.sent[-1] not in self.accepted:
            raise AuthenticationError("WRONGPASS")

    def connect(self) -> tuple[str, ...]:
        # As NodeConnection: each connect runs the checked handshake on a new socket.
        def once() -> None:
            self.provider.on_node_connect(self, self.on_connect)  # type: ignore[arg-type]

        self.provider.node_connect(self, once)  # type: ignore[arg-type]
        return self.sent


@pytest.mark.parametrize(("host", "port"), [("10.0.0.6", 6379), ("10.0.0.5", 6379)])
def test_a_node_the_secret_names_gets_the_credentials(
    fake_clock: FakeClock, host: str, port: int
) -> None:
    made, _ = provider(
        {"AWSCURRENT": {**BASE, "password": "p-1", "readOnlyEndpoints": NODES}}, fake_clock
    )
    assert NodeHandshake(made, {"p-1"}, host, port).connect() == ("p-1",)


@pytest.mark.parametrize(
    ("host", "port"), [("10.0.0.8", 6379), ("10.0.0.6", 6380), ("attacker.example", 6379)]
)
def test_a_node_the_secret_does_not_name_gets_nothing(
    fake_clock: FakeClock, host: str, port: int
) -> None:
    made, _ = provider(
        {"AWSCURRENT": {**BASE, "password": "p-1", "readOnlyEndpoints": NODES}}, fake_clock
    )
    node = NodeHandshake(made, {"p-1"}, host, port)
    with pytest.raises(NotANodeError, match="nothing was sent") as caught:
        node.connect()
    assert node.handshakes == []
    assert "p-1" not in str(caught.value)


def test_a_refused_node_auth_connects_again_with_awspending(
    fake_clock: FakeClock,
) -> None:
    # setSecret has landed (the node takes AWSPENDING only); RedisCluster retries nothing.
    value = {**BASE, "readOnlyEndpoints": NODES}
    stages = {"AWSCURRENT": {**value, "password": "p-old"}}
    made, secrets = provider(stages, fake_clock)
    made.get_credentials()
    stages["AWSPENDING"] = {**value, "password": "p-new"}
    node = NodeHandshake(made, {"p-new"}, "10.0.0.7", 6380)
    assert node.connect() == ("p-new",)
    assert node.handshakes == [("p-old",), ("p-new",)]
    assert secrets.calls == ["AWSCURRENT", "AWSCURRENT", "AWSPENDING"]


def test_a_node_refusing_every_password_fails_without_resending_one(
    fake_clock: FakeClock,
) -> None:
    value = {**BASE, "readOnlyEndpoints": NODES}
    stages = {
        "AWSCURRENT": {**value, "password": "p-old"},
        "AWSPENDING": {**value, "password": "p-new"},
    }
    made, _ = provider(stages, fake_clock)
    node = NodeHandshake(made, set(), "10.0.0.6", 6379)
    with pytest.raises(AuthenticationError):
        node.connect()
    assert node.handshakes == [("p-old",), ("p-new",)]


def test_awspending_naming_other_nodes_is_never_sent_to_awscurrents(
    fake_clock: FakeClock,
) -> None:
    stages = {"AWSCURRENT": {**BASE, "password": "p-old", "readOnlyEndpoints": NODES}}
    made, _ = provider(stages, fake_clock)
    made.get_credentials()
    elsewhere = [*NODES[:1], {"host": "10.9.9.9", "port": 6379}]
    stages["AWSPENDING"] = {**BASE, "password": "p-elsewhere", "readOnlyEndpoints": elsewhere}
    node = NodeHandshake(made, {"p-elsewhere"}, "10.0.0.6", 6379)
    with pytest.raises(AuthenticationError):
        node.connect()
    assert node.handshakes == [("p-old",)]


@pytest.mark.parametrize(
    ("listed", "field"),
    [
        ({"host": "10.0.0.6"}, "readOnlyEndpoints[1].port"),
        ({"host": "", "port": 6379}, "readOnlyEndpoints[1].host"),
        ({"host": "10.0.0.6", "port": 70000}, "readOnlyEndpoints[1].port"),
        ("10.0.0.6:6379", "readOnlyEndpoints[1]"),
    ],
    ids=str,
)
def test_a_bad_read_only_endpoint_is_named(fake_clock: FakeClock, listed: Any, field: str) -> None:
    value = {**BASE, "password": "pw-1", "readOnlyEndpoints": [NODES[0], listed]}
    made, _ = provider({"AWSCURRENT": value}, fake_clock)
    with pytest.raises(SecretFormatError, match=re.escape(f"field '{field}' must be")):
        made.get_credentials()


@pytest.mark.parametrize("tls", TLS_VARIANTS, ids=str)
def test_cluster_kwargs_make_node_connections_that_check_before_sending(
    fake_clock: FakeClock, tls: dict[str, Any]
) -> None:
    # A real redis-py RedisCluster node pool's connection class and options, never connected:
    # its handshake asks the provider first, which refuses an address the secret does not name.
    value = {**BASE, "password": "pw-1", "tls": tls, "readOnlyEndpoints": NODES}
    made, _ = provider({"AWSCURRENT": value}, fake_clock)
    options = cluster_kwargs("app/redis", provider=made)
    assert options["url"] == "redis://10.0.0.5:6379"
    kind = NodeSSLConnection if tls["enabled"] else NodeConnection
    assert options["connection_class"] is kind
    pool = redis.ConnectionPool.from_url(options.pop("url"), **options)
    connection = pool.make_connection()
    assert isinstance(connection, kind)
    assert endpoint_of(connection) == made.secret().endpoint
    connection.host = "10.0.0.8"
    with pytest.raises(NotANodeError):
        connection.on_connect()
