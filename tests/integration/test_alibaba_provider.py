"""The Alibaba provider against the emulator over real HTTP and a real redis-server: the
default account, a custom account, an alternating pair (creating the missing account with
the current one's privilege only) on each architecture; waiting on a change in flight;
refusing before any call what Alibaba would refuse or a person must fix."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from localcloud.emulators.alibaba import Account, AlibabaEmulator, Instance
from localcloud.emulators.base import Fault
from localcloud.redis_server import RedisServer
from redis_rotation.config import Settings
from redis_rotation.errors import (
    ConfigurationError,
    InstanceStateError,
    PasswordPolicyError,
    ProviderError,
)
from redis_rotation.polling import Deadline, Runtime
from redis_rotation.providers.alibaba.provider import AlibabaProvider
from redis_rotation.providers.base import ProviderContext
from redis_rotation.providers.transport import Transport
from redis_rotation.seams import boto3_client
from redis_rotation.secret import Endpoint, RedisSecret
from tests.conftest import leaks
from tests.support.inspection import UNSEEN
from tests.support.tencent_auth import logs_in_one_argument

pytestmark = pytest.mark.integration

KEYS = {"accessKeyId": "LTAI5tProviderTest01", "accessKeySecret": "provider-secret-0123456789"}
REGION, INSTANCE = "cn-hangzhou", "r-bp1providertest"
START, APP_PASSWORD = "Start1Pass!", "App1Pass=word"
NEW = "Rotated1Pass_word"
ARCHITECTURES = ("standard", "rwsplit", "cluster")
every_architecture = pytest.mark.parametrize("emulator", ARCHITECTURES, indirect=True)


@pytest.fixture
def emulator(request: pytest.FixtureRequest) -> Iterator[AlibabaEmulator]:
    """A standard instance, or the architecture a test's ``every_architecture`` asks for."""
    architecture = getattr(request, "param", "standard")
    with RedisServer(START) as server:
        emu = AlibabaEmulator(REGION)
        emu.add_key(KEYS["accessKeyId"], KEYS["accessKeySecret"])
        emu.add_instance(Instance(INSTANCE, REGION, server, START, architecture=architecture))
        emu.add_account(INSTANCE, Account("app_a", APP_PASSWORD, privilege="RoleReadOnly"))
        emu.add_front(INSTANCE)
        emu.start()
        yield emu
        emu.stop()


def provider() -> AlibabaProvider:
    deadline = Deadline.after(Runtime(), 20)
    context = ProviderContext(
        settings=Settings(),
        deadline=deadline,
        transport=Transport("alibaba", 5.0, deadline),
        keys=KEYS,
        aws_client=boto3_client,
    )
    return AlibabaProvider(context)


def secret(emulator: AlibabaEmulator, **fields: Any) -> RedisSecret:
    front = emulator.instances[INSTANCE].front
    assert front is not None
    data = {
        "provider": "alibaba",
        "host": "127.0.0.1",
        "port": front.port,
        "password": START,
        "region": REGION,
        "instanceId": INSTANCE,
        "credentialsSecretId": "keys",
        "apiEndpoint": emulator.endpoint,
        **fields,
    }
    return RedisSecret("secret test (AWSPENDING)", data)


def logs_in(emulator: AlibabaEmulator, password: str) -> bool:
    front = emulator.instances[INSTANCE].front
    assert front is not None
    return logs_in_one_argument(front.host, front.port, password)


def rotate(emulator: AlibabaEmulator, pending: RedisSecret) -> AlibabaProvider:
    """What the engine asks of a provider for one change, in its order."""
    rotation = provider()
    front = emulator.instances[INSTANCE].front
    assert front is not None
    inspection = rotation.inspect(pending)
    assert Endpoint("127.0.0.1", front.port) in (inspection.addresses or ())
    assert inspection.status.ready
    handle = rotation.change_password(pending, inspection, NEW, None)
    rotation.wait_for_change(pending, handle)
    return rotation


@every_architecture
def test_default_account(emulator: AlibabaEmulator) -> None:
    rotate(emulator, secret(emulator))
    assert logs_in(emulator, NEW)
    assert not logs_in(emulator, START)
    assert emulator.count("ModifyInstanceAttribute") == 1


@every_architecture
def test_custom_account_is_reset_without_its_old_password(emulator: AlibabaEmulator) -> None:
    pending = secret(emulator, account="app_a")
    assert not provider().needs_old_password(pending)
    rotate(emulator, pending)
    assert logs_in(emulator, f"app_a:{NEW}")
    assert not logs_in(emulator, f"app_a:{APP_PASSWORD}")
    assert logs_in(emulator, START)  # the default account is untouched
    assert emulator.count("ResetAccountPassword") == 1


@every_architecture
def test_alternating_creates_the_missing_account_with_the_current_privilege(
    emulator: AlibabaEmulator,
) -> None:
    pair = {"strategy": "alternating", "accounts": ["app_a", "app_b"]}
    pending = secret(emulator, account="app_b", createMissingAccount=True, **pair)
    rotate(emulator, pending)
    assert logs_in(emulator, f"app_b:{NEW}")
    assert logs_in(emulator, f"app_a:{APP_PASSWORD}")  # AWSCURRENT's account keeps working
    created = emulator.instances[INSTANCE].accounts["app_b"]
    assert created.privilege == "RoleReadOnly"  # app_a's, not the default RoleReadWrite
    assert emulator.count("CreateAccount") == 1
    # The next rotation resets the account it created, and creates nothing.
    rotate(emulator, pending)
    assert (emulator.count("CreateAccount"), emulator.count("ResetAccountPassword")) == (1, 1)


def test_alternating_without_create_refuses_a_missing_account(emulator: AlibabaEmulator) -> None:
    pair = {"strategy": "alternating", "accounts": ["app_a", "app_b"]}
    with pytest.raises(InstanceStateError, match="createMissingAccount"):
        provider().inspect(secret(emulator, account="app_b", **pair))
    assert emulator.count("CreateAccount", None) == 0


def test_a_change_in_flight_is_waited_for(emulator: AlibabaEmulator) -> None:
    instance = emulator.instances[INSTANCE]
    instance.task_after_requests = 4  # one look is three requests: it lands in the next
    rotation = provider()
    pending = secret(emulator, account="app_a")
    inspection = rotation.inspect(pending)
    assert inspection.status.ready
    handle = rotation.change_password(pending, inspection, NEW, None)
    status = rotation.inspect(pending).status
    assert (status.ready, status.busy) == (False, True)  # Unavailable: busy, not failed
    addresses_read = emulator.count("DescribeDBInstanceNetInfo", None)
    rotation.wait_for_change(pending, handle)
    assert logs_in(emulator, f"app_a:{NEW}")
    # A wait asks for the state only: addresses were read by the look before the change.
    assert emulator.count("DescribeDBInstanceNetInfo", None) == addresses_read


@pytest.mark.parametrize(
    ("fields", "error", "match"),
    [
        ({"account": "App"}, ConfigurationError, "account"),
        ({"account": "a" * 17}, ConfigurationError, "account"),
        ({"account": "app:x"}, ConfigurationError, "account"),
        ({"account": INSTANCE.replace("-", "_")}, ConfigurationError, "account"),
    ],
    ids=["upper-case", "too-long", "colon", "not-a-name"],
)
def test_bad_account_names_are_refused_before_any_call(
    emulator: AlibabaEmulator, fields: dict[str, str], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        provider().inspect(secret(emulator, **fields))
    assert emulator.calls == []


def test_a_password_breaking_the_rule_is_refused_before_the_call(
    emulator: AlibabaEmulator,
) -> None:
    with pytest.raises(PasswordPolicyError, match="character outside"):
        provider().change_password(secret(emulator, account="app_a"), UNSEEN, "has:colon1A", None)
    assert emulator.calls == []
    assert logs_in(emulator, f"app_a:{APP_PASSWORD}")


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"vpc_auth_mode": "Close"}, "VpcAuthModeClose"),
        ({"status": "Inactive"}, "Inactive"),
        ({"engine_version": "2.8"}, "InvalidEngineVersion.Format"),
    ],
)
def test_states_a_person_must_fix_are_refused_before_any_change(
    emulator: AlibabaEmulator, change: dict[str, str], code: str
) -> None:
    instance = emulator.instances[INSTANCE]
    for name, value in change.items():
        setattr(instance, name, value)
    with pytest.raises(InstanceStateError) as caught:
        provider().inspect(secret(emulator, account="app_a"))
    assert caught.value.code == code
    assert emulator.count("ResetAccountPassword", None) == 0


def test_an_error_quoting_the_request_shows_no_password_or_signature(
    emulator: AlibabaEmulator,
) -> None:
    """Some provider messages quote the request: the password goes in the query string,
    percent-encoded, and must come back redacted in every form."""
    password = "Aa1!@#$%^&*()_+-=" + "x" * 8  # every special, each one encoded in the query
    quoted = ("AccountPassword", "authorization", "x-acs-signature-nonce")
    emulator.inject(
        Fault("echo", action="ResetAccountPassword", code="InvalidParameter", echo=quoted)
    )
    pending = secret(emulator, account="app_a")
    with pytest.raises(ProviderError) as caught:
        provider().change_password(pending, UNSEEN, password, None)
    (echo,) = emulator.echoes
    assert echo.values["AccountPassword"] == password  # the message did quote it ...
    signature = echo.values["authorization"].rpartition("Signature=")[2]
    message = str(caught.value)
    assert not leaks(message, {password, signature})  # ... and the error shows none of it
