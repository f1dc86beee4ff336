"""The client's Redis Cluster node connections, with a fake Secrets Manager client and a
fake clock (the real ones: tests/integration/test_client_cluster.py)."""

from __future__ import annotations

import re
from typing import Any

import pytest
import redis
from redis.exceptions import AuthenticationError

from redis_rotation_client import (
    NotANodeError,
    SecretFormatError,
    SecretsManagerCredentialProvider,
)
from redis_rotation_client.address import endpoint_of
from redis_rotation_client.connect import (
    NodeConnection,
    NodeSSLConnection,
    cluster_kwargs,
)
from tests.support.clock import FakeClock
from tests.unit.client_fakes import BASE, TLS_VARIANTS, Handshake, provider

pytestmark = pytest.mark.unit


# -- Redis Cluster: node connections (the real ones: tests/integration/test_client_cluster.py)

NODES = [{"host": "10.0.0.6", "port": 6379}, {"host": "10.0.0.7", "port": 6380}]


class NodeHandshake(Handshake):
    """A cluster node's connection at ``host:port``: every handshake it runs is kept."""

    def __init__(
        self, made: SecretsManagerCredentialProvider, accepted: set[str], host: str, port: int
    ) -> None:
        super().__init__(made, accepted)
        self.host, self.port = host, port
        self.handshakes: list[tuple[str, ...]] = []

    def on_connect(self) -> None:
        self.sent = self.provider.get_credentials()
        self.handshakes.append(self.sent)
        if self.sent[-1] not in self.accepted:
            raise AuthenticationError("WRONGPASS")

    def connect(self) -> tuple[str, ...]:
        # As NodeConnection: each connect runs the checked handshake on a new socket.
        def once() -> None:
            self.provider.on_node_connect(self, self.on_connect)  # type: ignore[arg-type]

        self.provider.node_connect(self, once)  # type: ignore[arg-type]
        return self.sent


@pytest.mark.parametrize(("host", "port"), [("10.0.0.6", 6379), ("10.0.0.5", 6379)])
def test_a_node_the_secret_names_gets_the_credentials(
    fake_clock: FakeClock, host: str, port: int
) -> None:
    made, _ = provider(
        {"AWSCURRENT": {**BASE, "password": "p-1", "readOnlyEndpoints": NODES}}, fake_clock
    )
    assert NodeHandshake(made, {"p-1"}, host, port).connect() == ("p-1",)


@pytest.mark.parametrize(
    ("host", "port"), [("10.0.0.8", 6379), ("10.0.0.6", 6380), ("attacker.example", 6379)]
)
def test_a_node_the_secret_does_not_name_gets_nothing(
    fake_clock: FakeClock, host: str, port: int
) -> None:
    made, _ = provider(
        {"AWSCURRENT": {**BASE, "password": "p-1", "readOnlyEndpoints": NODES}}, fake_clock
    )
    node = NodeHandshake(made, {"p-1"}, host, port)
    with pytest.raises(NotANodeError, match="nothing was sent") as caught:
        node.connect()
    assert node.handshakes == []
    assert "p-1" not in str(caught.value)


def test_a_refused_node_auth_connects_again_with_awspending(
    fake_clock: FakeClock,
) -> None:
    # setSecret has landed (the node takes AWSPENDING only); RedisCluster retries nothing.
    value = {**BASE, "readOnlyEndpoints": NODES}
    stages = {"AWSCURRENT": {**value, "password": "p-old"}}
    made, secrets = provider(stages, fake_clock)
    made.get_credentials()
    stages["AWSPENDING"] = {**value, "password": "p-new"}
    node = NodeHandshake(made, {"p-new"}, "10.0.0.7", 6380)
    assert node.connect() == ("p-new",)
    assert node.handshakes == [("p-old",), ("p-new",)]
    assert secrets.calls == ["AWSCURRENT", "AWSCURRENT", "AWSPENDING"]


def test_a_node_refusing_every_password_fails_without_resending_one(
    fake_clock: FakeClock,
) -> None:
    value = {**BASE, "readOnlyEndpoints": NODES}
    stages = {
        "AWSCURRENT": {**value, "password": "p-old"},
        "AWSPENDING": {**value, "password": "p-new"},
    }
    made, _ = provider(stages, fake_clock)
    node = NodeHandshake(made, set(), "10.0.0.6", 6379)
    with pytest.raises(AuthenticationError):
        node.connect()
    assert node.handshakes == [("p-old",), ("p-new",)]


def test_awspending_naming_other_nodes_is_never_sent_to_awscurrents(
    fake_clock: FakeClock,
) -> None:
    stages = {"AWSCURRENT": {**BASE, "password": "p-old", "readOnlyEndpoints": NODES}}
    made, _ = provider(stages, fake_clock)
    made.get_credentials()
    elsewhere = [*NODES[:1], {"host": "10.9.9.9", "port": 6379}]
    stages["AWSPENDING"] = {**BASE, "password": "p-elsewhere", "readOnlyEndpoints": elsewhere}
    node = NodeHandshake(made, {"p-elsewhere"}, "10.0.0.6", 6379)
    with pytest.raises(AuthenticationError):
        node.connect()
    assert node.handshakes == [("p-old",)]


@pytest.mark.parametrize(
    ("listed", "field"),
    [
        ({"host": "10.0.0.6"}, "readOnlyEndpoints[1].port"),
        ({"host": "", "port": 6379}, "readOnlyEndpoints[1].host"),
        ({"host": "10.0.0.6", "port": 70000}, "readOnlyEndpoints[1].port"),
        ("10.0.0.6:6379", "readOnlyEndpoints[1]"),
    ],
    ids=str,
)
def test_a_bad_read_only_endpoint_is_named(fake_clock: FakeClock, listed: Any, field: str) -> None:
    value = {**BASE, "password": "pw-1", "readOnlyEndpoints": [NODES[0], listed]}
    made, _ = provider({"AWSCURRENT": value}, fake_clock)
    with pytest.raises(SecretFormatError, match=re.escape(f"field '{field}' must be")):
        made.get_credentials()


@pytest.mark.parametrize("tls", TLS_VARIANTS, ids=str)
def test_cluster_kwargs_make_node_connections_that_check_before_sending(
    fake_clock: FakeClock, tls: dict[str, Any]
) -> None:
    # A real redis-py RedisCluster node pool's connection class and options, never connected:
    # its handshake asks the provider first, which refuses an address the secret does not name.
    value = {**BASE, "password": "pw-1", "tls": tls, "readOnlyEndpoints": NODES}
    made, _ = provider({"AWSCURRENT": value}, fake_clock)
    options = cluster_kwargs("app/redis", provider=made)
    assert options["url"] == "redis://10.0.0.5:6379"
    kind = NodeSSLConnection if tls["enabled"] else NodeConnection
    assert options["connection_class"] is kind
    pool = redis.ConnectionPool.from_url(options.pop("url"), **options)
    connection = pool.make_connection()
    assert isinstance(connection, kind)
    assert endpoint_of(connection) == made.secret().endpoint
    connection.host = "10.0.0.8"
    with pytest.raises(NotANodeError):
        connection.on_connect()
