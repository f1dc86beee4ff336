"""The Tencent emulator is faithful: the official SDK (tencentcloud-sdk-python-redis) is
accepted for API 3.0 and, through its legacy signer, for API 2.0; signatures, timestamps,
nonces, password rules, NoAuth, instance states and the rate limit are enforced with the
documented codes; and our provider maps its answers correctly over real HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from tencentcloud.common.credential import Credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.http.request import RequestInternal
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.redis.v20180412 import models
from tencentcloud.redis.v20180412.redis_client import RedisClient

from localcloud.emulators.base import Fault
from localcloud.emulators.tencent import V2_PATH, Instance, TencentEmulator
from localcloud.redis_server import RedisServer
from redis_rotation.config import Settings
from redis_rotation.errors import (
    ChangeFailedError,
    InstanceBusyError,
    PasswordPolicyError,
    ProviderCredentialsError,
)
from redis_rotation.polling import Deadline, Runtime, poll
from redis_rotation.providers.base import ProviderContext
from redis_rotation.providers.tencent import TencentProvider
from redis_rotation.providers.transport import Transport
from redis_rotation.secret import RedisSecret
from redis_rotation.signing.tencent_v2 import v2_signature, v2_string_to_sign

pytestmark = [
    pytest.mark.integration,
    # The SDK computes the TC3 date with datetime.utcfromtimestamp, deprecated since 3.12.
    pytest.mark.filterwarnings("ignore:datetime.datetime.utcfromtimestamp:DeprecationWarning"),
]

SECRET_ID, SECRET_KEY = "AKIDintegrationtest01", "integration-secret-key-0123"
REGION, INSTANCE = "ap-guangzhou", "crs-int00001"
START = "Start1Pass"


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    with RedisServer(START) as server:
        yield server


@pytest.fixture
def emulator(redis_server: RedisServer) -> Iterator[TencentEmulator]:
    emu = TencentEmulator()
    emu.add_key(SECRET_ID, SECRET_KEY)
    emu.add_instance(Instance(INSTANCE, REGION, redis_server, START))
    emu.start()
    yield emu
    emu.stop()


def instance(emulator: TencentEmulator) -> Instance:
    return emulator.instances[INSTANCE]


def sdk(
    emulator: TencentEmulator,
    *,
    secret_id: str = SECRET_ID,
    secret_key: str = SECRET_KEY,
    sign_method: str = "TC3-HMAC-SHA256",
    http_method: str = "POST",
) -> RedisClient:
    http = HttpProfile(
        endpoint=f"127.0.0.1:{emulator.port}", protocol="http", reqMethod=http_method
    )
    profile = ClientProfile(signMethod=sign_method, httpProfile=http)
    return RedisClient(Credential(secret_id, secret_key), REGION, profile)


def sdk_error(call: Any, *args: Any) -> str:
    with pytest.raises(TencentCloudSDKException) as caught:
        call(*args)
    return str(caught.value.code)


def modify(password: str, old: str = START) -> models.ModifyInstancePasswordRequest:
    request = models.ModifyInstancePasswordRequest()
    request.InstanceId, request.OldPassword, request.Password = INSTANCE, old, password
    return request


def reset(password: str, no_auth: bool | None = None) -> models.ResetPasswordRequest:
    request = models.ResetPasswordRequest()
    request.InstanceId, request.Password = INSTANCE, password
    if no_auth is not None:
        request.NoAuth = no_auth
    return request


def task_info(task_id: int) -> models.DescribeTaskInfoRequest:
    request = models.DescribeTaskInfoRequest()
    request.TaskId = task_id
    return request


def describe() -> models.DescribeInstancesRequest:
    request = models.DescribeInstancesRequest()
    request.InstanceId = INSTANCE
    return request


def wait_until(condition: Any, what: str) -> None:
    poll(lambda: True if condition() else None, deadline=Deadline.after(Runtime(), 10), what=what)


# -- API 2.0 requests built by the SDK's legacy signer -------------------------------------


def v2_request(
    emulator: TencentEmulator,
    action: str,
    params: dict[str, Any],
    *,
    sign_method: str = "HmacSHA256",
    http_method: str = "POST",
    secret_id: str = SECRET_ID,
    secret_key: str = SECRET_KEY,
) -> RequestInternal:
    client = sdk(
        emulator,
        secret_id=secret_id,
        secret_key=secret_key,
        sign_method=sign_method,
        http_method=http_method,
    )
    # The SDK signs with _requestPath but always sends to "/": send it ourselves.
    client._requestPath = V2_PATH
    request = RequestInternal(f"127.0.0.1:{emulator.port}", http_method, V2_PATH)
    client._build_req_with_old_signature(action, params, request, {})
    return request


def send(emulator: TencentEmulator, request: RequestInternal) -> dict[str, Any]:
    url = emulator.endpoint + request.uri
    if request.method == "GET":
        response = requests.get(f"{url}?{request.data}", headers=request.header, timeout=5)
    else:
        response = requests.post(url, data=request.data, headers=request.header, timeout=5)
    assert response.status_code == 200
    answer: dict[str, Any] = response.json()
    return answer


def v2_call(emulator: TencentEmulator, action: str, params: dict[str, Any], **kw: Any) -> Any:
    return send(emulator, v2_request(emulator, action, params, **kw))


def v2_modify(emulator: TencentEmulator, password: str, old: str = START, **kw: Any) -> Any:
    params = {"redisId": INSTANCE, "oldPassword": old, "password": password}
    return v2_call(emulator, "ModfiyRedisPassword", params, **kw)


# -- the official SDK, API 3.0 ---------------------------------------------------------------


def test_sdk_describe_instances(emulator: TencentEmulator, redis_server: RedisServer) -> None:
    answer = sdk(emulator).DescribeInstances(describe())
    assert answer.TotalCount == 1
    (found,) = answer.InstanceSet
    assert (found.InstanceId, found.Status, found.Port) == (INSTANCE, 2, redis_server.port)
    assert found.NoAuth is False


def test_sdk_modify_instance_password_and_task_info(
    emulator: TencentEmulator, redis_server: RedisServer
) -> None:
    client = sdk(emulator)
    task_id = client.ModifyInstancePassword(modify("N3w!pass_2")).TaskId
    assert client.DescribeTaskInfo(task_info(task_id)).Status == "succeed"
    assert redis_server.accepts("N3w!pass_2")
    assert not redis_server.accepts(START)
    assert instance(emulator).password_changes == 1


def test_sdk_reset_password(emulator: TencentEmulator, redis_server: RedisServer) -> None:
    client = sdk(emulator)
    task_id = client.ResetPassword(reset("R3set-pass", no_auth=False)).TaskId
    assert client.DescribeTaskInfo(task_info(task_id)).Status == "succeed"
    assert redis_server.accepts("R3set-pass")
    assert emulator.no_auth_requests == []


def test_no_auth_true_is_refused_and_recorded(
    emulator: TencentEmulator, redis_server: RedisServer
) -> None:
    assert sdk_error(sdk(emulator).ResetPassword, reset("R3set-pass", no_auth=True)) == (
        "InvalidParameterValue"
    )
    assert emulator.no_auth_requests == [INSTANCE]
    assert redis_server.accepts(START)
    assert instance(emulator).password_changes == 0


def test_unknown_parameters_are_refused(emulator: TencentEmulator) -> None:
    # DescribeInstances takes InstanceId (one string), not InstanceIds.
    code = sdk_error(sdk(emulator).call_json, "DescribeInstances", {"InstanceIds": [INSTANCE]})
    assert code == "UnknownParameter"


def test_tc3_signature_and_secret_id_are_verified(emulator: TencentEmulator) -> None:
    wrong_key = sdk(emulator, secret_key="not-the-key")
    assert sdk_error(wrong_key.DescribeInstances, describe()) == "AuthFailure.SignatureFailure"
    unknown = sdk(emulator, secret_id="AKIDunknown")
    assert sdk_error(unknown.DescribeInstances, describe()) == "AuthFailure.SecretIdNotFound"


@pytest.mark.parametrize(("skew", "accepted"), [(299, True), (-299, True), (301, False)])
def test_tc3_timestamp_window_is_five_minutes(
    emulator: TencentEmulator, skew: int, accepted: bool
) -> None:
    emulator.wall_clock = lambda: time.time() + skew
    client = sdk(emulator)
    if accepted:
        assert client.DescribeInstances(describe()).TotalCount == 1
    else:
        assert sdk_error(client.DescribeInstances, describe()) == "AuthFailure.SignatureExpire"


V3_BAD = {
    "starts with /": "/abcDEF12",
    "too long for modify": "aB1" * 10 + "x",  # 31
    "one kind": "abcdefgh",
    "space": "abc DEF12",
    "outside the set": "abcd1234`",
    "too short": "aB1!aB1",
}


@pytest.mark.parametrize("password", V3_BAD.values(), ids=V3_BAD.keys())
def test_v3_modify_password_rule(
    emulator: TencentEmulator, redis_server: RedisServer, password: str
) -> None:
    code = sdk_error(sdk(emulator).ModifyInstancePassword, modify(password))
    assert code == "InvalidParameterValue.PasswordRuleError"
    assert redis_server.accepts(START)


@pytest.mark.parametrize(
    ("action", "password", "accepted"),
    [
        ("modify", "abcdEFGH", True),  # lower and upper case are two kinds in 3.0
        ("modify", "a/bcdefg1", True),  # '/' only may not come first
        ("reset", "aB1" * 10 + "xy", True),  # 32: reset allows more than modify
        ("reset", "aB1" * 11, False),  # 33
    ],
)
def test_v3_rule_per_action(
    emulator: TencentEmulator, action: str, password: str, accepted: bool
) -> None:
    client = sdk(emulator)
    call = client.ModifyInstancePassword if action == "modify" else client.ResetPassword
    request = modify(password) if action == "modify" else reset(password)
    if accepted:
        assert call(request).TaskId > 0
    else:
        assert sdk_error(call, request) == "InvalidParameterValue.PasswordRuleError"


def test_v3_empty_and_wrong_old_password(emulator: TencentEmulator) -> None:
    client = sdk(emulator)
    empty = sdk_error(client.ModifyInstancePassword, modify(""))
    assert empty == "InvalidParameterValue.PasswordEmpty"
    wrong = sdk_error(client.ModifyInstancePassword, modify("N3w!pass_2", old="Wrong1pass"))
    assert wrong == "InvalidParameterValue.PasswordError"


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        ({"locked": True}, "ResourceUnavailable.InstanceLockedError"),
        ({"status": -2}, "ResourceUnavailable.InstanceStatusAbnormal"),
        ({"region": "ap-shanghai"}, "ResourceNotFound.InstanceNotExists"),
    ],
)
def test_v3_instance_state(emulator: TencentEmulator, setup: dict[str, Any], code: str) -> None:
    for name, value in setup.items():
        setattr(instance(emulator), name, value)
    assert sdk_error(sdk(emulator).ModifyInstancePassword, modify("N3w!pass_2")) == code


def test_v3_task_in_flight_makes_the_instance_busy(
    emulator: TencentEmulator, redis_server: RedisServer
) -> None:
    instance(emulator).task_duration = 0.3
    client = sdk(emulator)
    task_id = client.ModifyInstancePassword(modify("N3w!pass_2")).TaskId
    assert client.DescribeTaskInfo(task_info(task_id)).Status == "running"
    assert client.DescribeInstances(describe()).InstanceSet[0].Status == 1
    second = sdk_error(client.ModifyInstancePassword, modify("0ther!pass"))
    assert second == "ResourceUnavailable.InstanceStatusAbnormal"
    assert redis_server.accepts(START), "not applied before the task ends"
    wait_until(lambda: client.DescribeTaskInfo(task_info(task_id)).Status == "succeed", "task")
    assert client.DescribeInstances(describe()).InstanceSet[0].Status == 2
    assert redis_server.accepts("N3w!pass_2")
    assert instance(emulator).password_changes == 1


def test_v3_failed_task_changes_nothing(
    emulator: TencentEmulator, redis_server: RedisServer
) -> None:
    instance(emulator).fail_next_task = True
    client = sdk(emulator)
    task = client.DescribeTaskInfo(task_info(client.ResetPassword(reset("R3set-pass")).TaskId))
    assert task.Status == "failed"
    assert task.TaskMessage
    assert redis_server.accepts(START)
    assert client.DescribeInstances(describe()).InstanceSet[0].Status == 2


def test_v3_rate_limit_is_per_action_per_second(emulator: TencentEmulator) -> None:
    now = [1000.0]
    emulator.clock = lambda: now[0]
    client = sdk(emulator)
    for _ in range(20):
        client.DescribeInstances(describe())
    assert sdk_error(client.DescribeInstances, describe()) == "RequestLimitExceeded"
    assert client.ModifyInstancePassword(modify("N3w!pass_2")).TaskId > 0  # another action
    now[0] += 1.0  # the window slides
    assert client.DescribeInstances(describe()).TotalCount == 1


# -- API 2.0 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("http_method", ["POST", "GET"])
@pytest.mark.parametrize("sign_method", ["HmacSHA256", "HmacSHA1"])
def test_sdk_legacy_requests_change_the_password(
    emulator: TencentEmulator, redis_server: RedisServer, sign_method: str, http_method: str
) -> None:
    # Every special character the seed allows, so each is encoded on the wire exactly once.
    password = "Ab1!@#%^*()"
    answer = v2_modify(emulator, password, sign_method=sign_method, http_method=http_method)
    assert (answer["code"], answer["codeDesc"]) == (0, "Success")
    task_id = answer["data"]["requestId"]
    status = v2_call(emulator, "DescribeTaskInfo", {"requestId": task_id}, sign_method=sign_method)
    assert status["data"]["status"] == 2
    assert redis_server.accepts(password)
    assert instance(emulator).password_changes == 1


def test_v2_signature_method_absent_means_hmac_sha1(
    emulator: TencentEmulator, redis_server: RedisServer
) -> None:
    params = {
        "Action": "ModfiyRedisPassword",
        "Region": REGION,
        "Timestamp": str(int(time.time())),
        "Nonce": "918273",
        "SecretId": SECRET_ID,
        "redisId": INSTANCE,
        "oldPassword": START,
        "password": "N3w!pass12",
    }
    host = f"127.0.0.1:{emulator.port}"
    string_to_sign = v2_string_to_sign("POST", host, V2_PATH, params)
    params["Signature"] = v2_signature(SECRET_KEY, string_to_sign, "HmacSHA1")
    response = requests.post(emulator.endpoint + V2_PATH, data=params, timeout=5)
    assert response.json()["code"] == 0
    assert redis_server.accepts("N3w!pass12")


def test_v2_nonce_replay_is_refused(emulator: TencentEmulator) -> None:
    request = v2_request(
        emulator,
        "ModfiyRedisPassword",
        {"redisId": INSTANCE, "oldPassword": START, "password": "N3w!pass12"},
    )
    assert send(emulator, request)["code"] == 0
    assert send(emulator, request)["code"] == 4500
    assert instance(emulator).password_changes == 1


@pytest.mark.parametrize(("skew", "code"), [(7100, 0), (-7100, 0), (7300, 4500)])
def test_v2_timestamp_window_is_two_hours(emulator: TencentEmulator, skew: int, code: int) -> None:
    emulator.wall_clock = lambda: time.time() + skew
    assert v2_modify(emulator, "N3w!pass12")["code"] == code


def test_v2_signature_and_secret_id_are_verified(emulator: TencentEmulator) -> None:
    assert v2_modify(emulator, "N3w!pass12", secret_key="not-the-key")["code"] == 4100
    assert v2_modify(emulator, "N3w!pass12", secret_id="AKIDunknown")["code"] == 4100
    request = v2_request(
        emulator,
        "ModfiyRedisPassword",
        {"redisId": INSTANCE, "oldPassword": START, "password": "N3w!pass12"},
    )
    request.data = request.data.replace("N3w", "0ld")  # tampered after signing
    assert send(emulator, request)["code"] == 4100
    assert instance(emulator).password_changes == 0


V2_BAD = {
    "too short": "Ab1!Ab1",
    "too long": "Ab1!" * 4 + "x",  # 17
    "letters only": "abcdEFGH",  # letters are one kind in 2.0
    "digits only": "12345678",
    "special outside the set": "abc123$%",
    "space": "abc 1234",
}


@pytest.mark.parametrize("password", V2_BAD.values(), ids=V2_BAD.keys())
def test_v2_password_rule(
    emulator: TencentEmulator, redis_server: RedisServer, password: str
) -> None:
    answer = v2_modify(emulator, password)
    assert (answer["code"], answer["codeDesc"]) == (11058, "PasswordRuleError")
    assert redis_server.accepts(START)


@pytest.mark.parametrize(
    ("setup", "password", "old", "code"),
    [
        ({}, "", START, 10501),
        ({}, "N3w!pass12", "Wrong1pass", 10502),
        ({"locked": True}, "N3w!pass12", START, 10707),
        ({"status": -2}, "N3w!pass12", START, 10702),
        ({"region": "ap-shanghai"}, "N3w!pass12", START, 10701),
    ],
)
def test_v2_business_errors(
    emulator: TencentEmulator, setup: dict[str, Any], password: str, old: str, code: int
) -> None:
    for name, value in setup.items():
        setattr(instance(emulator), name, value)
    assert v2_modify(emulator, password, old=old)["code"] == code


def test_v2_task_in_flight_refuses_a_second_change(
    emulator: TencentEmulator, redis_server: RedisServer
) -> None:
    instance(emulator).task_duration = 0.3
    task_id = v2_modify(emulator, "N3w!pass12")["data"]["requestId"]
    assert v2_modify(emulator, "N3w!pass12")["code"] == 10702
    wait_until(
        lambda: (
            v2_call(emulator, "DescribeTaskInfo", {"requestId": task_id})["data"]["status"] == 2
        ),
        "the task",
    )
    assert redis_server.accepts("N3w!pass12")
    assert instance(emulator).password_changes == 1


def test_v2_failed_task(emulator: TencentEmulator, redis_server: RedisServer) -> None:
    instance(emulator).fail_next_task = True
    task_id = v2_modify(emulator, "N3w!pass12")["data"]["requestId"]
    assert v2_call(emulator, "DescribeTaskInfo", {"requestId": task_id})["data"]["status"] == 3
    assert redis_server.accepts(START)


def test_v2_rate_limit(emulator: TencentEmulator) -> None:
    emulator.clock = lambda: 1000.0
    codes = [v2_modify(emulator, "N3w!pass12", old="Wrong1pass")["code"] for _ in range(21)]
    assert codes == [10502] * 20 + [4400]


# -- our provider over HTTP ------------------------------------------------------------------


def provider_for(keys: dict[str, str] | None = None) -> TencentProvider:
    deadline = Deadline.after(Runtime(), 10)
    context = ProviderContext(
        settings=Settings(),
        deadline=deadline,
        transport=Transport("tencent", 5.0, deadline),
        load_credentials=lambda _id, _schema: (
            keys or {"secretId": SECRET_ID, "secretKey": SECRET_KEY}
        ),
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
    assert provider.describe(secret).ready
    password = "Ab1!@#%^*()"  # every 2.0 special, through the form encoding
    handle = provider.change_password(secret, password, START)
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
    provider.change_password(secret, "N3w!pass12", START)
    if choice.get("apiVersion") == "3.0":
        assert provider.describe(secret).busy
    with pytest.raises(InstanceBusyError):
        provider.change_password(secret, "N3w!pass12", START)


@pytest.mark.parametrize("choice", [CHOICES["v2"], CHOICES["v3-reset"]], ids=["v2", "v3"])
def test_provider_fails_loud_when_tencent_refuses_the_rule(
    emulator: TencentEmulator, choice: dict[str, str]
) -> None:
    with pytest.raises(PasswordPolicyError, match="a bug"):
        provider_for().change_password(secret_for(emulator, **choice), "abcdefghij", START)


def test_provider_reports_a_failed_task(emulator: TencentEmulator) -> None:
    instance(emulator).fail_next_task = True
    provider, secret = provider_for(), secret_for(emulator, apiVersion="3.0")
    handle = provider.change_password(secret, "N3w!pass12", START)
    with pytest.raises(ChangeFailedError, match="failed"):
        provider.wait_for_change(secret, handle)


@pytest.mark.parametrize("choice", [CHOICES["v2"], CHOICES["v3-modify"]], ids=["v2", "v3"])
def test_provider_signature_error_is_a_credentials_error(
    emulator: TencentEmulator, choice: dict[str, str]
) -> None:
    provider = provider_for({"secretId": SECRET_ID, "secretKey": "wrong-key"})
    with pytest.raises(ProviderCredentialsError) as caught:
        provider.change_password(secret_for(emulator, **choice), "N3w!pass12", START)
    assert "wrong-key" not in str(caught.value)


def test_provider_retries_throttled_task_polls(emulator: TencentEmulator) -> None:
    emulator.inject(Fault("code", action="DescribeTaskInfo", code="RequestLimitExceeded", times=2))
    provider, secret = provider_for(), secret_for(emulator, apiVersion="3.0")
    provider.wait_for_change(secret, provider.change_password(secret, "N3w!pass12", START))
    assert emulator.count("DescribeTaskInfo", "RequestLimitExceeded") == 2
    assert emulator.count("DescribeTaskInfo") == 1
