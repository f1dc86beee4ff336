"""Ends a process's redis-servers when that process ends, however it ends (SIGKILL too).

A watcher process is started once per owner process. The owner tells it, over a pipe, the
pid of each server it starts and stops; when the pipe closes (the owner exited, or was
killed and the kernel closed it), the watcher sends SIGTERM to the servers still listed.
A pipe, not Linux's PR_SET_PDEATHSIG: that signal follows the *thread* that started the
child, and `up` starts servers from the control endpoint's short-lived request threads.

This file runs as the watcher's script too, so it imports only the standard library.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from typing import IO


def watch(stream: IO[str]) -> None:
    """The watcher: "+pid" and "-pid" lines until end of input, then end the pids listed."""
    pids: set[int] = set()
    for line in stream:
        with contextlib.suppress(ValueError, IndexError):  # only its owner writes here
            (pids.add if line[0] == "+" else pids.discard)(int(line[1:]))
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)


class Reaper:
    """The owner's end: one watcher per process (a forked child gets its own)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watcher: subprocess.Popen[str] | None = None
        self._owner = 0

    def _send(self, line: str) -> None:
        with self._lock:
            for _ in range(2):  # a watcher that died is replaced once
                if self._watcher is None or self._owner != os.getpid():
                    self._watcher = self._start()
                    self._owner = os.getpid()
                assert self._watcher.stdin is not None
                try:
                    self._watcher.stdin.write(line + "\n")
                    self._watcher.stdin.flush()
                    return
                except OSError:
                    self._watcher = None
            raise RuntimeError("cannot start the watcher that ends redis-servers with us")

    @staticmethod
    def _start() -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-I", "-S", __file__],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
        )

    def watch(self, pid: int) -> None:
        self._send(f"+{pid}")

    def forget(self, pid: int) -> None:
        with self._lock:
            if self._watcher is None or self._owner != os.getpid() or not self._watcher.stdin:
                return  # no watcher of ours lists it
            try:
                self._watcher.stdin.write(f"-{pid}\n")
                self._watcher.stdin.flush()
            except OSError:
                self._watcher = None  # it died: the next watch() starts another


REAPER = Reaper()

if __name__ == "__main__":
    # Ctrl-C reaches the whole process group: the watcher outlives it to do its job.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    watch(sys.stdin)
