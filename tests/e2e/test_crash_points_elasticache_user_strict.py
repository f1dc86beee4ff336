"""Crash at every point, ElastiCache RBAC user in strict mode: the drop of the replaced password
after the promotion is crashed too (the machinery: tests/support/crash.py)."""

import pytest

from tests.support.crash import crash_test

pytestmark = pytest.mark.e2e
test_crash_at_every_point = crash_test(("elasticache-user-strict",))
