"""A real Redis Cluster (localcloud/redis_cluster.py) as a pytest fixture: a test module
writes ``redis_cluster = cluster_fixture(replicas=1)`` to get a fixture of that name."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from localcloud.redis_cluster import RedisCluster


def cluster_fixture(
    *, primaries: int = 3, replicas: int = 0, password: str | None = None, scope: Any = "function"
) -> Callable[..., Any]:
    """A fixture that starts a cluster for each test (or each ``scope``) and ends it after."""

    @pytest.fixture(scope=scope)
    def fixture() -> Iterator[RedisCluster]:
        with RedisCluster(primaries, replicas, password) as cluster:
            yield cluster

    return fixture
