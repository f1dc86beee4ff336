"""Tencent API 3.0 (``https://redis.tencentcloudapi.com``, TC3-HMAC-SHA256):
``ModifyInstancePassword`` (with the old password) or ``ResetPassword``, with
``DescribeInstances`` for the state and ``DescribeTaskInfo`` for the change's task."""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, override

from redis_rotation import passwords
from redis_rotation.errors import InstanceStateError, ProviderError, ProviderRetryableError
from redis_rotation.passwords import PasswordPolicy
from redis_rotation.providers.base import ChangeHandle, Inspection, InstanceStatus
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
from redis_rotation.secret import Endpoint
from redis_rotation.signing.tc3 import TC3Signer

if TYPE_CHECKING:
    from redis_rotation.secret import RedisSecret

VERSION = "2018-04-12"
SERVICE = "redis"
CONTENT_TYPE = "application/json"
DESCRIBE = "DescribeInstances"
TASK_STATES: Mapping[str, TaskState] = {
    "preparing": "wait",
    "running": "wait",
    "succeed": "done",
    "failed": "failed",
    "error": "failed",
}


class TencentV3Api(TencentApi):
    """What both 3.0 change modes share; a subclass says how the change is asked."""

    name: str
    policy: PasswordPolicy
    needs_old_password: bool
    action: str  # the change's API action

    @override
    def inspect(self, secret: RedisSecret) -> Inspection:
        # One DescribeInstances answers both: the state and the addresses.
        instance = call_retrying(lambda: self._describe_instance(secret), self.client.deadline)
        return Inspection(self.status(secret, instance), addresses(instance))

    @staticmethod
    def status(secret: RedisSecret, instance: Mapping[str, Any]) -> InstanceStatus:
        status = instance_status(instance.get("Status"), secret, DESCRIBE)
        if instance.get("NoAuth") is True:
            # Password-free: a rotated password would prove nothing (and AUTH checks fail).
            raise InstanceStateError(
                NAME,
                DESCRIBE,
                "NoAuth",
                f"instance {secret.instance_id} is password-free (NoAuth); turn password "
                "authentication on in the console, then rotate again",
            )
        return status

    @override
    def change(
        self,
        secret: RedisSecret,
        inspection: Inspection,
        new_password: str,
        old_password: str | None,
    ) -> ChangeHandle:
        body = self.change_body(secret, new_password, old_password)
        return task_handle(self.call(secret, self.action, body).get("TaskId"), self.action)

    @abstractmethod
    def change_body(self, secret: RedisSecret, new: str, old: str | None) -> dict[str, Any]: ...

    @override
    def task_state(self, secret: RedisSecret, task_id: str) -> tuple[TaskState, str, str]:
        response = self.call(secret, TASK_INFO, {"TaskId": int(task_id)})
        raw = response.get("Status")
        state = TASK_STATES.get(raw) if isinstance(raw, str) else None
        if state is None:
            raise ProviderError(
                NAME, TASK_INFO, "UnknownTaskStatus", f"task {task_id} has status '{raw}'"
            )
        return state, str(raw), self.client.redact(response.get("TaskMessage"))

    def _describe_instance(self, secret: RedisSecret) -> Mapping[str, Any]:
        response = self.call(secret, DESCRIBE, {"InstanceId": secret.instance_id})
        for instance in response.get("InstanceSet") or []:
            if isinstance(instance, Mapping) and instance.get("InstanceId") == secret.instance_id:
                return instance
        raise not_found(secret, DESCRIBE)

    def call(self, secret: RedisSecret, action: str, body: Mapping[str, Any]) -> Mapping[str, Any]:
        client = self.client
        url, host = endpoint_url(secret.api_endpoint or client.settings.tencent_v3_endpoint)
        payload = json.dumps(body, separators=(",", ":")).encode("utf-8")
        headers = TC3Signer(
            client.key("secretId"),
            client.key("secretKey"),
            SERVICE,
            client.keys.get("token"),
        ).add_auth(
            host=host,
            action=action,
            version=VERSION,
            region=secret.region,
            payload=payload,
            content_type=CONTENT_TYPE,
            timestamp=int(client.clock()),
        )
        # A provider message may quote the request: its signature is redacted, as a key is.
        client.hide(headers["Authorization"].rpartition("Signature=")[2])
        answer = client.transport.post(url, action=action, body=payload, headers=headers)
        response = answer.get("Response") if isinstance(answer, Mapping) else None
        if not isinstance(response, Mapping):
            raise ProviderRetryableError(NAME, action, "InvalidAnswer", "no Response in the answer")
        error = response.get("Error")
        if error is None:
            return response
        if not isinstance(error, Mapping):
            raise ProviderRetryableError(NAME, action, "InvalidAnswer", "malformed Error")
        code = str(error.get("Code", "Unknown"))
        client.refuse(secret, action, code, None, error.get("Message"), self.policy)


def addresses(instance: Mapping[str, Any]) -> frozenset[Endpoint]:
    """The instance's addresses DescribeInstances reports: its own, and its public one."""
    found = set()
    ip, port = instance.get("WanIp"), instance.get("Port")
    if isinstance(ip, str) and ip and isinstance(port, int) and not isinstance(port, bool):
        found.add(Endpoint(ip, port))
    # The public address, "host:port", when the instance has one.
    public = instance.get("WanAddress")
    host, _, public_port = public.rpartition(":") if isinstance(public, str) else ("", "", "")
    if host and public_port.isascii() and public_port.isdigit():
        found.add(Endpoint(host, int(public_port)))
    return frozenset(found)


class TencentV3Modify(TencentV3Api):
    name = "API 3.0 (modify)"
    policy = passwords.TENCENT_V3_MODIFY
    needs_old_password = True
    action = "ModifyInstancePassword"

    @override
    def change_body(self, secret: RedisSecret, new: str, old: str | None) -> dict[str, Any]:
        return {"InstanceId": secret.instance_id, "OldPassword": old, "Password": new}


class TencentV3Reset(TencentV3Api):
    name = "API 3.0 (reset)"
    policy = passwords.TENCENT_V3_RESET
    needs_old_password = False
    action = "ResetPassword"

    @override
    def change_body(self, secret: RedisSecret, new: str, old: str | None) -> dict[str, Any]:
        # NoAuth=true would make the instance password-free: false, and said so.
        return {"InstanceId": secret.instance_id, "Password": new, "NoAuth": False}
