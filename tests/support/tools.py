"""Running the venv's command-line tools (sam, cfn-lint) the way a clean machine would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The venv's own tools, whichever venv runs the tests (not resolved: that would leave the venv).
BIN = Path(sys.executable).parent


def tool_environment(home: Path) -> dict[str, str]:
    """No AWS settings at all (no region, profile or credentials), no telemetry, and the
    venv's python3.13 first on PATH (sam build looks for it there)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}", HOME=str(home))
    env.update(SAM_CLI_TELEMETRY="0")
    return env


def run_tool(
    command: list[str], env: Mapping[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Runs the command from the repository root; it must succeed."""
    result = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    return result
