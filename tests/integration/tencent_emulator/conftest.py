"""The Tencent emulator with one account and one instance on a real redis-server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from localcloud.emulators.tencent import Instance, TencentEmulator
from localcloud.redis_server import RedisServer
from tests.integration.tencent_emulator.calls import INSTANCE, REGION, SECRET_ID, SECRET_KEY, START
from tests.support.servers import serving


@pytest.fixture
def emulator(redis_server: RedisServer) -> Iterator[TencentEmulator]:
    emu = TencentEmulator()
    emu.add_key(SECRET_ID, SECRET_KEY)
    emu.add_instance(Instance(INSTANCE, REGION, redis_server, START))
    with serving(emu):
        yield emu
