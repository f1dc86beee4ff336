"""What the functions tell an operator: JSON log lines that say which rotation they belong
to, and EMF metrics in one namespace, read from the functions' real output during real
rotations on the local cloud. (Traces are checked on the built artifact, with tracing on:
tests/e2e/test_built_artifact.py.)"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from localcloud.cloud import LocalCloud
from localcloud.emulators.base import Fault
from redis_rotation import observability
from redis_rotation.errors import ProviderRetryableError

pytestmark = pytest.mark.e2e

ROTATION_KEYS = ("provider", "step", "secret_id", "token")
# finishSecret moves labels and reads no value, so it never learns the instance id; the
# other steps read the secret before they log anything.
STEPS_THAT_READ_THE_SECRET = ("createSecret", "setSecret", "testSecret")

_names = itertools.count()


def name(what: str) -> str:
    return f"observability/{what}-{next(_names)}"


def documents(text: str) -> Iterator[dict[str, Any]]:
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            document = json.loads(line)
            if isinstance(document, dict):
                yield document


def log_lines(text: str) -> list[dict[str, Any]]:
    return [d for d in documents(text) if "level" in d and "message" in d]


def emf_documents(text: str) -> list[dict[str, Any]]:
    return [d for d in documents(text) if "_aws" in d]


def metric_values(emf: list[dict[str, Any]]) -> dict[str, list[float]]:
    """Every metric's values across the EMF documents (a metric may hold a list)."""
    values: dict[str, list[float]] = {}
    for document in emf:
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                value = document[metric["Name"]]
                values.setdefault(metric["Name"], []).extend(
                    value if isinstance(value, list) else [value]
                )
    return values


@pytest.fixture
def throttled_uredis_rotation(
    cloud: LocalCloud, function_output: Callable[[], str]
) -> tuple[str, str, str]:
    """One URedis rotation, throttled once (code 153): (output, secret ARN, group id)."""
    example = cloud.add_uredis_secret(name("uredis"), apply_delay=0.2)
    cloud.uredis.inject(Fault("code", action="ModifyURedisGroupPassword", code=153))
    result = cloud.driver("uredis").rotate(example.arn)
    assert result.succeeded, result.runs
    return function_output(), example.arn, example.details["groupId"]


def test_every_log_line_names_the_rotation(throttled_uredis_rotation: tuple[str, str, str]) -> None:
    output, arn, group_id = throttled_uredis_rotation
    lines = log_lines(output)
    steps = {line.get("step") for line in lines}
    assert steps == {"createSecret", "setSecret", "testSecret", "finishSecret"}
    for line in lines:
        assert line["provider"] == "uredis", line
        assert line["secret_id"] == arn, line
        assert line["token"], line
        assert "RotationToken" not in json.dumps(line)
        if line["step"] in STEPS_THAT_READ_THE_SECRET:
            assert line["instance_id"] == group_id, line
    tokens = {line["token"] for line in lines}
    assert len(tokens) == 1, "one rotation, one ClientRequestToken"
    messages = [line["message"] for line in lines]
    assert "provider call failed, will look again" in messages
    assert "the provider reports the change done" in messages


def test_metrics_are_emf_in_one_namespace_with_the_provider_dimension(
    throttled_uredis_rotation: tuple[str, str, str],
) -> None:
    output, _, _ = throttled_uredis_rotation
    emf = emf_documents(output)
    namespaces = {
        directive["Namespace"]
        for document in emf
        for directive in document["_aws"]["CloudWatchMetrics"]
    }
    # One namespace, the one the functions were configured with at import (the local
    # cloud's environment changes POWERTOOLS_METRICS_NAMESPACE after that).
    assert namespaces == {observability.metrics.namespace}
    step_documents = [d for d in emf if "Provider" in d]
    assert step_documents, "every invocation flushes its metrics"
    for document in step_documents:
        assert document["Provider"] == "uredis"
        assert document["service"] == observability.logger.service
        (directive,) = document["_aws"]["CloudWatchMetrics"]
        assert ["Provider", "service"] in [sorted(d) for d in directive["Dimensions"]]

    values = metric_values(step_documents)
    for step in ("createSecret", "setSecret", "testSecret", "finishSecret"):
        assert values[observability.STEP_SUCCESS.format(step=step)] == [1.0]
    assert observability.STEP_FAILURE.format(step="setSecret") not in values
    # DescribeUMem, the throttled change, its retry, then DescribeUMem until Running.
    assert len(values[observability.PROVIDER_API_LATENCY]) >= 4
    assert all(v >= 0 for v in values[observability.PROVIDER_API_LATENCY])
    assert values[observability.PROVIDER_API_RETRIES] == [1.0]
    (waited,) = values[observability.TASK_WAIT_TIME]
    assert waited >= 150, "the change took 0.2 s to apply"
    # setSecret first asks whether the pending password already works (refused), then
    # proves it after the change; testSecret proves it again.
    assert sum(values[observability.REDIS_AUTH_ATTEMPTS]) >= 3
    assert sum(values[observability.REDIS_AUTH_REFUSED]) >= 1
    assert observability.REDIS_UNREACHABLE not in values


def test_a_failed_step_is_counted_and_explained(
    cloud: LocalCloud, function_output: Callable[[], str]
) -> None:
    example = cloud.add_uredis_secret(name("slave"))
    cloud.uredis.groups[example.details["groupId"]].role = "slave"

    result = cloud.driver("uredis", max_attempts=1).rotate(example.arn)

    assert not result.succeeded
    output = function_output()
    values = metric_values(emf_documents(output))
    assert values[observability.STEP_FAILURE.format(step="setSecret")] == [1.0]
    (failure,) = [line for line in log_lines(output) if line["message"] == "step failed"]
    assert failure["level"] == "ERROR"
    assert failure["error"] == "InstanceStateError"
    assert "is a slave" in failure["reason"]
    assert failure["instance_id"] == example.details["groupId"]


def test_unreachable_redis_is_counted(
    cloud: LocalCloud, function_output: Callable[[], str]
) -> None:
    example = cloud.add_uredis_secret(name("unreachable"))
    example.redis.close()  # the instance's endpoint stops answering

    result = cloud.driver("uredis", max_attempts=1, step_timeout=8.0).rotate(example.arn)

    assert not result.succeeded
    values = metric_values(emf_documents(function_output()))
    assert sum(values[observability.REDIS_UNREACHABLE]) >= 1


@pytest.mark.usefixtures("cloud")  # the leak check watches tests that use the cloud
def test_nothing_is_recorded_outside_an_invocation(function_output: Callable[[], str]) -> None:
    """The engine driven directly (the preflight command, tests) leaves no EMF on stdout."""
    observability.step_result("createSecret", None)
    observability.provider_retry(ProviderRetryableError("uredis", "DescribeUMem", "153", "busy"))
    assert emf_documents(function_output()) == []
