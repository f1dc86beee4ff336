"""Repair after a crash at every point of a Tencent API 3.0 rotation (reset mode): the
other change path (the machinery: tests/support/stuck.py)."""

import pytest

from tests.support.stuck import repair_test

pytestmark = pytest.mark.e2e
test_repair_after_a_crash = repair_test("tencent-3.0-reset")
