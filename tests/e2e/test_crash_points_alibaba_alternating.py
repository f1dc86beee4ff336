"""Crash at every point, Alibaba alternating accounts on a standard and on a cluster
instance: AWSCURRENT must authenticate at every moment (the machinery:
tests/support/crash.py)."""

import pytest

from tests.support.crash import crash_test

pytestmark = pytest.mark.e2e
test_crash_at_every_point = crash_test(("alibaba-alternating", "alibaba-cluster-alternating"))
