"""The state file of `up` holds the control endpoint's token: only its owner may read it,
and a state file that others can read or write is not trusted."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from localcloud import state

pytestmark = pytest.mark.unit


@pytest.fixture
def state_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "state.json"
    monkeypatch.setenv("REDIS_ROTATION_STATE", str(path))
    return path


def test_it_is_written_for_its_owner_alone_even_over_an_open_file(state_path: Path) -> None:
    state_path.write_text("{}")
    state_path.chmod(0o644)  # left by an older `up`, or made by someone else
    state.save({"environment": {}, "pid": os.getpid(), "controlToken": "t"})
    assert state_path.stat().st_mode & 0o777 == 0o600
    assert state.load()["controlToken"] == "t"


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o602])
def test_a_state_file_others_can_read_or_write_is_refused(state_path: Path, mode: int) -> None:
    state.save({"environment": {}, "pid": os.getpid(), "controlToken": "t"})
    state_path.chmod(mode)
    with pytest.raises(state.NoLocalCloud, match=f"not private \\(mode {mode:o}"):
        state.load()


def test_a_link_is_not_followed(state_path: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_text("kept")
    state_path.symlink_to(elsewhere)
    with pytest.raises(OSError, match="symbolic link"):
        state.save({"environment": {}, "pid": os.getpid()})
    assert elsewhere.read_text() == "kept"


def test_running_names_a_live_up_and_not_a_dead_one(state_path: Path) -> None:
    assert state.running() is None
    state.save({"environment": {}, "pid": os.getppid()})  # alive: the process that ran us
    assert state.running() == (os.getppid(), state_path)
    state.save({"environment": {}, "pid": 2**22 + 1})  # above Linux's largest pid
    assert state.running() is None
