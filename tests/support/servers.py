"""The real servers an integration test runs against: a redis-server, and a provider API
emulator started for the test. A pytest plugin (tests/conftest.py loads it), so that every
provider's tests share one `redis_server` fixture instead of a copy each."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from localcloud.emulators.base import ApiEmulator
from localcloud.redis_server import RedisServer

START_PASSWORD = "Start1Pass"
"""The default user's password of `redis_server` before a test changes it."""


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A real redis-server whose default user's password is START_PASSWORD."""
    with RedisServer(START_PASSWORD) as server:
        yield server


@contextmanager
def serving[E: ApiEmulator](emulator: E) -> Iterator[E]:
    """``emulator`` serving on a free loopback port, stopped however the test ends."""
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()
