"""What Tencent's documented error codes mean for a rotation, for API 2.0 and 3.0 alike."""

from __future__ import annotations

import re
from collections.abc import Mapping

from redis_rotation.errors import (
    InstanceBusyError,
    InstanceStateError,
    OldPasswordRejectedError,
    PasswordPolicyError,
    ProviderCredentialsError,
    ProviderRetryableError,
)
from redis_rotation.providers.base import ErrorRule

_OLD_REFUSED = ErrorRule(OldPasswordRejectedError, "the instance refused the old password")
_NOT_FOUND = ErrorRule(
    InstanceStateError,
    "there is no instance {instance} in region {region}: check instanceId and region",
)
_LOCKED = ErrorRule(
    InstanceStateError,
    "instance {instance} is locked: wait for the operation holding the lock or unlock it in "
    "the console, then rotate again",
)
_BUSY = ErrorRule(
    InstanceBusyError,
    "instance {instance} is not in a state that allows a change (a task in process, or "
    "isolated/deleted): waiting; if it persists, check the instance in the console",
)
# The engine checks every new password against the local policy before sending it, so
# Tencent refusing one means the policy and Tencent's rule disagree: a bug to fix, not to
# retry. PasswordPolicyError is not a ProviderError, so the engine never retries it.
_RULE_BROKEN = ErrorRule(
    PasswordPolicyError,
    "Tencent refused the new password although it passed the local policy {policy}: the "
    "policy and Tencent's rule disagree (a bug; the instance was not changed)",
)
_EMPTY = ErrorRule(
    PasswordPolicyError,
    "Tencent saw an empty password although the local policy forbids it (a bug; the "
    "instance was not changed)",
)
_NO_ACCOUNT = ErrorRule(
    InstanceStateError,
    "instance {instance} has no such account: create it in the console (or check the "
    "secret's account), then rotate again",
)
_RETRY = ErrorRule(ProviderRetryableError, "throttled or a transient service error: retrying")
_REPLAY = ErrorRule(
    ProviderRetryableError,
    "Timestamp/Nonce refused (4500); a retry sends fresh ones; if it persists, check the clock",
)
_CREDENTIALS = ErrorRule(
    ProviderCredentialsError,
    "the API keys were refused: check the keys in {credentials} and their CAM permissions",
)
_CLOCK = ErrorRule(
    ProviderCredentialsError,
    "the request's timestamp was refused (more than 5 minutes off): check the system clock",
)

# Keyed by API 2.0 code, API 2.0 codeDesc (the documented "Error Message") and API 3.0 code.
ERROR_RULES: Mapping[str, ErrorRule] = {
    **dict.fromkeys(
        ("10502", "OldPasswordError", "InvalidParameterValue.PasswordError"), _OLD_REFUSED
    ),
    **dict.fromkeys(
        ("10701", "InstanceNotExists", "ResourceNotFound.InstanceNotExists"), _NOT_FOUND
    ),
    **dict.fromkeys(
        ("10707", "InstanceLockedError", "ResourceUnavailable.InstanceLockedError"), _LOCKED
    ),
    **dict.fromkeys(
        ("10702", "InstanceStatusAbnormal", "ResourceUnavailable.InstanceStatusAbnormal"), _BUSY
    ),
    **dict.fromkeys(
        ("11058", "PasswordRuleError", "InvalidParameterValue.PasswordRuleError"), _RULE_BROKEN
    ),
    **dict.fromkeys(("10501", "PasswordEmpty", "InvalidParameterValue.PasswordEmpty"), _EMPTY),
    # 4400: API 2.0's "quota exceeded", its rate limit.
    **dict.fromkeys(("4400", "FailedOperation.SystemError"), _RETRY),
    "4500": _REPLAY,
    "ResourceNotFound.AccountDoesNotExists": _NO_ACCOUNT,
    "AuthFailure.SignatureExpire": _CLOCK,
}
# Families of API 3.0 codes (a code and its sub-codes) and API 2.0's 41xx.
ERROR_FAMILIES: tuple[tuple[re.Pattern[str], ErrorRule], ...] = (
    (re.compile(r"(RequestLimitExceeded|InternalError)(\..+)?"), _RETRY),
    (re.compile(r"41\d\d|(AuthFailure|UnauthorizedOperation)(\..+)?"), _CREDENTIALS),
)


def error_rule(code: str, description: str | None = None) -> ErrorRule | None:
    """The rule for a Tencent error code (or API 2.0 codeDesc); None: a plain ProviderError."""
    for key in (code, description):
        if key and key in ERROR_RULES:
            return ERROR_RULES[key]
    for pattern, rule in ERROR_FAMILIES:
        if pattern.fullmatch(code):
            return rule
    return None
