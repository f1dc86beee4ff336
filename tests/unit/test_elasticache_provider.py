"""The ElastiCache provider's decisions, with a fake boto3 client that records each call:
what it sends for each kind of secret, and what it refuses before sending anything."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from redis_rotation.config import Settings
from redis_rotation.errors import InstanceStateError, SecretFormatError
from redis_rotation.providers.base import Inspection, InstanceStatus, ProviderContext
from redis_rotation.providers.elasticache import ElastiCacheProvider
from redis_rotation.secret import RedisSecret, parse_secret
from tests.support.clock import FakeClock

pytestmark = pytest.mark.unit

NEW, OLD = "new-password-0000001", "old-password-0000001"
BASE = {
    "provider": "elasticache",
    "host": "127.0.0.1",
    "port": 6379,
    "password": OLD,
    "region": "us-east-1",
    "credentialsSecretId": "grants",
}
USER = {**BASE, "userId": "app-user", "username": "app"}
GROUP = {**BASE, "replicationGroupId": "orders"}
READY_GROUP = {
    "ReplicationGroupId": "orders",
    "Status": "available",
    "AuthTokenEnabled": True,
    "TransitEncryptionEnabled": True,
    "NodeGroups": [],
}

# A user on no group's nodes: nothing for the secret to list.
USER_INSPECTION = Inspection(
    InstanceStatus(True, False, "user active"), frozenset(), {"groups": []}
)


@dataclass
class Meta:
    region_name: str


@dataclass
class FakeElastiCache:
    """boto3's client surface the provider uses; records every call."""

    region: str = "us-east-1"
    group: dict[str, Any] = field(default_factory=lambda: dict(READY_GROUP))
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    opened: list[tuple[str, str | None]] = field(default_factory=list)  # aws_client's asks

    def open(self, service: str, endpoint_url: str | None) -> FakeElastiCache:
        self.opened.append((service, endpoint_url))
        return self

    @property
    def meta(self) -> Meta:
        return Meta(self.region)

    def describe_replication_groups(self, **params: Any) -> dict[str, Any]:
        self.calls.append(("DescribeReplicationGroups", params))
        return {"ReplicationGroups": [self.group]}

    def modify_user(self, **params: Any) -> dict[str, Any]:
        self.calls.append(("ModifyUser", params))
        return {"UserId": params["UserId"], "Status": "modifying"}

    def modify_replication_group(self, **params: Any) -> dict[str, Any]:
        self.calls.append(("ModifyReplicationGroup", params))
        return {"ReplicationGroup": {**self.group, "Status": "modifying"}}


def provider(fake: FakeElastiCache) -> ElastiCacheProvider:
    context = ProviderContext(
        settings=Settings(),
        deadline=FakeClock().deadline(30),
        transport=None,  # type: ignore[arg-type]  # an AWS provider posts nothing itself
        keys={},
        aws_client=fake.open,
    )
    return ElastiCacheProvider(context)


def secret(document: dict[str, Any]) -> RedisSecret:
    return parse_secret(json.dumps(document), "secret s (AWSCURRENT)")


def test_a_user_gets_the_new_and_the_current_password() -> None:
    fake = FakeElastiCache()
    chosen = provider(fake)
    user = secret(USER)
    assert chosen.needs_old_password(user)
    chosen.change_password(user, USER_INSPECTION, NEW, OLD)
    assert fake.calls == [("ModifyUser", {"UserId": "app-user", "Passwords": [NEW, OLD]})]


def test_a_token_is_rotated_immediately_and_never_set() -> None:
    fake = FakeElastiCache()
    chosen = provider(fake)
    group = secret(GROUP)
    assert not chosen.needs_old_password(group)
    chosen.change_password(group, chosen.inspect(group), NEW, None)
    assert fake.opened == [("elasticache", None)]  # the region's endpoint, one client
    assert fake.calls[-1] == (
        "ModifyReplicationGroup",
        {
            "ReplicationGroupId": "orders",
            "AuthToken": NEW,
            "AuthTokenUpdateStrategy": "ROTATE",
            "ApplyImmediately": True,
        },
    )


@pytest.mark.parametrize("flag", ["AuthTokenEnabled", "TransitEncryptionEnabled"])
def test_rotate_is_refused_naming_the_field(flag: str) -> None:
    fake = FakeElastiCache()
    fake.group[flag] = False
    chosen = provider(fake)
    group = secret(GROUP)
    inspection = chosen.inspect(group)
    assert not inspection.status.ready
    assert f"{flag} is false" in inspection.status.detail
    with pytest.raises(InstanceStateError) as caught:
        chosen.change_password(group, inspection, NEW, None)
    assert f"{flag} is false" in str(caught.value)
    assert [name for name, _ in fake.calls] == ["DescribeReplicationGroups"]


def test_a_secret_of_another_region_is_refused_before_any_call() -> None:
    fake = FakeElastiCache(region="eu-west-1")
    with pytest.raises(SecretFormatError) as caught:
        provider(fake).inspect(secret(GROUP))
    assert "region" in str(caught.value)
    assert fake.calls == []


@pytest.mark.parametrize(
    ("document", "action", "sent"),
    [
        (USER, "ModifyUser", {"UserId": USER["userId"], "Passwords": [USER["password"]]}),
        (
            GROUP,
            "ModifyReplicationGroup",
            {
                "ReplicationGroupId": GROUP["replicationGroupId"],
                "AuthToken": GROUP["password"],
                "AuthTokenUpdateStrategy": "SET",
                "ApplyImmediately": True,
            },
        ),
    ],
    ids=["user", "token"],
)
def test_strict_drops_all_but_awscurrents_password(
    document: dict[str, Any], action: str, sent: dict[str, Any]
) -> None:
    fake = FakeElastiCache()
    chosen = provider(fake)
    assert not chosen.one_password_at_rest(secret(document))
    strict = secret({**document, "strict": True})
    assert chosen.one_password_at_rest(strict)
    chosen.drop_previous(strict)
    assert fake.calls == [(action, sent)]
