"""A grant names instances by id, whatever field of the secret names them: a space's
writer reaches only the spaces (and groups) the keys' owner listed."""

from __future__ import annotations

import json

import pytest

from redis_rotation.binding import Grant
from redis_rotation.secret import parse_secret

pytestmark = pytest.mark.unit

SPACE = {
    "provider": "uredis",
    "host": "10.0.0.5",
    "port": 6379,
    "password": "Sekrit-value_123",
    "region": "cn-bj2",
    "zone": "cn-bj2-02",
    "spaceId": "umem-team-a",
    "credentialsSecretId": "keys",
}
GRANT = Grant.of({"secrets": ["team-a/*"], "instances": ["umem-team-a*"], "region": "cn-bj2"})


@pytest.mark.parametrize(
    ("changes", "refused"),
    [
        ({}, None),
        ({"spaceId": "umem-team-a-2"}, None),
        ({"spaceId": "umem-team-b"}, "spaceId"),
        ({"region": "cn-sh2"}, "region"),
    ],
)
def test_a_grant_covers_spaces_by_id(changes: dict[str, str], refused: str | None) -> None:
    secret = parse_secret(json.dumps({**SPACE, **changes}), "secret s (AWSCURRENT)")
    assert GRANT.refusal(secret) == refused
