"""The state file of a running ``redis-rotation up``: where it is, from any directory.

It lives in the checkout (``<repo>/.localcloud/state.json``, ignored by git), so every
command finds the same one whatever the current directory; ``REDIS_ROTATION_STATE``
names another file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent


class NoLocalCloud(LookupError):
    """No ``up`` is running, or its state file is unreadable."""


def state_file() -> Path:
    override = os.environ.get("REDIS_ROTATION_STATE")
    return Path(override) if override else REPO_ROOT / ".localcloud" / "state.json"


def save(state: dict[str, Any]) -> Path:
    """Write the state, readable by its owner alone: it holds the control endpoint's token."""
    path = state_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(descriptor, "w") as file:
        os.fchmod(descriptor, 0o600)  # a file that existed keeps its mode through O_CREAT
        file.write(json.dumps(state, indent=2))
    return path


def remove() -> None:
    state_file().unlink(missing_ok=True)


def load() -> dict[str, Any]:
    """The running local cloud's state; ``NoLocalCloud`` says why there is none."""
    path = state_file()
    try:
        state = json.loads(path.read_text())
    except FileNotFoundError:
        raise NoLocalCloud(
            f"no local cloud is running ({path} is missing): start one with `redis-rotation up`"
        ) from None
    except (OSError, ValueError) as exc:
        raise NoLocalCloud(
            f"the local cloud's state file {path} is unreadable "
            f"({type(exc).__name__}): stop `up` and start it again"
        ) from None
    if not isinstance(state, dict) or not isinstance(state.get("environment"), dict):
        raise NoLocalCloud(
            f"the local cloud's state file {path} is not one `up` wrote: "
            "stop `up` and start it again"
        )
    pid = state.get("pid")
    if isinstance(pid, int) and not _alive(pid):
        raise NoLocalCloud(
            f"the local cloud that wrote {path} is gone (process {pid}): start "
            "one with `redis-rotation up`"
        )
    _private(path)
    return state


def _private(path: Path) -> None:
    """Refuse a state file that another user wrote or can read: it holds the token, and it
    names the endpoints that this process then sends passwords to."""
    mode = path.stat()
    if mode.st_uid != os.getuid() or mode.st_mode & 0o077:
        raise NoLocalCloud(
            f"the local cloud's state file {path} is not private (mode "
            f"{mode.st_mode & 0o777:o}, owner uid {mode.st_uid}): `up` writes it with "
            "mode 600; stop `up` and start it again"
        )


def running() -> tuple[int, Path] | None:
    """The pid and state file of an ``up`` that is running now, if any."""
    path = state_file()
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    pid = state.get("pid") if isinstance(state, dict) else None
    if isinstance(pid, int) and pid != os.getpid() and _alive(pid):
        return pid, path
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def apply(state: dict[str, Any]) -> None:
    """Point this process's boto3 (and the functions it runs) at the local cloud."""
    os.environ.update({str(k): str(v) for k, v in state["environment"].items()})
