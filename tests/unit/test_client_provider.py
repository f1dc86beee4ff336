"""The client's credential provider and secret reading, with a fake Secrets Manager client
and a fake clock (the real ones: tests/e2e/test_client_rotation.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import redis
from redis.exceptions import AuthenticationError
from redis.exceptions import ConnectionError as RedisConnectionError

from redis_rotation_client import (
    AddressChangedError,
    SecretFormatError,
    SecretsManagerCredentialProvider,
)
from redis_rotation_client.address import endpoint_of
from redis_rotation_client.connect import (
    async_redis_kwargs,
    pool_kwargs,
    redis_kwargs,
)
from tests.support.clock import FakeClock
from tests.unit.client_fakes import BASE, TLS_VARIANTS, FakeSecrets, Handshake, provider

pytestmark = pytest.mark.unit


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
