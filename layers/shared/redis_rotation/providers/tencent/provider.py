"""Tencent Cloud Redis (CRS): API 3.0 ``ModifyInstancePassword`` / ``ResetPassword`` (the
default), API 2.0 ``ModfiyRedisPassword``, and a custom account's
``ModifyInstanceAccount`` (``accounts``). Every change answers with a task id, polled
through ``DescribeTaskInfo`` until it succeeds or fails.

The secret chooses the API (``apiVersion``, default "3.0") and, for 3.0, the change mode
(``changeMode``: "modify" with the old password, or "reset"). The schema refuses fields of
the other API. The API class is picked once per secret from ``APIS``, as botocore picks a
signer class from a map; this module holds only what every API shares.

How a retry learns about a change still in flight: nothing is remembered between
invocations. The engine first tries the AWSPENDING password (done if it works), then asks
``describe``: API 3.0's ``DescribeInstances`` and API 2.0's ``DescribeRedis`` report
Status 1 ("in a workflow") while the task runs. Should a change still reach a busy
instance, Tencent refuses it with 10702 / InstanceStatusAbnormal, mapped to
``InstanceBusyError``. Either way the engine waits and asks again until the first task
ends and the pending password works; a second change is only ever sent after the first
one has finished without taking effect.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from typing import override

from redis_rotation.errors import ChangeFailedError, ConfigurationError
from redis_rotation.passwords import PasswordPolicy
from redis_rotation.polling import poll
from redis_rotation.providers.base import (
    ChangeHandle,
    Inspection,
    ProviderBase,
    ProviderContext,
)
from redis_rotation.providers.tencent.accounts import TencentV3Account
from redis_rotation.providers.tencent.api import NAME, TASK_INFO, TencentApi
from redis_rotation.providers.tencent.client import TencentClient
from redis_rotation.providers.tencent.v2 import TencentV2Api
from redis_rotation.providers.tencent.v3 import TencentV3Modify, TencentV3Reset
from redis_rotation.providers.transport import call_retrying
from redis_rotation.secret import RedisSecret

CREDENTIALS_SCHEMA = "credentials-tencent.schema.json"
# Without apiVersion: Tencent retired API 2.0 for Redis in 2023. Before 0.3.0 it was "2.0".
DEFAULT_API = "3.0"
# (apiVersion, changeMode, or "account" for a custom account) -> the API class; the schema
# admits no other pair.
APIS: Mapping[tuple[str, str], Callable[[TencentClient], TencentApi]] = {
    ("2.0", "modify"): TencentV2Api,
    ("3.0", "modify"): TencentV3Modify,
    ("3.0", "reset"): TencentV3Reset,
    ("3.0", "account"): TencentV3Account,
}
# API 2.0's Nonce is an unsigned int; any positive value not used before will do.
NONCE_BOUND = 2**32 - 1


def random_nonce() -> int:
    return 1 + secrets.randbelow(NONCE_BOUND)


class TencentProvider(ProviderBase):
    name = NAME
    credentials_schema = CREDENTIALS_SCHEMA

    def __init__(
        self,
        context: ProviderContext,
        *,
        clock: Callable[[], float] = time.time,
        nonce: Callable[[], int] = random_nonce,
    ) -> None:
        super().__init__(context)
        # One redaction list for the provider and its API classes.
        self.client = TencentClient(self.name, context, clock, nonce)
        self.plumbing = self.client
        self._apis: dict[tuple[str, str], TencentApi] = {}

    def api(self, secret: RedisSecret) -> TencentApi:
        """The API class the secret chose, made once per choice."""
        mode = "account" if secret.account is not None else secret.get("changeMode") or "modify"
        key = (secret.get("apiVersion") or DEFAULT_API, mode)
        if key not in self._apis:
            self._apis[key] = APIS[key](self.client)
        return self._apis[key]

    # -- Provider protocol -----------------------------------------------------------------

    @override
    def policy(self, secret: RedisSecret) -> PasswordPolicy:
        return self.api(secret).policy

    @override
    def needs_old_password(self, secret: RedisSecret) -> bool:
        return self.api(secret).needs_old_password

    @override
    def inspect(self, secret: RedisSecret) -> Inspection:
        return self.api(secret).inspect(secret)

    @override
    def change_password(
        self,
        secret: RedisSecret,
        inspection: Inspection,
        new_password: str,
        old_password: str | None,
    ) -> ChangeHandle:
        self.hide(new_password, old_password)
        api = self.api(secret)
        if api.needs_old_password and old_password is None:
            raise ConfigurationError(f"Tencent {api.name} needs the old password")
        return api.change(secret, inspection, new_password, old_password)

    @override
    def wait_for_change(self, secret: RedisSecret, handle: ChangeHandle) -> None:
        task_id = handle.task_id
        if task_id is None:
            return  # nothing to poll: the engine's AUTH polling decides
        api = self.api(secret)

        def settled() -> bool | None:
            state, detail, message = call_retrying(
                lambda: api.task_state(secret, task_id), self.context.deadline
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
