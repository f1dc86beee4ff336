"""Hostile input in its ElastiCache and Alibaba forms: every field a rotated secret's writer
controls, spoiled with escape sequences, huge values (within Secrets Manager's 64 KiB) or
the wrong type, or aimed at what the keys' owner did not grant. Each is refused with an
error naming the field, before any change request; AWSCURRENT stays and the instance keeps
its password (tests/support/hostile.py runs each case through the real handler against the
local cloud)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from localcloud.cloud import ExampleSecret, LocalCloud
from redis_rotation.errors import (
    InstanceStateError,
    NotPermittedError,
    PasswordPolicyError,
    RotationStateError,
    SecretFormatError,
)
from tests.support.hostile import Case, Value, refused_and_unchanged, with_, without

pytestmark = pytest.mark.e2e

_names = itertools.count()
# Erase the line and fake a verdict; C1 CSI; an OSC title; a bidi override; NUL; a newline.
ESCAPES = {
    "ansi": "\x1b[2K\rok",
    "csi": "\x9b2J",
    "osc": "\x1b]0;pwned\x07",
    "bidi": "\u202egnp.exe",
    "nul": "\x00",
    "newline": "\nok",
}
USER: dict[str, Any] = {"kind": "user"}
TOKEN: dict[str, Any] = {"kind": "token"}
ACCOUNT: dict[str, Any] = {"account": "app"}
ALTERNATING: dict[str, Any] = {"account": "app_a", "alternate": "app_b"}
# Every string field a writer controls, per provider (with the secret options it needs).
STRING_FIELDS: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "elasticache": [
        ("userId", USER),
        ("username", USER),
        ("replicationGroupId", TOKEN),
        ("region", USER),
        ("host", TOKEN),
        ("apiEndpoint", USER),
        ("credentialsSecretId", TOKEN),
    ],
    "alibaba": [
        ("instanceId", {}),
        ("account", ACCOUNT),
        ("region", {}),
        ("host", {}),
        ("apiEndpoint", {}),
        ("strategy", ALTERNATING),
    ],
}


def _appended(name: str, escape: str) -> Callable[[Value], Value]:
    return lambda value: {**value, name: f"{value[name]}{escape}"}


def _escape_cases() -> list[Case]:
    return [
        Case(f"{provider}-{name}-{kind}", "createSecret", SecretFormatError, f"field '{name}'",
             provider=provider, options=options, current=_appended(name, escape))
        for provider, fields in STRING_FIELDS.items()
        for name, options in fields
        for kind, escape in ESCAPES.items()
    ]  # fmt: skip


def _accounts_escape(value: dict[str, Any]) -> dict[str, Any]:
    return {**value, "accounts": [value["accounts"][0], "app_b\x1b[2K"]}


CASES = [
    *_escape_cases(),
    # -- ElastiCache: the fields of each kind ----------------------------------------------
    Case("ec-user-id-upper-case", "createSecret", SecretFormatError, "field 'userId'",
         provider="elasticache", options=USER, current=with_(userId="User-1")),
    Case("ec-user-id-huge", "createSecret", SecretFormatError, "field 'userId'",
         provider="elasticache", options=USER, current=with_(userId="u" * 10_000)),
    Case("ec-user-id-number", "createSecret", SecretFormatError,
         "field 'userId' must be of type string", provider="elasticache", options=USER,
         current=with_(userId=12)),
    Case("ec-user-and-group", "createSecret", SecretFormatError, "replicationGroupId",
         provider="elasticache", options=USER, current=with_(replicationGroupId="rg-1")),
    Case("ec-neither-user-nor-group", "createSecret", SecretFormatError, "userId",
         provider="elasticache", options=USER, current=without("userId", "username")),
    Case("ec-user-without-username", "createSecret", SecretFormatError, "field 'username'",
         provider="elasticache", options=USER, current=without("username")),
    Case("ec-username-huge", "createSecret", SecretFormatError,
         "field 'username' breaks maxLength", provider="elasticache", options=USER,
         current=with_(username="u" * 129)),
    Case("ec-token-with-username", "createSecret", SecretFormatError, "field 'username'",
         provider="elasticache", options=TOKEN, current=with_(username="default")),
    Case("ec-group-id-list", "createSecret", SecretFormatError,
         "field 'replicationGroupId' must be of type string", provider="elasticache",
         options=TOKEN, current=with_(replicationGroupId=["rg-1"])),
    Case("ec-strict-string", "createSecret", SecretFormatError,
         "field 'strict' must be of type boolean", provider="elasticache", options=USER,
         current=with_(strict="false")),
    Case("ec-other-region", "createSecret", NotPermittedError, "field 'region'",
         provider="elasticache", options=TOKEN, current=with_(region="eu-west-1")),
    Case("ec-instance-id", "createSecret", SecretFormatError,
         "field 'instanceId' is not allowed for this provider", provider="elasticache",
         options=TOKEN, current=with_(instanceId="r-1")),
    Case("ec-account", "createSecret", SecretFormatError, "field 'account'",
         provider="elasticache", options=USER, current=with_(account="app")),
    Case("ec-port-string", "createSecret", SecretFormatError,
         "field 'port' must be of type integer", provider="elasticache", options=TOKEN,
         current=with_(port="6379")),
    Case("ec-read-only-endpoints-string", "createSecret", SecretFormatError,
         "field 'readOnlyEndpoints' must be of type array", provider="elasticache",
         options=USER, current=with_(readOnlyEndpoints="127.0.0.1:6379")),
    Case("ec-read-only-endpoint-escape", "createSecret", SecretFormatError,
         "field 'readOnlyEndpoints.0.host'", provider="elasticache", options=TOKEN,
         current=with_(readOnlyEndpoints=[{"host": "10.0.0.1\x1b[2K", "port": 6379}])),
    Case("ec-pending-other-user", "createSecret", NotPermittedError, "field 'userId'",
         provider="elasticache", options=USER, pending=with_(userId="user-victim")),
    Case("ec-pending-other-group", "createSecret", NotPermittedError,
         "field 'replicationGroupId'", provider="elasticache", options=TOKEN,
         pending=with_(replicationGroupId="rg-victim")),
    # The user's own name is checked first (DescribeUsers), before AWSCURRENT's.
    Case("ec-pending-other-username", "setSecret", InstanceStateError,
         "field 'username' is not the name of user", provider="elasticache", options=USER,
         pending=with_(username="default", password="Pending-by-hand-0123456")),
    Case("ec-pending-other-endpoint", "createSecret", NotPermittedError, "field 'apiEndpoint'",
         provider="elasticache", options=TOKEN, pending=with_(apiEndpoint="https://evil.example")),
    Case("ec-pending-password-short", "setSecret", PasswordPolicyError, "outside",
         provider="elasticache", options=TOKEN, pending=with_(password="Short-1")),
    # -- Alibaba: instance, accounts, strategy -------------------------------------------
    Case("ali-instance-id-huge", "createSecret", SecretFormatError, "field 'instanceId'",
         provider="alibaba", current=with_(instanceId="r-" + "b" * 10_000)),
    Case("ali-instance-id-object", "createSecret", SecretFormatError,
         "field 'instanceId' must be of type string", provider="alibaba",
         current=with_(instanceId={"id": "r-1"})),
    Case("ali-missing-instance-id", "createSecret", SecretFormatError,
         "field 'instanceId' is required", provider="alibaba", current=without("instanceId")),
    Case("ali-user-id", "createSecret", SecretFormatError,
         "field 'userId' applies to provider elasticache only", provider="alibaba",
         current=with_(userId="user-1")),
    Case("ali-account-number", "createSecret", SecretFormatError,
         "field 'account' must be of type string", provider="alibaba", options=ACCOUNT,
         current=with_(account=7)),
    Case("ali-account-huge", "createSecret", SecretFormatError, "field 'account'",
         provider="alibaba", options=ACCOUNT, current=with_(account="a" * 10_000)),
    Case("ali-strategy-unknown", "createSecret", SecretFormatError,
         "field 'strategy' must be one of", provider="alibaba", options=ALTERNATING,
         current=with_(strategy="rolling")),
    Case("ali-accounts-string", "createSecret", SecretFormatError,
         "field 'accounts' must be of type array", provider="alibaba", options=ALTERNATING,
         current=with_(accounts="app_a,app_b")),
    Case("ali-accounts-three", "createSecret", SecretFormatError, "field 'accounts'",
         provider="alibaba", options=ALTERNATING,
         current=with_(accounts=["app_a", "app_b", "app_c"])),
    Case("ali-accounts-escape", "createSecret", SecretFormatError, "field 'accounts.1'",
         provider="alibaba", options=ALTERNATING, current=_accounts_escape),
    Case("ali-account-outside-the-pair", "createSecret", SecretFormatError,
         "must be one of 'accounts'", provider="alibaba", options=ALTERNATING,
         current=with_(accounts=["app_b", "app_c"])),
    Case("ali-alternating-without-accounts", "createSecret", SecretFormatError,
         "field 'accounts'", provider="alibaba", options=ALTERNATING,
         current=without("accounts")),
    Case("ali-create-missing-string", "createSecret", SecretFormatError,
         "field 'createMissingAccount' must be of type boolean", provider="alibaba",
         options=ALTERNATING, current=with_(createMissingAccount="yes")),
    Case("ali-read-only-endpoints-number", "createSecret", SecretFormatError,
         "field 'readOnlyEndpoints' must be of type array", provider="alibaba",
         current=with_(readOnlyEndpoints=6379)),
    Case("ali-strict", "createSecret", SecretFormatError, "field 'strict'",
         provider="alibaba", current=with_(strict=True)),
    Case("ali-pending-other-instance", "createSecret", NotPermittedError, "field 'instanceId'",
         provider="alibaba", pending=with_(instanceId="r-victim")),
    Case("ali-pending-other-region", "createSecret", NotPermittedError, "field 'region'",
         provider="alibaba", pending=with_(region="cn-beijing")),
    Case("ali-pending-other-account", "createSecret", NotPermittedError, "field 'account'",
         provider="alibaba", options=ACCOUNT,
         pending=with_(account="other_app", password="Pending-by-hand-22")),
    Case("ali-pending-same-account-alternating", "setSecret", RotationStateError,
         "field 'account' is AWSCURRENT's account", provider="alibaba", options=ALTERNATING,
         pending=with_(password="Pending-by-hand-22")),
    Case("ali-pending-password-one-kind", "setSecret", PasswordPolicyError, "kinds",
         provider="alibaba", pending=with_(password="abcdefghijklmnop")),
    Case("ali-pending-password-colon", "setSecret", PasswordPolicyError, "character outside",
         provider="alibaba", options=ACCOUNT, pending=with_(password="Pending:by-hand-22")),
]  # fmt: skip


def new_secret(cloud: LocalCloud, case: Case) -> ExampleSecret:
    name = f"hostile/{case.provider}-{next(_names)}"
    if case.provider == "elasticache":
        return cloud.add_elasticache_secret(name, **case.options)
    return cloud.add_alibaba_secret(name, **case.options)


# What would change an instance: ElastiCache's and Alibaba's change actions.
CHANGES = {
    "elasticache": ("ModifyUser", "ModifyReplicationGroup"),
    "alibaba": ("ModifyInstanceAttribute", "ResetAccountPassword", "CreateAccount"),
}


def change_requests(cloud: LocalCloud, provider: str) -> int:
    """Change requests the provider's emulator received, whatever their outcome."""
    emulator = cloud.elasticache if provider == "elasticache" else cloud.alibaba
    return sum(emulator.count(action, None) for action in CHANGES[provider])


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input_is_refused_and_changes_nothing(
    cloud: LocalCloud, case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    example = new_secret(cloud, case)
    refused_and_unchanged(
        cloud, case, example, lambda: change_requests(cloud, case.provider), monkeypatch
    )


def test_every_escape_in_every_string_field() -> None:
    ids = {c.id for c in CASES}
    assert len(ids) == len(CASES)
    for provider, fields in STRING_FIELDS.items():
        for name, _ in fields:
            assert {f"{provider}-{name}-{kind}" for kind in ESCAPES} <= ids
