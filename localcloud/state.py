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
    path = state_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(state, indent=2))
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
    return state


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
