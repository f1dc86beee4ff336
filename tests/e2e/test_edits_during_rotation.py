"""An operator's edit to AWSCURRENT during a rotation is never silently undone: before the
change lands the rotation refuses and says how to start again (and that works as written);
after it landed the edit is carried forward with the new password.

The three cases are the remedies the docs give: switch to API 3.0 after failed 2.0
attempts, point ``host`` at another allowed address, and drop a lagging replica.
"""

from __future__ import annotations

import itertools
import json
import shlex
from typing import Any

import pytest

from localcloud.cloud import ExampleSecret, LocalCloud
from localcloud.emulators.base import Fault
from redis_rotation.errors import RotationStateError

pytestmark = pytest.mark.e2e

_names = itertools.count()


def edit_current(cloud: LocalCloud, example: ExampleSecret, **changes: Any) -> None:
    value = {**cloud.value(example.arn, "AWSCURRENT"), **changes}
    value = {k: v for k, v in value.items() if v is not None}
    cloud.sm.secrets_manager().put_secret_value(
        SecretId=example.arn, SecretString=json.dumps(value), VersionStages=["AWSCURRENT"]
    )


def run_command(cloud: LocalCloud, message: str) -> None:
    """Run the ``aws secretsmanager update-secret-version-stage ...`` command an error
    quotes, through boto3 with the same arguments, as a user would in a shell."""
    words = shlex.split(message.split("Start again from AWSCURRENT: ", 1)[1].split(",")[0])
    assert words[:3] == ["aws", "secretsmanager", "update-secret-version-stage"], words
    options = dict(zip(words[3::2], words[4::2], strict=True))
    cloud.sm.secrets_manager().update_secret_version_stage(
        SecretId=options["--secret-id"],
        VersionStage=options["--version-stage"],
        RemoveFromVersionId=options["--remove-from-version-id"],
    )


def test_switching_to_api_3_after_failed_2_0_attempts_works_as_the_error_says(
    cloud: LocalCloud,
) -> None:
    example = cloud.add_tencent_secret(f"edits/api-{next(_names)}", api_version="2.0")
    old = cloud.value(example.arn, "AWSCURRENT")["password"]
    # Tencent retired API 2.0: every 2.0 change fails (here: with an auth error).
    cloud.tencent.inject(Fault("code", action="ModfiyRedisPassword", code=4100, times=10))
    failed = cloud.driver("tencent", max_attempts=2).rotate(example.arn)
    assert not failed.succeeded
    cloud.tencent.faults.clear()

    edit_current(cloud, example, apiVersion="3.0")
    again = cloud.driver("tencent", max_attempts=1).rotate(example.arn)
    assert not again.succeeded
    (refused,) = [run for run in again.runs if run.error]
    assert refused.step == "setSecret"
    assert refused.outcome == RotationStateError.__name__
    assert "field 'apiVersion' differs from AWSCURRENT" in (refused.error or "")
    assert example.redis.accepts(old), "nothing was changed"

    run_command(cloud, refused.error or "")
    result = cloud.driver("tencent").rotate(example.arn)
    assert result.succeeded, result.runs
    current = cloud.value(example.arn, "AWSCURRENT")
    assert current["apiVersion"] == "3.0", "the edit is kept"
    assert example.redis.accepts(current["password"])
    assert not example.redis.accepts(old)


def allow_address(cloud: LocalCloud, example: ExampleSecret, address: str) -> None:
    """What the keys' owner does for a proxy or a private link: allow the address."""
    client = cloud.sm.secrets_manager()
    keys_arn = cloud.credentials[example.provider]
    value = json.loads(client.get_secret_value(SecretId=keys_arn)["SecretString"])
    for grant in value["grants"]:
        if example.name in grant["secrets"]:
            grant.setdefault("redisAddresses", []).append(address)
    client.put_secret_value(SecretId=keys_arn, SecretString=json.dumps(value))


def test_an_edited_host_after_the_change_is_carried_forward(cloud: LocalCloud) -> None:
    example = cloud.add_uredis_secret(f"edits/host-{next(_names)}")
    allow_address(cloud, example, f"localhost:{example.redis.port}")
    driver = cloud.driver("uredis")
    token = driver.start(example.arn)
    for step in ("createSecret", "setSecret"):
        driver.run_step(example.arn, token, step, "r" * 40)
    new = cloud.value(example.arn, "AWSPENDING")["password"]

    edit_current(cloud, example, host="localhost")
    result = driver.rotate(example.arn)  # Secrets Manager's retry of the same rotation

    assert result.succeeded, result.runs
    assert result.token == token
    current = cloud.value(example.arn, "AWSCURRENT")
    assert (current["host"], current["password"]) == ("localhost", new)
    assert cloud.accepted_stages(example)[0] == "AWSCURRENT"


def test_dropping_a_lagging_replica_lets_the_rotation_finish_without_it(
    cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_WAIT_SECONDS", "1")
    example = cloud.add_uredis_secret(f"edits/replica-{next(_names)}", replicas=1)
    cloud.uredis.groups[example.details["groupId"]].stale_replicas = True
    first = cloud.driver("uredis", max_attempts=1).rotate(example.arn)
    assert not first.succeeded
    assert [run.step for run in first.runs if run.error] == ["testSecret"]
    new = cloud.value(example.arn, "AWSPENDING")["password"]

    edit_current(cloud, example, readOnlyEndpoints=None)  # as Troubleshooting advises
    result = cloud.driver("uredis").rotate(example.arn)

    assert result.succeeded, result.runs
    current = cloud.value(example.arn, "AWSCURRENT")
    assert "readOnlyEndpoints" not in current, "the edit is kept"
    assert current["password"] == new
    assert example.redis.accepts(new)


def test_an_edit_after_an_alternating_change_keeps_the_new_account(cloud: LocalCloud) -> None:
    example = cloud.add_tencent_secret(
        f"edits/alternating-{next(_names)}", api_version="3.0", account="app_a", alternate="app_b"
    )
    driver = cloud.driver("tencent")
    token = driver.start(example.arn)
    for step in ("createSecret", "setSecret"):
        driver.run_step(example.arn, token, step, "r" * 40)
    pending = cloud.value(example.arn, "AWSPENDING")
    assert pending["account"] == "app_b"

    edit_current(cloud, example, tls={"enabled": False, "verify": False})
    result = driver.rotate(example.arn)

    assert result.succeeded, result.runs
    current = cloud.value(example.arn, "AWSCURRENT")
    assert current["tls"] == {"enabled": False, "verify": False}, "the edit is kept"
    # The new password belongs to app_b: it is carried forward with it, not with app_a.
    assert (current["account"], current["password"]) == ("app_b", pending["password"])
    assert example.accepts(current)
