"""Crash at every point, URedis and Tencent API 2.0 (the machinery: tests/support/crash.py).
The modes are split across files so that the parallel test run can spread them."""

import pytest

from tests.support.crash import crash_test

pytestmark = pytest.mark.e2e
test_crash_at_every_point = crash_test(("uredis", "tencent-2.0"))
