"""The Alibaba provider's readers of R-KVStore answers and its endpoint choice (the
official SDK's endpoint map as oracle)."""

from __future__ import annotations

from typing import Any

import pytest
from alibabacloud_r_kvstore20150101.client import Client
from alibabacloud_tea_openapi.utils_models import Config

from redis_rotation.errors import (
    InstanceBusyError,
    InstanceStateError,
    ProviderCredentialsError,
    ProviderRetryableError,
    SecretFormatError,
)
from redis_rotation.providers.alibaba.api import (
    CENTRAL_REGIONS,
    default_endpoint,
    instance_status,
    read_accounts,
    read_addresses,
    read_attribute,
)
from redis_rotation.providers.alibaba.errors import error_rule
from redis_rotation.secret import Endpoint, validate

pytestmark = pytest.mark.unit

ALIBABA_SCHEMA = "credentials-alibaba.schema.json"


@pytest.mark.parametrize(
    "region",
    sorted(CENTRAL_REGIONS | {"cn-shanghai", "ap-southeast-1", "eu-central-1", "us-west-1"}),
)
def test_default_endpoint_is_the_sdks(region: str) -> None:
    config = Config(access_key_id="id", access_key_secret="secret", region_id=region)
    assert default_endpoint(region) == f"https://{Client(config)._endpoint}"


def attribute(**fields: Any) -> dict[str, Any]:
    return {"InstanceId": "r-1", "InstanceStatus": "Normal", "VpcAuthMode": "Open", **fields}


def test_instance_status_ready_busy_and_unknown() -> None:
    assert instance_status(attribute(), "r-1").ready
    changing = instance_status(attribute(InstanceStatus="Changing"), "r-1")
    assert (changing.ready, changing.busy, changing.detail) == (False, True, "Changing")
    odd = instance_status(attribute(InstanceStatus="Weird"), "r-1")
    assert (odd.ready, odd.busy) == (False, False)


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"VpcAuthMode": "Close"}, "VpcAuthModeClose"),
        ({"InstanceStatus": "Inactive"}, "Inactive"),
        ({"InstanceStatus": "Released"}, "Released"),
    ],
)
def test_instance_status_refuses_what_a_person_must_fix(fields: dict[str, str], code: str) -> None:
    with pytest.raises(InstanceStateError) as caught:
        instance_status(attribute(**fields), "r-1")
    assert caught.value.code == code


def test_read_attribute_finds_only_the_instance_asked_for() -> None:
    answer = {"Instances": {"DBInstanceAttribute": [attribute(InstanceId="r-2"), attribute()]}}
    assert read_attribute(answer, "r-1")["InstanceId"] == "r-1"
    with pytest.raises(InstanceStateError, match="r-3"):
        read_attribute(answer, "r-3")
    with pytest.raises(InstanceStateError):
        read_attribute({"Instances": "junk"}, "r-1")


def test_read_accounts() -> None:
    answer = {
        "Accounts": {
            "Account": [
                {
                    "AccountName": "app",
                    "AccountStatus": "Available",
                    "AccountType": "Normal",
                    "DatabasePrivileges": {
                        "DatabasePrivilege": [{"AccountPrivilege": "RoleReadOnly"}]
                    },
                },
                {"AccountName": 7},
                "junk",
            ]
        }
    }
    (app,) = read_accounts(answer).values()
    assert (app.name, app.status, app.account_type, app.privilege) == (
        "app",
        "Available",
        "Normal",
        "RoleReadOnly",
    )


def test_read_addresses_takes_both_names_and_skips_bad_ports() -> None:
    items = [
        {"ConnectionString": "R-1.Redis.Rds.Aliyuncs.com", "IPAddress": "10.0.0.5", "Port": "6379"},
        {"ConnectionString": "r-1-pub.redis.rds.aliyuncs.com", "Port": 6380},
        {"ConnectionString": "bad.example", "Port": "70000"},
        {"ConnectionString": "bad2.example", "Port": True},
        {"ConnectionString": "bad3.example", "Port": "63x9"},
    ]
    answer = {"NetInfoItems": {"InstanceNetInfo": items}}
    assert read_addresses(answer) == {
        Endpoint("r-1.redis.rds.aliyuncs.com", 6379),
        Endpoint("10.0.0.5", 6379),
        Endpoint("r-1-pub.redis.rds.aliyuncs.com", 6380),
    }


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("TaskExists", InstanceBusyError),
        ("Throttling.User", ProviderRetryableError),
        ("SignatureNonceUsed", ProviderRetryableError),
        ("InvalidAccessKeyId.NotFound", ProviderCredentialsError),
        ("Forbidden.RAM", ProviderCredentialsError),
        ("InvalidInstanceId.NotFound", InstanceStateError),
    ],
)
def test_error_codes_map_to_the_rotations_errors(code: str, error: type[Exception]) -> None:
    rule = error_rule(code)
    assert rule is not None
    assert rule.error is error


# --- the credentials secret's schema -------------------------------------------------

GRANT: dict[str, Any] = {
    "secrets": ["redis/*"],
    "instances": ["r-bp1*"],
    "region": "cn-hangzhou",
    "accounts": ["app_?"],
}
CREDENTIALS: dict[str, Any] = {
    "accessKeyId": "LTAI5tExample",
    "accessKeySecret": "example-secret",
    "grants": [GRANT],
}


def test_credentials_schema_accepts_keys_and_grants() -> None:
    validate(CREDENTIALS, ALIBABA_SCHEMA, "alibaba-keys")
    validate({**CREDENTIALS, "securityToken": "sts"}, ALIBABA_SCHEMA, "alibaba-keys")


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({k: v for k, v in CREDENTIALS.items() if k != "accessKeySecret"}, "accessKeySecret"),
        ({**CREDENTIALS, "secretKey": "tencent-style"}, "secretKey"),
        ({**CREDENTIALS, "accessKeySecret": "has space"}, "accessKeySecret"),
        ({**CREDENTIALS, "grants": [{**GRANT, "accounts": ["App"]}]}, "grants"),
        ({**CREDENTIALS, "grants": [{**GRANT, "projectId": "p"}]}, "grants"),
    ],
    ids=["no-secret", "unknown-key", "space", "upper-case-account", "project-id"],
)
def test_credentials_schema_names_the_bad_field(document: dict[str, Any], field: str) -> None:
    with pytest.raises(SecretFormatError, match=field) as caught:
        validate(document, ALIBABA_SCHEMA, "alibaba-keys")
    assert "example-secret" not in str(caught.value)
