"""A RedisCluster application through rotations: a real Redis Cluster (3 shards, a replica
each, reads from replicas too), Secrets Manager over HTTP (moto server), the client
(clients/python) under continuous load.

The rotation is played as ElastiCache plays a ModifyUser on a cluster-mode user: setSecret
sets ``resetpass >pending >current`` on every node, one node at a time (the load runs
between nodes: a window where nodes differ); finishSecret moves AWSCURRENT. The next
rotation drops the oldest password. Strict mode drops the old password right after
finishSecret. The cluster's ACL is changed here by hand: the ElastiCache provider that
does it in production is tested with its own emulator.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any

import pytest
import redis
from redis.cluster import LoadBalancingStrategy
from redis.cluster import RedisCluster as ClusterClient

from bench.load import Load
from localcloud.cloud import LocalCloud
from localcloud.redis_cluster import APP_RULES, RedisCluster
from localcloud.redis_server import RedisServer
from redis_rotation_client import SecretsManagerCredentialProvider
from redis_rotation_client.connect import cluster_kwargs
from tests.e2e.test_client_rotation import more_commands
from tests.support.cluster import cluster_fixture

pytestmark = pytest.mark.e2e

USER = "app"

redis_cluster = cluster_fixture(replicas=1, scope="module")


class ClusterApp:
    """A RedisCluster as bench.load.Load drives a client: SET, GET, close, and its pool
    (here: every node's pool) recycled so that new connections AUTH again."""

    def __init__(self, client: ClusterClient) -> None:
        self.client = client
        self.connection_pool = self

    def disconnect(self, inuse_connections: bool = True) -> None:
        for node in self.client.get_nodes():  # type: ignore[no-untyped-call]
            if node.redis_connection is not None:
                node.redis_connection.connection_pool.disconnect(inuse_connections)

    def set(self, key: str, value: str) -> Any:
        return self.client.set(key, value)

    def get(self, key: str) -> Any:
        return self.client.get(key)

    def close(self) -> None:
        self.client.close()


class Rotations:
    """A cluster-mode user's secret, and its rotations played step by step."""

    def __init__(self, cloud: LocalCloud, cluster: RedisCluster) -> None:
        self.cluster = cluster
        self.sm = cloud.sm.secrets_manager()
        self.passwords = [self.new_password()]
        cluster.set_user(USER, "reset", "on", f">{self.passwords[0]}", *APP_RULES)
        nodes = [{"host": n.host, "port": n.port} for n in cluster.nodes]
        self.value = {
            "provider": "elasticache",
            "host": cluster.host,
            "port": cluster.port,
            "username": USER,
            "readOnlyEndpoints": nodes,
            "tls": {"enabled": False},
        }
        name = f"e2e/cluster-{secrets.token_hex(4)}"
        self.arn = cloud.create_secret(name, {**self.value, "password": self.passwords[0]})

    @staticmethod
    def new_password() -> str:
        return "cl-" + secrets.token_hex(16)

    def rotate(self, between: Callable[[RedisServer], None], *, strict: bool) -> None:
        """createSecret, setSecret (both passwords, node by node), finishSecret; in strict
        mode the old password is dropped after finishSecret, node by node too."""
        current = self.passwords[-1]
        pending = self.new_password()
        version = secrets.token_hex(16)
        self.sm.put_secret_value(
            SecretId=self.arn,
            ClientRequestToken=version,
            SecretString=json.dumps({**self.value, "password": pending}),
            VersionStages=["AWSPENDING"],
        )
        self.cluster.set_user(USER, "resetpass", f">{pending}", f">{current}", after_each=between)
        described = self.sm.describe_secret(SecretId=self.arn)["VersionIdsToStages"]
        old = next(v for v, stages in described.items() if "AWSCURRENT" in stages)
        self.sm.update_secret_version_stage(
            SecretId=self.arn,
            VersionStage="AWSCURRENT",
            MoveToVersionId=version,
            RemoveFromVersionId=old,
        )
        self.passwords.append(pending)
        if strict:
            self.cluster.set_user(USER, "resetpass", f">{pending}", after_each=between)

    def accepted(self, node: RedisServer) -> list[int]:
        """Which of the passwords so far (by index) ``node`` takes from a new connection."""
        return [i for i, p in enumerate(self.passwords) if node.accepts(p, USER)]


def app_load(rotations: Rotations, provider: SecretsManagerCredentialProvider) -> Load:
    def make() -> redis.Redis:
        client = ClusterClient(
            **cluster_kwargs(rotations.arn, provider=provider),
            load_balancing_strategy=LoadBalancingStrategy.ROUND_ROBIN,
        )
        return ClusterApp(client)  # type: ignore[return-value]  # what Load calls of it

    # Three threads: keys load:0..2 fall in the three shards' slots.
    return Load(make, threads=3, rate=100, recycle=0.05).start()


@pytest.mark.parametrize("strict", [False, True], ids=["dual", "strict"])
def test_a_cluster_application_fails_no_command_through_two_rotations(
    cloud: LocalCloud, redis_cluster: RedisCluster, strict: bool
) -> None:
    rotations = Rotations(cloud, redis_cluster)
    provider = SecretsManagerCredentialProvider(
        rotations.arn, client=cloud.sm.secrets_manager(), min_refresh_interval=0.2
    )
    load = app_load(rotations, provider)
    more_commands(load, 30)

    def between(_node: RedisServer) -> None:
        more_commands(load, 10)

    reads = []
    for _ in range(2):
        rotations.rotate(between, strict=strict)
        more_commands(load, 30)
        reads.append(provider.reads)
    samples = load.stop()

    failed = [s for s in samples if s.failure]
    assert failed == []
    assert len(samples) >= 200
    # What the client saw (Secrets Manager reads, the first one included): in dual mode the
    # first rotation went unnoticed, its password still worked; the second dropped that
    # password, and the refused AUTH made it re-read AWSCURRENT once. In strict mode each
    # rotation's drop did.
    assert reads == ([2, 3] if strict else [1, 2])
    # The server side, asked of every node: dual keeps the previous password until the
    # next rotation drops it; strict keeps only the newest.
    held = [rotations.accepted(node) for node in redis_cluster.nodes]
    assert held == [[2] if strict else [1, 2]] * len(redis_cluster.nodes)
