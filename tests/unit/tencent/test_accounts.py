"""Tencent API 3.0 custom accounts (TencentV3Account): ModifyInstanceAccount,
CreateInstanceAccount from the pair's other account, DescribeInstanceAccount."""

from __future__ import annotations

from typing import Any

import pytest

from redis_rotation import passwords
from redis_rotation.errors import (
    InstanceStateError,
)
from tests.support.inspection import UNSEEN
from tests.unit.tencent.support import (
    ACCOUNT,
    ALTERNATE,
    NEW,
    Make,
    account,
    account_list,
    assert_tc3,
    instance,
    secret,
    v3_error,
    v3_ok,
)

pytestmark = pytest.mark.unit


def test_an_account_is_changed_with_modify_instance_account_and_its_password_only(
    make: Make,
) -> None:
    harness = make(
        {
            "DescribeInstanceAccount": [account_list(account("app_a"))],
            "ModifyInstanceAccount": [v3_ok(TaskId=55)],
        }
    )
    provider = harness.provider
    assert provider.policy(secret(ACCOUNT)) is passwords.TENCENT_V3_ACCOUNT
    assert not provider.needs_old_password(secret(ACCOUNT))
    handle = provider.change_password(secret(ACCOUNT), UNSEEN, NEW, None)
    assert handle.task_id == "55"
    *_, sent = harness.transport.sent
    assert_tc3(sent, "ModifyInstanceAccount")
    # No NoAuth, no privileges: only the password changes.
    assert sent.json() == {
        "InstanceId": "crs-abc123",
        "AccountName": "app_a",
        "AccountPassword": NEW,
    }


def test_a_missing_account_is_created_like_the_current_one(make: Make) -> None:
    current = account("app_a", Privilege="r", ReadonlyPolicy=["replication"])
    harness = make(
        {
            "DescribeInstanceAccount": [account_list(current)],
            "CreateInstanceAccount": [v3_ok(TaskId=56)],
        }
    )
    harness.provider.change_password(secret(ALTERNATE), UNSEEN, NEW, None)
    *_, sent = harness.transport.sent
    assert_tc3(sent, "CreateInstanceAccount")
    assert sent.json() == {
        "InstanceId": "crs-abc123",
        "AccountName": "app_b",
        "AccountPassword": NEW,
        "Privilege": "r",
        "ReadonlyPolicy": ["replication"],
    }


@pytest.mark.parametrize(
    ("value", "accounts", "ready", "busy"),
    [
        (ACCOUNT, [account("app_a")], True, False),
        (ACCOUNT, [account("app_a", status=1)], False, True),  # a task changes it
        (ALTERNATE, [account("app_a")], True, False),  # app_b will be created
    ],
)
def test_describe_asks_for_the_account(
    make: Make, value: dict[str, Any], accounts: list[dict[str, Any]], ready: bool, busy: bool
) -> None:
    harness = make(
        {
            "DescribeInstances": [v3_ok(TotalCount=1, InstanceSet=[instance()])],
            "DescribeInstanceAccount": [account_list(*accounts)],
        }
    )
    described = harness.provider.inspect(secret(value)).status
    assert (described.ready, described.busy) == (ready, busy)
    assert harness.transport.actions() == ["DescribeInstances", "DescribeInstanceAccount"]


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        (ACCOUNT, "has no account app_a: create it in the console, then"),
        ({**ALTERNATE, "createMissingAccount": False}, "or set createMissingAccount"),
    ],
)
def test_a_missing_account_is_named(make: Make, value: dict[str, Any], hint: str) -> None:
    harness = make(
        {
            "DescribeInstances": [v3_ok(TotalCount=1, InstanceSet=[instance()])],
            "DescribeInstanceAccount": [account_list(account("other"))],
        }
    )
    with pytest.raises(InstanceStateError, match=hint):
        harness.provider.inspect(secret(value))


def test_accounts_are_looked_up_page_by_page(make: Make) -> None:
    first = [account(f"a{i}") for i in range(100)]
    pages = [account_list(*first, total=101), account_list(account("app_a"), total=101)]
    harness = make({"DescribeInstanceAccount": pages, "ModifyInstanceAccount": [v3_ok(TaskId=1)]})
    harness.provider.change_password(secret(ACCOUNT), UNSEEN, NEW, None)
    offsets = [s.json()["Offset"] for s in harness.transport.sent[:2]]
    assert offsets == [0, 100]
    assert harness.transport.actions()[-1] == "ModifyInstanceAccount"


def test_the_change_uses_the_account_listing_of_the_inspection_it_is_given(make: Make) -> None:
    harness = make(
        {
            "DescribeInstances": [v3_ok(TotalCount=1, InstanceSet=[instance()])],
            "DescribeInstanceAccount": [account_list(account("app_a"))],
            "CreateInstanceAccount": [v3_ok(TaskId=3)],
            "ModifyInstanceAccount": [v3_ok(TaskId=4)],
        }
    )
    provider = harness.provider
    seen = provider.inspect(secret(ALTERNATE))
    assert seen.status.ready
    provider.change_password(secret(ALTERNATE), seen, NEW, None)
    provider.change_password(secret(ACCOUNT), UNSEEN, NEW, None)  # no listing given: asks again
    assert harness.transport.actions() == [
        "DescribeInstances",
        "DescribeInstanceAccount",
        "CreateInstanceAccount",
        "DescribeInstanceAccount",
        "ModifyInstanceAccount",
    ]


def test_an_account_without_privileges_to_copy_is_not_guessed(make: Make) -> None:
    current = {"AccountName": "app_a", "Status": 2}
    harness = make({"DescribeInstanceAccount": [account_list(current)]})
    with pytest.raises(InstanceStateError, match="no Privilege and ReadonlyPolicy to copy"):
        harness.provider.change_password(secret(ALTERNATE), UNSEEN, NEW, None)
    assert harness.transport.actions() == ["DescribeInstanceAccount"]


def test_tencent_saying_the_account_is_gone_is_a_state_error(make: Make) -> None:
    harness = make(
        {
            "DescribeInstanceAccount": [account_list(account("app_a"))],
            "ModifyInstanceAccount": [v3_error("ResourceNotFound.AccountDoesNotExists")],
        }
    )
    with pytest.raises(InstanceStateError, match="no such account"):
        harness.provider.change_password(secret(ACCOUNT), UNSEEN, NEW, None)
