"""API 2.0 as the official SDK's legacy signer sends it: form and query requests change the
password, signatures, nonces and the 2-hour window are verified, and business errors and
tasks answer with the documented codes."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from localcloud.emulators.tencent import V2_PATH, TencentEmulator
from localcloud.redis_server import RedisServer
from redis_rotation.signing.tencent_v2 import v2_signature, v2_string_to_sign
from tests.integration.tencent_emulator.calls import (
    INSTANCE,
    MARKS,
    REGION,
    SECRET_ID,
    SECRET_KEY,
    START,
    instance,
    send,
    v2_call,
    v2_modify,
    v2_request,
    wait_until,
)

pytestmark = MARKS


# -- API 2.0 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("http_method", ["POST", "GET"])
@pytest.mark.parametrize("sign_method", ["HmacSHA256", "HmacSHA1"])
def test_sdk_legacy_requests_change_the_password(
    emulator: TencentEmulator, redis_server: RedisServer, sign_method: str, http_method: str
) -> None:
    # Every special character the provider documents, so each is encoded on the wire once.
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


def test_describe_redis_reports_the_status(emulator: TencentEmulator) -> None:
    def described() -> Any:
        answer = v2_call(emulator, "DescribeRedis", {"redisId": INSTANCE, "limit": 10})
        assert answer["code"] == 0
        return answer["data"]

    assert described() == {
        "totalCount": 1,
        "redisSet": [{"redisId": INSTANCE, "redisName": INSTANCE, "status": 2}],
    }
    instance(emulator).task_duration = 5.0
    assert v2_modify(emulator, "N3w!pass12")["code"] == 0
    assert described()["redisSet"][0]["status"] == 1  # in a workflow
    instance(emulator).running_task, instance(emulator).status = None, -2
    assert described()["redisSet"][0]["status"] == -2  # isolated
    other = v2_call(emulator, "DescribeRedis", {"redisId": "crs-other"})["data"]
    assert other == {"totalCount": 0, "redisSet": []}
