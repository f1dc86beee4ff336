"""Tencent API 2.0 at ``/v2/index.php`` (GET query or POST form): ``DescribeRedis``,
``ModfiyRedisPassword`` (sic) and ``DescribeTaskInfo``.

Signature over METHOD + Host header + path + '?' + the sorted decoded parameters ('_' ->
'.' in keys), HmacSHA256 or HmacSHA1 (SHA1 when SignatureMethod is absent); Timestamp
within 2 hours and a Nonce never seen before, else 4500. Answers
``{"code", "message", "codeDesc", "data"}``.

Emulator choices where Tencent documents nothing: the codeDesc of the common codes
(V2_CODES), 4100 for every authentication failure, and 11201 for an unknown task;
DescribeRedis answers with the fields the rotation reads (``redisId``, ``redisName``,
``status``) and leaves out instances pending deletion (2.0 documents no status for them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from localcloud.emulators.base import Request, Response
from localcloud.emulators.tencent.models import TencentCloud
from localcloud.emulators.tencent.rules import V2_RULE, ChangeCodes, refusal
from localcloud.signatures.tencent_v2 import v2_verify

V2_PATH = "/v2/index.php"
V2_TIMESTAMP_WINDOW = 2 * 3600
V2_ACTIONS = ("ModfiyRedisPassword", "DescribeTaskInfo", "DescribeRedis")
V2_STATUSES = (0, 1, 2, -2)  # the DescribeRedis statuses API 2.0 documents

# codeDesc of each API 2.0 code: the names the provider documents for business codes; the
# emulator's own words for the common codes, whose codeDesc Tencent does not document.
V2_CODES = {
    4000: "InvalidParameter",
    4100: "AuthFailure",
    4400: "RequestLimitExceeded",
    4500: "ReplayAttack",
    10501: "PasswordEmpty",
    10502: "OldPasswordError",
    10701: "InstanceNotExists",
    10702: "InstanceStatusAbnormal",
    10707: "InstanceLockedError",
    11058: "PasswordRuleError",
    11201: "InvalidParameter",
}
V2_TASK_STATUS = {"preparing": 0, "running": 1, "succeed": 2, "failed": 3, "error": -1}
V2_CHANGE_CODES = ChangeCodes(10707, 10702, 10501, 11058, 10502)

Problem = tuple[int, str]  # (error code, message)


def v2_params(request: Request) -> dict[str, str]:
    raw = request.query if request.method == "GET" else request.body.decode("utf-8")
    return dict(parse_qsl(raw, keep_blank_values=True))


def v2_ok(data: Mapping[str, Any]) -> Response:
    return Response(200, {"code": 0, "message": "", "codeDesc": "Success", "data": dict(data)})


def v2_error(code: int, message: str) -> Response:
    body = {"code": code, "message": message, "codeDesc": V2_CODES.get(code, "Failure")}
    return Response(200, body)


@dataclass
class V2Api:
    """Answers API 2.0 requests from the shared ``cloud``.

    ``now`` is the wall clock (for Timestamp windows and task start times); ``throttled``
    is the emulator's rate limit, asked with the API and the action.
    """

    cloud: TencentCloud
    now: Callable[[], float]
    throttled: Callable[[str, str], bool]
    # (SecretId, Nonce) -> when seen: a Nonce is refused while its Timestamp could pass.
    _nonces: dict[tuple[str, str], float] = field(default_factory=dict, init=False)

    @staticmethod
    def action_of(request: Request) -> str:
        try:
            return v2_params(request).get("Action", "")
        except ValueError:
            return ""

    def serve(self, request: Request) -> Response:
        try:
            params = v2_params(request)
        except ValueError:
            return v2_error(4000, "the parameters are not form-encoded")
        action = params.get("Action", "")
        if action not in V2_ACTIONS:
            return v2_error(4000, f"unknown Action '{action}'")
        if self.throttled("2.0", action):
            return v2_error(4400, "request limit exceeded (per action per second)")
        problem = self._auth(request, params)
        if problem is not None:
            return v2_error(*problem)
        if action == "DescribeTaskInfo":
            return self._task_info(params)
        if action == "DescribeRedis":
            return self._describe(params)
        return self._modify(params)

    def _auth(self, request: Request, params: Mapping[str, str]) -> Problem | None:
        for name in ("SecretId", "Signature", "Timestamp", "Nonce", "Region"):
            if not params.get(name):
                return 4000, f"the parameter {name} is missing"
        key = self.cloud.keys.get(params["SecretId"])
        if key is None:
            return 4100, "the SecretId is not found"
        secret_key, token = key
        host = request.headers.get("host", "")
        if not v2_verify(
            http_method=request.method,
            host=host,
            path=request.path,
            params=params,
            secret_key=secret_key,
        ):
            return 4100, "signature verification failed"
        if params.get("Token") != token:
            return 4100, "the Token does not belong to the SecretId"
        timestamp, nonce = params["Timestamp"], params["Nonce"]
        if not all(v.isascii() and v.isdigit() for v in (timestamp, nonce)) or int(nonce) == 0:
            return 4000, "Timestamp and Nonce must be positive integers"
        now = self.now()
        if abs(now - int(timestamp)) > V2_TIMESTAMP_WINDOW:
            return 4500, "the Timestamp is more than 2 hours away from the server's time"
        with self.cloud.lock:
            # Nonces older than the window cannot come back with a valid Timestamp.
            self._nonces = {
                k: seen for k, seen in self._nonces.items() if now - seen <= V2_TIMESTAMP_WINDOW
            }
            if (params["SecretId"], nonce) in self._nonces:
                return 4500, "the Nonce was used before (replay)"
            self._nonces[(params["SecretId"], nonce)] = now
        return None

    def _modify(self, params: Mapping[str, str]) -> Response:
        if not params.get("redisId") or "oldPassword" not in params:
            return v2_error(11201, "redisId and oldPassword are required")
        instance = self.cloud.find(params["redisId"], params["Region"])
        if instance is None:
            return v2_error(10701, "no instance can be found for the serialId")
        password = params.get("password", "")
        with self.cloud.lock:
            code = refusal(instance, password, params["oldPassword"], V2_RULE, V2_CHANGE_CODES)
            if code is not None:
                return v2_error(code, V2_CODES[code])
            task = self.cloud.start_task(instance, password, "ModfiyRedisPassword", self.now())
        return v2_ok({"requestId": task.task_id})

    def _describe(self, params: Mapping[str, str]) -> Response:
        limit, offset = params.get("limit", "20"), params.get("offset", "0")
        if not all(v.isascii() and v.isdigit() for v in (limit, offset)):
            return v2_error(11201, "limit and offset must be integers")
        wanted = params.get("redisId")
        with self.cloud.lock:
            found = [
                i
                for i in self.cloud.instances.values()
                if i.region == params["Region"]
                and wanted in (None, i.instance_id)
                and i.reported_status in V2_STATUSES
            ]
            start = int(offset)
            views = [
                {"redisId": i.instance_id, "redisName": i.instance_id, "status": i.reported_status}
                for i in found[start : start + int(limit)]
            ]
        return v2_ok({"totalCount": len(found), "redisSet": views})

    def _task_info(self, params: Mapping[str, str]) -> Response:
        raw = params.get("requestId", "")
        task = self.cloud.tasks.get(int(raw)) if raw.isascii() and raw.isdigit() else None
        if task is None:
            return v2_error(11201, "no task has this requestId")
        return v2_ok({"status": V2_TASK_STATUS[task.status]})
