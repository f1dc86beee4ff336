"""Alibaba Tair/Redis end to end: the real handler, the driver playing Secrets Manager,
the Alibaba emulator over HTTP (ACS3-signed), Alibaba's one-argument AUTH through the
instance's proxy endpoint, and a real redis-server whose ACL users are the accounts.

- default account: ModifyInstanceAttribute (NewPassword);
- custom account: ResetAccountPassword, no old password;
- alternating, on a standard and a cluster instance: each rotation changes the account
  AWSCURRENT does not use (created the first time, with the current one's privilege).
At every step the instance accepts a password held by AWSCURRENT, AWSPENDING or
AWSPREVIOUS (``accepted_stages``).
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from localcloud.cloud import ExampleSecret, LocalCloud
from localcloud.emulators.alibaba import Instance
from redis_rotation.passwords import ALIBABA
from rotation_cli import main
from tests.support.tencent_auth import logs_in_one_argument

pytestmark = pytest.mark.e2e

_names = itertools.count()


def new_secret(cloud: LocalCloud, **options: Any) -> ExampleSecret:
    return cloud.add_alibaba_secret(f"e2e/alibaba-{next(_names)}", **options)


def instance(cloud: LocalCloud, example: ExampleSecret) -> Instance:
    return cloud.alibaba.instances[example.details["instanceId"]]


def client_logs_in(value: dict[str, Any]) -> bool:
    """An Alibaba client at the secret's address: AUTH <password>, or <account>:<password>."""
    account = value.get("account")
    secret = f"{account}:{value['password']}" if account else value["password"]
    return logs_in_one_argument(value["host"], value["port"], secret)


def test_the_default_account_is_rotated_with_modify_instance_attribute(cloud: LocalCloud) -> None:
    example = new_secret(cloud)
    before = cloud.value(example.arn, "AWSCURRENT")
    modified = cloud.alibaba.count("ModifyInstanceAttribute")

    result = cloud.driver("alibaba").rotate(example.arn)

    assert result.succeeded, result.runs
    after = cloud.value(example.arn, "AWSCURRENT")
    assert client_logs_in(after)
    assert not client_logs_in(before)
    assert ALIBABA.violation(after["password"]) is None
    assert cloud.alibaba.count("ModifyInstanceAttribute") - modified == 1
    assert instance(cloud, example).password_changes == 1
    assert cloud.accepted_stages(example) == ["AWSCURRENT"]


def test_a_custom_account_is_reset_without_its_old_password(cloud: LocalCloud) -> None:
    example = new_secret(cloud, account="app")
    before = cloud.value(example.arn, "AWSCURRENT")
    default_password = instance(cloud, example).password
    reset = cloud.alibaba.count("ResetAccountPassword")

    result = cloud.driver("alibaba").rotate(example.arn)

    assert result.succeeded, result.runs
    after = cloud.value(example.arn, "AWSCURRENT")
    assert after["account"] == "app"
    assert client_logs_in(after)
    assert not client_logs_in(before)
    assert ":" not in after["password"]
    assert cloud.alibaba.count("ResetAccountPassword") - reset == 1
    assert example.redis.accepts(default_password), "the default account is untouched"


@pytest.mark.parametrize("architecture", ["standard", "cluster"])
def test_alternating_accounts_never_refuse_the_current_version(
    cloud: LocalCloud, architecture: str
) -> None:
    example = new_secret(
        cloud, architecture=architecture, account="app_a", alternate="app_b", create_missing=True
    )
    created = cloud.alibaba.count("CreateAccount")
    seen = []
    for _ in range(3):
        before = cloud.value(example.arn, "AWSCURRENT")
        result = cloud.driver("alibaba").rotate(example.arn)
        assert result.succeeded, result.runs
        current = cloud.value(example.arn, "AWSCURRENT")
        previous = cloud.value(example.arn, "AWSPREVIOUS")
        seen.append(current["account"])
        assert previous == before
        # The version a client read before the rotation still works after it.
        assert client_logs_in(current)
        assert client_logs_in(previous)
        assert "AWSCURRENT" in cloud.accepted_stages(example)
    assert seen == ["app_b", "app_a", "app_b"]
    assert cloud.alibaba.count("CreateAccount") - created == 1
    accounts = instance(cloud, example).accounts
    assert accounts["app_b"].privilege == accounts["app_a"].privilege


def test_a_change_in_flight_is_waited_for(cloud: LocalCloud) -> None:
    example = new_secret(cloud, account="app", task_after_requests=5)

    result = cloud.driver("alibaba").rotate(example.arn)

    assert result.succeeded, result.runs
    assert client_logs_in(cloud.value(example.arn, "AWSCURRENT"))
    assert instance(cloud, example).password_changes == 1


def test_status_check_logs_in_as_alibaba_documents(
    cloud: LocalCloud, capsys: pytest.CaptureFixture[str]
) -> None:
    """``status --check`` proves AWSCURRENT with the same AUTH form as the rotation:
    the password alone, or ``<account>:<password>``."""
    prefix = f"alibaba-status{next(_names)}/"
    default = cloud.add_alibaba_secret(f"{prefix}default")
    account = cloud.add_alibaba_secret(f"{prefix}account", account="app")
    for example in (default, account):
        assert cloud.driver("alibaba").rotate(example.arn).succeeded

    def auth() -> tuple[int, dict[str, str]]:
        capsys.readouterr()  # what the functions printed before
        code = main.main(["status", "--json", "--prefix", prefix, "--check"])
        document = json.loads(capsys.readouterr().out)
        return code, {row["name"]: row["auth"] for row in document["secrets"]}

    assert auth() == (0, {default.name: "ok", account.name: "ok"})
    # Changed in the console: status names the endpoint that refuses.
    cloud.alibaba.set_password(account.details["instanceId"], "Console1Pass!", account="app")
    value = cloud.value(account.arn, "AWSCURRENT")
    assert auth() == (
        1,
        {default.name: "ok", account.name: f"refused at {value['host']}:{value['port']}"},
    )
