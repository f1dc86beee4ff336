"""The applications' client (clients/python) against the local cloud: a real redis-server,
Secrets Manager over HTTP (moto server), the real rotation handler between the steps.

The rotation is played step by step, so that the load runs inside the window the client
exists for: setSecret has changed the instance, finishSecret has not moved AWSCURRENT yet.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import redis
import redis.asyncio
from redis.backoff import NoBackoff
from redis.retry import Retry

from bench.load import AUTH, Load
from localcloud.cloud import ExampleSecret, LocalCloud
from localcloud.redis_server import ON_CHANGE, OnChange, RedisServer
from localcloud.secretsmanager import CallCounter
from redis_rotation_client import SecretsManagerCredentialProvider
from redis_rotation_client.connect import async_redis_kwargs, redis_kwargs
from tests.integration.test_redis_tls import TlsProxy
from tests.support.pki import make_pki

pytestmark = pytest.mark.e2e

_names = itertools.count()


def wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def more_commands(load: Load, count: int) -> None:
    seen = load.count()
    wait_until(lambda: load.count() >= seen + count)


class SteppedRotation:
    """A rotation played one step at a time, as Secrets Manager plays it."""

    def __init__(self, cloud: LocalCloud, example: ExampleSecret) -> None:
        self.driver = cloud.driver(example.provider)
        self.arn = example.arn
        self.token = self.driver.start(example.arn)
        self.rotation_token = secrets.token_urlsafe(32)

    def step(self, *steps: str) -> None:
        for step in steps:
            self.driver.run_step(self.arn, self.token, step, self.rotation_token)


def counted_provider(
    cloud: LocalCloud, secret_id: str, min_refresh_interval: float = 1.0
) -> tuple[SecretsManagerCredentialProvider, CallCounter]:
    client = cloud.sm.secrets_manager()
    counter = CallCounter(client)
    provider = SecretsManagerCredentialProvider(
        secret_id, client=client, min_refresh_interval=min_refresh_interval
    )
    return provider, counter


def uredis_group(cloud: LocalCloud, on_change: OnChange) -> ExampleSecret:
    return cloud.add_uredis_secret(f"e2e/client-{next(_names)}", on_change=on_change)


def tencent_account(cloud: LocalCloud, on_change: OnChange) -> ExampleSecret:
    """A custom account: the client speaks Tencent's AUTH account@password to the front."""
    name = f"e2e/client-{next(_names)}"
    return cloud.add_tencent_secret(name, api_version="3.0", account="app", on_change=on_change)


@pytest.mark.parametrize("make", [uredis_group, tencent_account], ids=lambda f: f.__name__)
@pytest.mark.parametrize("on_change", ON_CHANGE)
def test_no_command_fails_through_a_rotation_under_load(
    cloud: LocalCloud, on_change: OnChange, make: Callable[[LocalCloud, OnChange], ExampleSecret]
) -> None:
    example = make(cloud, on_change)
    provider, counter = counted_provider(cloud, example.arn)
    load = Load(
        lambda: redis.Redis(**redis_kwargs(example.arn, provider=provider)),
        threads=3,
        rate=100,
        recycle=0.05,
    ).start()
    more_commands(load, 30)
    rotation_started = time.monotonic()
    rotation = SteppedRotation(cloud, example)
    rotation.step("createSecret", "setSecret")
    # The window: the instance takes only AWSPENDING; recycled connections must AUTH anew.
    assert cloud.accepted_stages(example) == ["AWSPENDING"]
    more_commands(load, 60)
    rotation.step("testSecret", "finishSecret")
    more_commands(load, 60)
    samples = load.stop()

    failed = [s for s in samples if s.failure]
    if on_change == "keep":
        assert failed == []
    else:
        # Only a command in flight when the server dropped its connection may fail: at most
        # one per thread, never a refused AUTH. (redis-py's Retry usually resends it.)
        assert [s for s in failed if s.failure == AUTH] == []
        assert len(failed) <= 3
    assert len(samples) >= 150
    assert cloud.accepted_stages(example) in (["AWSCURRENT"], ["AWSCURRENT", "AWSPENDING"])
    # The refusal was seen and re-read: one read of AWSCURRENT and one of AWSPENDING at most.
    assert 1 <= counter.count(since=rotation_started) <= 2


def test_a_storm_of_refused_connections_is_not_a_storm_of_reads(cloud: LocalCloud) -> None:
    example = cloud.add_uredis_secret(f"e2e/client-{next(_names)}")
    provider, counter = counted_provider(cloud, example.arn, min_refresh_interval=0.3)
    provider.get_credentials()
    changed = "changed-by-hand-" + secrets.token_hex(4)
    example.redis.set_password(changed)  # neither AWSCURRENT nor AWSPENDING has it
    attempts: list[bool] = []
    lock = threading.Lock()
    stop = threading.Event()

    def connect_again_and_again() -> None:
        # No retries of redis-py's own: every refusal reaches the provider.
        options = {**redis_kwargs(example.arn, provider=provider), "retry": Retry(NoBackoff(), 0)}
        while not stop.is_set():
            client = redis.Redis(**options)
            try:
                ok = bool(client.ping())
            except redis.AuthenticationError:
                ok = False
            finally:
                client.close()
            with lock:
                attempts.append(ok)

    threads = [threading.Thread(target=connect_again_and_again) for _ in range(16)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    wait_until(lambda: len(attempts) >= 300)
    cloud.sm.secrets_manager().put_secret_value(
        SecretId=example.arn, SecretString=_with_password(cloud, example, changed)
    )
    wait_until(lambda: attempts[-1])  # the next permitted re-read finds the new AWSCURRENT
    stop.set()
    for thread in threads:
        thread.join(timeout=20)
    elapsed = time.monotonic() - started

    refused = attempts.count(False)
    reads = counter.count(since=started)
    # At most two reads (AWSCURRENT, AWSPENDING) per 0.3 s interval, plus the last one.
    assert reads <= 2 * (elapsed / 0.3 + 1) + 1
    assert refused >= 10 * reads, (refused, reads)


def _with_password(cloud: LocalCloud, example: ExampleSecret, password: str) -> str:
    import json

    return json.dumps({**cloud.value(example.arn, "AWSCURRENT"), "password": password})


def test_the_async_client_takes_awspending_between_set_and_finish(cloud: LocalCloud) -> None:
    example = cloud.add_tencent_secret(
        f"e2e/client-{next(_names)}", api_version="3.0", on_change="drop"
    )
    provider, counter = counted_provider(cloud, example.arn)

    async def commands(client: redis.asyncio.Redis) -> list[bool]:
        await client.set("k", "before")
        rotation = SteppedRotation(cloud, example)
        # Run in a thread: the handler blocks, and the loop holds the client's connection.
        await asyncio.to_thread(rotation.step, "createSecret", "setSecret")
        results = [bool(await client.set("k", "during")), await client.get("k") == b"during"]
        await asyncio.to_thread(rotation.step, "testSecret", "finishSecret")
        await client.connection_pool.disconnect()
        results.append(await client.get("k") == b"during")
        await client.aclose()
        return results

    client = redis.asyncio.Redis(**async_redis_kwargs(example.arn, provider=provider))
    assert asyncio.run(commands(client)) == [True, True, True]
    assert cloud.accepted_stages(example) in (["AWSCURRENT"], ["AWSCURRENT", "AWSPENDING"])
    assert counter.count() <= 3  # the first read, then AWSCURRENT and AWSPENDING


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RedisServer, int, str]]:
    pki = make_pki(tmp_path_factory.mktemp("client-pki"), "127.0.0.1")
    with RedisServer("tls-client-old-1") as server:
        proxy = TlsProxy(pki, server.port)
        yield server, proxy.port, pki.ca_pem
        proxy.close()


@pytest.mark.parametrize("ca", ["ours", "system store"])
def test_tls_is_verified_and_a_refusal_is_recovered_over_it(
    cloud: LocalCloud, tls_server: tuple[RedisServer, int, str], ca: str
) -> None:
    import json

    server, port, ca_pem = tls_server
    server.set_password("tls-client-old-1")
    tls = {"enabled": True, "verify": True, **({"caCertificate": ca_pem} if ca == "ours" else {})}
    base = {"provider": "uredis", "host": "127.0.0.1", "port": port, "tls": tls}
    sm = cloud.sm.secrets_manager()
    arn = cloud.create_secret(
        f"e2e/client-tls-{next(_names)}", {**base, "password": "tls-client-old-1"}
    )
    provider = SecretsManagerCredentialProvider(arn, client=sm)
    client = redis.Redis(**redis_kwargs(arn, provider=provider), socket_timeout=5)
    if ca == "system store":
        with pytest.raises(redis.ConnectionError):
            client.ping()
        return
    assert client.ping()
    # setSecret's state: AWSPENDING holds the password the server now takes.
    sm.put_secret_value(
        SecretId=arn,
        SecretString=json.dumps({**base, "password": "tls-client-new-2"}),
        VersionStages=["AWSPENDING"],
    )
    server.set_password("tls-client-new-2")
    client.connection_pool.disconnect()
    assert client.set("k", "v")
    client.close()
