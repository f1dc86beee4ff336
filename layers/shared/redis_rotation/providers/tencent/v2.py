"""Tencent API 2.0 (``https://redis.api.qcloud.com/v2/index.php``): ``DescribeRedis`` (the
state, read without changing), ``ModfiyRedisPassword`` and ``DescribeTaskInfo``, signed
with HmacSHA256 or HmacSHA1."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, override

from redis_rotation import passwords
from redis_rotation.errors import ProviderError, ProviderRetryableError
from redis_rotation.providers.base import ChangeHandle, Inspection
from redis_rotation.providers.tencent.api import (
    NAME,
    TASK_INFO,
    TaskState,
    TencentApi,
    instance_status,
    not_found,
    task_handle,
)
from redis_rotation.providers.transport import call_retrying, endpoint_url
from redis_rotation.signing.tencent_v2 import TencentV2Signer

if TYPE_CHECKING:
    from redis_rotation.secret import RedisSecret

PATH = "/v2/index.php"
CHANGE = "ModfiyRedisPassword"  # sic: the action's real name
DESCRIBE = "DescribeRedis"
RETIRED = (
    "Tencent retired API 2.0 for Redis in 2023, apart from three read calls for existing "
    "accounts (DescribeRedis among them, ModfiyRedisPassword not): a real account most "
    'likely needs "apiVersion": "3.0"'
)
# DescribeTaskInfo status -> (state, the documented meaning).
TASK_STATES: Mapping[int, tuple[TaskState, str]] = {
    0: ("wait", "waiting"),
    1: ("wait", "running"),
    2: ("done", "succeeded"),
    3: ("failed", "failed"),
    -1: ("failed", "error"),
}


class TencentV2Api(TencentApi):
    name = "API 2.0"
    policy = passwords.TENCENT_V2
    needs_old_password = True

    @override
    def inspect(self, secret: RedisSecret) -> Inspection:
        # A busy instance would also answer the change itself with 10702 (InstanceBusyError);
        # asking first means a change is only sent to an instance that reports running.
        params = {"redisId": secret.instance_id, "limit": "1", "offset": "0"}
        data = call_retrying(lambda: self._call(secret, DESCRIBE, params), self.client.deadline)
        for instance in data.get("redisSet") or []:
            if isinstance(instance, Mapping) and instance.get("redisId") == secret.instance_id:
                status = instance_status(instance.get("status"), secret, DESCRIBE, RETIRED)
                # Nothing documented reports addresses: only the keys' owner's grant can
                # allow them.
                return Inspection(status, None)
        raise not_found(secret, DESCRIBE)

    @override
    def change(
        self,
        secret: RedisSecret,
        inspection: Inspection,
        new_password: str,
        old_password: str | None,
    ) -> ChangeHandle:
        params = {
            "redisId": secret.instance_id,
            "oldPassword": old_password or "",
            "password": new_password,
        }
        return task_handle(self._call(secret, CHANGE, params).get("requestId"), CHANGE)

    @override
    def task_state(self, secret: RedisSecret, task_id: str) -> tuple[TaskState, str, str]:
        raw: Any = self._call(secret, TASK_INFO, {"requestId": task_id}).get("status")
        known = TASK_STATES.get(raw) if isinstance(raw, int) else None
        if known is None:
            raise ProviderError(
                NAME, TASK_INFO, "UnknownTaskStatus", f"task {task_id} has status '{raw}'"
            )
        return known[0], known[1], ""

    def _call(
        self, secret: RedisSecret, action: str, params: Mapping[str, str]
    ) -> Mapping[str, Any]:
        client = self.client
        url, host = endpoint_url(secret.api_endpoint or client.settings.tencent_v2_endpoint, PATH)
        signer = TencentV2Signer(
            client.key("secretId"),
            client.key("secretKey"),
            secret.get("signatureMethod") or "HmacSHA256",
            client.keys.get("token"),
        )
        fields = signer.add_auth(
            http_method="POST",
            host=host,
            path=PATH,
            params={"Action": action, **params},
            region=secret.region,
            timestamp=int(client.clock()),
            nonce=client.nonce(),
        )
        client.hide(fields.get("Signature"))  # a provider message may quote the request
        # Decoded values: the transport form-encodes them, exactly once.
        answer = client.transport.post(url, action=action, data=fields)
        if not isinstance(answer, Mapping) or not isinstance(answer.get("code"), int):
            raise ProviderRetryableError(NAME, action, "InvalidAnswer", "no code in the answer")
        if answer["code"] == 0:
            data = answer.get("data")
            return data if isinstance(data, Mapping) else {}
        description = answer.get("codeDesc")
        client.refuse(
            secret,
            action,
            str(answer["code"]),
            description if isinstance(description, str) else None,
            answer.get("message"),
            self.policy,
        )
