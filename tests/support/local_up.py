"""`redis-rotation up` as a user runs it: its own process, from a directory outside the
checkout, with its own state file."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.tools import BIN

TIMEOUT = 180


@dataclass
class Up:
    state: dict[str, Any]
    env: dict[str, str]
    cwd: Path


def up_environment(state_file: Path) -> dict[str, str]:
    """No AWS settings of the caller's; the venv's tools first on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        REDIS_ROTATION_STATE=str(state_file),
        PYTHONUNBUFFERED="1",
    )
    return env


def run(
    argv: list[str], up: Up, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``argv`` from the user's directory, with ``up``'s environment unless ``env``."""
    return subprocess.run(
        argv,
        cwd=up.cwd,
        env=up.env if env is None else env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def cli(*args: str, up: Up) -> subprocess.CompletedProcess[str]:
    return run([str(BIN / "redis-rotation"), *args], up)


def bash(
    script: str, up: Up, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return run(["bash", "-c", script], up, env)


@contextlib.contextmanager
def running_up(cwd: Path, state_file: Path) -> Iterator[Up]:
    """`redis-rotation up --json` until the block ends; it must remove its state file then."""
    env = up_environment(state_file)
    process = subprocess.Popen(
        [str(BIN / "redis-rotation"), "up", "--json"],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        assert process.stdout is not None
        for line in process.stderr:  # the ready line is the last one `up` writes
            if line.startswith("local cloud ready"):
                break
        else:
            pytest.fail(f"up ended without its ready line: {process.stdout.read()}")
        state = json.loads(state_file.read_text())
        yield Up(state, env, cwd)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    assert not state_file.exists(), "up removes its state file when it stops"
