"""Provider error codes in ElastiCache and Alibaba rotations, where test_provider_faults.py,
test_elasticache_rotation.py and test_alibaba_rotation.py leave a gap: throttling of the
change itself and of a token group's describe; Alibaba's TaskExists and busy instance on
the change; and codes that no retry can cure. A retried code: the step retries, the
rotation succeeds with exactly one change. A permanent one: the rotation fails naming the
code, after one request, and nothing changed."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import pytest

from localcloud.cloud import ExampleSecret, LocalCloud
from localcloud.emulators.base import Fault
from tests.support.crash import applied_changes

pytestmark = pytest.mark.e2e

_names = itertools.count()


@dataclass(frozen=True)
class Case:
    kind: str  # elasticache-user, elasticache-token, alibaba, alibaba-account
    action: str  # where the code is answered (once)
    code: str
    retried: bool  # True: cured by a retry within the step; False: the rotation fails


CASES = [
    Case("elasticache-user", "ModifyUser", "Throttling", retried=True),
    Case("elasticache-token", "ModifyReplicationGroup", "ThrottlingException", retried=True),
    Case("elasticache-token", "DescribeReplicationGroups", "Throttling", retried=True),
    Case("elasticache-user", "ModifyUser", "AccessDenied", retried=False),
    Case("elasticache-token", "ModifyReplicationGroup", "InvalidParameterValue", retried=False),
    Case("alibaba", "ModifyInstanceAttribute", "TaskExists", retried=True),
    Case("alibaba-account", "ResetAccountPassword", "IncorrectInstanceStatus", retried=True),
    Case("alibaba", "ModifyInstanceAttribute", "Throttling.Api", retried=True),
    Case("alibaba", "ModifyInstanceAttribute", "Forbidden.RAM", retried=False),
    Case("alibaba-account", "ResetAccountPassword", "InvalidAccountPassword.Format", retried=False),
    Case("alibaba", "ModifyInstanceAttribute", "SomethingNew.NeverDocumented", retried=False),
]


def new_secret(cloud: LocalCloud, kind: str) -> tuple[ExampleSecret, Any]:
    """The secret and its provider's emulator."""
    name = f"faults-clouds/{kind}-{next(_names)}"
    if kind.startswith("elasticache"):
        return cloud.add_elasticache_secret(name, kind=kind.split("-", 1)[1]), cloud.elasticache
    options: dict[str, Any] = {"account": "app"} if kind == "alibaba-account" else {}
    return cloud.add_alibaba_secret(name, **options), cloud.alibaba


@pytest.mark.parametrize("case", CASES, ids=[f"{c.kind}-{c.action}-{c.code}" for c in CASES])
def test_a_provider_code_is_retried_or_named(cloud: LocalCloud, case: Case) -> None:
    example, emulator = new_secret(cloud, case.kind)
    old = cloud.value(example.arn, "AWSCURRENT")
    # The emulators serve the whole session: their counts are read as differences.
    answered, requests = emulator.count(case.action, case.code), emulator.count(case.action, None)
    emulator.inject(Fault("code", action=case.action, code=case.code))

    result = cloud.driver(example.provider, max_attempts=1).rotate(example.arn)

    assert emulator.count(case.action, case.code) == answered + 1, "the code was answered"
    if case.retried:
        assert result.succeeded, result.runs
        assert applied_changes(cloud, example) == 1
        assert example.accepts(cloud.value(example.arn, "AWSCURRENT"))
    else:
        assert not result.succeeded
        assert case.code in str(result.runs[-1]), result.runs[-1]
        assert emulator.count(case.action, None) == requests + 1, "a permanent code: no retry"
        assert applied_changes(cloud, example) == 0
        assert cloud.value(example.arn, "AWSCURRENT") == old
        assert cloud.accepted_stages(example) == ["AWSCURRENT"]
