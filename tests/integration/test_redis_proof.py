"""The full Redis proof against a real redis-server whose default user is locked down."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from localcloud.redis_server import RedisServer
from redis_rotation.redis_check import Level, Proof, RedisTimeouts, Where
from redis_rotation.secret import RedisSecret

pytestmark = pytest.mark.integration

PASSWORD = "named-user-password-1"
TIMEOUTS = RedisTimeouts(connect=3, socket=3)


@pytest.fixture
def server() -> Iterator[RedisServer]:
    with RedisServer(password=None) as started:
        started.set_account("app", PASSWORD, "rw")
        yield started


def named_user(server: RedisServer, password: str = PASSWORD) -> RedisSecret:
    data = {"host": server.host, "port": server.port, "tls": {"enabled": False}}
    return RedisSecret(
        "secret proof (AWSCURRENT)", {**data, "username": "app", "password": password}
    )


def lock_default_user(server: RedisServer, *rules: str) -> None:
    with server.admin() as admin:
        admin.execute_command("ACL", "SETUSER", "default", "on", "nopass", *rules)


def test_an_anonymous_client_answered_noperm_counts_as_refused(server: RedisServer) -> None:
    # The default user exists without a password but may run nothing: an anonymous PING is
    # answered NOPERM. That is a refusal, not an unreachable instance.
    lock_default_user(server, "-@all")
    proof = Proof(TIMEOUTS)
    assert proof.proves(named_user(server), Level.FULL, Where.EVERY)
    assert not proof.proves(named_user(server, "not-the-password"), Level.FULL, Where.EVERY)


def test_an_anonymous_client_let_in_still_fails_the_full_proof(server: RedisServer) -> None:
    lock_default_user(server, "+@all")
    proof = Proof(TIMEOUTS)
    assert proof.proves(named_user(server), Level.AUTH)
    assert not proof.proves(named_user(server), Level.FULL)
