"""The bench's local cloud reports the invariant as the local cloud reads it."""

from __future__ import annotations

import pytest

from bench.cloudproc import BenchCloud

pytestmark = pytest.mark.integration


def test_a_finished_rotation_is_reported_on_awscurrent_only() -> None:
    """After a rotation Secrets Manager leaves AWSPENDING on AWSCURRENT's version, as AWS
    does: the same password, not a second one. The fleet benchmark read it as one and
    reported every instance as breaking the invariant."""
    cloud = BenchCloud().start()
    try:
        example = cloud.add_mode_secret("bench/test/one", "uredis")
        assert cloud.driver("uredis").rotate(example.arn).succeeded
        secret = cloud.report()["secrets"]["bench/test/one"]
    finally:
        cloud.stop()
    assert secret == {"accepted": ["AWSCURRENT"], "changes": 1}
