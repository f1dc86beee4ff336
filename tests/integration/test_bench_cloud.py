"""The bench's local cloud reports the invariant as the local cloud reads it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration

# In a process of its own, as the benchmarks run it: moto keeps its state per process, and
# this worker may hold the session's shared local cloud.
ROTATE_ONE = """
import json
from bench.cloudproc import BenchCloud
cloud = BenchCloud().start()
try:
    example = cloud.add_mode_secret("bench/test/one", "uredis")
    succeeded = cloud.driver("uredis").rotate(example.arn).succeeded
    print(json.dumps({"succeeded": succeeded, **cloud.report()["secrets"]["bench/test/one"]}))
finally:
    cloud.stop()
"""


def test_a_finished_rotation_is_reported_on_awscurrent_only() -> None:
    """After a rotation Secrets Manager leaves AWSPENDING on AWSCURRENT's version, as AWS
    does: the same password, not a second one. The fleet benchmark read it as one and
    reported every instance as breaking the invariant."""
    run = subprocess.run(
        [sys.executable, "-c", ROTATE_ONE], capture_output=True, text=True, timeout=300, check=True
    )
    secret = json.loads(run.stdout.splitlines()[-1])
    assert secret == {"succeeded": True, "accepted": ["AWSCURRENT"], "changes": 1}
