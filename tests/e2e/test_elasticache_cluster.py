"""ElastiCache with cluster mode enabled, end to end: the real handler, the emulator over
genuine boto3, a real Redis Cluster (3 shards, a primary and a replica each) that takes a
ModifyUser node by node. The provider finds the nodes through DescribeCacheClusters; the
secret must list every node of every shard."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from redis.cluster import LoadBalancingStrategy
from redis.cluster import RedisCluster as ClusterClient

from bench.load import Load
from localcloud.cloud import ExampleSecret, LocalCloud
from localcloud.emulators.elasticache import ReplicationGroup
from redis_rotation_client import SecretsManagerCredentialProvider
from redis_rotation_client.connect import cluster_kwargs
from tests.e2e.test_client_cluster_rotation import ClusterApp
from tests.e2e.test_client_rotation import more_commands

pytestmark = pytest.mark.e2e

_names = itertools.count()


def new_secret(cloud: LocalCloud, kind: str = "user", **options: Any) -> ExampleSecret:
    name = f"e2e/elasticache-cluster-{next(_names)}"
    return cloud.add_elasticache_secret(name, kind=kind, cluster_mode=True, **options)


def group_of(cloud: LocalCloud, example: ExampleSecret) -> ReplicationGroup:
    return cloud.elasticache.groups[example.details["group"]]


def accepted(cloud: LocalCloud, example: ExampleSecret, version: str) -> list[bool]:
    value = cloud.value(example.arn, version)
    nodes = group_of(cloud, example).nodes
    return [n.server.accepts(value["password"], value.get("username")) for n in nodes]


def changes(cloud: LocalCloud) -> int:
    return cloud.elasticache.count("ModifyUser", None)


def rewrite(cloud: LocalCloud, example: ExampleSecret, **fields: Any) -> None:
    value = {**cloud.value(example.arn, "AWSCURRENT"), **fields}
    cloud.sm.secrets_manager().put_secret_value(
        SecretId=example.arn, SecretString=json.dumps(value)
    )


# A user on shards with a replica each; a group's AUTH token (the default user of every
# node) on shards of one node, a cluster of its own: the cheaper one to form.
@pytest.mark.parametrize(("kind", "replicas"), [("user", 1), ("token", 0)])
def test_a_cluster_mode_group_is_rotated_on_every_node_of_every_shard(
    cloud: LocalCloud, kind: str, replicas: int
) -> None:
    example = new_secret(cloud, kind, replicas=replicas)
    group = group_of(cloud, example)
    assert group.cluster_enabled
    assert len({n.shard for n in group.nodes}) == 3
    nodes = 3 * (1 + replicas)
    assert len(group.nodes) == nodes
    described = cloud.elasticache.count("DescribeCacheClusters")

    result = cloud.driver("elasticache").rotate(example.arn)

    assert result.succeeded, result.runs
    assert accepted(cloud, example, "AWSCURRENT") == [True] * nodes
    assert accepted(cloud, example, "AWSPREVIOUS") == [True] * nodes
    # The nodes were found through DescribeCacheClusters, one call per member cluster.
    assert cloud.elasticache.count("DescribeCacheClusters") - described >= nodes


@pytest.mark.parametrize("left_out", ["every other node", "the third shard"])
def test_a_secret_that_leaves_out_a_shard_changes_nothing(cloud: LocalCloud, left_out: str) -> None:
    """The proof AUTHs where the secret points: a shard it leaves out would take the new
    password unproven."""
    example = new_secret(cloud)
    group = group_of(cloud, example)
    host = group.primary.server
    unlisted = [
        n.server
        for n in group.nodes
        if n.shard == "0003" or (left_out == "every other node" and n.server is not host)
    ]
    listed = cloud.value(example.arn, "AWSCURRENT")["readOnlyEndpoints"]
    kept = [e for e in listed if all(e["port"] != s.port for s in unlisted)]
    rewrite(cloud, example, readOnlyEndpoints=kept)
    before = changes(cloud)

    result = cloud.driver("elasticache", max_attempts=1).rotate(example.arn)

    assert not result.succeeded
    said = str(result.runs[-1])
    assert "readOnlyEndpoints" in said
    assert any(f"node 127.0.0.1:{s.port} of replication group" in said for s in unlisted)
    assert changes(cloud) == before
    assert example.accepts(cloud.value(example.arn, "AWSCURRENT"))


def test_a_node_of_another_cluster_mode_group_is_refused(cloud: LocalCloud) -> None:
    """A secret's writer points one endpoint at a node of another cluster (here: one of a
    cluster without replicas): the new password would be sent there."""
    example = new_secret(cloud)
    other = group_of(cloud, new_secret(cloud, replicas=0)).nodes[-1].server
    listed = cloud.value(example.arn, "AWSCURRENT")["readOnlyEndpoints"]
    rewrite(cloud, example, readOnlyEndpoints=[*listed, {"host": other.host, "port": other.port}])
    before = changes(cloud)

    result = cloud.driver("elasticache", max_attempts=1).rotate(example.arn)

    assert not result.succeeded
    said = str(result.runs[-1])
    assert "readOnlyEndpoints" in said
    assert str(other.port) in said
    assert changes(cloud) == before


def test_a_cluster_application_fails_no_command_through_two_rotations(
    cloud: LocalCloud,
) -> None:
    """Our client library with ``cluster_kwargs``, reading from replicas too, under load
    while the function rotates the cluster-mode user twice through the emulator (each
    ModifyUser lands node by node, a window apart)."""
    example = new_secret(cloud)
    provider = SecretsManagerCredentialProvider(
        example.arn, client=cloud.sm.secrets_manager(), min_refresh_interval=0.2
    )

    def make() -> ClusterApp:
        client = ClusterClient(
            **cluster_kwargs(example.arn, provider=provider),
            load_balancing_strategy=LoadBalancingStrategy.ROUND_ROBIN,
        )
        return ClusterApp(client)

    # Three threads: keys load:0..2 fall in the three shards' slots.
    load = Load(make, threads=3, rate=100, recycle=0.05).start()  # type: ignore[arg-type]
    more_commands(load, 30)
    driver = cloud.driver("elasticache")
    for _ in range(2):
        assert driver.rotate(example.arn).succeeded
        more_commands(load, 30)
    samples = load.stop()

    assert [s for s in samples if s.failure] == []
    assert len(samples) >= 90
    assert accepted(cloud, example, "AWSCURRENT") == [True] * 6
    assert accepted(cloud, example, "AWSPREVIOUS") == [True] * 6
