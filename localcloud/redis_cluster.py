"""A real Redis Cluster on loopback: ``redis-server`` processes with ``cluster-enabled yes``,
the 16384 slots split between the primaries, optional replicas.

Each node is a ``RedisServer`` (redis_server.py): its own port and folder, ended by the
reaper with its owner. The slots are assigned with CLUSTER ADDSLOTS and the nodes joined
with CLUSTER MEET over the admin user (the redis-server the local cloud finds may be 6.2,
which has no ADDSLOTSRANGE; redis-cli is not needed). ACL users are per node in a Redis
Cluster, so ``set_user`` applies one ``ACL SETUSER`` to every node, one after the other,
as ElastiCache applies a ModifyUser.
"""

from __future__ import annotations

import contextlib
import secrets
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial

import redis

from localcloud.redis_server import ADMIN_USER, RedisServer, free_port

SLOTS = 16384
BUS_OFFSET = 10000  # redis-server 6.2 listens for the cluster bus on port + 10000
READY_TIMEOUT = 30.0
# What an application user may run: data commands, and the cluster's topology commands a
# cluster client sends at start-up (ElastiCache's users cannot run ACL SETUSER either).
APP_RULES = ("~*", "&*", "+@all", "-@admin", "-@dangerous", "+cluster|slots", "+cluster|nodes")


def free_node_port() -> int:
    """A free port whose cluster bus port (port + 10000) is free too."""
    while True:
        port = free_port()
        if port + BUS_OFFSET < 65536 and _free(port + BUS_OFFSET):
            return port


def _free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def wait_for(condition: Callable[[], bool], what: str, timeout: float = READY_TIMEOUT) -> None:
    """Poll ``condition`` until it holds; a bound on a wait, with the thing waited for named."""
    deadline = time.monotonic() + timeout
    delay = 0.01
    while True:
        with contextlib.suppress(redis.ConnectionError, redis.ResponseError):
            if condition():
                return
        if time.monotonic() >= deadline:
            raise RuntimeError(f"Redis Cluster: {what} did not happen in {timeout:.0f} s")
        time.sleep(delay)
        delay = min(0.1, delay * 2)


@dataclass(frozen=True)
class Shard:
    primary: RedisServer
    replicas: tuple[RedisServer, ...]
    slots: tuple[int, int]  # first and last slot, inclusive


class RedisCluster:
    """``primaries`` shards of 1 + ``replicas`` nodes each; ``password`` is the default
    user's on every node (None: no password)."""

    def __init__(self, primaries: int = 3, replicas: int = 0, password: str | None = None) -> None:
        if primaries < 3:
            raise ValueError("a Redis Cluster needs 3 primaries or more")
        self.admin_password = secrets.token_urlsafe(24)
        config = [
            "cluster-enabled yes",
            "cluster-config-file nodes.conf",
            "cluster-node-timeout 5000",
            # Replicas sync from their primary as the admin user.
            f"masteruser {ADMIN_USER}",
            f"masterauth {self.admin_password}",
        ]
        self.nodes = [
            RedisServer(
                password, admin_password=self.admin_password, config=config, ports=free_node_port
            )
            for _ in range(primaries * (1 + replicas))
        ]
        bounds = [SLOTS * i // primaries for i in range(primaries + 1)]
        self.shards = [
            Shard(
                primary=self.nodes[i],
                replicas=tuple(
                    self.nodes[primaries + i * replicas : primaries + (i + 1) * replicas]
                ),
                slots=(bounds[i], bounds[i + 1] - 1),
            )
            for i in range(primaries)
        ]

    @property
    def host(self) -> str:
        return self.nodes[0].host

    @property
    def port(self) -> int:
        """A startup node for clients (the first primary)."""
        return self.nodes[0].port

    def start(self) -> RedisCluster:
        try:
            for node in self.nodes:
                node.start()
            self._form()
        except BaseException:
            self.close()
            raise
        return self

    def _form(self) -> None:
        ids = {}
        for epoch, node in enumerate(self.nodes, start=1):
            with node.admin() as admin:
                # Distinct epochs up front: no collision to resolve before the state is ok.
                admin.execute_command("CLUSTER", "SET-CONFIG-EPOCH", epoch)
                ids[node.port] = str(admin.execute_command("CLUSTER", "MYID"), "ascii")
        for shard in self.shards:
            first, last = shard.slots
            with shard.primary.admin() as admin:
                admin.execute_command("CLUSTER", "ADDSLOTS", *range(first, last + 1))
        # Every node meets every other: no waiting for gossip to introduce them.
        for node in self.nodes:
            with node.admin() as admin:
                for other in self.nodes:
                    if other is not node:
                        admin.execute_command("CLUSTER", "MEET", other.host, other.port)
        for shard in self.shards:
            primary = ids[shard.primary.port]
            for replica in shard.replicas:
                wait_for(partial(self._has_met, replica, primary), "a replica's MEET")
                with replica.admin() as admin:
                    admin.execute_command("CLUSTER", "REPLICATE", primary)
        wait_for(self.ready, "cluster_state:ok on every node, replicas in sync")

    @staticmethod
    def _has_met(node: RedisServer, node_id: str) -> bool:
        return node_id in RedisCluster._known(node)

    @staticmethod
    def _known(node: RedisServer) -> str:
        """The ids of the nodes ``node`` has met (a node still in handshake is listed under
        a random id, with the flag "handshake")."""
        with node.admin() as admin:
            lines = str(admin.execute_command("CLUSTER", "NODES"), "utf-8").splitlines()
        return " ".join(line.split()[0] for line in lines if "handshake" not in line.split()[2])

    def ready(self) -> bool:
        """Every node sees cluster_state:ok and every shard with all its nodes (what CLUSTER
        SLOTS tells clients), and every replica's link to its primary is up."""
        width = 3 + len(self.shards[0].replicas)  # first slot, last slot, then the nodes
        for node in self.nodes:
            with node.admin() as admin:
                if admin.cluster("info").get("cluster_state") != "ok":
                    return False
                ranges = admin.execute_command("CLUSTER", "SLOTS")
                if len(ranges) != len(self.shards) or any(len(r) != width for r in ranges):
                    return False
        for shard in self.shards:
            for replica in shard.replicas:
                with replica.admin() as admin:
                    if admin.info("replication").get("master_link_status") != "up":
                        return False
        return True

    def set_user(
        self, name: str, *rules: str, after_each: Callable[[RedisServer], None] | None = None
    ) -> None:
        """``ACL SETUSER name rules...`` on every node, primaries first, one at a time;
        ``after_each(node)`` runs after each node's change: a window where nodes differ,
        as when ElastiCache applies a ModifyUser node by node."""
        for node in self.each_node():
            with node.admin() as admin:
                admin.execute_command("ACL", "SETUSER", name, *rules)
            if after_each is not None:
                after_each(node)

    def each_node(self) -> Iterator[RedisServer]:
        for shard in self.shards:
            yield shard.primary
        for shard in self.shards:
            yield from shard.replicas

    def close(self) -> None:
        for node in self.nodes:
            node.terminate()  # all at once, then wait for each
        for node in self.nodes:
            node.close()

    def __enter__(self) -> RedisCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
