"""Tencent custom accounts end to end: the real handler, the driver playing Secrets Manager,
the Tencent emulator over HTTP, Tencent's one-argument AUTH through the emulator's front,
and a real redis-server whose ACL users are the accounts.

- custom account: the account's password is replaced with ModifyInstanceAccount;
- alternating: each rotation changes the account AWSCURRENT does not use, so a client
  holding AWSCURRENT (or, until the next rotation, AWSPREVIOUS) is never refused.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from localcloud.cloud import ExampleSecret, LocalCloud
from localcloud.emulators.tencent import Instance
from tests.support.tencent_auth import logs_in_one_argument

pytestmark = pytest.mark.e2e

_names = itertools.count()


def new_secret(cloud: LocalCloud, **options: Any) -> ExampleSecret:
    return cloud.add_tencent_secret(
        f"e2e/tencent-account-{next(_names)}", api_version="3.0", task_duration=0.05, **options
    )


def instance(cloud: LocalCloud, example: ExampleSecret) -> Instance:
    return cloud.tencent.instances[example.details["instanceId"]]


def client_logs_in(value: dict[str, Any]) -> bool:
    """A Tencent client at the secret's address (the emulator's front)."""
    secret = f"{value['account']}@{value['password']}"
    return logs_in_one_argument(value["host"], value["port"], secret)


def test_a_custom_account_is_rotated_with_modify_instance_account(cloud: LocalCloud) -> None:
    example = new_secret(cloud, account="app")
    before = cloud.value(example.arn, "AWSCURRENT")
    root_password = instance(cloud, example).password
    modified = cloud.tencent.count("ModifyInstanceAccount")

    result = cloud.driver("tencent").rotate(example.arn)

    assert result.succeeded, result.runs
    after = cloud.value(example.arn, "AWSCURRENT")
    assert after["account"] == "app"
    assert after["password"] != before["password"]
    assert client_logs_in(after)
    assert not client_logs_in(before)
    assert "@" not in after["password"]
    assert 8 <= len(after["password"]) <= 32
    assert cloud.tencent.count("ModifyInstanceAccount") - modified == 1
    assert example.redis.accepts(root_password), "the default account is untouched"
    assert instance(cloud, example).password_changes == 1


def test_alternating_accounts_never_refuse_the_current_version(cloud: LocalCloud) -> None:
    example = new_secret(cloud, account="app_a", alternate="app_b", create_missing=True)
    seen = []
    for _ in range(3):
        before = cloud.value(example.arn, "AWSCURRENT")
        result = cloud.driver("tencent").rotate(example.arn)
        assert result.succeeded, result.runs
        current = cloud.value(example.arn, "AWSCURRENT")
        previous = cloud.value(example.arn, "AWSPREVIOUS")
        seen.append(current["account"])
        assert previous == before
        # The version a client read before the rotation still works after it.
        assert client_logs_in(current)
        assert client_logs_in(previous)
    assert seen == ["app_b", "app_a", "app_b"]
    # The first rotation created app_b with app_a's privilege, then changed it.
    assert cloud.tencent.count("CreateInstanceAccount") >= 1
    accounts = instance(cloud, example).accounts
    assert accounts["app_b"].privilege == accounts["app_a"].privilege


def test_a_missing_other_account_is_named_and_nothing_changes(cloud: LocalCloud) -> None:
    example = new_secret(cloud, account="app_a", alternate="app_z")
    # Deleted in the console; the secret does not ask the rotation to create it.
    cloud.tencent.remove_account(example.details["instanceId"], "app_z")

    result = cloud.driver("tencent", max_attempts=1).rotate(example.arn)

    assert not result.succeeded
    errors = [r.error or "" for r in result.runs if r.step == "setSecret"]
    assert any("has no account app_z" in e and "createMissingAccount" in e for e in errors)
    assert instance(cloud, example).password_changes == 0
    assert client_logs_in(cloud.value(example.arn, "AWSCURRENT"))
