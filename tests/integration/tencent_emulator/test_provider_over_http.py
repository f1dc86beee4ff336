"""Our Tencent provider against the emulator over real HTTP: it changes and waits, sees a
task in flight as busy, and maps refusals, failed tasks, bad keys and throttling."""

from __future__ import annotations

import pytest

from localcloud.emulators.base import Fault
from localcloud.emulators.tencent import TencentEmulator
from localcloud.redis_server import RedisServer
from redis_rotation.config import Settings
from redis_rotation.errors import (
    ChangeFailedError,
    InstanceBusyError,
    PasswordPolicyError,
    ProviderCredentialsError,
)
from redis_rotation.polling import Deadline, Runtime
from redis_rotation.providers.base import ProviderContext
from redis_rotation.providers.tencent import TencentProvider
from redis_rotation.providers.transport import Transport
from redis_rotation.seams import boto3_client
from redis_rotation.secret import RedisSecret
from tests.integration.tencent_emulator.calls import (
    INSTANCE,
    MARKS,
    REGION,
    SECRET_ID,
    SECRET_KEY,
    START,
    instance,
)
from tests.support.inspection import UNSEEN

pytestmark = MARKS


# -- our provider over HTTP ------------------------------------------------------------------


def provider_for(keys: dict[str, str] | None = None) -> TencentProvider:
    deadline = Deadline.after(Runtime(), 10)
    context = ProviderContext(
        settings=Settings(),
        deadline=deadline,
        transport=Transport("tencent", 5.0, deadline),
        keys=keys or {"secretId": SECRET_ID, "secretKey": SECRET_KEY},
        aws_client=boto3_client,
    )
    return TencentProvider(context)


def secret_for(emulator: TencentEmulator, **choice: str) -> RedisSecret:
    return RedisSecret(
        "secret test (AWSCURRENT)",
        {
            "provider": "tencent",
            "host": "127.0.0.1",
            "port": 6379,
            "password": START,
            "region": REGION,
            "instanceId": INSTANCE,
            "credentialsSecretId": "keys",
            "apiEndpoint": emulator.endpoint,
            **choice,
        },
    )


CHOICES = {
    "v2": {},
    "v2-sha1": {"signatureMethod": "HmacSHA1"},
    "v3-modify": {"apiVersion": "3.0"},
    "v3-reset": {"apiVersion": "3.0", "changeMode": "reset"},
}


@pytest.mark.parametrize("choice", CHOICES.values(), ids=CHOICES.keys())
def test_provider_changes_and_waits(
    emulator: TencentEmulator, redis_server: RedisServer, choice: dict[str, str]
) -> None:
    instance(emulator).task_duration = 0.2
    provider, secret = provider_for(), secret_for(emulator, **choice)
    assert provider.inspect(secret).status.ready
    password = "Ab1!@#%^*()"  # every 2.0 special, through the form encoding
    handle = provider.change_password(secret, UNSEEN, password, START)
    provider.wait_for_change(secret, handle)
    assert redis_server.accepts(password)
    assert instance(emulator).password_changes == 1
    assert emulator.no_auth_requests == []


@pytest.mark.parametrize("choice", CHOICES.values(), ids=CHOICES.keys())
def test_provider_sees_a_task_in_flight_as_busy(
    emulator: TencentEmulator, choice: dict[str, str]
) -> None:
    instance(emulator).task_duration = 5.0
    provider, secret = provider_for(), secret_for(emulator, **choice)
    provider.change_password(secret, UNSEEN, "N3w!pass12", START)
    assert provider.inspect(secret).status.busy
    with pytest.raises(InstanceBusyError):
        provider.change_password(secret, UNSEEN, "N3w!pass12", START)


@pytest.mark.parametrize("choice", [CHOICES["v2"], CHOICES["v3-reset"]], ids=["v2", "v3"])
def test_provider_fails_loud_when_tencent_refuses_the_rule(
    emulator: TencentEmulator, choice: dict[str, str]
) -> None:
    with pytest.raises(PasswordPolicyError, match="a bug"):
        provider_for().change_password(secret_for(emulator, **choice), UNSEEN, "abcdefghij", START)


def test_provider_reports_a_failed_task(emulator: TencentEmulator) -> None:
    instance(emulator).fail_next_task = True
    provider, secret = provider_for(), secret_for(emulator, apiVersion="3.0")
    handle = provider.change_password(secret, UNSEEN, "N3w!pass12", START)
    with pytest.raises(ChangeFailedError, match="failed"):
        provider.wait_for_change(secret, handle)


@pytest.mark.parametrize("choice", [CHOICES["v2"], CHOICES["v3-modify"]], ids=["v2", "v3"])
def test_provider_signature_error_is_a_credentials_error(
    emulator: TencentEmulator, choice: dict[str, str]
) -> None:
    provider = provider_for({"secretId": SECRET_ID, "secretKey": "wrong-key"})
    with pytest.raises(ProviderCredentialsError) as caught:
        provider.change_password(secret_for(emulator, **choice), UNSEEN, "N3w!pass12", START)
    assert "wrong-key" not in str(caught.value)


def test_provider_retries_throttled_task_polls(emulator: TencentEmulator) -> None:
    emulator.inject(Fault("code", action="DescribeTaskInfo", code="RequestLimitExceeded", times=2))
    provider, secret = provider_for(), secret_for(emulator, apiVersion="3.0")
    provider.wait_for_change(secret, provider.change_password(secret, UNSEEN, "N3w!pass12", START))
    assert emulator.count("DescribeTaskInfo", "RequestLimitExceeded") == 2
    assert emulator.count("DescribeTaskInfo") == 1
