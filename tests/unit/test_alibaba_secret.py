"""An Alibaba secret: what the schema admits, and the AUTH form Alibaba documents for a
custom account (``AUTH <account>:<password>``, one argument) in the function's proof and
in the applications' client alike."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from redis_rotation.errors import SecretFormatError
from redis_rotation.secret import parse_secret
from redis_rotation_client.secret import credentials_of

pytestmark = pytest.mark.unit

VALUE: dict[str, Any] = {
    "provider": "alibaba",
    "host": "r-bp1abc.redis.rds.aliyuncs.com",
    "port": 6379,
    "password": "Pass1word!",
    "region": "cn-hangzhou",
    "instanceId": "r-bp1abc",
    "credentialsSecretId": "alibaba-keys",
}


def test_default_account_sends_the_password_alone() -> None:
    secret = parse_secret(json.dumps(VALUE), "s")
    assert secret.auth("Pass1word!") == (None, "Pass1word!")
    assert credentials_of(VALUE, "s").auth_args() == ("Pass1word!",)


def test_custom_account_sends_account_colon_password() -> None:
    value = {**VALUE, "account": "app_a", "strategy": "alternating", "accounts": ["app_a", "app_b"]}
    secret = parse_secret(json.dumps(value), "s")
    assert secret.auth("Pass1word!") == (None, "app_a:Pass1word!")
    assert credentials_of(value, "s").auth_args() == ("app_a:Pass1word!",)


def test_tencent_keeps_its_own_separator() -> None:
    value = {**VALUE, "provider": "tencent", "apiVersion": "3.0", "account": "app"}
    assert parse_secret(json.dumps(value), "s").auth("Pass1word!") == (None, "app@Pass1word!")
    assert credentials_of(value, "s").auth_args() == ("app@Pass1word!",)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"instanceId": None}, "instanceId"),
        ({"groupId": "g-1"}, "groupId"),
        ({"apiVersion": "3.0"}, "apiVersion"),
        ({"changeMode": "reset"}, "changeMode"),
        ({"zone": "cn-hangzhou-h"}, "zone"),
    ],
)
def test_schema_refuses_other_providers_fields(change: dict[str, Any], field: str) -> None:
    value = {k: v for k, v in {**VALUE, **change}.items() if v is not None}
    with pytest.raises(SecretFormatError, match=field):
        parse_secret(json.dumps(value), "s")


def test_account_rules_speak_of_alibaba_not_tencent() -> None:
    # "root" is Tencent's default account, not Alibaba's (named after the instance).
    assert parse_secret(json.dumps({**VALUE, "account": "root"}), "s").auth("P") == (None, "root:P")
    with pytest.raises(SecretFormatError, match=re.escape("AUTH <account>:<password>")) as caught:
        parse_secret(json.dumps({**VALUE, "account": "app", "username": "app"}), "s")
    assert "field 'username'" in str(caught.value)
