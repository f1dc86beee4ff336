"""Crash at every point, ElastiCache RBAC user with cluster mode enabled (the machinery:
tests/support/crash.py). One mode per file: the parallel run (--dist loadfile) spreads
files, not modes."""

import pytest

from tests.support.crash import crash_test

pytestmark = pytest.mark.e2e
test_crash_at_every_point = crash_test(("elasticache-cluster",))
