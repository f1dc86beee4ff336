"""The Alibaba emulator over real HTTP, with genuine requests from the official R-KVStore
client (alibabacloud-r-kvstore20150101) and a real redis-server behind the proxy front;
attacks on the V3 signature (replay, stale date, tampering) with raw signed requests."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import pytest
import redis
import requests
from alibabacloud_r_kvstore20150101 import models
from alibabacloud_r_kvstore20150101.client import Client
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_tea_openapi.utils_models import Config

from localcloud.emulators.alibaba import EMULATOR_CODES, Account, AlibabaEmulator, Instance
from localcloud.redis_server import RedisServer
from redis_rotation.signing.acs3 import ACS3Signer, acs3_canonical_query
from tests.support.tencent_auth import logs_in_one_argument

pytestmark = [
    pytest.mark.integration,
    # The SDK's x-acs-date comes from datetime.utcnow, deprecated since 3.12.
    pytest.mark.filterwarnings("ignore:datetime.datetime.utcnow:DeprecationWarning"),
]

KEY_ID, KEY_SECRET = "LTAI5tIntegrationTest01", "integration-secret-0123456789"
REGION, INSTANCE = "cn-hangzhou", "r-bp1integration01"
START, APP_PASSWORD = "Start1Pass!", "App1Pass@word"
NONCES = (f"nonce-{n}" for n in itertools.count())


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    with RedisServer(START) as server:
        yield server


@pytest.fixture
def emulator(redis_server: RedisServer) -> Iterator[AlibabaEmulator]:
    emu = AlibabaEmulator(REGION)
    emu.add_key(KEY_ID, KEY_SECRET)
    emu.add_instance(Instance(INSTANCE, REGION, redis_server, START, architecture="cluster"))
    emu.add_account(INSTANCE, Account("app", APP_PASSWORD))
    emu.add_front(INSTANCE)
    emu.start()
    yield emu
    emu.stop()


def sdk(emulator: AlibabaEmulator, secret: str = KEY_SECRET) -> Client:
    config = Config(
        access_key_id=KEY_ID,
        access_key_secret=secret,
        endpoint=f"127.0.0.1:{emulator.port}",
        protocol="http",
        region_id=REGION,
    )
    return Client(config)


def logs_in(emulator: AlibabaEmulator, password: str) -> bool:
    """One AUTH with ``password`` (``account:password`` for a custom account) at the
    instance's one endpoint, as Alibaba documents it: one argument, RESP2."""
    front = emulator.instances[INSTANCE].front
    assert front is not None
    return logs_in_one_argument(front.host, front.port, password)


def sdk_error(call: Callable[[], Any]) -> ClientException:
    with pytest.raises(ClientException) as caught:
        call()
    return caught.value


# --- genuine requests from the official client -----------------------------------------


def test_official_client_reads_instance_accounts_and_endpoints(emulator: AlibabaEmulator) -> None:
    client = sdk(emulator)
    instance_id = {"instance_id": INSTANCE}
    attribute = client.describe_instance_attribute(
        models.DescribeInstanceAttributeRequest(**instance_id)
    ).body.instances.dbinstance_attribute[0]
    assert (attribute.instance_status, attribute.architecture_type) == ("Normal", "cluster")
    assert attribute.vpc_auth_mode == "Open"
    accounts = client.describe_accounts(
        models.DescribeAccountsRequest(**instance_id)
    ).body.accounts.account
    assert {(a.account_name, a.account_type, a.account_status) for a in accounts} == {
        (INSTANCE, "Super", "Available"),
        ("app", "Normal", "Available"),
    }
    net = client.describe_dbinstance_net_info(
        models.DescribeDBInstanceNetInfoRequest(**instance_id)
    )
    (item,) = net.body.net_info_items.instance_net_info
    front = emulator.instances[INSTANCE].front
    assert front is not None
    assert (item.connection_string, item.port, item.iptype) == (
        "127.0.0.1",
        str(front.port),
        "Private",
    )


def test_official_client_changes_passwords_on_the_real_server(emulator: AlibabaEmulator) -> None:
    client = sdk(emulator)
    client.reset_account_password(
        models.ResetAccountPasswordRequest(
            instance_id=INSTANCE, account_name="app", account_password="Reset2Pass#"
        )
    )
    assert logs_in(emulator, "app:Reset2Pass#")
    assert not logs_in(emulator, f"app:{APP_PASSWORD}")
    client.modify_account_password(
        models.ModifyAccountPasswordRequest(
            instance_id=INSTANCE,
            account_name="app",
            old_account_password="Reset2Pass#",
            new_account_password="Modify3Pass$",
        )
    )
    assert logs_in(emulator, "app:Modify3Pass$")
    client.create_account(
        models.CreateAccountRequest(
            instance_id=INSTANCE,
            account_name="app_b",
            account_password="Create4Pass%",
            account_privilege="RoleReadOnly",
        )
    )
    assert logs_in(emulator, "app_b:Create4Pass%")
    client.modify_instance_attribute(
        models.ModifyInstanceAttributeRequest(instance_id=INSTANCE, new_password="Default5Pass^")
    )
    assert logs_in(emulator, "Default5Pass^")  # the default account: the password alone
    assert not logs_in(emulator, START)
    assert emulator.count("CreateAccount") == 1


def test_read_only_account_cannot_write(emulator: AlibabaEmulator) -> None:
    sdk(emulator).create_account(
        models.CreateAccountRequest(
            instance_id=INSTANCE,
            account_name="reader",
            account_password="Read1Only!",
            account_privilege="RoleReadOnly",
        )
    )
    front = emulator.instances[INSTANCE].front
    assert front is not None
    with redis.Redis(port=front.port, password="reader:Read1Only!", protocol=2) as client:
        assert client.get("k") is None
        with pytest.raises(redis.exceptions.NoPermissionError):
            client.set("k", "v")


@pytest.mark.parametrize(
    "password",
    ["Short1!", "alllower1234", "Has:Colon12", "Tilde~Pass1", "A" * 30 + "b1!"],
    ids=["short", "two-classes", "colon", "tilde", "too-long"],
)
def test_password_rule_refusals_change_nothing(emulator: AlibabaEmulator, password: str) -> None:
    request = models.ResetAccountPasswordRequest(
        instance_id=INSTANCE, account_name="app", account_password=password
    )
    refused = sdk_error(lambda: sdk(emulator).reset_account_password(request))
    assert refused.code == "InvalidAccountPassword.Format"
    assert logs_in(emulator, f"app:{APP_PASSWORD}")


def test_wrong_old_password_and_unknown_account_are_refused(emulator: AlibabaEmulator) -> None:
    client = sdk(emulator)
    modify = models.ModifyAccountPasswordRequest(
        instance_id=INSTANCE,
        account_name="app",
        old_account_password="Wrong1Pass!",
        new_account_password="Modify3Pass$",
    )
    assert (
        sdk_error(lambda: client.modify_account_password(modify)).code
        == (EMULATOR_CODES["old_refused"])
    )
    reset = models.ResetAccountPasswordRequest(
        instance_id=INSTANCE, account_name="ghost", account_password="Ghost1Pass!"
    )
    assert (
        sdk_error(lambda: client.reset_account_password(reset)).code
        == (EMULATOR_CODES["no_account"])
    )
    assert logs_in(emulator, f"app:{APP_PASSWORD}")


def test_a_change_in_flight_refuses_another_with_task_exists(emulator: AlibabaEmulator) -> None:
    instance = emulator.instances[INSTANCE]
    # It lands as the third request after it arrives (each is counted before it is served).
    instance.task_after_requests = 3
    client = sdk(emulator)
    first = models.ResetAccountPasswordRequest(
        instance_id=INSTANCE, account_name="app", account_password="First1Pass!"
    )
    client.reset_account_password(first)
    second = models.ModifyInstanceAttributeRequest(instance_id=INSTANCE, new_password="Sec2Pass!")
    assert sdk_error(lambda: client.modify_instance_attribute(second)).code == "TaskExists"
    describe = models.DescribeAccountsRequest(instance_id=INSTANCE, account_name="app")

    def status() -> list[str]:
        return [a.account_status for a in client.describe_accounts(describe).body.accounts.account]

    assert status() == ["Unavailable"]  # the second request
    assert logs_in(emulator, f"app:{APP_PASSWORD}")
    assert status() == ["Available"]  # the third: the change has landed
    assert logs_in(emulator, "app:First1Pass!")
    assert instance.in_flight is None
    assert logs_in(emulator, START)  # the refused change changed nothing


def test_unknown_instance_and_other_region(
    emulator: AlibabaEmulator, redis_server: RedisServer
) -> None:
    emulator.add_instance(Instance("r-elsewhere", "cn-beijing", redis_server, START))
    client = sdk(emulator)
    for instance_id in ("r-missing", "r-elsewhere"):
        request = models.DescribeInstanceAttributeRequest(instance_id=instance_id)
        refused = sdk_error(partial(client.describe_instance_attribute, request))
        assert refused.code == "InvalidInstanceId.NotFound"


# --- the signature, attacked with raw requests ---------------------------------------------


def signed_post(
    emulator: AlibabaEmulator,
    params: dict[str, str],
    *,
    action: str = "DescribeAccounts",
    timestamp: int | None = None,
    nonce: str | None = None,
    secret: str = KEY_SECRET,
    key_id: str = KEY_ID,
) -> tuple[str, dict[str, str]]:
    host = f"127.0.0.1:{emulator.port}"
    headers = ACS3Signer(key_id, secret).add_auth(
        host=host,
        action=action,
        version="2015-01-01",
        params=params,
        timestamp=int(emulator.wall_clock()) if timestamp is None else timestamp,
        nonce=nonce or next(NONCES),
    )
    return f"http://{host}/?{acs3_canonical_query(params)}", headers


def code_of(url: str, headers: dict[str, str]) -> str:
    response = requests.post(url, headers=headers, timeout=10)
    return "ok" if response.status_code == 200 else str(response.json()["Code"])


def test_a_replayed_request_is_refused_and_changes_nothing(emulator: AlibabaEmulator) -> None:
    params = {"InstanceId": INSTANCE, "AccountName": "app", "AccountPassword": "Replay1Pass!"}
    url, headers = signed_post(emulator, params, action="ResetAccountPassword")
    assert code_of(url, headers) == "ok"
    emulator.set_password(INSTANCE, "Console1Pass!", account="app")  # changed since
    assert code_of(url, headers) == "SignatureNonceUsed"
    assert logs_in(emulator, "app:Console1Pass!")


@pytest.mark.parametrize("skew", [-15 * 60 - 1, 15 * 60 + 1])
def test_a_date_outside_fifteen_minutes_is_refused(emulator: AlibabaEmulator, skew: int) -> None:
    now = int(emulator.wall_clock())
    url, headers = signed_post(emulator, {"InstanceId": INSTANCE}, timestamp=now + skew)
    assert code_of(url, headers) == "InvalidTimeStamp.Expired"
    url, headers = signed_post(emulator, {"InstanceId": INSTANCE}, timestamp=now - 15 * 60 + 5)
    assert code_of(url, headers) == "ok"


def test_tampering_and_unknown_keys_are_refused(emulator: AlibabaEmulator) -> None:
    params = {"InstanceId": INSTANCE, "AccountName": "app", "AccountPassword": "Tamper1Pass!"}
    url, headers = signed_post(emulator, params, action="ResetAccountPassword")
    assert code_of(url.replace("Tamper1Pass", "Attack1Pass"), headers) == "SignatureDoesNotMatch"
    assert code_of(url, {**headers, "x-acs-action": "CreateAccount"}) == "SignatureDoesNotMatch"
    assert code_of(*signed_post(emulator, params, secret="wrong")) == "SignatureDoesNotMatch"
    assert code_of(*signed_post(emulator, params, key_id="LTAIunknown")) == (
        "InvalidAccessKeyId.NotFound"
    )
    unsigned = {k: v for k, v in headers.items() if k != "Authorization"}
    assert code_of(url, unsigned) == "IncompleteSignature"
    assert logs_in(emulator, f"app:{APP_PASSWORD}")
    assert emulator.count("ResetAccountPassword") == 0
