"""API 3.0 as the official SDK (tencentcloud-sdk-python-redis) sends it: every action is
accepted, TC3 signatures, SecretIds and the 5-minute window are verified, and instance
states and tasks answer with the documented codes."""

from __future__ import annotations

import time
from typing import Any

import pytest

from localcloud.emulators.tencent import TencentEmulator
from localcloud.redis_server import RedisServer
from tests.integration.tencent_emulator.calls import (
    INSTANCE,
    MARKS,
    START,
    describe,
    instance,
    modify,
    reset,
    sdk,
    sdk_error,
    task_info,
    wait_until,
)

pytestmark = MARKS


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


# A margin from the 300 s edge: the request itself takes time on a busy machine.
@pytest.mark.parametrize(("skew", "accepted"), [(290, True), (-290, True), (310, False)])
def test_tc3_timestamp_window_is_five_minutes(
    emulator: TencentEmulator, skew: int, accepted: bool
) -> None:
    emulator.wall_clock = lambda: time.time() + skew
    client = sdk(emulator)
    if accepted:
        assert client.DescribeInstances(describe()).TotalCount == 1
    else:
        assert sdk_error(client.DescribeInstances, describe()) == "AuthFailure.SignatureExpire"


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
