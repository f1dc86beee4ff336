"""The Alibaba password rule twice, written apart: the layer's policy (checked before any
call) and the emulator's (which stands for Alibaba); they must agree on every password."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from localcloud.emulators.alibaba import SPECIALS, password_allowed
from redis_rotation.passwords import ALIBABA

pytestmark = pytest.mark.unit

# The rule's alphabet, plus what is near it: ':' (the AUTH separator), '~', space, 'é'.
alphabet = string.ascii_letters + string.digits + SPECIALS + ":~ é"


@settings(max_examples=500)
@given(st.text(st.sampled_from(alphabet), max_size=40))
def test_policy_and_emulator_agree(password: str) -> None:
    assert (ALIBABA.violation(password) is None) == password_allowed(password)


@pytest.mark.parametrize(
    ("password", "allowed"),
    [
        ("Abcdefg1", True),  # 8, three kinds
        ("abcdef1!", True),  # lower, digit, special
        ("ABCDEFG1", False),  # two kinds
        ("Abcdef1", False),  # 7
        ("Abcdef1" + "x" * 25, True),  # 32
        ("Abcdef1" + "x" * 26, False),  # 33
        ("Abcdef1:", False),  # ':' is not allowed
    ],
)
def test_documented_bounds(password: str, allowed: bool) -> None:
    assert (ALIBABA.violation(password) is None) is allowed
    assert password_allowed(password) is allowed
