"""The real handler, warm: what it keeps between invocations is used for at most
WARM_SECONDS on the seams' clock, so a revoked grant is honoured by then (docs/security.md,
"What a warm function keeps")."""

from __future__ import annotations

import itertools
import json

import pytest

from localcloud.cloud import ExampleSecret, LocalCloud
from redis_rotation.errors import NotPermittedError
from redis_rotation.seams import Seams
from redis_rotation.warm import WARM_SECONDS
from tests.support.clock import FakeClock

pytestmark = pytest.mark.e2e

_names = itertools.count()


def revoke(cloud: LocalCloud, example: ExampleSecret) -> None:
    """The keys' owner takes this secret out of its grant (other secrets keep theirs)."""
    client = cloud.sm.secrets_manager()
    keys_arn = cloud.credentials[example.provider]
    value = json.loads(client.get_secret_value(SecretId=keys_arn)["SecretString"])
    for grant in value["grants"]:
        grant["secrets"] = [f"{n}-revoked" if n == example.name else n for n in grant["secrets"]]
    client.put_secret_value(SecretId=keys_arn, SecretString=json.dumps(value))


def test_a_revoked_grant_is_honoured_once_the_warm_bound_has_passed(cloud: LocalCloud) -> None:
    example = cloud.add_uredis_secret(f"warm/revoked-{next(_names)}")
    clock = FakeClock()  # moves only when the rotation waits: no real time in this test
    driver = cloud.driver("uredis", seams=Seams(runtime=clock.runtime()), max_attempts=1)
    assert driver.rotate(example.arn).succeeded
    started = clock.now

    revoke(cloud, example)
    # Within the bound the handler still uses the grant it read: the cache is in use.
    assert driver.rotate(example.arn).succeeded
    assert clock.now - started < WARM_SECONDS

    clock.now = started + WARM_SECONDS
    refused = driver.rotate(example.arn)
    assert not refused.succeeded
    (run,) = [run for run in refused.runs if run.error]
    assert (run.step, run.outcome) == ("createSecret", NotPermittedError.__name__)
    assert "grants this secret nothing" in (run.error or "")
    assert example.accepts(cloud.value(example.arn, "AWSCURRENT")), "nothing was changed"
