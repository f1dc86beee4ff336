"""ElastiCache end to end: a secret in Secrets Manager (moto server), the real handler, the
driver playing Secrets Manager, the ElastiCache emulator over genuine boto3 (SigV4, XML)
and real redis-server nodes that take each change one after the other."""

from __future__ import annotations

import itertools
import json
import secrets

import pytest

from localcloud.cloud import ExampleSecret, LocalCloud
from localcloud.emulators.base import Fault
from localcloud.emulators.elasticache import THROTTLING, ReplicationGroup

pytestmark = pytest.mark.e2e

_names = itertools.count()
STEPS = ["created", "changed", "tested", "finished"]


def new_secret(cloud: LocalCloud, kind: str, **options: object) -> ExampleSecret:
    return cloud.add_elasticache_secret(f"e2e/elasticache-{next(_names)}", kind=kind, **options)


def group_of(cloud: LocalCloud, example: ExampleSecret) -> ReplicationGroup:
    return cloud.elasticache.groups[example.details["group"]]


def accepted_on_every_node(
    cloud: LocalCloud, example: ExampleSecret, password: str, user: str | None
) -> list[bool]:
    return [n.server.accepts(password, user) for n in group_of(cloud, example).nodes]


@pytest.mark.parametrize("kind", ["user", "token"])
def test_a_rotation_keeps_the_old_password_valid_on_every_node(
    cloud: LocalCloud, kind: str
) -> None:
    example = new_secret(cloud, kind)
    user = example.details.get("username")
    old = cloud.value(example.arn, "AWSCURRENT")["password"]

    result = cloud.driver("elasticache").rotate(example.arn)

    assert result.succeeded, result.runs
    assert [r.outcome for r in result.runs] == STEPS
    new = cloud.value(example.arn, "AWSCURRENT")["password"]
    assert new != old
    # Dual mode: both AWSCURRENT and AWSPREVIOUS log in, on the primary and the replica.
    assert accepted_on_every_node(cloud, example, new, user) == [True, True]
    assert accepted_on_every_node(cloud, example, old, user) == [True, True]
    assert cloud.value(example.arn, "AWSPREVIOUS")["password"] == old
    assert cloud.elasticache.model.password_free_requests == []


@pytest.mark.parametrize(
    ("kind", "action"), [("user", "ModifyUser"), ("token", "ModifyReplicationGroup")]
)
def test_the_next_rotation_drops_the_oldest_password(
    cloud: LocalCloud, kind: str, action: str
) -> None:
    example = new_secret(cloud, kind)
    user = example.details.get("username")
    driver = cloud.driver("elasticache")
    first_password = cloud.value(example.arn, "AWSCURRENT")["password"]
    calls_before = cloud.elasticache.count(action)
    assert driver.rotate(example.arn).succeeded
    assert driver.rotate(example.arn).succeeded
    current = cloud.value(example.arn, "AWSCURRENT")["password"]
    previous = cloud.value(example.arn, "AWSPREVIOUS")["password"]
    assert accepted_on_every_node(cloud, example, first_password, user) == [False, False]
    assert accepted_on_every_node(cloud, example, previous, user) == [True, True]
    assert accepted_on_every_node(cloud, example, current, user) == [True, True]
    assert cloud.elasticache.count(action) == calls_before + 2


def test_throttling_and_a_busy_user_are_retried_within_the_step(cloud: LocalCloud) -> None:
    example = new_secret(cloud, "user")
    cloud.elasticache.inject(Fault("code", action="DescribeUsers", code=THROTTLING, times=2))
    cloud.elasticache.inject(Fault("code", action="ModifyUser", code="InvalidUserState"))
    result = cloud.driver("elasticache").rotate(example.arn)
    assert result.succeeded, result.runs
    assert cloud.elasticache.count("ModifyUser", "InvalidUserState") == 1
    assert cloud.elasticache.users[example.details["userId"]].password_changes == 1


def test_a_busy_group_is_retried_within_the_step(cloud: LocalCloud) -> None:
    example = new_secret(cloud, "token")
    busy = Fault("code", action="ModifyReplicationGroup", code="InvalidReplicationGroupState")
    cloud.elasticache.inject(busy)
    result = cloud.driver("elasticache").rotate(example.arn)
    assert result.succeeded, result.runs
    assert cloud.elasticache.count("ModifyReplicationGroup", "InvalidReplicationGroupState") == 1
    assert group_of(cloud, example).token_changes == 1


def test_rotate_is_refused_on_a_group_without_transit_encryption(cloud: LocalCloud) -> None:
    example = new_secret(cloud, "token")
    group_of(cloud, example).transit_encryption_enabled = False
    calls_before = cloud.elasticache.count("ModifyReplicationGroup", None)
    result = cloud.driver("elasticache", max_attempts=1).rotate(example.arn)
    assert not result.succeeded
    assert "TransitEncryptionEnabled is false" in str(result.runs[-1])
    assert cloud.elasticache.count("ModifyReplicationGroup", None) == calls_before
    assert cloud.accepted_stages(example) == ["AWSCURRENT"]


def set_with_a_lagging_replica(cloud: LocalCloud, kind: str) -> tuple[ExampleSecret, str, str]:
    """A rotation through setSecret whose last node lags behind active / available: the
    example, the rotation's token, the AWSPENDING password."""
    example = new_secret(cloud, kind, lag_last_node=1.5)
    driver = cloud.driver("elasticache")
    token = driver.start(example.arn)
    for step in ("createSecret", "setSecret"):
        driver.run_step(example.arn, token, step, secrets.token_urlsafe(32))
    return example, token, cloud.value(example.arn, "AWSPENDING")["password"]


@pytest.mark.parametrize("kind", ["user", "token"])
def test_a_replica_that_lags_behind_active_is_waited_for(cloud: LocalCloud, kind: str) -> None:
    """ElastiCache says active / available while the replica has not caught up yet: the
    rotation proves the replica anyway before AWSCURRENT moves."""
    example, token, pending = set_with_a_lagging_replica(cloud, kind)
    replica, user = group_of(cloud, example).nodes[1].server, example.details.get("username")
    driver = cloud.driver("elasticache")
    lagging = not replica.accepts(pending, user)  # the window the proof must wait out
    result = driver.run(example.arn, token, ("testSecret", "finishSecret"))
    assert lagging
    assert result.succeeded, result.runs
    new = cloud.value(example.arn, "AWSCURRENT")["password"]
    assert accepted_on_every_node(cloud, example, new, example.details.get("username")) == [
        True,
        True,
    ]
    assert result.attempts == 1, "waited for within the step, not by a failed step's retry"


@pytest.mark.parametrize("kind", ["user", "token"])
def test_finish_secret_waits_for_a_lagging_replica_even_without_test_secret(
    cloud: LocalCloud, kind: str
) -> None:
    """Invoked straight after setSecret, finishSecret still proves every node before it moves
    AWSCURRENT: once it returns, no node refuses AWSCURRENT."""
    example, token, pending = set_with_a_lagging_replica(cloud, kind)
    replica, user = group_of(cloud, example).nodes[1].server, example.details.get("username")
    driver = cloud.driver("elasticache")
    lagging = not replica.accepts(pending, user)
    result = driver.run(example.arn, token, ("finishSecret",))
    accepted_at_once = replica.accepts(pending, user)
    assert lagging
    assert result.succeeded, result.runs
    assert cloud.value(example.arn, "AWSCURRENT")["password"] == pending
    assert accepted_at_once, "AWSCURRENT moved while a replica still refused it"


@pytest.mark.parametrize("kind", ["user", "token"])
def test_a_node_the_secret_does_not_list_stops_the_change(cloud: LocalCloud, kind: str) -> None:
    """The proof AUTHs where the secret points: a replica left out would take the new
    password unproven, so nothing is changed."""
    example = new_secret(cloud, kind)
    value = {**cloud.value(example.arn, "AWSCURRENT")}
    del value["readOnlyEndpoints"]
    cloud.sm.secrets_manager().put_secret_value(
        SecretId=example.arn, SecretString=json.dumps(value)
    )
    changes_before = cloud.elasticache.count("ModifyUser", None) + cloud.elasticache.count(
        "ModifyReplicationGroup", None
    )
    result = cloud.driver("elasticache", max_attempts=1).rotate(example.arn)
    assert not result.succeeded
    replica = group_of(cloud, example).nodes[1].server
    assert f"node 127.0.0.1:{replica.port} " in str(result.runs[-1])
    assert "readOnlyEndpoints" in str(result.runs[-1])
    changes_after = cloud.elasticache.count("ModifyUser", None) + cloud.elasticache.count(
        "ModifyReplicationGroup", None
    )
    assert changes_after == changes_before
    assert example.accepts(cloud.value(example.arn, "AWSCURRENT"))


@pytest.mark.parametrize(
    ("kind", "action"), [("user", "ModifyUser"), ("token", "ModifyReplicationGroup")]
)
def test_strict_leaves_one_password_at_rest_rotation_after_rotation(
    cloud: LocalCloud, kind: str, action: str
) -> None:
    """Both passwords work while the rotation runs; once finishSecret has promoted the new
    one, the one it replaced is refused on every node. The next rotation starts from there."""
    example = new_secret(cloud, kind, strict=True)
    user = example.details.get("username")
    driver = cloud.driver("elasticache")
    for _ in range(2):
        old = cloud.value(example.arn, "AWSCURRENT")["password"]
        calls_before = cloud.elasticache.count(action)
        token = driver.start(example.arn)
        tested = driver.run(example.arn, token, ("createSecret", "setSecret", "testSecret"))
        assert tested.succeeded, tested.runs
        pending = cloud.value(example.arn, "AWSPENDING")["password"]
        assert accepted_on_every_node(cloud, example, old, user) == [True, True]
        assert driver.run(example.arn, token, ("finishSecret",)).succeeded
        assert cloud.value(example.arn, "AWSCURRENT")["password"] == pending
        assert accepted_on_every_node(cloud, example, pending, user) == [True, True]
        assert accepted_on_every_node(cloud, example, old, user) == [False, False]
        assert cloud.elasticache.count(action) == calls_before + 2  # the change, the drop
    # A retry of finishSecret finds the old password gone: nothing is sent again.
    assert driver.run(example.arn, token, ("finishSecret",)).succeeded
    assert cloud.elasticache.count(action) == calls_before + 2
