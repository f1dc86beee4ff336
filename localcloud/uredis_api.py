"""An emulator of UCloud's UMem API for URedis: ModifyURedisGroupPassword and DescribeUMem.

It checks requests as UCloud does (Action, PublicKey, the sha1 Signature over the sorted
parameters) and the seed's rules for the password (base64-decoded: 6-36 letters, digits,
'-', '_'; empty removes the password; only a master may be changed), and applies the
change to a real redis-server, optionally after a delay spent in the ``SetPassword`` state.

RetCodes 160, 161, 170, 171, 172 and 153 are UCloud's documented ones. UCloud documents no
specific code for a bad parameter, an unknown group, a slave or a busy group: the emulator
answers 230 ("Params [X] not available", UCloud's generic parameter error) for the first
two and the codes in EMULATOR_CODES for the others.
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from localcloud.emulator import ApiEmulator, Request, Response
from localcloud.redis_server import RedisServer
from localcloud.signatures.ucloud import verify

PASSWORD_RULE = re.compile(r"^[A-Za-z0-9_-]{6,36}$")
EMULATOR_CODES = {"slave": 20105, "busy": 20106}
ACTIONS = ("ModifyURedisGroupPassword", "DescribeUMem")


@dataclass
class Group:
    group_id: str
    region: str
    redis: RedisServer | None
    zone: str = ""
    project_id: str = ""
    role: str = "master"
    state: str = "Running"
    has_password: bool = True
    password_changes: int = 0  # applied changes, for "exactly one change" assertions
    fail_next_apply: bool = False
    apply_delay: float = 0.0  # seconds spent in SetPassword before the change lands
    # Or, deterministically: the change lands when the API has answered this many more
    # requests (each one a look at the group: a describe, a refused second change).
    apply_after_looks: int = 0
    # A provider that applies late *without* saying so: the state stays Running meanwhile.
    silent_delay: bool = False
    # Read-only replicas, which take the master's password; ``stale_replicas`` leaves them
    # behind (a replica the provider failed to update).
    replicas: list[RedisServer] = field(default_factory=list, repr=False)
    stale_replicas: bool = False
    _looks_left: int = field(default=0, repr=False)
    _pending: str = field(default="", repr=False)
    history: list[str] = field(default_factory=list, repr=False)  # every password applied


class URedisEmulator(ApiEmulator):
    def __init__(self) -> None:
        super().__init__()
        self.keys: dict[str, str] = {}
        self.groups: dict[str, Group] = {}
        # Group ids of every request that asked to remove the password: the rotation must
        # never send one (tests assert this stays empty for the functions' traffic).
        self.empty_password_requests: list[str] = []
        self._timers: list[threading.Timer] = []

    def add_key(self, public_key: str, private_key: str) -> None:
        self.keys[public_key] = private_key

    def add_group(self, group: Group) -> Group:
        self.groups[group.group_id] = group
        return group

    # -- ApiEmulator ---------------------------------------------------------------------

    @staticmethod
    def params(request: Request) -> dict[str, str]:
        content_type = request.headers.get("content-type", "")
        if request.method == "GET":
            return dict(parse_qsl(request.query, keep_blank_values=True))
        if "json" in content_type:
            import json

            decoded: Any = json.loads(request.body or b"{}")
            return {str(k): str(v) for k, v in decoded.items()}
        return dict(parse_qsl(request.body.decode("utf-8"), keep_blank_values=True))

    def action_of(self, request: Request) -> str:
        try:
            return self.params(request).get("Action", "")
        except ValueError:
            return ""

    def error(self, request: Request, code: str | int, message: str) -> Response:
        action = self.action_of(request)
        body = {"Action": f"{action}Response", "RetCode": int(code), "Message": message}
        return Response(200, body, {"X-UCLOUD-REQUEST-UUID": "emulated"})

    def outcome_of(self, response: Response) -> str:
        code = response.body.get("RetCode") if isinstance(response.body, dict) else None
        return "ok" if code == 0 else str(code)

    def dispatch(self, request: Request) -> Response:
        try:
            params = self.params(request)
        except ValueError:
            return self.error(request, 230, "Params not available")
        action = params.get("Action")
        if not action:
            return self.error(request, 160, "Action not found")
        if action not in ACTIONS:
            return self.error(request, 161, f"Action [{action}] not found")
        if "Signature" not in params or "PublicKey" not in params:
            return self.error(request, 170, "Missing signature")
        private_key = self.keys.get(params["PublicKey"])
        if private_key is None:
            return self.error(request, 172, "User not exist")
        if not verify(params, private_key):
            return self.error(request, 171, "Signature VerifyAC Error")
        if not params.get("Region"):
            return self.error(request, 230, "Params [Region] not available")
        if action == "DescribeUMem":
            return self._describe(request, params)
        return self._modify(request, params)

    # -- actions ---------------------------------------------------------------------------

    def _find(self, params: dict[str, str], key: str) -> Group | None:
        group = self.groups.get(params.get(key, ""))
        if group is None or group.region != params["Region"]:
            return None
        if params.get("Zone") and group.zone and params["Zone"] != group.zone:
            return None
        return group

    def _describe(self, request: Request, params: dict[str, str]) -> Response:
        if params.get("Protocol") not in ("redis", "memcache"):
            return self.error(request, 230, "Params [Protocol] not available")
        with self.lock:
            if params.get("ResourceId"):
                group = self._find(params, "ResourceId")
                groups = [group] if group else []
            else:
                groups = [g for g in self.groups.values() if g.region == params["Region"]]
            data = [self._group_view(g) for g in groups if params["Protocol"] == "redis"]
        body = {
            "Action": "DescribeUMemResponse",
            "RetCode": 0,
            "DataSet": data,
            "TotalCount": len(data),
        }
        return Response(200, body)

    @staticmethod
    def _group_view(group: Group) -> dict[str, Any]:
        port = group.redis.port if group.redis else 6379
        return {
            "ResourceId": group.group_id,
            "Name": group.group_id,
            "Protocol": "redis",
            "ResourceType": "single",
            "Role": group.role,
            "State": group.state,
            "HasPassword": group.has_password,
            "Zone": group.zone,
            "Address": [{"IP": "127.0.0.1", "Port": port}],
            "DataSet": [],
        }

    def _modify(self, request: Request, params: dict[str, str]) -> Response:
        group = self._find(params, "GroupId")
        if group is None:
            return self.error(request, 230, "Params [GroupId] not available")
        if "Password" not in params:
            return self.error(request, 230, "Params [Password] not available")
        try:
            password = base64.b64decode(params["Password"], validate=True).decode("ascii")
        except (binascii.Error, UnicodeDecodeError):
            return self.error(request, 230, "Params [Password] not available")
        if not password:
            with self.lock:
                self.empty_password_requests.append(group.group_id)
        elif not PASSWORD_RULE.match(password):
            return self.error(request, 230, "Params [Password] not available")
        with self.lock:
            if group.role != "master":
                return self.error(
                    request, EMULATOR_CODES["slave"], "slave password can not be modified"
                )
            if group.state not in ("Running", "SetPasswordFail"):
                return self.error(request, EMULATOR_CODES["busy"], f"group state is {group.state}")
            if group.apply_after_looks > 0:
                group.state = "SetPassword"
                group._looks_left, group._pending = group.apply_after_looks, password
            elif group.apply_delay > 0:
                group.state = "Running" if group.silent_delay else "SetPassword"
                timer = threading.Timer(group.apply_delay, self._apply, (group, password))
                timer.daemon = True
                self._timers.append(timer)
                timer.start()
            else:
                self._apply(group, password)
        return Response(200, {"Action": "ModifyURedisGroupPasswordResponse", "RetCode": 0})

    def on_request(self) -> None:
        with self.lock:
            for group in self.groups.values():
                if group._looks_left > 0:
                    group._looks_left -= 1
                    if group._looks_left == 0:
                        self._apply(group, group._pending)

    def _apply(self, group: Group, password: str) -> None:
        with self.lock:
            if group.fail_next_apply:
                group.fail_next_apply = False
                group.state = "SetPasswordFail"
                return
            if group.redis is not None:
                group.redis.set_password(password)
            for replica in [] if group.stale_replicas else group.replicas:
                replica.set_password(password)
            group.has_password = bool(password)
            group.password_changes += 1
            group.history.append(password)
            group.state = "Running"

    def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()
        super().stop()
