"""Calls to the Tencent emulator: the official SDK (API 3.0, and API 2.0 through its
legacy signer) and raw HTTP, with the account and instance the fixtures set up."""

from __future__ import annotations

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

from localcloud.emulators.tencent import V2_PATH, Instance, TencentEmulator
from redis_rotation.polling import Deadline, Runtime, poll
from tests.support.servers import START_PASSWORD

MARKS = [
    pytest.mark.integration,
    # The SDK computes the TC3 date with datetime.utcfromtimestamp, deprecated since 3.12.
    pytest.mark.filterwarnings("ignore:datetime.datetime.utcfromtimestamp:DeprecationWarning"),
]

SECRET_ID, SECRET_KEY = "AKIDintegrationtest01", "integration-secret-key-0123"
REGION, INSTANCE = "ap-guangzhou", "crs-int00001"
START = START_PASSWORD  # the instance's password before a test changes it


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
