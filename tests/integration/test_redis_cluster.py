"""localcloud/redis_cluster.py: a real Redis Cluster, asked of the nodes themselves."""

from __future__ import annotations

import pytest
from redis.cluster import RedisCluster as ClusterClient
from redis.exceptions import NoPermissionError

from localcloud.redis_cluster import APP_RULES, SLOTS, RedisCluster
from localcloud.redis_server import RedisServer
from tests.support.cluster import cluster_fixture

pytestmark = pytest.mark.integration

redis_cluster = cluster_fixture(replicas=1, password="default-pw-0123456789", scope="module")


def test_every_slot_is_served_by_a_shard_of_a_primary_and_its_replica(
    redis_cluster: RedisCluster,
) -> None:
    for node in redis_cluster.nodes:
        with node.admin() as admin:
            ranges = sorted(admin.execute_command("CLUSTER", "SLOTS"))
        assert [(r[0], r[1]) for r in ranges] == [s.slots for s in redis_cluster.shards]
        assert ranges[0][0] == 0
        assert ranges[-1][1] == SLOTS - 1
        for answer, shard in zip(ranges, redis_cluster.shards, strict=True):
            ports = [n[1] for n in answer[2:]]
            assert ports == [shard.primary.port, *(r.port for r in shard.replicas)]


def test_a_user_set_on_the_cluster_is_set_on_every_node(redis_cluster: RedisCluster) -> None:
    changed: list[RedisServer] = []
    redis_cluster.set_user("app", "reset", "on", ">app-pw-1", *APP_RULES, after_each=changed.append)
    assert changed == list(redis_cluster.each_node())
    assert len(changed) == 6
    assert all(node.accepts("app-pw-1", "app") for node in redis_cluster.nodes)
    redis_cluster.set_user("app", "resetpass", ">app-pw-2", ">app-pw-1")
    redis_cluster.set_user("app", "resetpass", ">app-pw-2")
    assert not any(node.accepts("app-pw-1", "app") for node in redis_cluster.nodes)
    # The application user reaches every shard through a cluster client (COMMAND, CLUSTER
    # SLOTS at start-up), and cannot change users.
    client = ClusterClient(
        host=redis_cluster.host, port=redis_cluster.port, username="app", password="app-pw-2"
    )
    for key in ("load:0", "load:1", "load:2"):  # one key in each shard
        assert client.set(key, "v")
        assert client.get(key) == b"v"
    with pytest.raises(NoPermissionError):
        client.execute_command("ACL", "SETUSER", "app", "nopass")  # type: ignore[no-untyped-call]
    client.close()
