"""Which API class a secret gets, and what every documented Tencent error code means, for
each API: the provider's error mapping, redaction of what Tencent echoes."""

from __future__ import annotations

from typing import Any

import pytest

from redis_rotation import passwords
from redis_rotation.errors import (
    InstanceBusyError,
    InstanceStateError,
    OldPasswordRejectedError,
    PasswordPolicyError,
    ProviderCredentialsError,
    ProviderError,
    ProviderRetryableError,
    RotationError,
    SecretFormatError,
)
from tests.support.inspection import UNSEEN
from tests.unit.tencent.support import (
    APIS,
    BASE,
    CHANGE_ACTION,
    CURRENT,
    KEYS,
    NEW,
    V2,
    V3_MODIFY,
    Make,
    secret,
    v2_error,
    v3_error,
)

pytestmark = pytest.mark.unit


# -- the secret's choice of API ------------------------------------------------------------


@pytest.mark.parametrize(
    ("api", "policy", "needs_old"),
    [
        ("v2", passwords.TENCENT_V2, True),
        ("v3-modify", passwords.TENCENT_V3_MODIFY, True),
        ("v3-reset", passwords.TENCENT_V3_RESET, False),
    ],
)
def test_policy_and_old_password_follow_the_api(
    make: Make, api: str, policy: passwords.PasswordPolicy, needs_old: bool
) -> None:
    provider = make().provider
    assert provider.policy(secret(APIS[api])) is policy
    assert provider.needs_old_password(secret(APIS[api])) is needs_old


def test_api_3_0_is_the_default_and_2_0_is_kept_when_asked(make: Make) -> None:
    """Tencent retired API 2.0 for Redis: a secret without apiVersion uses 3.0 (modify)."""
    provider = make().provider
    assert provider.policy(secret(BASE)) is passwords.TENCENT_V3_MODIFY
    assert provider.policy(secret(BASE, changeMode="reset")) is passwords.TENCENT_V3_RESET
    assert provider.policy(secret(V2)) is passwords.TENCENT_V2
    assert provider.policy(secret(V3_MODIFY, changeMode="modify")) is passwords.TENCENT_V3_MODIFY
    # The schema follows: without apiVersion, a field of 2.0 alone is refused.
    with pytest.raises(SecretFormatError) as caught:
        provider.policy(secret(BASE, signatureMethod="HmacSHA1"))
    assert caught.value.field == "signatureMethod"


@pytest.mark.parametrize(
    ("value", "field_name"),
    [
        ({**V2, "changeMode": "reset"}, "changeMode"),
        ({**V3_MODIFY, "signatureMethod": "HmacSHA1"}, "signatureMethod"),
    ],
)
def test_fields_of_the_other_api_are_refused(
    make: Make, value: dict[str, Any], field_name: str
) -> None:
    # A 2.0 secret asking for reset must not silently be changed with the old password.
    with pytest.raises(SecretFormatError) as caught:
        make().provider.policy(secret(value))
    assert caught.value.field == field_name


# -- error codes -----------------------------------------------------------------------------

V2_CODES: list[tuple[int, str, type[RotationError]]] = [
    (10502, "OldPasswordError", OldPasswordRejectedError),
    (10701, "InstanceNotExists", InstanceStateError),
    (10707, "InstanceLockedError", InstanceStateError),
    (10702, "InstanceStatusAbnormal", InstanceBusyError),
    (11058, "PasswordRuleError", PasswordPolicyError),
    (10501, "PasswordEmpty", PasswordPolicyError),
    (4400, "", ProviderRetryableError),
    (4500, "", ProviderRetryableError),
    (4100, "", ProviderCredentialsError),
    (4101, "", ProviderCredentialsError),
    (4110, "", ProviderCredentialsError),
    (11201, "InvalidParameter", ProviderError),
    (5100, "", ProviderError),
    # A business error reported under a common code is still recognised by its codeDesc.
    (4000, "OldPasswordError", OldPasswordRejectedError),
]
V3_CODES: list[tuple[str, type[RotationError]]] = [
    ("InvalidParameterValue.PasswordError", OldPasswordRejectedError),
    ("ResourceNotFound.InstanceNotExists", InstanceStateError),
    ("ResourceUnavailable.InstanceLockedError", InstanceStateError),
    ("ResourceUnavailable.InstanceStatusAbnormal", InstanceBusyError),
    ("InvalidParameterValue.PasswordRuleError", PasswordPolicyError),
    ("InvalidParameterValue.PasswordEmpty", PasswordPolicyError),
    ("RequestLimitExceeded", ProviderRetryableError),
    ("RequestLimitExceeded.UinLimitExceeded", ProviderRetryableError),
    ("InternalError", ProviderRetryableError),
    ("InternalError.InternalError", ProviderRetryableError),
    ("FailedOperation.SystemError", ProviderRetryableError),
    ("AuthFailure.SignatureFailure", ProviderCredentialsError),
    ("AuthFailure.SecretIdNotFound", ProviderCredentialsError),
    ("AuthFailure.SignatureExpire", ProviderCredentialsError),
    ("UnauthorizedOperation.NoCAMAuthed", ProviderCredentialsError),
    ("InvalidParameter", ProviderError),
    ("RequestLimitExceededSoon", ProviderError),  # a family is a code and its sub-codes
]


@pytest.mark.parametrize(("code", "description", "expected"), V2_CODES)
def test_v2_error_codes(
    make: Make, code: int, description: str, expected: type[RotationError]
) -> None:
    harness = make({"ModfiyRedisPassword": [v2_error(code, description)]})
    with pytest.raises(RotationError) as caught:
        harness.provider.change_password(secret(V2), UNSEEN, NEW, CURRENT)
    assert type(caught.value) is expected
    assert str(code) in str(caught.value)
    assert len(harness.transport.sent) == 1, "a change is never retried by the provider"


@pytest.mark.parametrize(("code", "expected"), V3_CODES)
@pytest.mark.parametrize("api", ["v3-modify", "v3-reset"])
def test_v3_error_codes(make: Make, api: str, code: str, expected: type[RotationError]) -> None:
    harness = make({CHANGE_ACTION[api]: [v3_error(code)]})
    with pytest.raises(RotationError) as caught:
        harness.provider.change_password(secret(APIS[api]), UNSEEN, NEW, CURRENT)
    assert type(caught.value) is expected
    assert code in str(caught.value)
    assert len(harness.transport.sent) == 1


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("ResourceNotFound.InstanceNotExists", "check instanceId and region"),
        ("ResourceUnavailable.InstanceLockedError", "unlock it"),
        ("ResourceUnavailable.InstanceStatusAbnormal", "check the instance in the console"),
        ("InvalidParameterValue.PasswordRuleError", "a bug"),
        ("AuthFailure.SignatureFailure", "check the keys in tencent-keys"),
        ("AuthFailure.SignatureExpire", "check the system clock"),
    ],
)
def test_errors_say_what_to_do(make: Make, code: str, words: str) -> None:
    harness = make({"ModifyInstancePassword": [v3_error(code)]})
    with pytest.raises(RotationError, match=words):
        harness.provider.change_password(secret(V3_MODIFY), UNSEEN, NEW, CURRENT)


def test_rule_errors_name_the_local_policy(make: Make) -> None:
    harness = make({"ModfiyRedisPassword": [v2_error(11058, "PasswordRuleError")]})
    with pytest.raises(PasswordPolicyError) as caught:
        harness.provider.change_password(secret(V2), UNSEEN, NEW, CURRENT)
    assert passwords.TENCENT_V2.name in str(caught.value)


@pytest.mark.parametrize("api", ["v2", "v3-modify"])
def test_provider_messages_are_redacted(make: Make, api: str) -> None:
    keys = {**KEYS, "token": "tmp-token-secret"}
    leaked = f"bad: {NEW} / {CURRENT} / {keys['secretKey']} / {keys['token']} / {keys['secretId']}"
    answer = v2_error(5100, "", leaked) if api == "v2" else v3_error("FailedOperation", leaked)
    harness = make({CHANGE_ACTION[api]: [answer]}, keys=keys)
    with pytest.raises(ProviderError) as caught:
        harness.provider.change_password(secret(APIS[api]), UNSEEN, NEW, CURRENT)
    text = str(caught.value)
    assert "***" in text
    for value in (NEW, CURRENT, *keys.values()):
        assert value not in text


@pytest.mark.parametrize(
    ("api", "answer"),
    [
        ("v2", {"message": "no code"}),
        ("v2", ["not", "an", "object"]),
        ("v3-modify", {"code": 0}),
        ("v3-modify", {"Response": {"Error": "flat"}}),
    ],
)
def test_unreadable_answers_are_retryable(make: Make, api: str, answer: Any) -> None:
    harness = make({CHANGE_ACTION[api]: [answer]})
    with pytest.raises(ProviderRetryableError, match="InvalidAnswer"):
        harness.provider.change_password(secret(APIS[api]), UNSEEN, NEW, CURRENT)
