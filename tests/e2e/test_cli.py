"""The local cloud's command line, run as a user runs it: separate processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

TIMEOUT = 180


def localcloud(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "localcloud", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def test_demo_rotates_every_example(tmp_path: Path) -> None:
    done = localcloud("demo", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "old password refused: True; new password accepted: True; OK" in done.stdout
    # Both kinds of Tencent custom account: the alternating one keeps the old version working.
    for name in ("localcloud/tencent-v3-account-demo", "localcloud/tencent-v3-alternating-demo"):
        assert f"== {name}" in done.stdout
    assert (
        "old version still accepted (now AWSPREVIOUS): True; new password accepted: True; OK"
    ) in done.stdout
    summary = done.stdout.strip().splitlines()[-1]
    total = summary.split(" of ")[1].split()[0]
    assert summary == f"demo: {total} of {total} rotations succeeded"


def test_up_serves_and_rotate_rotates_against_it(tmp_path: Path) -> None:
    up = subprocess.Popen(
        [sys.executable, "-m", "localcloud", "up"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert up.stdout is not None
        lines = []
        for line in up.stdout:  # the JSON object ends with a closing brace alone on a line
            lines.append(line)
            if line.rstrip() == "}":
                break
        state = json.loads("".join(lines))
        assert state["secretsManager"].startswith("http://127.0.0.1:")
        assert (tmp_path / ".localcloud/state.json").exists()
        secret_id = state["secrets"]["localcloud/uredis-demo"]["arn"]

        rotated = localcloud("rotate", secret_id, cwd=tmp_path)

        assert rotated.returncode == 0, rotated.stdout + rotated.stderr
        result = json.loads(rotated.stdout[rotated.stdout.index("{") :])
        assert result["succeeded"] is True
        assert [s["outcome"] for s in result["steps"]] == [
            "created",
            "changed",
            "tested",
            "finished",
        ]

        checked = localcloud("preflight", secret_id, cwd=tmp_path)

        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert checked.stdout.splitlines()[-1] == "Verdict: ready to rotate"
    finally:
        up.send_signal(signal.SIGTERM)
        up.wait(timeout=60)
    assert not (tmp_path / ".localcloud/state.json").exists(), "up cleans up after itself"


def test_rotate_without_a_running_cloud_says_so(tmp_path: Path) -> None:
    done = localcloud("rotate", "some-secret", cwd=tmp_path)
    assert done.returncode == 2
    assert "run `make up` first" in done.stderr
