"""ElastiCache secrets: an RBAC user (userId + username) or a replication group's AUTH token
(replicationGroupId), and the grants of the role owner's credentials secret, which name
users and groups by kind, so that one kind's writer cannot reach the other kind."""

from __future__ import annotations

import json
from typing import Any

import pytest

from redis_rotation.binding import Binding
from redis_rotation.errors import SecretFormatError
from redis_rotation.secret import parse_secret, validate

pytestmark = pytest.mark.unit

LABEL = "secret s (AWSCURRENT)"
BASE: dict[str, Any] = {
    "provider": "elasticache",
    "host": "master.orders.abc123.euw1.cache.amazonaws.com",
    "port": 6379,
    "password": "current-password-0001",
    "region": "eu-west-1",
    "credentialsSecretId": "elasticache-grants",
}
USER = {**BASE, "userId": "app-user", "username": "app"}
GROUP = {**BASE, "replicationGroupId": "orders"}
CREDENTIALS = "credentials-elasticache.schema.json"


def parsed(document: dict[str, Any]) -> Any:
    return parse_secret(json.dumps(document), LABEL)


def refused_field(document: dict[str, Any]) -> str:
    with pytest.raises(SecretFormatError) as caught:
        parsed(document)
    return str(caught.value)


def test_a_user_and_a_group_secret_are_accepted() -> None:
    assert parsed(USER).instance_id == "user:app-user"
    assert parsed({**GROUP, "strict": True}).instance_id == "replicationgroup:orders"


@pytest.mark.parametrize(
    ("document", "field", "why"),
    [
        ({**USER, "replicationGroupId": "orders"}, "userId", "exactly one of"),
        ({**GROUP, "username": "default"}, "username", "default user's password"),
        ({k: v for k, v in USER.items() if k != "username"}, "username", ""),
        (BASE, "userId", ""),
        ({**USER, "userId": "App-User"}, "userId", ""),  # AWS would store it lower-cased
        ({**USER, "userId": "x" * 41}, "userId", ""),
        ({**USER, "groupId": "uredis-1"}, "groupId", ""),
        ({**USER, "instanceId": "crs-1"}, "instanceId", ""),
    ],
)
def test_malformed_elasticache_secrets_name_the_field(
    document: dict[str, Any], field: str, why: str
) -> None:
    message = refused_field(document)
    assert field in message
    assert why in message
    assert str(BASE["password"]) not in message


@pytest.mark.parametrize("field", ["userId", "replicationGroupId", "strict"])
def test_elasticache_fields_belong_to_elasticache_only(field: str) -> None:
    uredis = {**BASE, "provider": "uredis", "groupId": "uredis-1"}
    value: Any = True if field == "strict" else "orders"
    message = refused_field({**uredis, field: value})
    assert field in message
    assert "elasticache only" in message


def binding(*instances: str) -> Binding:
    document = {
        "grants": [{"secrets": ["team-a/*"], "instances": list(instances), "region": "eu-west-1"}]
    }
    validate(document, CREDENTIALS, "credentials secret c")
    return Binding.of(document)


def refusal(grants: Binding, secret: dict[str, Any]) -> str | None:
    (grant,) = grants.grants
    refused: str | None = grant.refusal(parsed(secret))
    return refused


def test_a_grant_names_users_and_groups_by_kind() -> None:
    grants = binding("user:app-*", "replicationgroup:orders")
    assert refusal(grants, USER) is None
    assert refusal(grants, GROUP) is None
    assert refusal(grants, {**USER, "userId": "admin"}) == "userId"
    assert refusal(grants, {**USER, "region": "us-east-1"}) == "region"


def test_a_group_grant_does_not_admit_a_user_of_the_same_id() -> None:
    """The writer of a token secret aims the role at the user whose id is the group's."""
    grants = binding("replicationgroup:orders")
    assert refusal(grants, GROUP) is None
    assert refusal(grants, {**USER, "userId": "orders"}) == "userId"


@pytest.mark.parametrize(
    "document",
    [
        {"grants": [{"secrets": ["s"], "instances": ["orders"], "region": "eu-west-1"}]},
        {"grants": [{"secrets": ["s"], "instances": ["cluster:orders"], "region": "eu-west-1"}]},
        {"grants": [], "accessKeyId": "AKIA0000000000000000"},
        {"apiEndpoints": ["https://elasticache.eu-west-1.amazonaws.com"]},
    ],
)
def test_the_credentials_secret_holds_kinded_grants_and_no_keys(document: dict[str, Any]) -> None:
    with pytest.raises(SecretFormatError):
        validate(document, CREDENTIALS, "credentials secret c")
