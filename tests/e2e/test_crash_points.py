"""Crash at every point, URedis and Tencent API 2.0 (the machinery: tests/support/crash.py).
The modes are split across files so that the parallel test run can spread them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from localcloud.cloud import LocalCloud
from tests.support.crash import MODES, prove_mode

pytestmark = pytest.mark.e2e
SELECTED = [m for m in MODES if m[0] in ("uredis", "tencent-2.0")]


@pytest.mark.parametrize(("mode", "provider", "options"), SELECTED, ids=[m[0] for m in SELECTED])
def test_crash_at_every_point(
    cloud: LocalCloud,
    mode: str,
    provider: str,
    options: dict[str, Any],
    summary_line: Callable[[str], None],
) -> None:
    prove_mode(cloud, mode, provider, options, summary_line)
