"""The ElastiCache emulator as the tests set it up: four real nodes (a primary and a
replica for an RBAC group and for an AUTH-token group), a user on the first, and a genuine
boto3 client signed with the emulator's key."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from localcloud.emulators.elasticache import ElastiCacheEmulator, Node, ReplicationGroup, User
from localcloud.redis_server import RedisServer

ACCESS, SECRET = "AKIAEMULATOR00000001", "emulator-secret-key-0123456789"
REGION = "eu-west-1"
P1, P2, P3 = "first-password-0001", "second-password-0002", "third-password-0003"
T1, T2 = "first-token-0001!", "second-token-0002#"


@pytest.fixture
def servers() -> Iterator[list[RedisServer]]:
    """Four real nodes: a primary and a replica for an RBAC group and for a token group."""
    started = [RedisServer("node-start-password-0").start() for _ in range(4)]
    yield started
    for server in started:
        server.close()


@pytest.fixture
def emulator(servers: list[RedisServer]) -> Iterator[ElastiCacheEmulator]:
    emu = ElastiCacheEmulator()
    emu.add_key(ACCESS, SECRET)
    emu.model.paused = True  # the tests apply each node's change themselves
    rbac = emu.add_group(
        ReplicationGroup(
            "rbac-group",
            [Node("rbac-group-001", servers[0], "primary"), Node("rbac-group-002", servers[1])],
            region=REGION,
            user_group_ids=["app-users"],
        )
    )
    emu.add_user(
        User("app-user", "app", [rbac], [P1, P2], region=REGION, user_group_ids=["app-users"])
    )
    emu.add_group(
        ReplicationGroup(
            "token-group",
            [Node("token-group-001", servers[2], "primary"), Node("token-group-002", servers[3])],
            region=REGION,
            tokens=[T1],
        )
    )
    emu.start()
    yield emu
    emu.stop()


def client(
    emulator: ElastiCacheEmulator, secret: str = SECRET, region: str = REGION, attempts: int = 1
) -> Any:
    return boto3.client(
        "elasticache",
        endpoint_url=emulator.endpoint,
        region_name=region,
        aws_access_key_id=ACCESS,
        aws_secret_access_key=secret,
        config=Config(retries={"mode": "standard", "total_max_attempts": attempts}),
    )
