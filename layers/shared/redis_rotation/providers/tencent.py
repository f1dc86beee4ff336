"""Tencent Cloud Redis (CRS): the seed's API 2.0 ``ModfiyRedisPassword`` (the default) and
API 3.0 ``ModifyInstancePassword`` / ``ResetPassword``. Every change answers with a task id,
polled through ``DescribeTaskInfo`` until it succeeds or fails.

How a retry learns about a change still in flight: nothing is remembered between
invocations. The engine first tries the AWSPENDING password (done if it works), then asks
``describe``: API 3.0's ``DescribeInstances`` reports Status 1 ("in a workflow") while the
task runs. API 2.0 has no describe call in the seed, so ``describe`` says "ready" and the
change request itself tells: Tencent refuses a second change while one runs with 10702
(InstanceStatusAbnormal), mapped to ``InstanceBusyError``. Either way the engine waits and
looks again until the first task ends and the pending password works; a second change is
only ever sent after the first one has finished without taking effect.

The secret chooses the API (``apiVersion``, default "2.0"), for 3.0 the change mode
(``changeMode``: "modify" with the old password, or "reset"), and for 2.0 the signature
method (``signatureMethod``, default HmacSHA256).
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, NoReturn

from redis_rotation import passwords
from redis_rotation.errors import (
    ChangeFailedError,
    ConfigurationError,
    InstanceBusyError,
    InstanceStateError,
    OldPasswordRejectedError,
    PasswordPolicyError,
    ProviderCredentialsError,
    ProviderError,
    ProviderRetryableError,
    SecretFormatError,
    redact,
)
from redis_rotation.observability import logger
from redis_rotation.passwords import PasswordPolicy
from redis_rotation.polling import poll
from redis_rotation.providers.base import ChangeHandle, InstanceStatus, ProviderContext
from redis_rotation.providers.transport import call_retrying, endpoint_url
from redis_rotation.secret import RedisSecret
from redis_rotation.signing.tc3 import TC3Signer
from redis_rotation.signing.tencent_v2 import TencentV2Signer

NAME = "tencent"
CREDENTIALS_SCHEMA = "credentials-tencent.schema.json"

V2_PATH = "/v2/index.php"
V2_CHANGE = "ModfiyRedisPassword"  # sic: the action's real name
V3_VERSION = "2018-04-12"
V3_SERVICE = "redis"
V3_CONTENT_TYPE = "application/json"
V3_MODIFY, V3_RESET = "ModifyInstancePassword", "ResetPassword"
TASK_INFO, DESCRIBE = "DescribeTaskInfo", "DescribeInstances"
# API 2.0's Nonce is an unsigned int; any positive value not used before will do.
NONCE_BOUND = 2**32 - 1

TaskState = Literal["wait", "done", "failed"]
# API 2.0 DescribeTaskInfo status -> (state, the documented meaning).
V2_TASK_STATES: Mapping[int, tuple[TaskState, str]] = {
    0: ("wait", "waiting"),
    1: ("wait", "running"),
    2: ("done", "succeeded"),
    3: ("failed", "failed"),
    -1: ("failed", "error"),
}
V3_TASK_STATES: Mapping[str, TaskState] = {
    "preparing": "wait",
    "running": "wait",
    "succeed": "done",
    "failed": "failed",
    "error": "failed",
}
# DescribeInstances Status: 2 running; 1 (a workflow, perhaps our own task) and 0
# (initialising) end by themselves; -2 and -3 need a person.
V3_BUSY_STATUSES = {1: "in a workflow", 0: "initialising"}
V3_DEAD_STATUSES = {
    -2: "isolated (expired or in arrears): renew or restore it in the console, then rotate again",
    -3: "pending deletion: point the secret at a live instance",
}


@dataclass(frozen=True)
class ErrorRule:
    """What a documented error code means for the rotation. ``hint`` says what to do."""

    error: type[ProviderError] | type[PasswordPolicyError]
    hint: str


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

# Keyed by API 2.0 code, API 2.0 codeDesc (the seed's "Error Message") and API 3.0 code.
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


@dataclass(frozen=True)
class ApiChoice:
    """The secret's choice of API, validated: fields of the other API are refused."""

    version: Literal["2.0", "3.0"]
    change_mode: Literal["modify", "reset"]
    signature_method: str

    @classmethod
    def of(cls, secret: RedisSecret) -> ApiChoice:
        version = secret.get("apiVersion", "2.0")
        change_mode = secret.get("changeMode")
        signature_method = secret.get("signatureMethod")
        if version == "2.0":
            # API 2.0 has no reset: a secret asking for one must not silently modify.
            if change_mode is not None:
                raise SecretFormatError(
                    secret.label, "changeMode", "applies to apiVersion 3.0 only"
                )
            return cls("2.0", "modify", signature_method or "HmacSHA256")
        if version != "3.0":
            raise SecretFormatError(secret.label, "apiVersion", "must be '2.0' or '3.0'")
        if signature_method is not None:
            raise SecretFormatError(
                secret.label, "signatureMethod", "applies to apiVersion 2.0 only (3.0 uses TC3)"
            )
        return cls("3.0", "reset" if change_mode == "reset" else "modify", "TC3-HMAC-SHA256")


def random_nonce() -> int:
    return 1 + secrets.randbelow(NONCE_BOUND)


def _task_id(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return value
    return None


class TencentProvider:
    name = NAME

    def __init__(
        self,
        context: ProviderContext,
        *,
        clock: Callable[[], float] = time.time,
        nonce: Callable[[], int] = random_nonce,
    ) -> None:
        self.context = context
        # Wall clock for Timestamp (read once per request) and the Nonce source; injectable
        # so that tests need not patch modules.
        self._clock = clock
        self._nonce = nonce
        self._keys: Mapping[str, str] | None = None
        self._redacted: list[str] = []

    # -- Provider protocol -----------------------------------------------------------------

    def policy(self, secret: RedisSecret) -> PasswordPolicy:
        api = ApiChoice.of(secret)
        if api.version == "2.0":
            return passwords.TENCENT_V2
        return (
            passwords.TENCENT_V3_RESET
            if api.change_mode == "reset"
            else passwords.TENCENT_V3_MODIFY
        )

    def needs_old_password(self, secret: RedisSecret) -> bool:
        return ApiChoice.of(secret).change_mode == "modify"

    def describe(self, secret: RedisSecret) -> InstanceStatus:
        if ApiChoice.of(secret).version == "2.0":
            # No describe call in the seed's API: a busy instance answers the change itself
            # with 10702, which becomes InstanceBusyError.
            return InstanceStatus(
                ready=True, busy=False, detail="not described (API 2.0)", described=False
            )
        instance = call_retrying(lambda: self._describe_instance(secret), self.context.deadline)
        raw = instance.get("Status")
        status = raw if isinstance(raw, int) and not isinstance(raw, bool) else None
        if status in V3_DEAD_STATUSES:
            raise InstanceStateError(
                NAME,
                DESCRIBE,
                f"Status{status}",
                f"instance {secret.instance_id} is {V3_DEAD_STATUSES[status]}",
            )
        if instance.get("NoAuth") is True:
            # Password-free: a rotated password would prove nothing (and AUTH checks fail).
            raise InstanceStateError(
                NAME,
                DESCRIBE,
                "NoAuth",
                f"instance {secret.instance_id} is password-free (NoAuth); turn password "
                "authentication on in the console, then rotate again",
            )
        if status == 2:
            return InstanceStatus(ready=True, busy=False, detail="running")
        if status in V3_BUSY_STATUSES:
            return InstanceStatus(ready=False, busy=True, detail=V3_BUSY_STATUSES[status])
        return InstanceStatus(ready=False, busy=False, detail=f"Status {raw}")

    def change_password(
        self, secret: RedisSecret, new_password: str, old_password: str | None
    ) -> ChangeHandle:
        api = ApiChoice.of(secret)
        self._redacted.extend(p for p in (new_password, old_password) if p)
        if api.change_mode == "modify" and old_password is None:
            raise ConfigurationError(
                f"Tencent API {api.version} ({api.change_mode}) needs the old password"
            )
        if api.version == "2.0":
            params = {
                "redisId": secret.instance_id,
                "oldPassword": old_password or "",
                "password": new_password,
            }
            data = self._call_v2(secret, api, V2_CHANGE, params)
            return self._handle(data.get("requestId"), V2_CHANGE)
        if api.change_mode == "reset":
            # NoAuth=true would make the instance password-free: false, and said so.
            body: dict[str, Any] = {
                "InstanceId": secret.instance_id,
                "Password": new_password,
                "NoAuth": False,
            }
            action = V3_RESET
        else:
            body = {
                "InstanceId": secret.instance_id,
                "OldPassword": old_password,
                "Password": new_password,
            }
            action = V3_MODIFY
        return self._handle(self._call_v3(secret, action, body).get("TaskId"), action)

    def wait_for_change(self, secret: RedisSecret, handle: ChangeHandle) -> None:
        task_id = handle.task_id
        if task_id is None:
            return  # nothing to poll: the engine's AUTH polling decides
        api = ApiChoice.of(secret)

        def settled() -> bool | None:
            state, detail, message = call_retrying(
                lambda: self._task_state(secret, api, task_id), self.context.deadline
            )
            if state == "wait":
                return None
            if state == "done":
                return True
            note = f": {message}" if message else ""
            raise ChangeFailedError(
                NAME,
                TASK_INFO,
                detail,
                f"task {task_id} changing the password of {secret.instance_id} ended "
                f"'{detail}'{note}; the instance keeps its password and Secrets Manager's "
                "retry will try again",
            )

        poll(settled, deadline=self.context.deadline, what=f"Tencent task {task_id}")

    # -- API calls -------------------------------------------------------------------------

    @staticmethod
    def _handle(task_id: Any, action: str) -> ChangeHandle:
        handle = ChangeHandle(task_id=_task_id(task_id))
        if handle.task_id is None:
            logger.warning(
                "no task id in the answer; waiting on AUTH only", extra={"action": action}
            )
        return handle

    def _task_state(
        self, secret: RedisSecret, api: ApiChoice, task_id: str
    ) -> tuple[TaskState, str, str]:
        """(state, the provider's word for it, its message, redacted)."""
        if api.version == "2.0":
            data = self._call_v2(secret, api, TASK_INFO, {"requestId": task_id})
            raw: Any = data.get("status")
            known = V2_TASK_STATES.get(raw) if isinstance(raw, int) else None
            if known is not None:
                return known[0], known[1], ""
        else:
            response = self._call_v3(secret, TASK_INFO, {"TaskId": int(task_id)})
            raw = response.get("Status")
            state = V3_TASK_STATES.get(raw) if isinstance(raw, str) else None
            if state is not None:
                return state, raw, self._redact(response.get("TaskMessage"))
        raise ProviderError(
            NAME, TASK_INFO, "UnknownTaskStatus", f"task {task_id} has status '{raw}'"
        )

    def _describe_instance(self, secret: RedisSecret) -> Mapping[str, Any]:
        response = self._call_v3(secret, DESCRIBE, {"InstanceId": secret.instance_id})
        for instance in response.get("InstanceSet") or []:
            if isinstance(instance, Mapping) and instance.get("InstanceId") == secret.instance_id:
                return instance
        raise InstanceStateError(
            NAME,
            DESCRIBE,
            "NotFound",
            f"there is no instance {secret.instance_id} in region {secret.region}: check "
            "instanceId and region",
        )

    def _credentials(self, secret: RedisSecret) -> Mapping[str, str]:
        if self._keys is None:
            keys = self.context.load_credentials(secret.credentials_secret_id, CREDENTIALS_SCHEMA)
            self._redacted.extend(keys.values())
            self._keys = keys
        return self._keys

    def _call_v2(
        self, secret: RedisSecret, api: ApiChoice, action: str, params: Mapping[str, str]
    ) -> Mapping[str, Any]:
        url, host = endpoint_url(
            secret.api_endpoint or self.context.settings.tencent_v2_endpoint, V2_PATH
        )
        keys = self._credentials(secret)
        signer = TencentV2Signer(
            keys["secretId"], keys["secretKey"], api.signature_method, keys.get("token")
        )
        fields = signer.add_auth(
            http_method="POST",
            host=host,
            path=V2_PATH,
            params={"Action": action, **params},
            region=secret.region,
            timestamp=int(self._clock()),
            nonce=self._nonce(),
        )
        # Decoded values: requests form-encodes them, exactly once.
        answer = self.context.transport.post(url, action=action, data=fields)
        if not isinstance(answer, Mapping) or not isinstance(answer.get("code"), int):
            raise ProviderRetryableError(NAME, action, "InvalidAnswer", "no code in the answer")
        if answer["code"] == 0:
            data = answer.get("data")
            return data if isinstance(data, Mapping) else {}
        description = answer.get("codeDesc")
        self._raise(
            secret,
            action,
            str(answer["code"]),
            description if isinstance(description, str) else None,
            answer.get("message"),
        )

    def _call_v3(
        self, secret: RedisSecret, action: str, body: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        url, host = endpoint_url(secret.api_endpoint or self.context.settings.tencent_v3_endpoint)
        keys = self._credentials(secret)
        payload = json.dumps(body, separators=(",", ":")).encode("utf-8")
        headers = TC3Signer(
            keys["secretId"], keys["secretKey"], V3_SERVICE, keys.get("token")
        ).add_auth(
            host=host,
            action=action,
            version=V3_VERSION,
            region=secret.region,
            payload=payload,
            content_type=V3_CONTENT_TYPE,
            timestamp=int(self._clock()),
        )
        answer = self.context.transport.post(url, action=action, body=payload, headers=headers)
        response = answer.get("Response") if isinstance(answer, Mapping) else None
        if not isinstance(response, Mapping):
            raise ProviderRetryableError(NAME, action, "InvalidAnswer", "no Response in the answer")
        error = response.get("Error")
        if error is None:
            return response
        if not isinstance(error, Mapping):
            raise ProviderRetryableError(NAME, action, "InvalidAnswer", "malformed Error")
        self._raise(secret, action, str(error.get("Code", "Unknown")), None, error.get("Message"))

    # -- errors ------------------------------------------------------------------------------

    def _redact(self, text: Any) -> str:
        return redact(str(text or "")[:300], self._redacted)

    def _raise(
        self,
        secret: RedisSecret,
        action: str,
        code: str,
        description: str | None,
        message: Any,
    ) -> NoReturn:
        said = self._redact(message)
        rule = error_rule(code, description)
        if rule is None:
            raise ProviderError(NAME, action, code, said or "no message")
        hint = rule.hint.format(
            instance=secret.instance_id,
            region=secret.region,
            credentials=secret.credentials_secret_id,
            policy=self.policy(secret).name,
        )
        text = f"{hint} ({said})" if said else hint
        if issubclass(rule.error, PasswordPolicyError):
            raise rule.error(f"{NAME} {action} failed with code {code}: {text}")
        raise rule.error(NAME, action, code, text)
