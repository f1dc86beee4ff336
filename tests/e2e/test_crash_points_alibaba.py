"""Crash at every point, Alibaba's default account and a custom account (the machinery:
tests/support/crash.py)."""

import pytest

from tests.support.crash import crash_test

pytestmark = pytest.mark.e2e
test_crash_at_every_point = crash_test(("alibaba-default", "alibaba-account"))
