"""Cluster mode enabled over genuine boto3: DescribeReplicationGroups gives shards and member
ids but no node address; DescribeCacheClusters gives each member's node endpoint; the
provider's calls (``api``) and views read every shard's nodes from them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError

from localcloud.emulators.elasticache import ElastiCacheEmulator, Node, ReplicationGroup, User
from localcloud.redis_server import RedisServer
from redis_rotation.errors import InstanceStateError, redact
from redis_rotation.providers.elasticache.api import ElastiCacheApi
from redis_rotation.providers.elasticache.views import group_addresses, node_addresses
from redis_rotation.secret import Endpoint
from tests.support.elasticache import ACCESS, P1, P2, P3, REGION, SECRET, client, servers

pytestmark = pytest.mark.integration
__all__ = ["servers"]  # fixture

SHARDS = {"0001": "0-8191", "0002": "8192-16383"}


@pytest.fixture
def emulator(servers: list[RedisServer]) -> Iterator[ElastiCacheEmulator]:
    """A cluster-mode group of two shards (a primary and a replica each) holding a user."""
    emu = ElastiCacheEmulator()
    emu.add_key(ACCESS, SECRET)
    emu.model.paused = True  # the tests apply each node's change themselves
    nodes = [
        Node(f"cm-{shard}-{n:03}", servers[i], "primary" if n == 1 else "replica", shard)
        for i, (shard, n) in enumerate([("0001", 1), ("0001", 2), ("0002", 1), ("0002", 2)])
    ]
    group = emu.add_group(
        ReplicationGroup("cm", nodes, region=REGION, user_group_ids=["ug"], slots=SHARDS)
    )
    emu.add_user(User("cm-user", "app", [group], [P1, P2], region=REGION, user_group_ids=["ug"]))
    emu.start()
    yield emu
    emu.stop()


def endpoint(server: RedisServer) -> dict[str, object]:
    return {"Address": server.host, "Port": server.port}


def test_the_group_has_shards_and_members_but_no_node_address(
    emulator: ElastiCacheEmulator, servers: list[RedisServer]
) -> None:
    group = client(emulator).describe_replication_groups(ReplicationGroupId="cm")
    (found,) = group["ReplicationGroups"]
    assert found["ClusterEnabled"] is True
    # A clustercfg name resolves to some node: here the first shard's primary.
    assert found["ConfigurationEndpoint"] == endpoint(servers[0])
    assert [(g["NodeGroupId"], g["Slots"]) for g in found["NodeGroups"]] == list(SHARDS.items())
    members = [m for g in found["NodeGroups"] for m in g["NodeGroupMembers"]]
    assert [m["CacheClusterId"] for m in members] == found["MemberClusters"]
    assert found["MemberClusters"] == ["cm-0001-001", "cm-0001-002", "cm-0002-001", "cm-0002-002"]
    assert not any("ReadEndpoint" in m or "CurrentRole" in m for m in members)
    assert not any("PrimaryEndpoint" in g for g in found["NodeGroups"])


def test_describe_cache_clusters_gives_each_node_endpoint_only_when_asked(
    emulator: ElastiCacheEmulator, servers: list[RedisServer]
) -> None:
    boto = client(emulator)
    shown = boto.describe_cache_clusters(CacheClusterId="cm-0002-002", ShowCacheNodeInfo=True)
    (cluster,) = shown["CacheClusters"]
    assert cluster["ReplicationGroupId"] == "cm"
    assert cluster["CacheClusterStatus"] == "available"
    assert [n["Endpoint"] for n in cluster["CacheNodes"]] == [endpoint(servers[3])]
    plain = boto.describe_cache_clusters(CacheClusterId="cm-0002-002")["CacheClusters"]
    assert "CacheNodes" not in plain[0]
    listed = boto.describe_cache_clusters()["CacheClusters"]
    assert len(listed) == 4


def test_an_unknown_cache_cluster_is_a_404_and_a_state_error(
    emulator: ElastiCacheEmulator,
) -> None:
    with pytest.raises(ClientError) as refused:
        client(emulator).describe_cache_clusters(CacheClusterId="cm-0003-001")
    assert refused.value.response["Error"]["Code"] == "CacheClusterNotFound"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    calls = ElastiCacheApi(client(emulator), lambda text: redact(str(text), []))
    with pytest.raises(InstanceStateError, match="CacheClusterNotFound"):
        calls.call("DescribeCacheClusters", CacheClusterId="cm-0003-001")


def test_the_provider_reads_every_node_of_every_shard(
    emulator: ElastiCacheEmulator, servers: list[RedisServer]
) -> None:
    calls = ElastiCacheApi(client(emulator), lambda text: redact(str(text), []))
    (group,) = calls.groups_of_user(calls.user("cm-user"))
    every_node = [Endpoint(s.host, s.port) for s in servers]
    assert node_addresses(group) == every_node
    assert group_addresses(group) == frozenset(every_node)  # the configuration one among them
    assert emulator.count("DescribeCacheClusters") == 4  # one per member cluster


def test_a_password_change_lands_on_every_node_of_every_shard(
    emulator: ElastiCacheEmulator, servers: list[RedisServer]
) -> None:
    client(emulator).modify_user(UserId="cm-user", Passwords=[P3, P2])
    assert [s.accepts(P3, "app") for s in servers] == [False] * 4
    emulator.model.advance(3)
    assert [s.accepts(P3, "app") for s in servers] == [True, True, True, False]
    assert emulator.users["cm-user"].status == "modifying"
    emulator.model.settle()
    assert [s.accepts(P3, "app") for s in servers] == [True] * 4
    assert [s.accepts(P1, "app") for s in servers] == [False] * 4
    assert emulator.users["cm-user"].status == "active"
