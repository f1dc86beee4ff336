"""Hostile input: each case is refused with an error that names the problem, before any
change request, and nothing changes (AWSCURRENT, the instance's password).

Every case runs through the real handler against the local cloud: a valid secret is
created, a rotation is started (RotateSecret's empty AWSPENDING stub), the case spoils one
thing, and the steps run in order until the expected one fails.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from localcloud.cloud import ExampleSecret, LocalCloud
from redis_rotation.errors import (
    ConfigurationError,
    CredentialsSecretError,
    InstanceStateError,
    NotPermittedError,
    PasswordPolicyError,
    RotationStateError,
    SecretFormatError,
)
from tests.support.hostile import Case, refused_and_unchanged, renamed, with_, without

pytestmark = pytest.mark.e2e

_names = itertools.count()
# A grant that allows everything, for cases about another part of the credentials secret.
ANY_GRANT = {"secrets": ["*"], "instances": ["*"], "region": "ap-guangzhou"}
# Tencent secrets of a custom account, and of alternating accounts.
ACCOUNT: dict[str, Any] = {"account": "app"}
ALTERNATING: dict[str, Any] = {"account": "app", "alternate": "app_b"}


CASES = [
    # -- the event -------------------------------------------------------------------------
    Case("event-not-object", "createSecret", RotationStateError, "must be a JSON object",
         event=lambda e: [e]),
    Case("event-missing-step", "createSecret", RotationStateError, "'Step' is missing",
         event=lambda e: {k: v for k, v in e.items() if k != "Step"}),
    Case("event-unknown-step", "createSecret", RotationStateError, "'Step' is not one of",
         event=lambda e: {**e, "Step": "deleteSecret"}),
    Case("event-missing-secret-id", "createSecret", RotationStateError, "'SecretId' is missing",
         event=lambda e: {k: v for k, v in e.items() if k != "SecretId"}),
    Case("event-missing-token", "createSecret", RotationStateError,
         "'ClientRequestToken' is missing",
         event=lambda e: {k: v for k, v in e.items() if k != "ClientRequestToken"}),
    Case("event-token-not-a-string", "createSecret", RotationStateError, "'ClientRequestToken'",
         event=lambda e: {**e, "ClientRequestToken": 12}),
    Case("event-rotation-token-not-a-string", "createSecret", RotationStateError,
         "'RotationToken' is not a string", event=lambda e: {**e, "RotationToken": ["x"]}),
    Case("event-unknown-token", "createSecret", RotationStateError, "has no stage for rotation",
         event=lambda e: {**e, "ClientRequestToken": "00000000-0000-4000-8000-000000000000"}),
    Case("rotation-disabled", "createSecret", RotationStateError,
         "does not have rotation enabled", rotation_enabled=False),
    Case("event-unknown-secret", "createSecret", RotationStateError,
         "ResourceNotFoundException", event=lambda e: {**e, "SecretId": "no/such/secret"}),
    # -- the current secret ----------------------------------------------------------------
    Case("current-not-json", "createSecret", SecretFormatError, "is not valid JSON",
         current='{"provider": "uredis", "password": '),
    Case("current-json-array", "createSecret", SecretFormatError, "must be a JSON object",
         current="[1, 2, 3]"),
    Case("current-missing-provider", "createSecret", SecretFormatError,
         "field 'provider' is required", current=without("provider")),
    Case("current-unknown-provider", "createSecret", SecretFormatError,
         "field 'provider' must be one of", current=with_(provider="redislabs")),
    Case("current-other-provider", "createSecret", SecretFormatError,
         "is 'tencent' but this function rotates 'uredis'", secret_provider="tencent"),
    Case("current-other-provider-tencent", "createSecret", SecretFormatError,
         "is 'uredis' but this function rotates 'tencent'", provider="tencent",
         secret_provider="uredis"),
    Case("current-missing-host", "createSecret", SecretFormatError, "field 'host' is required",
         current=without("host")),
    Case("current-port-string", "createSecret", SecretFormatError,
         "field 'port' must be of type integer", current=with_(port="6379")),
    Case("current-port-range", "createSecret", SecretFormatError, "field 'port' breaks maximum",
         current=with_(port=70000)),
    Case("current-missing-password", "createSecret", SecretFormatError,
         "field 'password' is required", current=without("password")),
    Case("current-empty-password", "createSecret", SecretFormatError,
         "field 'password' breaks minLength", current=with_(password="")),
    Case("current-nonprintable-password", "createSecret", SecretFormatError,
         "field 'password' has characters", current=with_(password="bell\x07ring")),
    Case("current-password-with-space", "createSecret", SecretFormatError,
         "field 'password' has characters", current=with_(password="two words")),
    Case("current-oversized-password", "createSecret", SecretFormatError,
         "field 'password' breaks maxLength", current=with_(password="p" * 129)),
    Case("current-oversized-host", "createSecret", SecretFormatError,
         "field 'host' breaks maxLength", current=with_(host="h" * 254)),
    Case("current-extra-field", "createSecret", SecretFormatError,
         "field 'dbname' is not a known field", current=with_(dbname="cache")),
    Case("current-tls-mistyped", "createSecret", SecretFormatError,
         "field 'tls.enabled' must be of type boolean", current=with_(tls={"enabled": "no"})),
    Case("current-tls-unknown-key", "createSecret", SecretFormatError,
         "field 'tls.insecure' is not a known field", current=with_(tls={"insecure": True})),
    Case("current-ca-not-pem", "createSecret", SecretFormatError,
         "field 'tls.caCertificate' has characters", current=with_(tls={"caCertificate": "x"})),
    Case("current-endpoint-ftp", "createSecret", SecretFormatError,
         "field 'apiEndpoint' has characters", current=with_(apiEndpoint="ftp://api.ucloud.cn")),
    Case("current-readonly-endpoint-incomplete", "createSecret", SecretFormatError,
         "field 'readOnlyEndpoints.0.port' is required",
         current=with_(readOnlyEndpoints=[{"host": "10.0.0.9"}])),
    Case("current-region-bad", "createSecret", SecretFormatError, "field 'region' has characters",
         current=with_(region="cn bj2")),
    Case("current-missing-credentials-ref", "createSecret", SecretFormatError,
         "field 'credentialsSecretId' is required", current=without("credentialsSecretId")),
    Case("uredis-missing-group", "createSecret", SecretFormatError, "field 'groupId' is required",
         current=without("groupId")),
    Case("uredis-with-instance-id", "createSecret", SecretFormatError,
         "field 'instanceId' is not allowed for this provider", current=with_(instanceId="crs-1")),
    Case("uredis-space-with-group-id", "createSecret", SecretFormatError,
         "field 'groupId' cannot be given with spaceId", space=True,
         current=with_(groupId="uredis-1")),
    Case("uredis-space-without-zone", "createSecret", SecretFormatError,
         "field 'zone' is required", space=True, current=without("zone")),
    Case("uredis-group-named-as-space", "setSecret", InstanceStateError,
         "is a master-replica group (set groupId)", current=renamed("groupId", "spaceId")),
    Case("uredis-space-named-as-group", "setSecret", InstanceStateError,
         "is a distributed space (set spaceId)", space=True,
         current=renamed("spaceId", "groupId")),
    Case("tencent-with-space-id", "createSecret", SecretFormatError,
         "field 'spaceId' is not allowed for this provider", provider="tencent",
         current=with_(spaceId="umem-1")),
    Case("tencent-missing-instance", "createSecret", SecretFormatError,
         "field 'instanceId' is required", provider="tencent", current=without("instanceId")),
    Case("tencent-with-group-id", "createSecret", SecretFormatError,
         "field 'groupId' is not allowed for this provider", provider="tencent",
         current=with_(groupId="uredis-1")),
    Case("tencent-unknown-api-version", "createSecret", SecretFormatError,
         "field 'apiVersion' must be one of", provider="tencent", current=with_(apiVersion="4.0")),
    Case("tencent-unknown-change-mode", "createSecret", SecretFormatError,
         "field 'changeMode' must be one of", provider="tencent",
         current=with_(apiVersion="3.0", changeMode="wipe")),
    # -- the pending secret: refused by the keys' owner's binding, before a change --------
    Case("pending-other-host", "setSecret", NotPermittedError, "field 'host'",
         pending=with_(host="10.66.6.6")),
    Case("pending-other-group", "createSecret", NotPermittedError, "field 'groupId'",
         pending=with_(groupId="uredis-victim")),
    Case("pending-other-space", "createSecret", NotPermittedError, "field 'spaceId'",
         space=True, pending=with_(spaceId="umem-victim")),
    Case("pending-other-region", "createSecret", NotPermittedError, "field 'region'",
         pending=with_(region="cn-sh2")),
    Case("pending-other-endpoint", "createSecret", NotPermittedError, "field 'apiEndpoint'",
         pending=with_(apiEndpoint="https://evil.example")),
    Case("pending-other-instance", "createSecret", NotPermittedError, "field 'instanceId'",
         provider="tencent", pending=with_(instanceId="crs-victim")),
    Case("pending-other-username", "setSecret", RotationStateError,
         "field 'username' differs from AWSCURRENT",
         pending=with_(username="default", password="Pending_by_hand_2")),
    Case("pending-password-too-short", "setSecret", PasswordPolicyError, "outside 6-36",
         pending=with_(password="abc12")),
    Case("pending-password-bad-chars", "setSecret", PasswordPolicyError, "character outside",
         pending=with_(password="has!bang!chars")),
    Case("pending-tencent-one-kind", "setSecret", PasswordPolicyError, "fewer than 2 kinds",
         provider="tencent", pending=with_(password="abcdefghijkl")),
    Case("pending-empty-password", "createSecret", SecretFormatError,
         "field 'password' breaks minLength", pending=with_(password="")),
    # -- custom accounts -------------------------------------------------------------------
    Case("account-root", "createSecret", SecretFormatError, "Tencent's default account",
         current=with_(account="root"), provider="tencent", options=ACCOUNT),
    Case("account-with-change-mode", "createSecret", SecretFormatError, "default account only",
         current=with_(changeMode="reset"), provider="tencent", options=ACCOUNT),
    Case("account-with-username", "createSecret", SecretFormatError,
         "field 'username' cannot be used with account", current=with_(username="app"),
         provider="tencent", options=ACCOUNT),
    Case("account-on-api-2", "createSecret", SecretFormatError,
         "field 'account' applies to apiVersion 3.0 only", current=with_(apiVersion="2.0"),
         provider="tencent", options=ACCOUNT),
    Case("account-with-at", "createSecret", SecretFormatError, "field 'account' has characters",
         current=with_(account="app@x"), provider="tencent", options=ACCOUNT),
    Case("alternating-account-outside-the-pair", "createSecret", SecretFormatError,
         "must be one of 'accounts'", current=with_(accounts=["app_b", "app_c"]),
         provider="tencent", options=ALTERNATING),
    Case("pending-other-account", "createSecret", NotPermittedError, "field 'account'",
         pending=with_(account="other_app", password="Pending-by-hand-22"),
         provider="tencent", options=ACCOUNT),
    Case("pending-same-account-alternating", "setSecret", RotationStateError,
         "field 'account' is AWSCURRENT's account",
         pending=with_(password="Pending-by-hand-22"), provider="tencent", options=ALTERNATING),
    Case("pending-account-password-with-at", "setSecret", PasswordPolicyError,
         "character outside", pending=with_(password="Pending@hand-22"), provider="tencent",
         options=ACCOUNT),
    Case("pending-account-password-slash", "setSecret", PasswordPolicyError,
         "character outside", pending=with_(password="/Pending-hand-22"), provider="tencent",
         options=ACCOUNT),
    # -- the credentials secret --------------------------------------------------------------
    Case("credentials-missing", "createSecret", CredentialsSecretError,
         "ResourceNotFoundException", current=with_(credentialsSecretId="no/such/keys")),
    Case("credentials-not-json", "createSecret", CredentialsSecretError, "is not valid JSON",
         credentials="publicKey=x privateKey=y"),
    Case("credentials-missing-key", "createSecret", CredentialsSecretError,
         "field 'privateKey' is required", credentials=json.dumps({"publicKey": "pk"})),
    Case("credentials-without-grants", "createSecret", CredentialsSecretError,
         "field 'grants' is required",
         credentials=json.dumps({"publicKey": "pk", "privateKey": "k"})),
    Case("credentials-grant-for-others", "createSecret", NotPermittedError,
         "grants this secret nothing",
         credentials=json.dumps({"publicKey": "pk", "privateKey": "k", "grants": [
             {"secrets": ["team-b/*"], "instances": ["*"], "region": "cn-bj2"}]})),
    Case("credentials-extra-field", "createSecret", CredentialsSecretError,
         "field 'region' is not a known field", provider="tencent",
         credentials=json.dumps({"secretId": "AKID", "secretKey": "k", "region": "x",
                                 "grants": [ANY_GRANT]})),
    # -- the function's configuration ------------------------------------------------------
    Case("config-length-out-of-range", "createSecret", ConfigurationError,
         "PASSWORD_LENGTH=37 is outside 6-36", env={"PASSWORD_LENGTH": "37"}),
    Case("config-length-not-a-number", "createSecret", ConfigurationError,
         "PASSWORD_LENGTH must be a whole number", env={"PASSWORD_LENGTH": "long"}),
    Case("config-timeout-not-a-number", "createSecret", ConfigurationError,
         "HTTP_TIMEOUT must be a number", env={"HTTP_TIMEOUT": "soon"}),
    Case("config-plain-http-endpoint", "createSecret", SecretFormatError,
         "field 'apiEndpoint' uses plain HTTP", current=with_(apiEndpoint="http://api.ucloud.cn")),
]  # fmt: skip


def new_secret(
    cloud: LocalCloud, provider: str, options: dict[str, Any], space: bool = False
) -> ExampleSecret:
    name = f"hostile/{provider}-{next(_names)}"
    if provider == "uredis":
        return cloud.add_uredis_secret(name, space=space)
    return cloud.add_tencent_secret(name, api_version="3.0", **options)


# Reads (DescribeUMem, DescribeInstances) of an admitted instance at an allowed endpoint may
# run before a refusal: where a password may go is the provider's answer.
CHANGES = {
    "ModifyURedisGroupPassword",
    "ModifyUMemPassword",
    "ModfiyRedisPassword",
    "ModifyInstancePassword",
    "ResetPassword",
    "ModifyInstanceAccount",
    "CreateInstanceAccount",
}


def provider_calls(cloud: LocalCloud) -> int:
    """Change requests the emulators received."""
    return sum(1 for c in [*cloud.uredis.calls, *cloud.tencent.calls] if c.action in CHANGES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input_is_refused_and_changes_nothing(
    cloud: LocalCloud, case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    example = new_secret(cloud, case.secret_provider or case.provider, case.options, case.space)
    refused_and_unchanged(cloud, case, example, lambda: provider_calls(cloud), monkeypatch)


def test_there_are_at_least_forty_cases() -> None:
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)
