"""Tencent end to end, for API 2.0 and API 3.0 (modify and reset): a secret in Secrets
Manager (moto server), the real handler, the driver playing Secrets Manager, the Tencent
emulator over HTTP with asynchronous tasks, and a real redis-server.

After every test, whatever happened, the redis-server accepts the password of one of
AWSCURRENT, AWSPENDING, AWSPREVIOUS (the ``new_secret`` fixture checks it on teardown).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from localcloud.cloud import ExampleSecret, LocalCloud
from localcloud.emulators.base import Fault
from localcloud.emulators.tencent import Instance

pytestmark = pytest.mark.e2e

STAGES = ("AWSCURRENT", "AWSPENDING", "AWSPREVIOUS")
APIS: dict[str, dict[str, Any]] = {
    "v2": {"api_version": "2.0"},
    "v3-modify": {"api_version": "3.0", "change_mode": "modify"},
    "v3-reset": {"api_version": "3.0", "change_mode": "reset"},
}
CHANGE_ACTION = {
    "v2": "ModfiyRedisPassword",
    "v3-modify": "ModifyInstancePassword",
    "v3-reset": "ResetPassword",
}
THROTTLED: dict[str, str | int] = {
    "v2": 4400,
    "v3-modify": "RequestLimitExceeded",
    "v3-reset": "RequestLimitExceeded",
}
OLD_REFUSED = {"v2": "10502", "v3-modify": "InvalidParameterValue.PasswordError"}

_names = itertools.count()

NewSecret = Callable[..., ExampleSecret]


def stage_passwords(cloud: LocalCloud, example: ExampleSecret) -> dict[str, str]:
    client = cloud.sm.secrets_manager()
    found = {}
    for stage in STAGES:
        try:
            value = client.get_secret_value(SecretId=example.arn, VersionStage=stage)
        except client.exceptions.ResourceNotFoundException:
            continue
        found[stage] = json.loads(value["SecretString"])["password"]
    return found


@pytest.fixture(params=APIS.keys())
def api(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def new_secret(cloud: LocalCloud, api: str) -> Iterator[NewSecret]:
    made: list[ExampleSecret] = []

    def make(**options: Any) -> ExampleSecret:
        name = f"e2e/tencent-{api}-{next(_names)}"
        example = cloud.add_tencent_secret(name, **APIS[api], **options)
        made.append(example)
        return example

    yield make
    for example in made:
        assert cloud.accepted_stages(example), (
            f"{example.name}: Redis accepts none of AWSCURRENT, AWSPENDING, AWSPREVIOUS"
        )


def instance(cloud: LocalCloud, example: ExampleSecret) -> Instance:
    return cloud.tencent.instances[example.details["instanceId"]]


def password(cloud: LocalCloud, example: ExampleSecret, stage: str = "AWSCURRENT") -> str:
    value: str = cloud.value(example.arn, stage)["password"]
    return value


def test_rotation_changes_proves_and_stores_the_password(
    cloud: LocalCloud, new_secret: NewSecret
) -> None:
    example = new_secret(task_duration=0.1)
    old = password(cloud, example)

    result = cloud.driver("tencent").rotate(example.arn)

    assert result.succeeded, result.runs
    assert [r.outcome for r in result.runs] == ["created", "changed", "tested", "finished"]
    new = password(cloud, example)
    assert new != old
    assert example.redis.accepts(new)
    assert not example.redis.accepts(old)
    assert password(cloud, example, "AWSPREVIOUS") == old
    assert instance(cloud, example).password_changes == 1
    assert cloud.tencent.no_auth_requests == []


def test_drift_to_the_previous_password_is_rotated_from(
    cloud: LocalCloud, api: str, new_secret: NewSecret
) -> None:
    example = new_secret()
    driver = cloud.driver("tencent")
    assert driver.rotate(example.arn).succeeded
    current, previous = password(cloud, example), password(cloud, example, "AWSPREVIOUS")
    # Someone sets the instance back to the previous password in the console.
    cloud.tencent.set_password(example.details["instanceId"], previous)
    assert not example.redis.accepts(current)
    assert example.redis.accepts(previous)
    refused_before = cloud.tencent.count(CHANGE_ACTION[api], OLD_REFUSED.get(api))

    result = driver.rotate(example.arn)

    assert result.succeeded, result.runs
    assert result.attempts == 1
    assert example.redis.accepts(password(cloud, example))
    assert password(cloud, example, "AWSPREVIOUS") == current
    if api in OLD_REFUSED:  # AWSCURRENT was refused as the old password, then AWSPREVIOUS used
        refused = cloud.tencent.count(CHANGE_ACTION[api], OLD_REFUSED[api]) - refused_before
        assert refused == 1
    assert instance(cloud, example).password_changes == 2


def test_a_failed_task_fails_clearly_and_the_next_attempt_succeeds(
    cloud: LocalCloud, new_secret: NewSecret
) -> None:
    example = new_secret(task_duration=0.1)
    instance(cloud, example).fail_next_task = True
    old = password(cloud, example)

    failed = cloud.driver("tencent", max_attempts=1).rotate(example.arn)

    assert not failed.succeeded
    (error,) = [r for r in failed.runs if r.error]
    assert (error.step, error.outcome) == ("setSecret", "ChangeFailedError")
    assert "ended 'failed'" in (error.error or "")
    assert example.redis.accepts(old), "nothing lost"
    assert cloud.accepted_stages(example) in (["AWSCURRENT"], ["AWSCURRENT", "AWSPENDING"])

    retried = cloud.driver("tencent").rotate(example.arn)

    assert retried.succeeded, retried.runs
    assert retried.token == failed.token, "Secrets Manager's retry resumes the same version"
    assert example.redis.accepts(password(cloud, example))
    assert instance(cloud, example).password_changes == 1


def test_a_task_slower_than_one_invocation_is_resumed_without_a_second_change(
    cloud: LocalCloud, api: str, new_secret: NewSecret, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each step gets one second; the task takes longer than the first setSecret.
    monkeypatch.setenv("DEADLINE_MARGIN", "0")
    example = new_secret(task_duration=1.8)
    asked_before = cloud.tencent.count(CHANGE_ACTION[api], None)

    result = cloud.driver("tencent", step_timeout=1.0).rotate(example.arn)

    assert result.succeeded, result.runs
    set_secret = [r for r in result.runs if r.step == "setSecret"]
    assert set_secret[0].outcome == "DeadlineExceededError"
    assert set_secret[-1].outcome == "already-set", "the retry found the first change done"
    # The retry saw the task through the describe call: no second change was even asked.
    assert cloud.tencent.count(CHANGE_ACTION[api], None) - asked_before == 1
    assert instance(cloud, example).password_changes == 1
    assert example.redis.accepts(password(cloud, example))


def test_a_lost_answer_to_an_applied_change_is_not_repeated(
    cloud: LocalCloud, api: str, new_secret: NewSecret
) -> None:
    # The change is accepted and its task runs, but the connection drops before the answer:
    # the retry must find the task (busy instance) instead of issuing a second change.
    example = new_secret(task_duration=0.5)
    action = CHANGE_ACTION[api]
    lost_before, accepted_before = (
        cloud.tencent.count(action, "ok+reset"),
        cloud.tencent.count(action),
    )
    cloud.tencent.inject(Fault("reset", action=action, after=True))

    result = cloud.driver("tencent").rotate(example.arn)

    assert result.succeeded, result.runs
    assert result.attempts == 1
    assert cloud.tencent.count(action, "ok+reset") - lost_before == 1
    assert cloud.tencent.count(action) == accepted_before, "no second change was accepted"
    assert instance(cloud, example).password_changes == 1


def test_throttling_is_retried_within_the_step(
    cloud: LocalCloud, api: str, new_secret: NewSecret
) -> None:
    example = new_secret(task_duration=0.1)
    code = THROTTLED[api]
    actions = [CHANGE_ACTION[api], "DescribeTaskInfo"]
    if api != "v2":
        actions.append("DescribeInstances")
    before = {action: cloud.tencent.count(action, str(code)) for action in actions}
    for action in actions:
        cloud.tencent.inject(Fault("code", action=action, code=code, times=2))

    result = cloud.driver("tencent").rotate(example.arn)

    assert result.succeeded, result.runs
    assert result.attempts == 1
    for action in actions:
        assert cloud.tencent.count(action, str(code)) - before[action] == 2, action
    assert instance(cloud, example).password_changes == 1


def test_function_output_never_contains_a_password_or_a_key(
    cloud: LocalCloud, new_secret: NewSecret, function_output: Callable[[], str]
) -> None:
    # Drift, a refused old password and a failed task: every path that logs or raises.
    example = new_secret()
    driver = cloud.driver("tencent")
    assert driver.rotate(example.arn).succeeded
    cloud.tencent.set_password(
        example.details["instanceId"], password(cloud, example, "AWSPREVIOUS")
    )
    instance(cloud, example).fail_next_task = True
    assert driver.rotate(example.arn).succeeded
    text = function_output()
    assert '"step":"setSecret"' in text.replace(" ", ""), "the function's logs were captured"
    assert "ChangeFailedError" in text
    secrets = [secret_key for secret_key, _token in cloud.tencent.keys.values()]
    secrets += stage_passwords(cloud, example).values()
    secrets += instance(cloud, example).history
    for value in secrets:
        assert value not in text
