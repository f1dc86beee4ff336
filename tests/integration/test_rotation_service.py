"""RotateSecret naming a local function runs it, as Secrets Manager does on AWS: after the
answer, the four steps, and the whole rotation again after a failed step (a bounded number
of times). Real moto server, real handlers, real redis-server."""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from localcloud import rotation_service
from localcloud.cloud import LocalCloud
from localcloud.driver import STEPS, Invoke, LambdaContext

pytestmark = pytest.mark.integration

_names = itertools.count()


@dataclass
class Recorder:
    """Wraps the real handler: records each event, and fails the steps ``fail`` picks."""

    inner: Invoke | None
    fail: Callable[[str, int], bool] | None = None  # (step, how many times seen)
    gate: threading.Event | None = None  # createSecret waits for it
    events: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, event: dict[str, Any], context: LambdaContext) -> Any:
        self.events.append(dict(event))
        seen = sum(1 for e in self.events if e["Step"] == event["Step"])
        if self.gate is not None and event["Step"] == "createSecret":
            assert self.gate.wait(timeout=60), "the test never opened the gate"
        if self.fail is not None and self.fail(event["Step"], seen):
            raise RuntimeError(f"{event['Step']} failed (attempt {seen})")
        return self.inner(event, context) if self.inner else {"Outcome": "ok"}

    @property
    def steps(self) -> list[str]:
        return [e["Step"] for e in self.events]


@pytest.fixture
def attached(cloud: LocalCloud) -> Iterator[Callable[..., Recorder]]:
    """Attach a recording driver to the URedis function's ARN; detached (its rotations
    ended) after the test."""

    def attach(recorder: Recorder, **options: Any) -> Recorder:
        rotation_service.attach(cloud.driver("uredis", recorder, **options))
        return recorder

    yield attach
    cloud.detach_functions()


def rotate_secret(cloud: LocalCloud, arn: str, provider: str = "uredis", **more: Any) -> str:
    """RotateSecret as the AWS CLI sends it (not a driver's); the new version's id."""
    answer = cloud.sm.secrets_manager().rotate_secret(
        SecretId=arn,
        ClientRequestToken=str(uuid.uuid4()),
        RotationLambdaARN=cloud.function_arn(provider),
        RotationRules={"ScheduleExpression": "rate(30 days)"},
        **more,
    )
    return answer["VersionId"]


def test_rotate_secret_answers_first_then_runs_the_four_steps(
    cloud: LocalCloud, attached: Callable[..., Recorder]
) -> None:
    example = cloud.add_uredis_secret(f"service/async-{next(_names)}")
    before = cloud.value(example.arn, "AWSCURRENT")
    gate = threading.Event()
    recorder = attached(Recorder(cloud.handler("uredis"), gate=gate))
    client = cloud.sm.secrets_manager()

    token = rotate_secret(cloud, example.arn)

    # Answered while createSecret is held: the new version has no value yet.
    assert "AWSPENDING" in cloud.stages(example.arn)[token]
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_secret_value(SecretId=example.arn, VersionId=token)
    gate.set()
    rotation_service.join()

    assert recorder.steps == list(STEPS)
    # As on AWS: the ARN, the new version's id, an opaque RotationToken botocore accepts.
    assert {e["SecretId"] for e in recorder.events} == {example.arn}
    assert {e["ClientRequestToken"] for e in recorder.events} == {token}
    assert all(len(e["RotationToken"]) >= 36 for e in recorder.events)
    assert "AWSCURRENT" in cloud.stages(example.arn)[token]
    after = cloud.value(example.arn, "AWSCURRENT")
    assert example.accepts(after)
    assert not example.accepts(before)
    assert client.describe_secret(SecretId=example.arn)["RotationEnabled"] is True


def test_a_failed_step_reruns_the_whole_rotation_which_converges(
    cloud: LocalCloud, attached: Callable[..., Recorder]
) -> None:
    example = cloud.add_uredis_secret(f"service/retry-{next(_names)}")
    recorder = attached(
        Recorder(cloud.handler("uredis"), fail=lambda step, seen: step == "testSecret" and seen < 2)
    )

    token = rotate_secret(cloud, example.arn)
    rotation_service.join()

    assert recorder.steps == [*STEPS[:3], *STEPS]
    assert "AWSCURRENT" in cloud.stages(example.arn)[token]
    assert cloud.accepted_stages(example) == ["AWSCURRENT", "AWSPENDING"]


def test_retries_end_after_max_attempts_and_a_held_password_still_works(
    cloud: LocalCloud, attached: Callable[..., Recorder]
) -> None:
    example = cloud.add_uredis_secret(f"service/give-up-{next(_names)}")
    recorder = attached(
        Recorder(cloud.handler("uredis"), fail=lambda step, _: step == "testSecret"),
        max_attempts=3,
    )

    token = rotate_secret(cloud, example.arn)
    rotation_service.join()

    assert recorder.steps == [*STEPS[:3]] * 3
    stages = cloud.stages(example.arn)
    assert "AWSCURRENT" not in stages[token]
    assert "AWSPENDING" in stages[token]
    # setSecret changed the password: AWSPENDING holds it (the next RotateSecret is refused
    # until `repair`, as on AWS).
    assert cloud.accepted_stages(example) == ["AWSPENDING"]


def test_without_rotate_immediately_only_test_secret_runs(
    cloud: LocalCloud, attached: Callable[..., Recorder]
) -> None:
    example = cloud.add_uredis_secret(f"service/test-only-{next(_names)}")
    recorder = attached(Recorder(None))

    rotate_secret(cloud, example.arn, RotateImmediately=False)
    rotation_service.join()

    assert recorder.steps == ["testSecret"]


def test_a_drivers_own_rotate_secret_is_not_run_a_second_time(
    cloud: LocalCloud, attached: Callable[..., Recorder]
) -> None:
    example = cloud.add_uredis_secret(f"service/driver-{next(_names)}")
    service = attached(Recorder(cloud.handler("uredis")))
    driver = Recorder(cloud.handler("uredis"))

    result = cloud.driver("uredis", driver).rotate(example.arn)
    rotation_service.join()

    assert result.succeeded
    assert driver.steps == list(STEPS)
    assert service.steps == []


@pytest.mark.usefixtures("attached")  # detaches what the test attaches
def test_rotate_secret_naming_the_other_providers_function_changes_nothing(
    cloud: LocalCloud,
) -> None:
    # The attacker writes a URedis secret and asks the Tencent function to rotate it.
    example = cloud.add_uredis_secret(f"service/wrong-function-{next(_names)}")
    cloud.attach_functions(("tencent",))

    token = rotate_secret(cloud, example.arn, provider="tencent")
    rotation_service.join()

    assert "AWSCURRENT" not in cloud.stages(example.arn)[token]
    assert cloud.uredis_instance(example).password_changes == 0
    assert cloud.accepted_stages(example) == ["AWSCURRENT"]


def test_nothing_is_done_after_finish_secret(
    cloud: LocalCloud, attached: Callable[..., Recorder]
) -> None:
    """AWS documents no label move of its own after finishSecret: AWSPENDING stays where the
    function left it (here, on the new AWSCURRENT version)."""
    example = cloud.add_uredis_secret(f"service/after-finish-{next(_names)}")
    client = cloud.sm.secrets_manager()
    old = next(v for v, labels in cloud.stages(example.arn).items() if "AWSCURRENT" in labels)

    def labels_only(event: dict[str, Any], _context: LambdaContext) -> Any:
        """createSecret and finishSecret as AWS's templates do them; no Redis involved."""
        token = event["ClientRequestToken"]
        if event["Step"] == "createSecret":
            client.put_secret_value(
                SecretId=event["SecretId"],
                ClientRequestToken=token,
                SecretString='{"unused": true}',
                VersionStages=["AWSPENDING"],
            )
        if event["Step"] == "finishSecret":
            client.update_secret_version_stage(
                SecretId=event["SecretId"],
                VersionStage="AWSCURRENT",
                MoveToVersionId=token,
                RemoveFromVersionId=old,
            )
        return {"Outcome": "ok"}

    attached(Recorder(labels_only))
    token = rotate_secret(cloud, example.arn)
    rotation_service.join()

    assert {v: sorted(labels) for v, labels in cloud.stages(example.arn).items() if labels} == {
        token: ["AWSCURRENT", "AWSPENDING"],
        old: ["AWSPREVIOUS"],
    }


def test_rotate_secret_without_a_function_uses_the_one_configured(
    cloud: LocalCloud, attached: Callable[..., Recorder]
) -> None:
    """`repair` prints `rotate-secret --secret-id <arn>` alone. AWS: "If you don't include
    the configuration parameters, the operation starts a rotation with the values already
    stored in the secret." moto forgot the function and made the empty version AWSCURRENT."""
    example = cloud.add_uredis_secret(f"service/stored-function-{next(_names)}")
    recorder = attached(Recorder(cloud.handler("uredis")))
    first = rotate_secret(cloud, example.arn)
    rotation_service.join()

    second = cloud.sm.secrets_manager().rotate_secret(SecretId=example.arn)["VersionId"]
    rotation_service.join()

    assert recorder.steps == [*STEPS, *STEPS]
    assert {e["ClientRequestToken"] for e in recorder.events} == {first, second}
    assert "AWSCURRENT" in cloud.stages(example.arn)[second]
    assert cloud.accepted_stages(example)[0] == "AWSCURRENT"
