"""Repair after a crash at every point of a URedis rotation, not retried (the machinery:
tests/support/stuck.py)."""

import pytest

from tests.support.stuck import repair_test

pytestmark = pytest.mark.e2e
test_repair_after_a_crash = repair_test("uredis")
