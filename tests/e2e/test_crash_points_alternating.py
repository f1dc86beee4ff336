"""Crash at every point, Tencent API 3.0 alternating accounts: AWSCURRENT must authenticate
at every moment (the machinery: tests/support/crash.py). One mode per file, so the parallel
run can spread them."""

import pytest

from tests.support.crash import crash_test

pytestmark = pytest.mark.e2e
test_crash_at_every_point = crash_test(("tencent-3.0-alternating",))
