"""The Alibaba provider's API client over real HTTP (the layer's Transport) to the
emulator and a real redis-server: what it reads, what a change does, how a refusal
arrives."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any, NoReturn

import pytest

from localcloud.emulators.alibaba import Account, AlibabaEmulator, Instance
from localcloud.redis_server import RedisServer
from redis_rotation.errors import InstanceBusyError, ProviderError
from redis_rotation.polling import Deadline, Runtime
from redis_rotation.providers.alibaba.api import (
    DESCRIBE_ACCOUNTS,
    DESCRIBE_INSTANCE,
    NAME,
    NET_INFO,
    AlibabaApi,
    instance_status,
    read_accounts,
    read_addresses,
    read_attribute,
)
from redis_rotation.providers.alibaba.errors import error_rule
from redis_rotation.providers.transport import Transport
from redis_rotation.secret import Endpoint
from tests.support.tencent_auth import logs_in_one_argument

pytestmark = pytest.mark.integration

KEYS = {"accessKeyId": "LTAI5tApiTest01", "accessKeySecret": "api-test-secret-0123456789"}
REGION, INSTANCE = "cn-shanghai", "r-uf6apitest01"
START, APP_PASSWORD = "Start1Pass!", "App1Pass(word"


@pytest.fixture
def emulator() -> Iterator[AlibabaEmulator]:
    with RedisServer(START) as server:
        emu = AlibabaEmulator(REGION)
        emu.add_key(KEYS["accessKeyId"], KEYS["accessKeySecret"])
        emu.add_instance(Instance(INSTANCE, REGION, server, START, architecture="rwsplit"))
        emu.add_account(INSTANCE, Account("app", APP_PASSWORD))
        emu.add_front(INSTANCE)
        emu.start()
        yield emu
        emu.stop()


def refuse(action: str, code: str, message: Any) -> NoReturn:
    rule = error_rule(code)
    error = (
        rule.error if rule is not None and issubclass(rule.error, ProviderError) else ProviderError
    )
    raise error(NAME, action, code, str(message))


def api(emulator: AlibabaEmulator, hidden: list[str]) -> AlibabaApi:
    runtime = Runtime()
    counter = itertools.count()
    return AlibabaApi(
        transport=Transport(NAME, 10.0, Deadline.after(runtime, 60)),
        endpoint=emulator.endpoint,
        keys=KEYS,
        clock=emulator.wall_clock,  # the signature's x-acs-date: wall-clock time
        hide=hidden.append,
        refuse=refuse,
        nonce=lambda: f"api-test-{next(counter)}",
    )


def logs_in(emulator: AlibabaEmulator, password: str) -> bool:
    """One AUTH with ``password`` (``account:password`` for a custom account) at the
    instance's one endpoint, as Alibaba documents it: one argument, RESP2."""
    front = emulator.instances[INSTANCE].front
    assert front is not None
    return logs_in_one_argument(front.host, front.port, password)


def test_reads_state_accounts_and_the_proxy_endpoint(emulator: AlibabaEmulator) -> None:
    hidden: list[str] = []
    client = api(emulator, hidden)
    params = {"InstanceId": INSTANCE}
    attribute = read_attribute(client.call(DESCRIBE_INSTANCE, params), INSTANCE)
    assert instance_status(attribute, INSTANCE).ready
    assert attribute["ArchitectureType"] == "rwsplit"
    accounts = read_accounts(client.call(DESCRIBE_ACCOUNTS, params))
    assert accounts["app"].status == "Available"
    front = emulator.instances[INSTANCE].front
    assert front is not None
    assert read_addresses(client.call(NET_INFO, params)) == {Endpoint("127.0.0.1", front.port)}
    assert len(hidden) == 3  # each request's signature


def test_a_reset_lands_on_the_real_server_and_a_second_waits(emulator: AlibabaEmulator) -> None:
    client = api(emulator, [])
    emulator.instances[INSTANCE].task_after_requests = 2
    reset = {"InstanceId": INSTANCE, "AccountName": "app", "AccountPassword": "New1Pass_word"}
    client.call("ResetAccountPassword", reset)
    with pytest.raises(InstanceBusyError) as caught:
        client.call("ResetAccountPassword", reset)
    assert caught.value.code == "TaskExists"
    assert not logs_in(emulator, "app:New1Pass_word")  # still in flight
    # The next request lands it (the second counted): the account is Available again.
    accounts = read_accounts(client.call(DESCRIBE_ACCOUNTS, {"InstanceId": INSTANCE}))
    assert accounts["app"].status == "Available"
    assert logs_in(emulator, "app:New1Pass_word")
    assert not logs_in(emulator, f"app:{APP_PASSWORD}")
