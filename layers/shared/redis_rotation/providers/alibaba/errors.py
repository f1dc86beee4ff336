"""What Alibaba's error codes (R-KVStore's and the OpenAPI gateway's common ones) mean for
a rotation."""

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

# The engine checks every new password against the local policy first, so a refusal means
# the policy and Alibaba's rule disagree: a bug to fix, not to retry.
_RULE_BROKEN = ErrorRule(
    PasswordPolicyError,
    "Alibaba refused the new password although it passed the local policy {policy}: the "
    "policy and Alibaba's rule disagree (a bug; the instance was not changed)",
)
_BUSY = ErrorRule(
    InstanceBusyError,
    "instance {instance} runs another task (TaskExists) or is not Normal: waiting; if it "
    "persists, check the instance in the console",
)
_NOT_FOUND = ErrorRule(
    InstanceStateError,
    "there is no instance {instance} at the R-KVStore endpoint of region {region}: check "
    "instanceId and region",
)
_NO_ACCOUNT = ErrorRule(
    InstanceStateError,
    "instance {instance} has no such account: create it in the console (or check the "
    "secret's account), then rotate again",
)
_OLD_ENGINE = ErrorRule(
    InstanceStateError,
    "instance {instance} runs a Redis version without accounts (before 4.0): rotate its "
    "default account instead",
)
_CREDENTIALS = ErrorRule(
    ProviderCredentialsError,
    "the AccessKey was refused: check the keys in {credentials} and their RAM permissions "
    "(kvstore:ResetAccountPassword, ...)",
)
_CLOCK = ErrorRule(
    ProviderCredentialsError,
    "the request's x-acs-date was refused (more than 15 minutes off): check the system clock",
)
_RETRY = ErrorRule(ProviderRetryableError, "throttled or a transient service error: retrying")
_NONCE = ErrorRule(ProviderRetryableError, "the nonce was refused as used; a retry sends a new one")

ERROR_RULES: Mapping[str, ErrorRule] = {
    "InvalidAccountPassword.Format": _RULE_BROKEN,
    "InvalidPassword.Malformed": _RULE_BROKEN,
    "TaskExists": _BUSY,
    "IncorrectInstanceStatus": _BUSY,
    "InvalidInstanceId.NotFound": _NOT_FOUND,
    "InvalidAccountName.NotFound": _NO_ACCOUNT,
    "InvalidEngineVersion.Format": _OLD_ENGINE,
    "InvalidAccountPassword.Mismatch": ErrorRule(
        OldPasswordRejectedError, "the instance refused the old password"
    ),
    "InvalidTimeStamp.Expired": _CLOCK,
    "SignatureNonceUsed": _NONCE,
    "SignatureDoesNotMatch": _CREDENTIALS,
    "IncompleteSignature": _CREDENTIALS,
    "ServiceUnavailable": _RETRY,
}
# Families: a code and its sub-codes.
ERROR_FAMILIES: tuple[tuple[re.Pattern[str], ErrorRule], ...] = (
    (re.compile(r"(Throttling|InternalError|UnknownError)(\..+)?"), _RETRY),
    (
        re.compile(r"(InvalidAccessKeyId|InvalidSecurityToken|Forbidden|NoPermission)(\..+)?"),
        _CREDENTIALS,
    ),
)


def error_rule(code: str) -> ErrorRule | None:
    """The rule for an Alibaba error code; None: a plain ProviderError."""
    if code in ERROR_RULES:
        return ERROR_RULES[code]
    for pattern, rule in ERROR_FAMILIES:
        if pattern.fullmatch(code):
            return rule
    return None
