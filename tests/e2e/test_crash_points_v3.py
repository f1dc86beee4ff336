"""Crash at every point, Tencent API 3.0 (modify, reset) (the machinery: tests/support/crash.py).
The modes are split across files so that the parallel test run can spread them."""

import pytest

from tests.support.crash import crash_test

pytestmark = pytest.mark.e2e
test_crash_at_every_point = crash_test(("tencent-3.0-modify", "tencent-3.0-reset"))
