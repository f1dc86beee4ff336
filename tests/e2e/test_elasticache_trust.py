"""The trust boundary in its ElastiCache form: the writer of one rotated secret tries to aim
the function's IAM role at another user or group the role may reach, at its own API host or
at its own Redis. Each attack fails with an error naming the field, before ElastiCache is
asked to change anything; the emulator's own call log is the oracle of what reached it."""

from __future__ import annotations

import itertools
import json

import pytest

from localcloud.cloud import ExampleSecret, LocalCloud
from localcloud.redis_server import RedisServer
from redis_rotation.errors import NotPermittedError
from tests.e2e.test_trust_boundary import (
    CaptureServer,
    attacker_api,
    attacker_redis,
    connections,
    rotate_as_attacker,
    write,
)

pytestmark = pytest.mark.e2e
__all__ = ["attacker_api", "attacker_redis"]  # fixtures

_names = itertools.count()
CHANGES = ("ModifyUser", "ModifyReplicationGroup")


def secret(cloud: LocalCloud, kind: str) -> ExampleSecret:
    return cloud.add_elasticache_secret(f"attacker/elasticache-{next(_names)}", kind=kind)


def change_calls(cloud: LocalCloud) -> int:
    return sum(cloud.elasticache.count(action, None) for action in CHANGES)


def victim_fields(victim: ExampleSecret, kind: str) -> dict[str, object]:
    """What the writer copies from the victim's secret to aim at it."""
    where = {"host": victim.redis.host, "port": victim.redis.port}
    if kind == "user":
        return {**where, "userId": victim.details["userId"], "username": victim.details["username"]}
    return {**where, "replicationGroupId": victim.details["replicationGroupId"]}


@pytest.mark.parametrize(
    ("attacker_kind", "victim_kind", "field"),
    [
        ("user", "user", "userId"),  # another user the role may change
        ("token", "token", "replicationGroupId"),  # another group's token
        ("token", "user", "userId"),  # a token secret's writer turned to a user
    ],
)
def test_another_user_or_group_cannot_be_changed(
    cloud: LocalCloud, attacker_kind: str, victim_kind: str, field: str
) -> None:
    attacker, victim = secret(cloud, attacker_kind), secret(cloud, victim_kind)
    victim_password = cloud.value(victim.arn, "AWSCURRENT")["password"]
    value = {**cloud.value(attacker.arn, "AWSCURRENT"), **victim_fields(victim, victim_kind)}
    if victim_kind == "user":
        value.pop("replicationGroupId", None)  # a secret names one of the two
    cloud.sm.secrets_manager().put_secret_value(
        SecretId=attacker.arn, SecretString=json.dumps(value)
    )
    calls_before = len(cloud.elasticache.calls)

    error, step, _ = rotate_as_attacker(cloud, attacker)

    assert isinstance(error, NotPermittedError), error
    assert step == "createSecret"
    assert f"field '{field}'" in str(error)
    assert len(cloud.elasticache.calls) == calls_before, "not one ElastiCache request"
    assert victim.accepts(cloud.value(victim.arn, "AWSCURRENT"))
    assert victim.redis.accepts(victim_password, victim.details.get("username"))


@pytest.mark.parametrize("kind", ["user", "token"])
def test_the_role_is_never_used_against_the_writers_host(
    cloud: LocalCloud, attacker_api: CaptureServer, kind: str
) -> None:
    example = secret(cloud, kind)
    write(cloud, example, apiEndpoint=f"http://127.0.0.1:{attacker_api.server_port}")

    error, step, _ = rotate_as_attacker(cloud, example)

    assert isinstance(error, NotPermittedError), error
    assert (step, "field 'apiEndpoint'" in str(error)) == ("createSecret", True)
    assert attacker_api.requests == 0, "no SigV4-signed request reached the writer's host"


@pytest.mark.parametrize("kind", ["user", "token"])
def test_the_new_password_never_goes_to_a_foreign_address(
    cloud: LocalCloud, attacker_redis: RedisServer, kind: str
) -> None:
    example = secret(cloud, kind)
    old = cloud.value(example.arn, "AWSCURRENT")
    write(
        cloud,
        example,
        readOnlyEndpoints=[{"host": attacker_redis.host, "port": attacker_redis.port}],
    )
    changes_before = change_calls(cloud)
    before = connections(attacker_redis)

    error, step, _ = rotate_as_attacker(cloud, example)

    assert isinstance(error, NotPermittedError), error
    assert step == "setSecret"
    assert "field 'readOnlyEndpoints.0'" in str(error)
    assert connections(attacker_redis) == before + 1, "the writer's Redis saw only ours"
    assert change_calls(cloud) == changes_before, "ElastiCache was asked to change nothing"
    assert example.accepts(old)
