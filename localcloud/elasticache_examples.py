"""ElastiCache example secrets on the local cloud: an RBAC user on a replication group of
its own, or a group's AUTH token; each group a primary and ``replicas`` real nodes, or, with
cluster mode enabled, a real Redis Cluster of three such shards. The secret lists every node
(host: the primary, readOnlyEndpoints: the others), so the proof AUTHs on each;
DescribeReplicationGroups (cluster mode: DescribeCacheClusters) reports them all, so the
grant needs no address."""

from __future__ import annotations

import secrets
import weakref
from collections.abc import Mapping
from typing import Any, Protocol

from localcloud.emulators.elasticache import ElastiCacheEmulator, Node, ReplicationGroup, User
from localcloud.redis_cluster import RedisCluster
from localcloud.redis_server import RedisServer
from localcloud.secretsmanager import DUMMY_KEYS, REGION

# The functions sign with the local cloud's dummy keys, in the local cloud's region.
ELASTICACHE_REGION = REGION
# A real window between nodes, short enough for the tests: the proof meets nodes that differ.
NODE_DELAY = 0.05


def new_emulator() -> ElastiCacheEmulator:
    emulator = ElastiCacheEmulator()
    emulator.add_key(DUMMY_KEYS["AWS_ACCESS_KEY_ID"], DUMMY_KEYS["AWS_SECRET_ACCESS_KEY"])
    emulator.model.node_delay = NODE_DELAY
    return emulator


class Cloud(Protocol):
    """What of the local cloud an example needs (``LocalCloud``; not imported: it imports
    this module)."""

    elasticache: ElastiCacheEmulator

    def start_redis(self, password: str | None) -> RedisServer: ...

    def start_redis_cluster(self, replicas: int, password: str | None) -> RedisCluster: ...

    def _credentials_secret(self, provider: str, keys: dict[str, str], grant: Any) -> str: ...

    def create_secret(self, name: str, value: dict[str, Any]) -> str: ...


# Cluster mode enabled, users: one group per emulator and replica count, whose user group
# takes each new user (as one ElastiCache cluster serves many RBAC users): a real cluster
# costs seconds to form, a user nothing.
_SHARED: weakref.WeakKeyDictionary[ElastiCacheEmulator, dict[int, ReplicationGroup]] = (
    weakref.WeakKeyDictionary()
)


def add_secret(
    cloud: Cloud,
    name: str,
    *,
    kind: str = "user",
    replicas: int = 1,
    cluster_mode: bool = False,
    apply_per_request: bool = False,
    lag_last_node: float = 0.0,
    **extra: Any,
) -> tuple[str, RedisServer, dict[str, str]]:
    """A secret of an RBAC user (``kind`` "user") or of a group's AUTH token ("token"),
    whose changes land after ``NODE_DELAY`` per node, or one node per API request: its ARN,
    primary node and details. ``cluster_mode``: the group is a real Redis Cluster of three
    shards of 1 + ``replicas`` nodes (ClusterEnabled); the secret's host is its
    configuration endpoint (the first shard's primary), readOnlyEndpoints every other node."""
    emulator = cloud.elasticache
    suffix = secrets.token_hex(4)
    # Within both rules (RBAC and the token's stricter specials).
    password = secrets.token_hex(12)
    options = {"apply_per_request": apply_per_request, "lag_last_node": lag_last_node}
    shared = _SHARED.setdefault(emulator, {})
    if cluster_mode and kind == "user" and not lag_last_node and replicas in shared:
        group = shared[replicas]
    elif cluster_mode:
        group = _cluster_group(cloud, f"rg-{suffix}", kind, password, replicas, options)
        if kind == "user" and not lag_last_node:
            shared[replicas] = group
    else:
        group = _group(cloud, f"rg-{suffix}", kind, password, replicas, options)
    emulator.add_group(group)
    group_id = group.group_id
    ids: dict[str, str] = {"replicationGroupId": group_id}
    if kind == "user":
        user_id, username = f"user-{suffix}", f"app-{suffix}"
        emulator.add_user(
            User(user_id, username, [group], [password], region=ELASTICACHE_REGION,
                 user_group_ids=group.user_group_ids, apply_per_request=apply_per_request)
        )  # fmt: skip
        ids = {"userId": user_id, "username": username}
    instance = f"user:{ids['userId']}" if kind == "user" else f"replicationgroup:{group_id}"
    grant = {"secrets": [name], "instances": [instance], "region": ELASTICACHE_REGION}
    credentials = cloud._credentials_secret("elasticache", {}, grant)
    primary = group.primary.server
    others = [n.server for n in group.nodes if n.server is not primary]
    value = {
        "provider": "elasticache",
        "host": primary.host,
        "port": primary.port,
        "readOnlyEndpoints": [{"host": s.host, "port": s.port} for s in others],
        "password": password,
        "region": ELASTICACHE_REGION,
        "credentialsSecretId": credentials,
        "apiEndpoint": emulator.endpoint,
        "tls": {"enabled": False},
        **ids,
        **extra,
    }
    details = {**ids, "group": group_id}
    if group.cluster_enabled:
        details["clusterMode"] = f"enabled, {len(group.slots)} shards of {1 + replicas} nodes"
    return cloud.create_secret(name, value), primary, details


def _group(
    cloud: Cloud, group_id: str, kind: str, password: str, replicas: int, options: Any
) -> ReplicationGroup:
    """Cluster mode disabled: a primary and ``replicas`` nodes. The default user of an RBAC
    group has a password nobody here holds (a login without one must fail, as the proof
    checks); a token group's is replaced by its token."""
    servers = [cloud.start_redis(secrets.token_hex(16)) for _ in range(replicas + 1)]
    nodes = [Node(f"{group_id}-001", servers[0], "primary")]
    nodes += [Node(f"{group_id}-{i + 2:03}", s) for i, s in enumerate(servers[1:])]
    return _new_group(group_id, nodes, kind, password, options)


def _cluster_group(
    cloud: Cloud, group_id: str, kind: str, password: str, replicas: int, options: Any
) -> ReplicationGroup:
    """Cluster mode enabled: node ids as AWS names them (<group>-<shard>-<node>)."""
    cluster = cloud.start_redis_cluster(replicas, secrets.token_hex(16))
    nodes, slots = [], {}
    for number, shard in enumerate(cluster.shards, start=1):
        shard_id = f"{number:04}"
        slots[shard_id] = f"{shard.slots[0]}-{shard.slots[1]}"
        nodes.append(Node(f"{group_id}-{shard_id}-001", shard.primary, "primary", shard_id))
        nodes += [
            Node(f"{group_id}-{shard_id}-{i + 2:03}", server, "replica", shard_id)
            for i, server in enumerate(shard.replicas)
        ]
    return _new_group(group_id, nodes, kind, password, {**options, "slots": slots})


def _new_group(
    group_id: str, nodes: list[Node], kind: str, password: str, options: Any
) -> ReplicationGroup:
    user_group = f"ug-{group_id}" if kind == "user" else None
    return ReplicationGroup(
        group_id,
        nodes,
        region=ELASTICACHE_REGION,
        tokens=[] if user_group else [password],
        user_group_ids=[user_group] if user_group else [],
        **options,
    )


def applied_changes(emulator: ElastiCacheEmulator, details: Mapping[str, Any]) -> int:
    """Changes ElastiCache applied for an example: ModifyUser or ModifyReplicationGroup."""
    if "userId" in details:
        return emulator.users[details["userId"]].password_changes
    return emulator.groups[details["group"]].token_changes
