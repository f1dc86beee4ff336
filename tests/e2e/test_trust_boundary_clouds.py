"""The attacks of tests/e2e/test_trust_boundary.py that had no ElastiCache or Alibaba form
yet (test_trust_boundary.py runs every attack on Alibaba and attack 5 on ElastiCache;
test_elasticache_trust.py runs ElastiCache's 1, 2 and 4 through readOnlyEndpoints). Here:
3, a plain-HTTP apiEndpoint smuggling another host past the loopback rule; 4, the writer's
own Redis as ElastiCache's primary; 6, another user's name on one's own ElastiCache user;
7, an IP pattern in the grant and a name in the secret. Each fails with an error naming
the field, and nothing reached the writer's servers or changed an instance."""

from __future__ import annotations

import pytest

from localcloud.cloud import LocalCloud
from localcloud.redis_server import RedisServer
from redis_rotation.errors import NotPermittedError, RotationError
from tests.e2e.test_edits_during_rotation import allow_address
from tests.e2e.test_trust_boundary import (
    CHANGES,
    CaptureServer,
    attacker_api,
    attacker_redis,
    connections,
    rotate_as_attacker,
    secret,
    write,
)

pytestmark = pytest.mark.e2e
__all__ = ["attacker_api", "attacker_redis"]  # fixtures

KINDS = ["elasticache-user", "elasticache-token", "alibaba"]


def change_requests(cloud: LocalCloud) -> int:
    """Change requests either emulator received, whatever their outcome (the emulators'
    own logs: a request the function's recorder missed counts too)."""
    emulators = (cloud.elasticache, cloud.alibaba)
    return sum(1 for e in emulators for c in e.calls if c.action in CHANGES)


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://{attacker}\\@127.0.0.1:{api}",
        "http://127.0.0.1:{api}@{attacker}",
        "http://127.0.0.1:{api}#@{attacker}",
    ],
)
@pytest.mark.parametrize("kind", KINDS)
def test_3_plain_http_to_loopback_cannot_be_smuggled_elsewhere(
    cloud: LocalCloud, attacker_api: CaptureServer, kind: str, endpoint: str
) -> None:
    example = secret(cloud, kind)
    api = cloud.api_endpoints()[example.provider].rsplit(":", 1)[1]
    write(
        cloud,
        example,
        apiEndpoint=endpoint.format(attacker=f"localhost:{attacker_api.server_port}", api=api),
    )

    error, step, calls = rotate_as_attacker(cloud, example)

    assert isinstance(error, RotationError), error
    assert (step, "field 'apiEndpoint'" in str(error)) == ("createSecret", True), error
    assert attacker_api.requests == 0
    assert not [c for c in calls if c.kind != "secretsmanager"]


@pytest.mark.parametrize("kind", ["elasticache-user", "elasticache-token"])
def test_4_the_new_password_never_goes_to_the_writers_redis_as_primary(
    cloud: LocalCloud, attacker_redis: RedisServer, kind: str
) -> None:
    example = secret(cloud, kind)
    old = cloud.value(example.arn, "AWSCURRENT")
    write(cloud, example, host=attacker_redis.host, port=attacker_redis.port)
    before, changed = connections(attacker_redis), change_requests(cloud)

    error, step, calls = rotate_as_attacker(cloud, example)

    assert isinstance(error, NotPermittedError), error
    assert "field 'host'" in str(error), error
    assert step in ("createSecret", "setSecret")
    assert connections(attacker_redis) == before + 1, "the writer's Redis saw only ours"
    assert not [c for c in calls if c.kind == "redis"], "no AUTH anywhere"
    assert change_requests(cloud) == changed
    assert example.accepts(old)


def test_6_a_user_secret_may_not_log_in_as_another_user(cloud: LocalCloud) -> None:
    """The writer keeps their own userId (granted) but names another user's name: the new
    password would be set on their user and proven as the other, or the other's password
    probed with theirs."""
    attacker, victim = secret(cloud, "elasticache-user"), secret(cloud, "elasticache-user")
    victim_password = cloud.value(victim.arn, "AWSCURRENT")["password"]
    write(cloud, attacker, username=victim.details["username"])
    changed = change_requests(cloud)

    error, step, calls = rotate_as_attacker(cloud, attacker)

    assert isinstance(error, RotationError), error
    assert "field 'username'" in str(error), error
    assert step in ("createSecret", "setSecret"), (step, error)
    assert change_requests(cloud) == changed, "ElastiCache was asked to change nothing"
    assert not [c for c in calls if c.kind == "redis"], "no AUTH as the victim"
    assert victim.redis.accepts(victim_password, victim.details["username"])


@pytest.mark.parametrize(
    ("granted", "written"), [("[fd00:1::5]", "0"), ("127.0.0.0/8", "localhost")]
)
@pytest.mark.parametrize("kind", ["elasticache-token", "alibaba"])
def test_7_an_ip_pattern_never_sends_the_password_to_a_name(
    cloud: LocalCloud, attacker_redis: RedisServer, kind: str, granted: str, written: str
) -> None:
    example = secret(cloud, kind)
    old = cloud.value(example.arn, "AWSCURRENT")
    allow_address(cloud, example, f"{granted}:{attacker_redis.port}")
    write(cloud, example, host=written, port=attacker_redis.port)
    before, changed = connections(attacker_redis), change_requests(cloud)

    error, step, calls = rotate_as_attacker(cloud, example)

    assert isinstance(error, NotPermittedError), error
    assert (step, "field 'host'" in str(error)) == ("setSecret", True), error
    assert connections(attacker_redis) == before + 1, "the writer's Redis saw only ours"
    assert not [c for c in calls if c.kind == "redis"], "no AUTH anywhere"
    assert change_requests(cloud) == changed
    assert example.accepts(old)
