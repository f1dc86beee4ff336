"""Provider faults, for every provider mode, each with its expected outcome:

- retried within the step (transient faults before the change took effect, throttling);
- resumed without a second change (faults after it took effect: the answer was lost);
- failed with a clear error, then succeeded on Secrets Manager's retry (a failed task);
- resumed by the next invocation (a task slower than the function's deadline).

After every case: the instance's password is held by AWSCURRENT/AWSPENDING/AWSPREVIOUS,
and exactly one change was applied.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import pytest

from localcloud.cloud import ExampleSecret, LocalCloud
from localcloud.emulators.base import Fault
from redis_rotation.seams import Seams
from tests.support.clock import FakeClock

pytestmark = pytest.mark.e2e

_names = itertools.count()


@dataclass(frozen=True)
class Mode:
    name: str
    provider: str
    options: dict[str, Any]
    change: str  # the change action
    throttle: str | int  # the provider's throttling code
    # The scenarios it runs (None: all). A URedis space shares the group's transport and
    # waiting code, and its crash proof covers every lost answer and every slow change: it
    # runs one case of each outcome its own change call and states can give. The account
    # modes share 3.0's transport and error handling, so they run those that reach their
    # own code: a change that landed unseen, a failed task, a task slower than the deadline.
    scenarios: tuple[str, ...] | None = None


ACCOUNT_SCENARIOS = (
    "reset-after",
    "truncated-json-after",
    "task-fails",
    "slower-than-the-deadline",
)

ALIBABA = (
    "timeout-before",
    "timeout-after",
    "reset-before",
    "reset-after",
    "http-503-before",
    "http-502-after",
    "garbage-after",
    "truncated-json-after",
    "throttled",
    "slower-than-the-deadline",
)

MODES = [
    Mode("uredis", "uredis", {}, "ModifyURedisGroupPassword", 153),
    Mode(
        "uredis-space",
        "uredis",
        {"space": True},
        "ModifyUMemPassword",
        153,
        ("reset-before", "http-502-after", "garbage-after", "throttled", "task-fails"),
    ),
    Mode("tencent-2.0", "tencent", {"api_version": "2.0"}, "ModfiyRedisPassword", 4400),
    Mode(
        "tencent-3.0-modify",
        "tencent",
        {"api_version": "3.0", "change_mode": "modify"},
        "ModifyInstancePassword",
        "RequestLimitExceeded",
    ),
    Mode(
        "tencent-3.0-reset",
        "tencent",
        {"api_version": "3.0", "change_mode": "reset"},
        "ResetPassword",
        "RequestLimitExceeded",
    ),
    Mode(
        "tencent-3.0-account",
        "tencent",
        {"api_version": "3.0", "account": "app"},
        "ModifyInstanceAccount",
        "RequestLimitExceeded",
        ACCOUNT_SCENARIOS,
    ),
    Mode(
        "tencent-3.0-alternating",
        "tencent",
        {"api_version": "3.0", "account": "app_a", "alternate": "app_b"},
        "ModifyInstanceAccount",
        "RequestLimitExceeded",
        ACCOUNT_SCENARIOS,
    ),
    # Alibaba's changes have no task that could report a failure: every other scenario.
    Mode("alibaba", "alibaba", {}, "ModifyInstanceAttribute", "Throttling.User", ALIBABA),
    Mode(
        "alibaba-alternating",
        "alibaba",
        {"account": "app_a", "alternate": "app_b"},
        "ResetAccountPassword",
        "Throttling.User",
        ("reset-after", "truncated-json-after", "throttled", "slower-than-the-deadline"),
    ),
]


@dataclass(frozen=True)
class Scenario:
    name: str
    outcome: str  # "retried", "resumed", "failed-then-retried" or "resumed-next-invocation"
    fault: dict[str, Any] = field(default_factory=dict)  # Fault(...) on the change action
    secret: dict[str, Any] = field(default_factory=dict)  # extra local-cloud secret options
    env: dict[str, str] = field(default_factory=dict)


# A short HTTP timeout makes an unanswered request cost half a second, not ten.
FAST_HTTP = {"HTTP_TIMEOUT": "0.5"}
SCENARIOS = [
    Scenario("timeout-before", "retried", {"kind": "timeout", "delay": 1.5}, env=FAST_HTTP),
    Scenario("timeout-after", "resumed", {"kind": "timeout", "delay": 1.5, "after": True},
             env=FAST_HTTP),
    Scenario("reset-before", "retried", {"kind": "reset"}),
    Scenario("reset-after", "resumed", {"kind": "reset", "after": True}),
    Scenario("http-503-before", "retried", {"kind": "http", "status": 503}),
    Scenario("http-502-after", "resumed", {"kind": "http", "status": 502, "after": True}),
    Scenario("garbage-after", "resumed", {"kind": "garbage", "after": True}),
    Scenario("truncated-json-after", "resumed", {"kind": "truncated", "after": True}),
    Scenario("throttled", "retried", {"kind": "code", "times": 3}),
    Scenario("task-fails", "failed-then-retried", secret={"fail": True}),
    Scenario("slower-than-the-deadline", "resumed-next-invocation", secret={"slow": 1.5},
             env={"DEADLINE_MARGIN": "0.3"}),
]  # fmt: skip


def new_secret(cloud: LocalCloud, mode: Mode, scenario: Scenario) -> ExampleSecret:
    name = f"faults/{mode.name}-{scenario.name}-{next(_names)}"
    options = dict(mode.options)
    slow = scenario.secret.get("slow")
    if mode.provider == "uredis":
        if slow:
            options["apply_delay"] = slow
        example = cloud.add_uredis_secret(name, **options)
        if scenario.secret.get("fail"):
            cloud.uredis_instance(example).fail_next_apply = True
        return example
    if slow:
        options["task_duration"] = slow
    if mode.provider == "alibaba":
        return cloud.add_alibaba_secret(name, **options)
    example = cloud.add_tencent_secret(name, **options)
    if scenario.secret.get("fail"):
        cloud.tencent.instances[example.details["instanceId"]].fail_next_task = True
    return example


def applied_changes(cloud: LocalCloud, example: ExampleSecret) -> int:
    if example.provider == "uredis":
        return cloud.uredis_instance(example).password_changes
    emulator = cloud.alibaba if example.provider == "alibaba" else cloud.tencent
    return emulator.instances[example.details["instanceId"]].password_changes


CASES = [
    pytest.param(mode, scenario, id=f"{mode.name}-{scenario.name}")
    for mode in MODES
    for scenario in SCENARIOS
    if mode.scenarios is None or scenario.name in mode.scenarios
]


@pytest.mark.parametrize(("mode", "scenario"), CASES)
def test_provider_fault(
    cloud: LocalCloud, mode: Mode, scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable, setting in scenario.env.items():
        monkeypatch.setenv(variable, setting)
    example = new_secret(cloud, mode, scenario)
    emulators = {"uredis": cloud.uredis, "tencent": cloud.tencent, "alibaba": cloud.alibaba}
    emulator = emulators[mode.provider]
    if scenario.fault:
        options = dict(scenario.fault)
        if options["kind"] == "code":
            options["code"] = mode.throttle
        emulator.inject(Fault(action=mode.change, **options))
    old = cloud.value(example.arn, "AWSCURRENT")
    # A short step timeout for the slow case; the driver retries as Secrets Manager does.
    # The slow case races a real clock (the provider's task) against the deadline; every
    # other case waits on a virtual one, so backoff and polling cost nothing.
    slow = "slow" in scenario.secret
    step_timeout = 1.5 if slow else 60.0
    clock = FakeClock()
    seams = None if slow else Seams(runtime=clock.runtime())
    # Tencent's per-second limit counts on the time the function waits on: backoffs that
    # cost no real time must not look like a burst of requests to it.
    virtual_limit = not slow and mode.provider == "tencent"
    real = cloud.tencent.use_clock(clock.clock) if virtual_limit else None
    try:
        driver = cloud.driver(mode.provider, seams=seams, step_timeout=step_timeout)
        result = driver.rotate(example.arn)
    finally:
        if real is not None:
            cloud.tencent.use_clock(real)

    assert result.succeeded, result.runs
    failures = [run for run in result.runs if run.error]
    if scenario.outcome in ("retried", "resumed"):
        assert failures == [], "handled within the step"
        assert result.attempts == 1
    elif scenario.outcome == "failed-then-retried":
        assert [f.step for f in failures] == ["setSecret"]
        assert failures[0].outcome == "ChangeFailedError"
        assert "fail" in (failures[0].error or "").lower()
        assert result.attempts == 2
    else:  # resumed by the next invocation
        assert [f.outcome for f in failures] == ["DeadlineExceededError"]
        assert "Secrets Manager's retry resumes it" in (failures[0].error or "")
        resumed = next(r for r in result.runs if r.attempt == 2 and r.step == "setSecret")
        assert resumed.outcome == "already-set"
    assert applied_changes(cloud, example) == 1, "exactly one change, whatever happened"
    if "alternate" in mode.options:  # the old version's account was never touched
        assert cloud.accepted_stages(example) == ["AWSCURRENT", "AWSPREVIOUS"]
        assert example.accepts(old)
    else:
        assert cloud.accepted_stages(example) == ["AWSCURRENT"]
        assert not example.accepts(old)


def test_a_change_applied_late_without_notice_is_waited_for(cloud: LocalCloud) -> None:
    """URedis answers Running at once but applies the password later: AUTH decides."""
    example = cloud.add_uredis_secret(f"faults/silent-{next(_names)}", apply_delay=0.5)
    cloud.uredis.groups[example.details["groupId"]].silent_delay = True
    result = cloud.driver("uredis").rotate(example.arn)
    assert result.succeeded, result.runs
    assert result.attempts == 1
    assert applied_changes(cloud, example) == 1
    assert cloud.accepted_stages(example) == ["AWSCURRENT"]
