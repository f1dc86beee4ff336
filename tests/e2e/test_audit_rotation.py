"""The audit's rotation findings (issue 19, items 1, 2, 3 and 14), each as the attack or
the state that exposed it, on the local cloud with real Redis.

- 1: an edit carried forward must leave AWSPENDING on AWSCURRENT's version or on none,
  or Secrets Manager refuses every later rotation.
- 2 and 14: a hand-written AWSPENDING whose password already works (a copy of AWSCURRENT)
  must be refused, not answered "already set".
- 3: a user without a password accepts any password: the proof must see that.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from localcloud.cloud import ExampleSecret, LocalCloud
from tests.support.crash import virtual_time

pytestmark = pytest.mark.e2e

_names = itertools.count()


def stages(cloud: LocalCloud, example: ExampleSecret) -> dict[str, list[str]]:
    described = cloud.sm.secrets_manager().describe_secret(SecretId=example.arn)
    return {k: list(v) for k, v in described["VersionIdsToStages"].items()}


def rotation_in_progress(cloud: LocalCloud, example: ExampleSecret) -> bool:
    """What RotateSecret refuses on: AWSPENDING on a version that is not AWSCURRENT's."""
    return any("AWSPENDING" in s and "AWSCURRENT" not in s for s in stages(cloud, example).values())


def write_pending(cloud: LocalCloud, example: ExampleSecret, token: str, value: Any) -> None:
    cloud.sm.secrets_manager().put_secret_value(
        SecretId=example.arn,
        ClientRequestToken=token,
        SecretString=json.dumps(value),
        VersionStages=["AWSPENDING"],
    )


def test_a_carried_edit_leaves_no_rotation_in_progress(cloud: LocalCloud) -> None:
    example = cloud.add_uredis_secret(f"audit/carried-{next(_names)}", replicas=1)
    driver = cloud.driver("uredis")
    token = driver.start(example.arn)
    for step in ("createSecret", "setSecret"):
        driver.run_step(example.arn, token, step, "r" * 40)
    current = cloud.value(example.arn, "AWSCURRENT")
    del current["readOnlyEndpoints"]  # an operator's edit after the change landed
    cloud.sm.secrets_manager().put_secret_value(
        SecretId=example.arn, SecretString=json.dumps(current), VersionStages=["AWSCURRENT"]
    )

    first = driver.rotate(example.arn)  # Secrets Manager's retry of the same rotation
    assert first.succeeded, first.runs
    assert first.token == token
    assert not rotation_in_progress(cloud, example), stages(cloud, example)

    # The next rotation is a new one (RotateSecret accepted), and it changes the password.
    before = cloud.value(example.arn, "AWSCURRENT")["password"]
    second = driver.rotate(example.arn)
    assert second.succeeded, second.runs
    assert second.token != token
    after = cloud.value(example.arn, "AWSCURRENT")["password"]
    assert after != before
    assert example.redis.accepts(after)
    assert not example.redis.accepts(before)


@pytest.mark.parametrize("kind", ["uredis", "alternating"])
def test_a_handwritten_copy_of_awscurrent_as_awspending_is_refused(
    cloud: LocalCloud, kind: str
) -> None:
    name = f"audit/copy-{kind}-{next(_names)}"
    if kind == "uredis":
        example = cloud.add_uredis_secret(name, replicas=1)
        provider = "uredis"
    else:
        example = cloud.add_tencent_secret(
            name, api_version="3.0", account="app_a", alternate="app_b"
        )
        provider = "tencent"
    driver = cloud.driver(provider, max_attempts=1)
    current = cloud.value(example.arn, "AWSCURRENT")
    token = driver.start(example.arn)
    # Item 2: AWSCURRENT minus a field; item 14: AWSCURRENT itself (its own account).
    copy = {k: v for k, v in current.items() if k != "readOnlyEndpoints"}
    write_pending(cloud, example, token, copy)

    result = driver.rotate(example.arn)

    assert not result.succeeded, result.runs
    failed = [run for run in result.runs if run.error]
    assert [run.step for run in failed] == ["setSecret"]
    field = "'account'" if kind == "alternating" else "'password'"
    assert field in (failed[0].error or ""), failed[0]
    assert cloud.value(example.arn, "AWSCURRENT") == current, "AWSCURRENT untouched"
    assert example.accepts(current)


def test_a_user_without_a_password_does_not_pass_the_proof(cloud: LocalCloud) -> None:
    example = cloud.add_uredis_secret(f"audit/nopass-{next(_names)}")
    with example.redis.admin() as admin:
        admin.execute_command("ACL", "SETUSER", "app", "on", "nopass", "~*", "&*", "+@all")
    current = cloud.value(example.arn, "AWSCURRENT")
    cloud.sm.secrets_manager().put_secret_value(
        SecretId=example.arn,
        SecretString=json.dumps({**current, "username": "app"}),
        VersionStages=["AWSCURRENT"],
    )

    # The refused proof waits out its deadline: on the virtual clock, at no cost.
    result = cloud.driver("uredis", seams=virtual_time(), max_attempts=1).rotate(example.arn)

    # Before the fix every step passed: AUTH app <anything> succeeds, and the anonymous
    # check was answered by the default user, which has a password.
    assert not result.succeeded, result.runs
    assert [run.step for run in result.runs if run.error] == ["testSecret"]
    assert cloud.value(example.arn, "AWSCURRENT")["password"] == current["password"]
    assert cloud.accepted_stages(example), "a labelled password still works"
