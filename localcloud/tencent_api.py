"""An emulator of Tencent Cloud Redis (CRS) password APIs, both generations on one server.

- API 2.0 at ``/v2/index.php`` (GET query or POST form): ``ModfiyRedisPassword`` (sic) and
  ``DescribeTaskInfo``. Signature over METHOD + Host header + path + '?' + the sorted
  decoded parameters ('_' -> '.' in keys), HmacSHA256 or HmacSHA1 (SHA1 when
  SignatureMethod is absent); Timestamp within 2 hours and a Nonce never seen before, else
  4500. Answers ``{"code", "message", "codeDesc", "data"}``.
- API 3.0 at ``/`` (POST JSON, TC3-HMAC-SHA256, version 2018-04-12, service redis):
  ModifyInstancePassword, ResetPassword, DescribeTaskInfo, DescribeInstances;
  X-TC-Timestamp within 5 minutes. Answers ``{"Response": {...}}``, errors as
  ``Response.Error`` with HTTP 200, as Tencent does. TC3 has no nonce to replay.

Extra parameters the official SDK adds (RequestClient, Version, Language; X-TC-* headers)
are accepted. The documented password rules are enforced independently of the rotation's
own policies (so the emulator can catch a wrong policy), as are the old password and the
instance's state. A change runs as an asynchronous task of configurable duration: while
it runs the instance reports Status 1 ("in a workflow") and refuses another change
(10702 / ResourceUnavailable.InstanceStatusAbnormal); when it ends the password is applied
to the real redis-server, or, with failure injection, the task fails and nothing changes.
Each action is limited to ``rate_limit`` requests in any one-second window (4400 /
RequestLimitExceeded).

Emulator choices where Tencent documents nothing: the codeDesc of API 2.0 common codes
(V2_CODES), 4100 for every 2.0 authentication failure, the codes for an unknown task, and
refusing ResetPassword with NoAuth=true (Tencent would make the instance password-free;
the rotation must never ask, so the emulator records the attempt and refuses it).
"""

from __future__ import annotations

import json
import string
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from localcloud.emulator import ApiEmulator, Request, Response
from localcloud.redis_server import RedisServer
from localcloud.signatures.tc3 import parse_tc3_authorization, tc3_verify
from localcloud.signatures.tencent_v2 import v2_verify

V2_PATH, V3_PATH = "/v2/index.php", "/"
V3_VERSION, V3_SERVICE = "2018-04-12", "redis"
V2_TIMESTAMP_WINDOW = 2 * 3600
TC3_TIMESTAMP_WINDOW = 5 * 60
RATE_LIMIT = 20  # requests per second per action (the API 3.0 documentation)

V2_ACTIONS = ("ModfiyRedisPassword", "DescribeTaskInfo")
MODIFY, RESET = "ModifyInstancePassword", "ResetPassword"
V3_ACTIONS = (MODIFY, RESET, "DescribeTaskInfo", "DescribeInstances")

# codeDesc of each API 2.0 code: the seed's names for business codes; emulator's own words
# for the common codes, whose codeDesc Tencent does not document.
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

# API 3.0 parameters of each action and their JSON types; anything else is UnknownParameter.
V3_PARAMS: Mapping[str, Mapping[str, type]] = {
    MODIFY: {"InstanceId": str, "OldPassword": str, "Password": str},
    RESET: {"InstanceId": str, "Password": str, "NoAuth": bool, "EncryptPassword": bool},
    "DescribeTaskInfo": {"TaskId": int},
    "DescribeInstances": {"InstanceId": str, "Limit": int, "Offset": int},
}
V3_REQUIRED: Mapping[str, tuple[str, ...]] = {
    MODIFY: ("InstanceId", "OldPassword", "Password"),
    RESET: ("InstanceId",),
    "DescribeTaskInfo": ("TaskId",),
    "DescribeInstances": (),
}

Problem = tuple[Any, str]  # (error code, message)


@dataclass(frozen=True)
class PasswordRule:
    """Lengths, the character kinds (nothing else allowed), at least two kinds used."""

    min_length: int
    max_length: int
    kinds: tuple[str, ...]
    forbidden_first: str = ""

    def allows(self, password: str) -> bool:
        if not self.min_length <= len(password) <= self.max_length:
            return False
        if password[0] in self.forbidden_first:
            return False
        if any(not any(c in kind for kind in self.kinds) for c in password):
            return False
        return sum(1 for kind in self.kinds if any(c in kind for c in password)) >= 2


# API 2.0 (the seed): letters are one kind, so "abcdEFGH" breaks the rule.
V2_RULE = PasswordRule(8, 16, (string.ascii_letters, string.digits, "!@#%^*()"))
_V3_KINDS = (
    string.ascii_lowercase,
    string.ascii_uppercase,
    string.digits,
    "()~!@#$%^&*-+=_|{}[]:;<>,.?/",
)
V3_RULES = {MODIFY: PasswordRule(8, 30, _V3_KINDS, "/"), RESET: PasswordRule(8, 32, _V3_KINDS, "/")}


@dataclass(frozen=True)
class ChangeCodes[C]:
    """Each API's error code for each reason to refuse a change."""

    locked: C
    abnormal: C  # not running: a task in process, isolated, initialising
    empty: C
    rule_broken: C
    old_refused: C


V2_CHANGE_CODES = ChangeCodes(10707, 10702, 10501, 11058, 10502)
V3_CHANGE_CODES = ChangeCodes(
    "ResourceUnavailable.InstanceLockedError",
    "ResourceUnavailable.InstanceStatusAbnormal",
    "InvalidParameterValue.PasswordEmpty",
    "InvalidParameterValue.PasswordRuleError",
    "InvalidParameterValue.PasswordError",
)


@dataclass
class Instance:
    instance_id: str
    region: str
    redis: RedisServer | None
    password: str = field(repr=False)
    status: int = 2  # DescribeInstances Status while no task runs: 2 running, -2, -3, 0
    locked: bool = False
    no_auth: bool = False
    task_duration: float = 0.0  # seconds a password task runs before it ends
    # Or, deterministically: the task ends when the API has answered this many more requests
    # (each one a look: a task poll, a describe, a refused second change).
    task_looks: int = 0
    fail_next_task: bool = False  # the next task ends "failed" and changes nothing
    running_task: int | None = None
    password_changes: int = 0  # applied changes, for "exactly one change" assertions
    history: list[str] = field(default_factory=list, repr=False)  # every password applied

    @property
    def reported_status(self) -> int:
        return 1 if self.running_task is not None else self.status


@dataclass
class _LookTask:
    """A task that ends when the API has answered ``looks_left`` more requests."""

    looks_left: int
    instance: Instance
    task: Task
    password: str = field(repr=False)


@dataclass
class Task:
    task_id: int
    instance_id: str
    task_type: str
    started: str
    status: str = "running"  # preparing, running, succeed, failed, error
    message: str = ""


class TencentEmulator(ApiEmulator):
    def __init__(
        self,
        *,
        rate_limit: int = RATE_LIMIT,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.keys: dict[str, tuple[str, str | None]] = {}  # SecretId -> (SecretKey, Token)
        self.instances: dict[str, Instance] = {}
        self.tasks: dict[int, Task] = {}
        self.no_auth_requests: list[str] = []  # instance ids of every NoAuth=true request
        self.rate_limit = rate_limit
        self.clock = clock  # for the rate limit's window
        self.wall_clock = wall_clock  # for Timestamp windows
        self._next_task_id = 10000
        self._recent: dict[tuple[str, str], deque[float]] = {}
        self._nonces: dict[tuple[str, str], float] = {}
        self._timers: list[threading.Timer] = []
        self._by_looks: dict[int, _LookTask] = {}  # tasks that end after N more requests

    def add_key(self, secret_id: str, secret_key: str, token: str | None = None) -> None:
        self.keys[secret_id] = (secret_key, token)

    def add_instance(self, instance: Instance) -> Instance:
        with self.lock:
            self.instances[instance.instance_id] = instance
        return instance

    def set_password(self, instance_id: str, password: str) -> None:
        """A change made by hand (the console), outside any task: drift."""
        with self.lock:
            instance = self.instances[instance_id]
            if instance.redis is not None:
                instance.redis.set_password(password)
            instance.password = password

    # -- ApiEmulator ---------------------------------------------------------------------

    @staticmethod
    def v2_params(request: Request) -> dict[str, str]:
        raw = request.query if request.method == "GET" else request.body.decode("utf-8")
        return dict(parse_qsl(raw, keep_blank_values=True))

    def action_of(self, request: Request) -> str:
        if request.path != V2_PATH:
            return request.headers.get("x-tc-action", "")
        try:
            return self.v2_params(request).get("Action", "")
        except ValueError:
            return ""

    def error(self, request: Request, code: str | int, message: str) -> Response:
        if request.path == V2_PATH:
            return self._v2_error(int(code), message)
        return self._v3_error(str(code), message)

    def outcome_of(self, response: Response) -> str:
        body = response.body
        if isinstance(body, dict) and isinstance(body.get("Response"), dict):
            error = body["Response"].get("Error")
            return "ok" if error is None else str(error.get("Code"))
        if isinstance(body, dict) and "code" in body:
            return "ok" if body["code"] == 0 else str(body["code"])
        return super().outcome_of(response)

    def dispatch(self, request: Request) -> Response:
        if request.path == V2_PATH:
            return self._serve_v2(request)
        if request.path == V3_PATH:
            return self._serve_v3(request)
        return Response(404, {"error": "no such path"})

    def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()
        super().stop()

    # -- shared ------------------------------------------------------------------------

    def _throttled(self, api: str, action: str) -> bool:
        """A sliding one-second window per action; refused requests do not count."""
        now = self.clock()
        with self.lock:
            window = self._recent.setdefault((api, action), deque())
            while window and window[0] <= now - 1.0:
                window.popleft()
            if len(window) >= self.rate_limit:
                return True
            window.append(now)
            return False

    def _find(self, instance_id: str | None, region: str) -> Instance | None:
        instance = self.instances.get(instance_id or "")
        return instance if instance is not None and instance.region == region else None

    @staticmethod
    def _refusal[C](
        instance: Instance,
        password: str,
        old_password: str | None,
        rule: PasswordRule,
        codes: ChangeCodes[C],
    ) -> C | None:
        """The checks both APIs make before a change, in order; the first failure's code."""
        if instance.locked:
            return codes.locked
        if instance.reported_status != 2:
            return codes.abnormal
        if not password:
            return codes.empty
        if not rule.allows(password):
            return codes.rule_broken
        if old_password is not None and old_password != instance.password:
            return codes.old_refused
        return None

    def _start_task(self, instance: Instance, password: str, task_type: str) -> Task:
        with self.lock:
            self._next_task_id += 1
            started = datetime.fromtimestamp(self.wall_clock(), tz=UTC)
            task = Task(
                self._next_task_id,
                instance.instance_id,
                task_type,
                started.strftime("%Y-%m-%d %H:%M:%S"),
            )
            self.tasks[task.task_id] = task
            instance.running_task = task.task_id
            if instance.task_looks > 0:
                self._by_looks[task.task_id] = _LookTask(
                    instance.task_looks, instance, task, password
                )
                return task
            if instance.task_duration <= 0:
                self._finish_task(instance, task, password)
                return task
            timer = threading.Timer(
                instance.task_duration, self._finish_task, (instance, task, password)
            )
            timer.daemon = True
            self._timers.append(timer)
            timer.start()
            return task

    def on_request(self) -> None:
        with self.lock:
            for task_id, pending in list(self._by_looks.items()):
                pending.looks_left -= 1
                if pending.looks_left == 0:
                    del self._by_looks[task_id]
                    self._finish_task(pending.instance, pending.task, pending.password)

    def _finish_task(self, instance: Instance, task: Task, password: str) -> None:
        with self.lock:
            # The password is applied before the instance stops being busy, so a client
            # that sees Status 2 again also finds the new password working.
            if instance.fail_next_task:
                instance.fail_next_task = False
                task.status = "failed"
                task.message = "the password change failed (injected by the local cloud)"
            else:
                if instance.redis is not None:
                    instance.redis.set_password(password)
                instance.password = password
                instance.password_changes += 1
                instance.history.append(password)
                task.status = "succeed"
            instance.running_task = None

    # -- API 2.0 -------------------------------------------------------------------------

    @staticmethod
    def _v2_ok(data: Mapping[str, Any]) -> Response:
        return Response(200, {"code": 0, "message": "", "codeDesc": "Success", "data": dict(data)})

    @staticmethod
    def _v2_error(code: int, message: str) -> Response:
        body = {"code": code, "message": message, "codeDesc": V2_CODES.get(code, "Failure")}
        return Response(200, body)

    def _serve_v2(self, request: Request) -> Response:
        try:
            params = self.v2_params(request)
        except ValueError:
            return self._v2_error(4000, "the parameters are not form-encoded")
        action = params.get("Action", "")
        if action not in V2_ACTIONS:
            return self._v2_error(4000, f"unknown Action '{action}'")
        if self._throttled("2.0", action):
            return self._v2_error(4400, "request limit exceeded (per action per second)")
        problem = self._v2_auth(request, params)
        if problem is not None:
            return self._v2_error(*problem)
        if action == "DescribeTaskInfo":
            return self._v2_task_info(params)
        return self._v2_modify(params)

    def _v2_auth(self, request: Request, params: Mapping[str, str]) -> Problem | None:
        for name in ("SecretId", "Signature", "Timestamp", "Nonce", "Region"):
            if not params.get(name):
                return 4000, f"the parameter {name} is missing"
        key = self.keys.get(params["SecretId"])
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
        now = self.wall_clock()
        if abs(now - int(timestamp)) > V2_TIMESTAMP_WINDOW:
            return 4500, "the Timestamp is more than 2 hours away from the server's time"
        with self.lock:
            # Nonces older than the window cannot come back with a valid Timestamp.
            self._nonces = {
                k: seen for k, seen in self._nonces.items() if now - seen <= V2_TIMESTAMP_WINDOW
            }
            if (params["SecretId"], nonce) in self._nonces:
                return 4500, "the Nonce was used before (replay)"
            self._nonces[(params["SecretId"], nonce)] = now
        return None

    def _v2_modify(self, params: Mapping[str, str]) -> Response:
        if not params.get("redisId") or "oldPassword" not in params:
            return self._v2_error(11201, "redisId and oldPassword are required")
        instance = self._find(params["redisId"], params["Region"])
        if instance is None:
            return self._v2_error(10701, "no instance can be found for the serialId")
        password = params.get("password", "")
        with self.lock:
            code = self._refusal(
                instance, password, params["oldPassword"], V2_RULE, V2_CHANGE_CODES
            )
            if code is not None:
                return self._v2_error(code, V2_CODES[code])
            task = self._start_task(instance, password, "ModfiyRedisPassword")
        return self._v2_ok({"requestId": task.task_id})

    def _v2_task_info(self, params: Mapping[str, str]) -> Response:
        raw = params.get("requestId", "")
        task = self.tasks.get(int(raw)) if raw.isascii() and raw.isdigit() else None
        if task is None:
            return self._v2_error(11201, "no task has this requestId")
        return self._v2_ok({"status": V2_TASK_STATUS[task.status]})

    # -- API 3.0 -------------------------------------------------------------------------

    @staticmethod
    def _v3_ok(fields: Mapping[str, Any]) -> Response:
        return Response(200, {"Response": {**fields, "RequestId": str(uuid.uuid4())}})

    @staticmethod
    def _v3_error(code: str, message: str) -> Response:
        error = {"Code": code, "Message": message}
        return Response(200, {"Response": {"Error": error, "RequestId": str(uuid.uuid4())}})

    def _serve_v3(self, request: Request) -> Response:
        headers = request.headers
        action = headers.get("x-tc-action", "")
        if request.method != "POST":
            return self._v3_error("InvalidParameter", "the emulator serves API 3.0 as POST JSON")
        if action not in V3_ACTIONS:
            return self._v3_error("InvalidAction", f"the action '{action}' does not exist")
        if headers.get("x-tc-version") != V3_VERSION:
            return self._v3_error("NoSuchVersion", f"redis has version {V3_VERSION}")
        if not headers.get("content-type", "").startswith("application/json"):
            return self._v3_error("InvalidParameter", "the Content-Type must be application/json")
        if self._throttled("3.0", action):
            return self._v3_error("RequestLimitExceeded", "request limit exceeded (per second)")
        problem = self._v3_auth(request)
        if problem is None and not headers.get("x-tc-region"):
            problem = "MissingParameter", "the header X-TC-Region is missing"
        if problem is not None:
            return self._v3_error(*problem)
        try:
            params = json.loads(request.body or b"{}")
        except ValueError:
            return self._v3_error("InvalidParameter", "the body is not JSON")
        if not isinstance(params, dict):
            return self._v3_error("InvalidParameter", "the body is not a JSON object")
        problem = self._v3_check_params(action, params)
        if problem is not None:
            return self._v3_error(*problem)
        region = headers["x-tc-region"]
        if action == "DescribeInstances":
            return self._v3_describe(params, region)
        if action == "DescribeTaskInfo":
            return self._v3_task_info(params)
        return self._v3_change(action, params, region)

    def _v3_auth(self, request: Request) -> Problem | None:
        headers = request.headers
        try:
            auth = parse_tc3_authorization(headers.get("authorization", ""))
        except ValueError as exc:
            return "AuthFailure.InvalidAuthorization", str(exc)
        key = self.keys.get(auth.secret_id)
        if key is None:
            return "AuthFailure.SecretIdNotFound", "the SecretId is not found"
        if auth.service != V3_SERVICE:
            return "AuthFailure.InvalidAuthorization", f"the credential scope is not {V3_SERVICE}"
        raw = headers.get("x-tc-timestamp", "")
        if not (raw.isascii() and raw.isdigit()):
            return "AuthFailure.InvalidAuthorization", "X-TC-Timestamp is not unix seconds"
        if abs(self.wall_clock() - int(raw)) > TC3_TIMESTAMP_WINDOW:
            return "AuthFailure.SignatureExpire", "the signature expired (5 minutes)"
        secret_key, token = key
        if not tc3_verify(headers=headers, payload=request.body, secret_key=secret_key):
            return "AuthFailure.SignatureFailure", "the signature does not match"
        if headers.get("x-tc-token") != token:
            return "AuthFailure.TokenFailure", "the token does not belong to the SecretId"
        return None

    @staticmethod
    def _v3_check_params(action: str, params: Mapping[str, Any]) -> Problem | None:
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

    def _v3_describe(self, params: Mapping[str, Any], region: str) -> Response:
        wanted = params.get("InstanceId")
        offset, limit = params.get("Offset", 0), params.get("Limit", 20)
        with self.lock:
            found = [
                i
                for i in self.instances.values()
                if i.region == region and wanted in (None, i.instance_id)
            ]
            views = [self._instance_view(i) for i in found[offset : offset + limit]]
        return self._v3_ok({"TotalCount": len(found), "InstanceSet": views})

    @staticmethod
    def _instance_view(instance: Instance) -> dict[str, Any]:
        return {
            "InstanceId": instance.instance_id,
            "InstanceName": instance.instance_id,
            "Region": instance.region,
            "Status": instance.reported_status,
            "WanIp": "127.0.0.1",
            "Port": instance.redis.port if instance.redis else 6379,
            "NoAuth": instance.no_auth,
            "ReadOnly": 0,
            "Engine": "Redis",
        }

    def _v3_task_info(self, params: Mapping[str, Any]) -> Response:
        task = self.tasks.get(params["TaskId"])
        if task is None:
            return self._v3_error("ResourceNotFound", "no task has this TaskId")
        return self._v3_ok(
            {
                "Status": task.status,
                "StartTime": task.started,
                "TaskType": task.task_type,
                "InstanceId": task.instance_id,
                "TaskMessage": task.message,
            }
        )

    def _v3_change(self, action: str, params: Mapping[str, Any], region: str) -> Response:
        if params.get("NoAuth") is True:
            with self.lock:
                self.no_auth_requests.append(params["InstanceId"])
            return self._v3_error(
                "InvalidParameterValue",
                "NoAuth=true would make the instance password-free; the emulator refuses it",
            )
        if params.get("EncryptPassword") is True:
            return self._v3_error("InvalidParameterValue", "EncryptPassword is not emulated")
        instance = self._find(params["InstanceId"], region)
        if instance is None:
            return self._v3_error("ResourceNotFound.InstanceNotExists", "no such instance")
        password = params.get("Password", "")
        old_password = params["OldPassword"] if action == MODIFY else None
        with self.lock:
            code = self._refusal(
                instance, password, old_password, V3_RULES[action], V3_CHANGE_CODES
            )
            if code is not None:
                return self._v3_error(code, "the password change is refused")
            task = self._start_task(instance, password, action)
        return self._v3_ok({"TaskId": task.task_id})
