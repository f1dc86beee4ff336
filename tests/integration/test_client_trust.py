"""The applications' client against an attacker: real redis-server processes, real
redis-py, real boto3 over HTTP to the local Secrets Manager (moto server).

- A secret's AWSCURRENT moves to another address (or turns TLS on): the old address must
  receive no byte of the new password (issue 19, item 9).
- An application logs at DEBUG: no log line may carry the secret value (item 10).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
import redis.asyncio

from localcloud.cloud import LocalCloud
from redis_rotation_client import AddressChangedError, SecretsManagerCredentialProvider
from redis_rotation_client.connect import async_redis_kwargs, pool_kwargs, redis_kwargs
from tests.integration.test_redis_tls import TlsProxy
from tests.support.clock import FakeClock
from tests.support.pki import make_pki
from tests.support.recorder import RecordingRelay

pytestmark = pytest.mark.integration


def password() -> str:
    # Letters and digits only: every encoding of it (JSON, repr, bytes) is the same text.
    return "pw" + secrets.token_hex(12)


def plain(port: int, password: str) -> dict[str, Any]:
    return {
        "provider": "uredis",
        "host": "127.0.0.1",
        "port": port,
        "tls": {"enabled": False},
        "password": password,
    }


class Moved:
    """A secret whose AWSCURRENT names an old address (a relay that records what it gets,
    in front of a real redis-server), and a real redis-server for the new address."""

    def __init__(self, cloud: LocalCloud, clock: FakeClock) -> None:
        self.old_password, self.new_password = password(), password()
        self.old = cloud.start_redis(self.old_password)
        self.new = cloud.start_redis(self.new_password)
        self.relay = RecordingRelay(self.old.port)
        self.sm = cloud.sm.secrets_manager()
        name = f"it/client-moved-{secrets.token_hex(4)}"
        self.arn = cloud.create_secret(name, plain(self.relay.port, self.old_password))
        self.clock = clock
        self.provider = SecretsManagerCredentialProvider(
            self.arn, client=self.sm, clock=clock.clock, ttl=60
        )

    def move(self, value: dict[str, Any]) -> None:
        """AWSCURRENT now names another address; the client's TTL runs out."""
        self.sm.put_secret_value(SecretId=self.arn, SecretString=json.dumps(value))
        self.clock.now += 61

    def assert_old_address_got_no_new_password(self) -> None:
        received = self.relay.received()
        assert self.old_password.encode() in received, "the relay records what it is sent"
        assert received.count(self.new_password.encode()) == 0


@pytest.fixture
def moved(cloud: LocalCloud, fake_clock: FakeClock) -> Iterator[Moved]:
    made = Moved(cloud, fake_clock)
    yield made
    made.relay.close()


def outcome(command: Callable[[], Any]) -> Any:
    """The command's result, or the error it raised (asserted on after the relay is)."""
    try:
        return command()
    except redis.RedisError as exc:
        return exc


@pytest.mark.parametrize("make", ["redis_kwargs", "pool_kwargs"])
def test_a_new_address_gets_the_new_password_and_the_old_one_nothing(
    moved: Moved, make: str
) -> None:
    if make == "redis_kwargs":
        client = redis.Redis(**redis_kwargs(moved.arn, provider=moved.provider))
    else:
        pool = redis.ConnectionPool(**pool_kwargs(moved.arn, provider=moved.provider))
        client = redis.Redis(connection_pool=pool)
    assert client.set("where", "old")
    moved.move(plain(moved.new.port, moved.new_password))
    client.connection_pool.disconnect()  # the next command makes a new connection

    result = outcome(lambda: client.set("where", "new"))
    moved.assert_old_address_got_no_new_password()
    assert result is True
    # Independent oracle: each server's own view of the key.
    assert moved.new.admin().get("where") == b"new"
    assert moved.old.admin().get("where") == b"old"
    client.close()


def test_without_the_connect_hook_a_moved_secret_is_refused(moved: Moved) -> None:
    client = redis.Redis(
        host="127.0.0.1", port=moved.relay.port, credential_provider=moved.provider, protocol=2
    )
    assert client.set("where", "old")
    moved.move(plain(moved.new.port, moved.new_password))
    client.connection_pool.disconnect()

    result = outcome(lambda: client.set("where", "new"))
    moved.assert_old_address_got_no_new_password()
    assert isinstance(result, AddressChangedError)
    assert f"127.0.0.1:{moved.new.port}" in str(result)
    client.close()


def test_the_async_client_follows_a_moved_secret_too(moved: Moved) -> None:
    async def commands() -> Any:
        client = redis.asyncio.Redis(**async_redis_kwargs(moved.arn, provider=moved.provider))
        assert await client.set("where", "old")
        moved.move(plain(moved.new.port, moved.new_password))
        await client.connection_pool.disconnect()
        try:
            return await client.set("where", "new")
        except redis.RedisError as exc:
            return exc
        finally:
            await client.aclose()

    result = asyncio.run(commands())
    moved.assert_old_address_got_no_new_password()
    assert result is True
    assert moved.new.admin().get("where") == b"new"


def test_tls_turned_on_is_refused_clearly_and_never_sent_in_clear(
    moved: Moved, tmp_path_factory: pytest.TempPathFactory
) -> None:
    pki = make_pki(tmp_path_factory.mktemp("client-moved-pki"), "127.0.0.1")
    proxy = TlsProxy(pki, moved.new.port)
    client = redis.Redis(**redis_kwargs(moved.arn, provider=moved.provider))
    assert client.ping()
    tls = {"enabled": True, "verify": True, "caCertificate": pki.ca_pem}
    moved.move({**plain(proxy.port, moved.new_password), "tls": tls})
    client.connection_pool.disconnect()

    result = outcome(client.ping)
    moved.assert_old_address_got_no_new_password()
    assert isinstance(result, redis.ConnectionError)
    assert "TLS" in str(result)
    assert moved.arn in str(result)
    # A client built from the secret again follows it, over verified TLS.
    rebuilt = redis.Redis(**redis_kwargs(moved.arn, provider=moved.provider))
    assert rebuilt.set("where", "tls")
    assert moved.new.admin().get("where") == b"tls"
    for made in (client, rebuilt):
        made.close()
    proxy.close()


LIBRARIES = ("botocore", "boto3", "urllib3")


@pytest.fixture
def debug_logging(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """An application's logging: the root logger at DEBUG, and botocore lowered to DEBUG
    by hand too (boto3.set_stream_logger does that). The functions' layer, imported by the
    test session, raised these libraries to INFO: put them back as an application has them."""
    manager = logging.Logger.manager
    saved = {
        name: logger.level
        for name, logger in manager.loggerDict.items()
        if isinstance(logger, logging.Logger) and name.split(".", 1)[0] in LIBRARIES
    }
    for name in saved:
        logging.getLogger(name).setLevel(logging.NOTSET)
    logging.getLogger("botocore").setLevel(logging.DEBUG)
    with caplog.at_level(logging.DEBUG):
        yield caplog
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


def test_debug_logging_never_shows_the_secret_value(
    cloud: LocalCloud, debug_logging: pytest.LogCaptureFixture, fake_clock: FakeClock
) -> None:
    sm = cloud.sm.secrets_manager()
    server = cloud.start_redis(pw := password())
    arn = cloud.create_secret(f"it/client-debug-{secrets.token_hex(4)}", plain(server.port, pw))
    provider = SecretsManagerCredentialProvider(arn, client=sm, clock=fake_clock.clock, ttl=60)
    debug_logging.clear()  # the test's own writes log their bodies; the client's reads follow
    client = redis.Redis(**redis_kwargs(arn, provider=provider))
    assert client.ping()
    logged = debug_logging.text

    # A TTL read, and a refusal's re-read of AWSCURRENT and AWSPENDING.
    sm.put_secret_value(
        SecretId=arn, SecretString=json.dumps(plain(server.port, pw2 := password()))
    )
    pending = json.dumps(plain(server.port, pw3 := password()))
    sm.put_secret_value(SecretId=arn, SecretString=pending, VersionStages=["AWSPENDING"])
    server.set_password(pw3)
    fake_clock.now += 61
    client.connection_pool.disconnect()
    debug_logging.clear()
    assert client.ping()
    assert provider.reads == 4
    logged += debug_logging.text
    assert [p for p in (pw, pw2, pw3) if p in logged] == []

    # The capture sees botocore's bodies: the test's own read, not the client's, is logged.
    sm.get_secret_value(SecretId=arn)
    assert pw2 in debug_logging.text
    client.close()
