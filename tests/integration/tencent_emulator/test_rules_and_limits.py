"""The password rules of each API and action, and the rate limit of 20 requests per action
per second, enforced with the documented codes."""

from __future__ import annotations

import pytest

from localcloud.emulators.tencent import TencentEmulator
from localcloud.redis_server import RedisServer
from tests.integration.tencent_emulator.calls import (
    MARKS,
    START,
    describe,
    modify,
    reset,
    sdk,
    sdk_error,
    v2_modify,
)

pytestmark = MARKS


# -- API 3.0 ---------------------------------------------------------------------------------


V3_BAD = {
    "starts with /": "/abcDEF12",
    "too long for modify": "aB1" * 10 + "x",  # 31
    "one kind": "abcdefgh",
    "space": "abc DEF12",
    "outside the set": "abcd1234`",
    "too short": "aB1!aB1",
}


@pytest.mark.parametrize("password", V3_BAD.values(), ids=V3_BAD.keys())
def test_v3_modify_password_rule(
    emulator: TencentEmulator, redis_server: RedisServer, password: str
) -> None:
    code = sdk_error(sdk(emulator).ModifyInstancePassword, modify(password))
    assert code == "InvalidParameterValue.PasswordRuleError"
    assert redis_server.accepts(START)


@pytest.mark.parametrize(
    ("action", "password", "accepted"),
    [
        ("modify", "abcdEFGH", True),  # lower and upper case are two kinds in 3.0
        ("modify", "a/bcdefg1", True),  # '/' only may not come first
        ("reset", "aB1" * 10 + "xy", True),  # 32: reset allows more than modify
        ("reset", "aB1" * 11, False),  # 33
    ],
)
def test_v3_rule_per_action(
    emulator: TencentEmulator, action: str, password: str, accepted: bool
) -> None:
    client = sdk(emulator)
    call = client.ModifyInstancePassword if action == "modify" else client.ResetPassword
    request = modify(password) if action == "modify" else reset(password)
    if accepted:
        assert call(request).TaskId > 0
    else:
        assert sdk_error(call, request) == "InvalidParameterValue.PasswordRuleError"


def test_v3_empty_and_wrong_old_password(emulator: TencentEmulator) -> None:
    client = sdk(emulator)
    empty = sdk_error(client.ModifyInstancePassword, modify(""))
    assert empty == "InvalidParameterValue.PasswordEmpty"
    wrong = sdk_error(client.ModifyInstancePassword, modify("N3w!pass_2", old="Wrong1pass"))
    assert wrong == "InvalidParameterValue.PasswordError"


def test_v3_rate_limit_is_per_action_per_second(emulator: TencentEmulator) -> None:
    now = [1000.0]
    emulator.clock = lambda: now[0]
    client = sdk(emulator)
    for _ in range(20):
        client.DescribeInstances(describe())
    assert sdk_error(client.DescribeInstances, describe()) == "RequestLimitExceeded"
    assert client.ModifyInstancePassword(modify("N3w!pass_2")).TaskId > 0  # another action
    now[0] += 1.0  # the window slides
    assert client.DescribeInstances(describe()).TotalCount == 1


# -- API 2.0 ---------------------------------------------------------------------------------


V2_BAD = {
    "too short": "Ab1!Ab1",
    "too long": "Ab1!" * 4 + "x",  # 17
    "letters only": "abcdEFGH",  # letters are one kind in 2.0
    "digits only": "12345678",
    "special outside the set": "abc123$%",
    "space": "abc 1234",
}


@pytest.mark.parametrize("password", V2_BAD.values(), ids=V2_BAD.keys())
def test_v2_password_rule(
    emulator: TencentEmulator, redis_server: RedisServer, password: str
) -> None:
    answer = v2_modify(emulator, password)
    assert (answer["code"], answer["codeDesc"]) == (11058, "PasswordRuleError")
    assert redis_server.accepts(START)


def test_v2_rate_limit(emulator: TencentEmulator) -> None:
    emulator.clock = lambda: 1000.0
    codes = [v2_modify(emulator, "N3w!pass12", old="Wrong1pass")["code"] for _ in range(21)]
    assert codes == [10502] * 20 + [4400]
