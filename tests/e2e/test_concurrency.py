"""Concurrency: a second rotation of a secret is refused by the state checks while one is
in progress; rotations of different secrets in one warm process do not interfere."""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError

from localcloud.cloud import ExampleSecret, LocalCloud
from localcloud.driver import RotationResult

pytestmark = pytest.mark.e2e

_names = itertools.count()


def test_a_second_rotation_while_one_is_in_progress_is_refused(cloud: LocalCloud) -> None:
    example = cloud.add_uredis_secret(f"concurrency/overlap-{next(_names)}")
    driver = cloud.driver("uredis")
    first = driver.start(example.arn)
    driver.run_step(example.arn, first, "createSecret", "r" * 40)
    # AWS refuses a second RotateSecret while one is unfinished (the local cloud does too);
    # the first rotation keeps its AWSPENDING version.
    with pytest.raises(ClientError, match="A previous rotation isn't complete"):
        cloud.sm.secrets_manager().rotate_secret(
            SecretId=example.arn, RotationLambdaARN=cloud.function_arn("uredis")
        )
    assert "AWSPENDING" in cloud.stages(example.arn)[first]

    assert cloud.uredis.groups[example.details["groupId"]].password_changes == 0
    assert cloud.accepted_stages(example) in (["AWSCURRENT"], ["AWSCURRENT", "AWSPENDING"])


# Secrets rotated at once, half per provider (docs/guarantees.md quotes it; a test checks).
PARALLEL_SECRETS = 16


# Powertools keeps one metric set per process, flushed by whichever invocation ends first;
# Lambda runs one invocation per process at a time, so only this test sees the warning.
@pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")
def test_many_secrets_rotate_in_parallel_in_one_warm_process(cloud: LocalCloud) -> None:
    examples: list[ExampleSecret] = []
    for index in range(PARALLEL_SECRETS // 2):
        examples.append(cloud.add_uredis_secret(f"concurrency/u-{next(_names)}"))
        version = "2.0" if index % 2 else "3.0"
        examples.append(
            cloud.add_tencent_secret(f"concurrency/t-{next(_names)}", api_version=version)
        )
    before = {e.arn: cloud.value(e.arn, "AWSCURRENT")["password"] for e in examples}
    # One handler per provider, shared by every thread: the warm process of a function.
    drivers = {p: cloud.driver(p) for p in ("uredis", "tencent")}

    def rotate(example: ExampleSecret) -> RotationResult:
        return drivers[example.provider].rotate(example.arn)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(rotate, examples))

    assert all(r.succeeded for r in results), [r.runs for r in results if not r.succeeded]
    for example in examples:
        current = cloud.value(example.arn, "AWSCURRENT")
        assert current["port"] == example.redis.port, "each secret kept its own instance"
        assert example.redis.accepts(current["password"])
        assert not example.redis.accepts(before[example.arn])
        assert cloud.accepted_stages(example) in (["AWSCURRENT"], ["AWSCURRENT", "AWSPENDING"])
    passwords = [cloud.value(e.arn, "AWSCURRENT")["password"] for e in examples]
    assert len(set(passwords)) == len(passwords), "no password was shared between secrets"
