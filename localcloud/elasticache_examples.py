"""ElastiCache example secrets on the local cloud: an RBAC user on a replication group of
its own, or a group's AUTH token; each group a primary and ``replicas`` real nodes. The
secret lists every node (host: the primary, readOnlyEndpoints: the replicas), so the proof
AUTHs on each; DescribeReplicationGroups reports them all, so the grant needs no address."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any, Protocol

from localcloud.emulators.elasticache import ElastiCacheEmulator, Node, ReplicationGroup, User
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

    def _credentials_secret(self, provider: str, keys: dict[str, str], grant: Any) -> str: ...

    def create_secret(self, name: str, value: dict[str, Any]) -> str: ...


def add_secret(
    cloud: Cloud,
    name: str,
    *,
    kind: str = "user",
    replicas: int = 1,
    apply_per_request: bool = False,
    lag_last_node: float = 0.0,
    **extra: Any,
) -> tuple[str, RedisServer, dict[str, str]]:
    """A secret of an RBAC user (``kind`` "user") or of a group's AUTH token ("token"),
    whose changes land after ``NODE_DELAY`` per node, or one node per API request: its ARN,
    primary node and details."""
    emulator = cloud.elasticache
    suffix = secrets.token_hex(4)
    group_id = f"rg-{suffix}"
    # Within both rules (RBAC and the token's stricter specials).
    password = secrets.token_hex(12)
    # The default user of an RBAC group has a password nobody here holds (a login without
    # one must fail, as the proof checks); a token group's is replaced by its token.
    servers = [cloud.start_redis(secrets.token_hex(16)) for _ in range(replicas + 1)]
    primary = servers[0]
    nodes = [Node(f"{group_id}-001", primary, "primary")]
    nodes += [Node(f"{group_id}-{i + 2:03}", s) for i, s in enumerate(servers[1:])]
    user_group = f"ug-{suffix}" if kind == "user" else None
    group = ReplicationGroup(
        group_id,
        nodes,
        region=ELASTICACHE_REGION,
        tokens=[] if user_group else [password],
        user_group_ids=[user_group] if user_group else [],
        apply_per_request=apply_per_request,
        lag_last_node=lag_last_node,
    )
    emulator.add_group(group)
    ids: dict[str, str] = {"replicationGroupId": group_id}
    if user_group:
        user_id, username = f"user-{suffix}", f"app-{suffix}"
        emulator.add_user(
            User(user_id, username, [group], [password], region=ELASTICACHE_REGION,
                 user_group_ids=[user_group], apply_per_request=apply_per_request)
        )  # fmt: skip
        ids = {"userId": user_id, "username": username}
    instance = f"user:{ids['userId']}" if user_group else f"replicationgroup:{group_id}"
    grant = {"secrets": [name], "instances": [instance], "region": ELASTICACHE_REGION}
    credentials = cloud._credentials_secret("elasticache", {}, grant)
    value = {
        "provider": "elasticache",
        "host": primary.host,
        "port": primary.port,
        "readOnlyEndpoints": [{"host": n.server.host, "port": n.server.port} for n in nodes[1:]],
        "password": password,
        "region": ELASTICACHE_REGION,
        "credentialsSecretId": credentials,
        "apiEndpoint": emulator.endpoint,
        "tls": {"enabled": False},
        **ids,
        **extra,
    }
    return cloud.create_secret(name, value), primary, {**ids, "group": group_id}


def applied_changes(emulator: ElastiCacheEmulator, details: Mapping[str, Any]) -> int:
    """Changes ElastiCache applied for an example: ModifyUser or ModifyReplicationGroup."""
    if "userId" in details:
        return emulator.users[details["userId"]].password_changes
    return emulator.groups[details["group"]].token_changes
