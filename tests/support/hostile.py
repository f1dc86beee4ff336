"""The hostile-input harness (tests/e2e/test_hostile_input*.py run it): a valid secret is
created, a rotation is started (RotateSecret's empty AWSPENDING stub), the case spoils one
thing, and the steps run in order through the real handler until the expected one fails.
Then: the error names the problem, no change request reached the provider, AWSCURRENT did
not move and the instance kept its password."""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from localcloud.cloud import ExampleSecret, LocalCloud
from localcloud.driver import STEPS, LambdaContext
from redis_rotation.errors import RotationError

_names = itertools.count()
Value = dict[str, Any]


def without(*names: str) -> Callable[[Value], Value]:
    return lambda value: {k: v for k, v in value.items() if k not in names}


def with_(**changes: Any) -> Callable[[Value], Value]:
    return lambda value: {**value, **changes}


def renamed(old: str, new: str) -> Callable[[Value], Value]:
    """The same instance id under another field: the other kind of URedis instance."""
    return lambda value: {**without(old)(value), new: value[old]}


@dataclass
class Case:
    id: str
    step: str  # the step that must fail
    error: type[RotationError]
    message: str  # must appear in the error's text
    provider: str = "uredis"  # the function invoked
    secret_provider: str | None = None  # the kind of secret created (default: provider)
    current: Callable[[Value], Value] | str | None = None  # replaces AWSCURRENT
    pending: Callable[[Value], Value] | None = None  # AWSPENDING value put before createSecret
    event: Callable[[dict[str, Any]], Any] | None = None  # spoils the event
    credentials: str | None = None  # replaces the credentials secret's value
    env: dict[str, str] = field(default_factory=dict)
    rotation_enabled: bool = True  # False: an AWSPENDING version put by hand, no RotateSecret
    space: bool = False  # a URedis distributed space (spaceId) instead of a group
    options: dict[str, Any] = field(default_factory=dict)  # of the local cloud's secret


def refused_and_unchanged(
    cloud: LocalCloud,
    case: Case,
    example: ExampleSecret,
    changes: Callable[[], int],
    monkeypatch: pytest.MonkeyPatch,
) -> RotationError:
    """Run ``case`` against ``example``; ``changes``: change requests the provider received."""
    client = cloud.sm.secrets_manager()
    original = cloud.value(example.arn, "AWSCURRENT")
    if case.current is not None:
        spoiled = (
            case.current if isinstance(case.current, str) else json.dumps(case.current(original))
        )
        client.put_secret_value(SecretId=example.arn, SecretString=spoiled)
    if case.credentials is not None:
        credentials = cloud.credentials[case.provider]
        monkeypatch.setattr(cloud, "credentials", {**cloud.credentials})  # keep the shared one
        spoiled_keys = client.create_secret(
            Name=f"hostile/keys-{next(_names)}", SecretString=case.credentials
        )["ARN"]
        assert credentials != spoiled_keys
        value = {**original, "credentialsSecretId": spoiled_keys}
        client.put_secret_value(SecretId=example.arn, SecretString=json.dumps(value))
    for variable, setting in case.env.items():
        monkeypatch.setenv(variable, setting)
    current_before = client.get_secret_value(SecretId=example.arn, VersionStage="AWSCURRENT")

    driver = cloud.driver(case.provider)
    if case.rotation_enabled:
        token = driver.start(example.arn)
    else:
        token = str(uuid.uuid4())
        client.put_secret_value(
            SecretId=example.arn,
            ClientRequestToken=token,
            SecretString=json.dumps({**original, "password": "Pending-by-hand-1"}),
            VersionStages=["AWSPENDING"],
        )
        assert not client.describe_secret(SecretId=example.arn).get("RotationEnabled")
    if case.pending is not None:
        value = case.pending(cloud.value(example.arn, "AWSCURRENT"))
        client.put_secret_value(
            SecretId=example.arn,
            ClientRequestToken=token,
            SecretString=json.dumps(value),
            VersionStages=["AWSPENDING"],
        )
    calls_before = changes()

    error: RotationError | None = None
    failed_step = ""
    for step in STEPS:
        event: Any = {"Step": step, "SecretId": example.arn, "ClientRequestToken": token}
        event["RotationToken"] = "hostile-input-rotation-token-0123456789abcdef"
        if case.event is not None:
            event = case.event(event)
        try:
            driver.invoke(event, LambdaContext(driver.function_name, driver.step_timeout))
        except RotationError as exc:
            error, failed_step = exc, step
            break
    assert error is not None, f"no step failed (expected {case.step})"
    assert failed_step == case.step, f"{failed_step} failed, not {case.step}: {error}"
    assert isinstance(error, case.error), repr(error)
    assert case.message in str(error), str(error)
    assert changes() == calls_before, "no change request"
    after = client.get_secret_value(SecretId=example.arn, VersionStage="AWSCURRENT")
    assert after["VersionId"] == current_before["VersionId"], "AWSCURRENT did not move"
    assert example.accepts(original), "the instance kept its password"

    return error
