"""Tencent API 3.0 (TencentV3Modify, TencentV3Reset): the documented requests, signed;
DescribeInstances; its tasks."""

from __future__ import annotations

from typing import Any

import pytest

from redis_rotation.errors import (
    ChangeFailedError,
    ConfigurationError,
    DeadlineExceededError,
    InstanceStateError,
    ProviderError,
)
from redis_rotation.providers.base import ChangeHandle
from tests.support.clock import FakeClock
from tests.support.inspection import UNSEEN
from tests.unit.tencent.support import (
    APIS,
    CURRENT,
    NEW,
    V2,
    V3_MODIFY,
    V3_RESET,
    Make,
    assert_tc3,
    instance,
    secret,
    v2_ok,
    v3_error,
    v3_ok,
)

pytestmark = pytest.mark.unit


# -- API 3.0 requests ------------------------------------------------------------------------


def test_v3_modify_sends_instance_old_and_new_password(make: Make) -> None:
    harness = make({"ModifyInstancePassword": [v3_ok(TaskId=88)]})
    handle = harness.provider.change_password(secret(V3_MODIFY), UNSEEN, NEW, CURRENT)
    assert handle == ChangeHandle(task_id="88")
    (sent,) = harness.transport.sent
    assert_tc3(sent, "ModifyInstancePassword")
    assert sent.json() == {"InstanceId": "crs-abc123", "OldPassword": CURRENT, "Password": NEW}


@pytest.mark.parametrize("old", [None, CURRENT])
def test_v3_reset_never_asks_for_a_password_free_instance(make: Make, old: str | None) -> None:
    harness = make({"ResetPassword": [v3_ok(TaskId=89)]})
    harness.provider.change_password(secret(V3_RESET), UNSEEN, NEW, old)
    (sent,) = harness.transport.sent
    assert_tc3(sent, "ResetPassword")
    assert sent.json() == {"InstanceId": "crs-abc123", "Password": NEW, "NoAuth": False}


def test_a_change_that_needs_the_old_password_refuses_none(make: Make) -> None:
    with pytest.raises(ConfigurationError):
        make().provider.change_password(secret(V3_MODIFY), UNSEEN, NEW, None)


def test_an_answer_without_a_task_id_is_waited_for_through_auth_only(make: Make) -> None:
    harness = make({"ModifyInstancePassword": [v3_ok()]})
    handle = harness.provider.change_password(secret(V3_MODIFY), UNSEEN, NEW, CURRENT)
    assert handle.task_id is None
    harness.provider.wait_for_change(secret(V3_MODIFY), handle)
    assert harness.transport.actions() == ["ModifyInstancePassword"]


@pytest.mark.parametrize(
    ("status", "ready", "busy"),
    [(2, True, False), (1, False, True), (0, False, True), (7, False, False), ([2], False, False)],
)
def test_v3_describe_maps_the_status(make: Make, status: Any, ready: bool, busy: bool) -> None:
    harness = make({"DescribeInstances": [v3_ok(TotalCount=1, InstanceSet=[instance(status)])]})
    described = harness.provider.inspect(secret(V3_MODIFY)).status
    assert (described.ready, described.busy) == (ready, busy)
    (sent,) = harness.transport.sent
    assert_tc3(sent, "DescribeInstances")
    assert sent.json() == {"InstanceId": "crs-abc123"}


@pytest.mark.parametrize(
    ("found", "words"),
    [
        ([instance(-2)], "isolated"),
        ([instance(-3)], "pending deletion"),
        ([instance(2, NoAuth=True)], "password-free"),
        ([], "check instanceId and region"),
        ([{**instance(2), "InstanceId": "crs-other"}], "check instanceId and region"),
    ],
)
def test_v3_describe_refuses_instances_that_need_a_person(
    make: Make, found: list[dict[str, Any]], words: str
) -> None:
    harness = make({"DescribeInstances": [v3_ok(TotalCount=len(found), InstanceSet=found)]})
    with pytest.raises(InstanceStateError, match=words):
        harness.provider.inspect(secret(V3_MODIFY))


def test_v3_describe_is_retried_when_throttled(make: Make, fake_clock: FakeClock) -> None:
    answers = [v3_error("RequestLimitExceeded"), v3_ok(TotalCount=1, InstanceSet=[instance()])]
    harness = make({"DescribeInstances": answers})
    assert harness.provider.inspect(secret(V3_MODIFY)).status.ready
    assert harness.transport.actions() == ["DescribeInstances", "DescribeInstances"]
    assert fake_clock.sleeps, "backed off before retrying"


def test_v3_task_is_polled_until_it_succeeds(make: Make) -> None:
    states = [v3_ok(Status=s, TaskMessage="") for s in ("preparing", "running", "succeed")]
    harness = make({"DescribeTaskInfo": states})
    harness.provider.wait_for_change(secret(V3_MODIFY), ChangeHandle("88"))
    assert [s.json() for s in harness.transport.sent] == [{"TaskId": 88}] * 3
    assert_tc3(harness.transport.sent[0], "DescribeTaskInfo")


@pytest.mark.parametrize("status", ["failed", "error"])
def test_v3_failed_task_reports_its_message_redacted(make: Make, status: str) -> None:
    harness = make(
        {
            "ModifyInstancePassword": [v3_ok(TaskId=88)],
            "DescribeTaskInfo": [v3_ok(Status=status, TaskMessage=f"could not set {NEW}")],
        }
    )
    value = secret(V3_MODIFY)
    handle = harness.provider.change_password(value, UNSEEN, NEW, CURRENT)
    with pytest.raises(ChangeFailedError) as caught:
        harness.provider.wait_for_change(value, handle)
    assert "could not set ***" in str(caught.value)
    assert NEW not in str(caught.value)


def test_task_polls_are_retried_when_throttled(make: Make) -> None:
    answers = [v3_error("RequestLimitExceeded"), v3_ok(Status="succeed", TaskMessage="")]
    harness = make({"DescribeTaskInfo": answers})
    harness.provider.wait_for_change(secret(V3_RESET), ChangeHandle("5"))
    assert harness.transport.actions() == ["DescribeTaskInfo", "DescribeTaskInfo"]


@pytest.mark.parametrize(
    ("api", "answer"),
    [("v2", v2_ok({"status": 9})), ("v3-modify", v3_ok(Status="paused"))],
)
def test_unknown_task_status_is_an_error(make: Make, api: str, answer: dict[str, Any]) -> None:
    harness = make({"DescribeTaskInfo": [answer]})
    with pytest.raises(ProviderError, match="UnknownTaskStatus"):
        harness.provider.wait_for_change(secret(APIS[api]), ChangeHandle("5"))


def test_a_task_that_outlasts_the_deadline_times_out(make: Make) -> None:
    harness = make({"DescribeTaskInfo": [v2_ok({"status": 1})]}, seconds=5)
    with pytest.raises(DeadlineExceededError):
        harness.provider.wait_for_change(secret(V2), ChangeHandle("5"))
    assert len(harness.transport.sent) > 3
