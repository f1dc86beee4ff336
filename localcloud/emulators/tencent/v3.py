"""Tencent API 3.0 at ``/`` (POST JSON, TC3-HMAC-SHA256, version 2018-04-12, service
redis): ModifyInstancePassword, ResetPassword, DescribeTaskInfo, DescribeInstances, and
the custom accounts' actions (``accounts``).

X-TC-Timestamp within 5 minutes; TC3 has no nonce to replay. Answers
``{"Response": {...}}``, errors as ``Response.Error`` with HTTP 200, as Tencent does.

Emulator choices where Tencent documents nothing: ResourceNotFound for an unknown task,
and refusing ResetPassword with NoAuth=true (Tencent would make the instance
password-free; the rotation must never ask, so the emulator records the attempt and
refuses it).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from localcloud.emulators.base import Request, Response
from localcloud.emulators.tencent.accounts import (
    ACCOUNT_ACTIONS,
    ACCOUNT_PARAMS,
    ACCOUNT_REQUIRED,
    AccountApi,
)
from localcloud.emulators.tencent.models import Instance, TencentCloud
from localcloud.emulators.tencent.rules import (
    V3_MODIFY_RULE,
    V3_RESET_RULE,
    ChangeCodes,
    refusal,
)
from localcloud.signatures.tc3 import parse_tc3_authorization, tc3_verify

V3_PATH = "/"
V3_VERSION, V3_SERVICE = "2018-04-12", "redis"
TC3_TIMESTAMP_WINDOW = 5 * 60

MODIFY, RESET = "ModifyInstancePassword", "ResetPassword"
V3_ACTIONS = (MODIFY, RESET, "DescribeTaskInfo", "DescribeInstances", *ACCOUNT_ACTIONS)
V3_RULES = {MODIFY: V3_MODIFY_RULE, RESET: V3_RESET_RULE}

# API 3.0 parameters of each action and their JSON types; anything else is UnknownParameter.
V3_PARAMS: Mapping[str, Mapping[str, type]] = {
    MODIFY: {"InstanceId": str, "OldPassword": str, "Password": str},
    RESET: {"InstanceId": str, "Password": str, "NoAuth": bool, "EncryptPassword": bool},
    "DescribeTaskInfo": {"TaskId": int},
    "DescribeInstances": {"InstanceId": str, "Limit": int, "Offset": int},
    **ACCOUNT_PARAMS,
}
V3_REQUIRED: Mapping[str, tuple[str, ...]] = {
    MODIFY: ("InstanceId", "OldPassword", "Password"),
    RESET: ("InstanceId",),
    "DescribeTaskInfo": ("TaskId",),
    "DescribeInstances": (),
    **ACCOUNT_REQUIRED,
}
V3_CHANGE_CODES = ChangeCodes(
    "ResourceUnavailable.InstanceLockedError",
    "ResourceUnavailable.InstanceStatusAbnormal",
    "InvalidParameterValue.PasswordEmpty",
    "InvalidParameterValue.PasswordRuleError",
    "InvalidParameterValue.PasswordError",
)

Problem = tuple[str, str]  # (error code, message)


def v3_ok(fields: Mapping[str, Any]) -> Response:
    return Response(200, {"Response": {**fields, "RequestId": str(uuid.uuid4())}})


def v3_error(code: str, message: str) -> Response:
    error = {"Code": code, "Message": message}
    return Response(200, {"Response": {"Error": error, "RequestId": str(uuid.uuid4())}})


def instance_view(instance: Instance) -> dict[str, Any]:
    """One entry of DescribeInstances' InstanceSet."""
    return {
        "InstanceId": instance.instance_id,
        "InstanceName": instance.instance_id,
        "Region": instance.region,
        "Status": instance.reported_status,
        "WanIp": "127.0.0.1",
        # Clients reach Tencent's proxy (here the AUTH front) where there is one.
        "Port": instance.front.port if instance.front else _redis_port(instance),
        "NoAuth": instance.no_auth,
        "ReadOnly": 0,
        "Engine": "Redis",
    }


def _redis_port(instance: Instance) -> int:
    return instance.redis.port if instance.redis else 6379


def check_params(action: str, params: Mapping[str, Any]) -> Problem | None:
    """Unknown names, wrong JSON types and missing required parameters, in that order."""
    known = V3_PARAMS[action]
    for name, value in params.items():
        if name not in known:
            return "UnknownParameter", f"{action} has no parameter {name}"
        expected = known[name]
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            return "InvalidParameter", f"{name} must be of type {expected.__name__}"
    missing = [name for name in V3_REQUIRED[action] if name not in params]
    if missing:
        return "MissingParameter", f"the parameter {missing[0]} is missing"
    return None


@dataclass
class V3Api:
    """Answers API 3.0 requests from the shared ``cloud``.

    ``now`` is the wall clock (for the X-TC-Timestamp window and task start times);
    ``throttled`` is the emulator's rate limit, asked with the API and the action.
    """

    cloud: TencentCloud
    now: Callable[[], float]
    throttled: Callable[[str, str], bool]

    def __post_init__(self) -> None:
        self.accounts = AccountApi(self.cloud, self.now)

    @staticmethod
    def action_of(request: Request) -> str:
        return request.headers.get("x-tc-action", "")

    def serve(self, request: Request) -> Response:
        action = self.action_of(request)
        problem = self._reject(request, action)
        if problem is not None:
            return v3_error(*problem)
        try:
            params = json.loads(request.body or b"{}")
        except ValueError:
            return v3_error("InvalidParameter", "the body is not JSON")
        if not isinstance(params, dict):
            return v3_error("InvalidParameter", "the body is not a JSON object")
        problem = check_params(action, params)
        if problem is not None:
            return v3_error(*problem)
        region = request.headers["x-tc-region"]
        if action == "DescribeInstances":
            return self._describe(params, region)
        if action == "DescribeTaskInfo":
            return self._task_info(params)
        if action in ACCOUNT_ACTIONS:
            answer = self.accounts.serve(action, params, region)
            return v3_error(*answer) if isinstance(answer, tuple) else v3_ok(answer)
        return self._change(action, params, region)

    def _reject(self, request: Request, action: str) -> Problem | None:
        """Why the request is refused before its body is read, or None.

        The order matters: a request refused by an earlier check is neither counted by
        the rate limit nor authenticated.
        """
        headers = request.headers
        if request.method != "POST":
            return "InvalidParameter", "the emulator serves API 3.0 as POST JSON"
        if action not in V3_ACTIONS:
            return "InvalidAction", f"the action '{action}' does not exist"
        if headers.get("x-tc-version") != V3_VERSION:
            return "NoSuchVersion", f"redis has version {V3_VERSION}"
        if not headers.get("content-type", "").startswith("application/json"):
            return "InvalidParameter", "the Content-Type must be application/json"
        if self.throttled("3.0", action):
            return "RequestLimitExceeded", "request limit exceeded (per second)"
        problem = self._auth(request)
        if problem is None and not headers.get("x-tc-region"):
            return "MissingParameter", "the header X-TC-Region is missing"
        return problem

    def _auth(self, request: Request) -> Problem | None:
        headers = request.headers
        try:
            auth = parse_tc3_authorization(headers.get("authorization", ""))
        except ValueError as exc:
            return "AuthFailure.InvalidAuthorization", str(exc)
        key = self.cloud.keys.get(auth.secret_id)
        if key is None:
            return "AuthFailure.SecretIdNotFound", "the SecretId is not found"
        if auth.service != V3_SERVICE:
            return "AuthFailure.InvalidAuthorization", f"the credential scope is not {V3_SERVICE}"
        raw = headers.get("x-tc-timestamp", "")
        if not (raw.isascii() and raw.isdigit()):
            return "AuthFailure.InvalidAuthorization", "X-TC-Timestamp is not unix seconds"
        if abs(self.now() - int(raw)) > TC3_TIMESTAMP_WINDOW:
            return "AuthFailure.SignatureExpire", "the signature expired (5 minutes)"
        secret_key, token = key
        if not tc3_verify(headers=headers, payload=request.body, secret_key=secret_key):
            return "AuthFailure.SignatureFailure", "the signature does not match"
        if headers.get("x-tc-token") != token:
            return "AuthFailure.TokenFailure", "the token does not belong to the SecretId"
        return None

    def _describe(self, params: Mapping[str, Any], region: str) -> Response:
        wanted = params.get("InstanceId")
        offset, limit = params.get("Offset", 0), params.get("Limit", 20)
        with self.cloud.lock:
            found = [
                i
                for i in self.cloud.instances.values()
                if i.region == region and wanted in (None, i.instance_id)
            ]
            views = [instance_view(i) for i in found[offset : offset + limit]]
        return v3_ok({"TotalCount": len(found), "InstanceSet": views})

    def _task_info(self, params: Mapping[str, Any]) -> Response:
        task = self.cloud.tasks.get(params["TaskId"])
        if task is None:
            return v3_error("ResourceNotFound", "no task has this TaskId")
        return v3_ok(
            {
                "Status": task.status,
                "StartTime": task.started,
                "TaskType": task.task_type,
                "InstanceId": task.instance_id,
                "TaskMessage": task.message,
            }
        )

    def _change(self, action: str, params: Mapping[str, Any], region: str) -> Response:
        if params.get("NoAuth") is True:
            with self.cloud.lock:
                self.cloud.no_auth_requests.append(params["InstanceId"])
            return v3_error(
                "InvalidParameterValue",
                "NoAuth=true would make the instance password-free; the emulator refuses it",
            )
        if params.get("EncryptPassword") is True:
            return v3_error("InvalidParameterValue", "EncryptPassword is not emulated")
        instance = self.cloud.find(params["InstanceId"], region)
        if instance is None:
            return v3_error("ResourceNotFound.InstanceNotExists", "no such instance")
        password = params.get("Password", "")
        old_password = params["OldPassword"] if action == MODIFY else None
        with self.cloud.lock:
            code = refusal(instance, password, old_password, V3_RULES[action], V3_CHANGE_CODES)
            if code is not None:
                return v3_error(code, "the password change is refused")
            task = self.cloud.start_task(instance, password, action, self.now())
        return v3_ok({"TaskId": task.task_id})
