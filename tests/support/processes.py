"""The redis-server processes a test run started, found by their working directory.

Other runs on the same machine start redis-servers too. A run makes its own temporary
folder and points TMPDIR at it; every process it starts (xdist workers, `redis-rotation
up`) inherits that, and each redis-server works in a folder made under it. (redis-server
overwrites its environment with its process title, so a mark there would not last.)
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import time
from pathlib import Path

MARK = "REDIS_ROTATION_TEST_RUN"  # the run's folder, once chosen
PROC = Path("/proc")


def run_folder() -> tuple[str, bool]:
    """This run's temporary folder, made by the first process of the run and inherited after;
    and whether this process made it (then it removes it at the end)."""
    folder = os.environ.get(MARK)
    made = not folder
    if not folder:
        folder = tempfile.mkdtemp(prefix="redis-rotation-run-")
        os.environ[MARK] = folder
    os.environ["TMPDIR"] = folder
    tempfile.tempdir = folder  # gettempdir() may have cached the old one already
    return folder, made


def gone(pid: int) -> bool:
    """Whether ``pid`` has exited (a zombie has exited: only its parent's wait is missing)."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def redis_servers_under(folder: str) -> list[int]:
    """Live redis-server processes working in a folder under ``folder``."""
    found = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):  # gone meanwhile, or another user's
            if b"redis-server" not in (entry / "cmdline").read_bytes().split(b"\0")[0]:
                continue
            if os.readlink(entry / "cwd").startswith(folder + os.sep) and not gone(int(entry.name)):
                found.append(int(entry.name))
    return found


def wait_until_gone(pids: list[int], limit: float = 30.0) -> list[int]:
    """The ``pids`` still alive once they are all gone or ``limit`` seconds have passed (a
    bound on a wait, not a timed assertion: they are ended by signals, asynchronously)."""
    deadline = time.monotonic() + limit
    alive = [p for p in pids if not gone(p)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [p for p in alive if not gone(p)]
    return alive


def end(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
