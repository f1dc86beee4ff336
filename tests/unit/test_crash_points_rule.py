"""Which crash points the crash proof runs (tests/support/crash.py): every point that can
leave the world in a state of its own, each once."""

from __future__ import annotations

import pytest

from localcloud.instrument import Call
from tests.support.crash import crash_points

pytestmark = pytest.mark.unit


def test_a_point_after_a_call_that_changes_nothing_is_not_run_twice() -> None:
    calls = [
        Call("secretsmanager", "DescribeSecret", 1),
        Call("secretsmanager", "GetSecretValue", 2),
        Call("secretsmanager", "PutSecretValue", 3),  # a write: both of its sides count
        Call("redis", "AUTH", 4),
        Call("redis", "PING", 5),
        Call("provider", "DescribeInstances", 6),  # emulators land changes as they answer
        Call("redis", "AUTH", 7),
    ]
    points = [(call.index, side) for call, side in crash_points(calls)]
    # Before 2 and 3 is before 1; before 5 and 6 is before 4 (after the write).
    assert points == [(1, "before"), (4, "before"), (7, "before"), (7, "after")]
