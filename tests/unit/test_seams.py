"""The seams' contracts that providers rely on."""

from __future__ import annotations

import pytest

from redis_rotation.seams import DEFAULT_SEAMS

pytestmark = pytest.mark.unit


def test_the_aws_client_is_of_the_functions_own_region(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lambda's AWS_REGION is the function's region; the ElastiCache provider compares the
    client's region with the secret's, so the client must not follow another variable."""
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    client = DEFAULT_SEAMS.aws_client("elasticache", None)
    assert client.meta.region_name == "eu-west-3"
