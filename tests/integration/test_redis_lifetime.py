"""A redis-server lives no longer than the process that started it, however that one ends."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from localcloud.redis_server import RedisServer
from tests.support import processes

pytestmark = pytest.mark.integration

# The owner: starts two servers (one with a password, one without), prints their pids, and
# waits to be killed.
OWNER = """
import sys
from localcloud.redis_server import RedisServer
servers = [RedisServer("owner-password-1").start(), RedisServer(None).start()]
print(" ".join(str(s.pid) for s in servers), flush=True)
sys.stdin.read()
"""


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_an_owner_killed_takes_its_redis_servers_with_it(how: signal.Signals) -> None:
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert owner.stdout is not None
    pids = [int(p) for p in owner.stdout.readline().split()]
    try:
        assert len(pids) == 2
        assert not any(processes.gone(p) for p in pids), "both servers run under their owner"
        owner.send_signal(how)  # no handler, no cleanup: the owner just ends
        owner.wait(timeout=60)
        left = processes.wait_until_gone(pids)
        assert left == [], f"redis-servers outlived their owner (killed by {how.name})"
    finally:
        processes.end([p for p in pids if not processes.gone(p)])
        owner.kill()
        owner.wait()


def test_a_server_starts_once() -> None:
    """A second start would orphan the first process (an attacker fixture leaked four so)."""
    with RedisServer(None) as server:
        first = server.pid
        with pytest.raises(RuntimeError, match="already started"):
            server.start()
        assert server.pid == first
        assert server.accepts(None)
