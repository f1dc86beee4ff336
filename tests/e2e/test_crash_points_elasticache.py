"""Crash at every point, ElastiCache RBAC user and AUTH token (the machinery:
tests/support/crash.py). In its own file so that the parallel run can spread it."""

import pytest

from tests.support.crash import crash_test

pytestmark = pytest.mark.e2e
test_crash_at_every_point = crash_test(("elasticache-user", "elasticache-token"))
