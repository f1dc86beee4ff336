"""URedis end to end: a secret in Secrets Manager (moto server), the real handler, the
driver playing Secrets Manager, the URedis emulator over HTTP and a real redis-server."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from localcloud.cloud import ExampleSecret, LocalCloud
from localcloud.driver import STEPS
from localcloud.emulators.base import Fault

pytestmark = pytest.mark.e2e

_names = itertools.count()


def new_secret(cloud: LocalCloud, **options: object) -> ExampleSecret:
    return cloud.add_uredis_secret(f"e2e/uredis-{next(_names)}", **options)  # type: ignore[arg-type]


def changes(cloud: LocalCloud, example: ExampleSecret) -> int:
    return cloud.uredis_instance(example).password_changes


@pytest.mark.parametrize(
    ("space", "action"),
    [(False, "ModifyURedisGroupPassword"), (True, "ModifyUMemPassword")],
    ids=["group", "distributed-space"],
)
def test_rotation_changes_proves_and_stores_the_password(
    cloud: LocalCloud, space: bool, action: str
) -> None:
    example = new_secret(cloud, space=space)
    old = cloud.value(example.arn, "AWSCURRENT")["password"]
    calls_before = cloud.uredis.count(action)

    result = cloud.driver("uredis").rotate(example.arn)

    assert result.succeeded, result.runs
    assert [r.outcome for r in result.runs] == ["created", "changed", "tested", "finished"]
    new = cloud.value(example.arn, "AWSCURRENT")["password"]
    assert new != old
    assert example.redis.accepts(new)
    assert not example.redis.accepts(old)
    assert cloud.value(example.arn, "AWSPREVIOUS")["password"] == old
    assert changes(cloud, example) == 1
    assert cloud.uredis.count(action) == calls_before + 1, "the kind's own change call"
    # As AWS leaves it: AWSPENDING on AWSCURRENT's version or on none, so the next
    # RotateSecret is accepted.
    pending = [s for s in cloud.stages(example.arn).values() if "AWSPENDING" in s]
    assert all("AWSCURRENT" in s for s in pending), "no rotation left in progress"


def test_a_second_rotation_works(cloud: LocalCloud) -> None:
    example = new_secret(cloud)
    driver = cloud.driver("uredis")
    first = driver.rotate(example.arn)
    middle = cloud.value(example.arn, "AWSCURRENT")["password"]
    second = driver.rotate(example.arn)
    assert first.succeeded
    assert second.succeeded
    assert first.token != second.token
    assert cloud.value(example.arn, "AWSPREVIOUS")["password"] == middle
    assert example.redis.accepts(cloud.value(example.arn, "AWSCURRENT")["password"])
    assert changes(cloud, example) == 2


def test_running_the_same_token_again_changes_nothing(cloud: LocalCloud) -> None:
    example = new_secret(cloud)
    driver = cloud.driver("uredis")
    result = driver.rotate(example.arn)
    stages_before = cloud.stages(example.arn)
    calls_before = len(cloud.uredis.calls)

    again = [driver.run_step(example.arn, result.token, step, "token") for step in STEPS]

    assert [a["Outcome"] for a in again] == ["already-current"] * 4
    assert cloud.stages(example.arn) == stages_before
    assert len(cloud.uredis.calls) == calls_before, "no provider call at all"
    assert changes(cloud, example) == 1


def test_a_change_applied_late_is_waited_for(cloud: LocalCloud) -> None:
    example = new_secret(cloud, apply_delay=0.5)
    result = cloud.driver("uredis").rotate(example.arn)
    assert result.succeeded, result.runs
    assert result.attempts == 1
    assert cloud.accepted_stages(example) in (["AWSCURRENT"], ["AWSCURRENT", "AWSPENDING"])
    assert changes(cloud, example) == 1


def test_throttling_is_retried_within_the_step(cloud: LocalCloud) -> None:
    example = new_secret(cloud)
    cloud.uredis.inject(Fault("code", action="ModifyURedisGroupPassword", code=153, times=2))
    result = cloud.driver("uredis").rotate(example.arn)
    assert result.succeeded, result.runs
    assert result.attempts == 1
    assert changes(cloud, example) == 1


def test_every_endpoint_must_accept_the_new_password(cloud: LocalCloud) -> None:
    example = new_secret(cloud, replicas=2)
    group = cloud.uredis.groups[example.details["groupId"]]
    result = cloud.driver("uredis").rotate(example.arn)
    assert result.succeeded, result.runs
    new = cloud.value(example.arn, "AWSCURRENT")["password"]
    assert len(cloud.value(example.arn, "AWSCURRENT")["readOnlyEndpoints"]) == 2
    assert all(replica.accepts(new) for replica in [example.redis, *group.replicas])


def test_a_replica_left_behind_stops_the_rotation_before_finish(
    cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_WAIT_SECONDS", "1")
    example = new_secret(cloud, replicas=1)
    group = cloud.uredis.groups[example.details["groupId"]]
    group.stale_replicas = True
    old = cloud.value(example.arn, "AWSCURRENT")["password"]

    result = cloud.driver("uredis", max_attempts=2, step_timeout=8).rotate(example.arn)

    assert not result.succeeded
    failed = {r.step for r in result.runs if r.error}
    assert "finishSecret" not in {r.step for r in result.runs}, "never finished"
    assert failed <= {"setSecret", "testSecret"}
    assert group.replicas[0].accepts(old), "the replica still has the old password"
    assert cloud.value(example.arn, "AWSCURRENT")["password"] == old
    assert "AWSPENDING" in cloud.accepted_stages(example), "the master's password is kept"
    assert changes(cloud, example) == 1


def test_a_slave_is_refused_and_nothing_is_lost(cloud: LocalCloud) -> None:
    example = new_secret(cloud)
    cloud.uredis.groups[example.details["groupId"]].role = "slave"
    old = cloud.value(example.arn, "AWSCURRENT")["password"]

    result = cloud.driver("uredis", max_attempts=2).rotate(example.arn)

    assert not result.succeeded
    failed = [r for r in result.runs if r.error]
    assert {r.step for r in failed} == {"setSecret"}
    assert all("is a slave" in (r.error or "") for r in failed)
    assert example.redis.accepts(old)
    assert changes(cloud, example) == 0
    assert "AWSCURRENT" in cloud.accepted_stages(example)


def test_function_output_never_contains_a_password_or_the_rotation_token(
    cloud: LocalCloud, function_output: Callable[[], str]
) -> None:
    example = new_secret(cloud)
    cloud.uredis.inject(Fault("code", action="ModifyURedisGroupPassword", code=153))
    old = cloud.value(example.arn, "AWSCURRENT")["password"]
    driver = cloud.driver("uredis")
    token = driver.start(example.arn)
    rotation_token = "rotation-token-that-must-stay-secret"
    for step in STEPS:
        driver.run_step(example.arn, token, step, rotation_token)
    new = cloud.value(example.arn, "AWSPENDING")["password"]
    text = function_output()
    assert '"step":"setSecret"' in text.replace(" ", ""), "the function's logs were captured"
    assert '"provider_code":"153"' in text.replace(" ", ""), "the retried fault was logged"
    assert "setSecretSuccess" in text, "the metrics were captured"
    for value in (old, new, rotation_token):
        assert value not in text
