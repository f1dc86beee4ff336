"""The URedis emulator's wire: UMem's form (or JSON) parameters, the UCloud signature, and
the answers of ModifyURedisGroupPassword, ModifyUMemPassword and DescribeUMem."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from localcloud.emulators.base import ApiEmulator, Request, Response
from localcloud.emulators.uredis.models import Group, Space, URedisGroups
from localcloud.signatures.ucloud import verify

PASSWORD_RULE = re.compile(r"^[A-Za-z0-9_-]{6,36}$")
EMULATOR_CODES = {"slave": 20105, "busy": 20106}
ACTIONS = ("ModifyURedisGroupPassword", "ModifyUMemPassword", "DescribeUMem")
# The change calls: (id parameter, the collection they look the id up in).
CHANGES = {"ModifyURedisGroupPassword": "GroupId", "ModifyUMemPassword": "SpaceId"}


class URedisEmulator(ApiEmulator):
    def __init__(self) -> None:
        super().__init__()
        self.keys: dict[str, str] = {}
        # Public keys of sub-accounts: UCloud requires ProjectId on their every request.
        self.sub_accounts: set[str] = set()
        self.model = URedisGroups(self.lock)
        # The model's own collections, under the names the local cloud and tests use.
        self.groups = self.model.groups
        self.spaces = self.model.spaces
        self.empty_password_requests = self.model.empty_password_requests

    def add_key(self, public_key: str, private_key: str, *, sub_account: bool = False) -> None:
        self.keys[public_key] = private_key
        if sub_account:
            self.sub_accounts.add(public_key)

    def add_group(self, group: Group) -> Group:
        """A master-replica group, or a distributed space (a ``Space``)."""
        return self.model.add_group(group)

    def resource(self, resource_id: str) -> Group:
        """The group or space ``resource_id``."""
        return self.groups.get(resource_id) or self.spaces[resource_id]

    # -- ApiEmulator ---------------------------------------------------------------------

    @staticmethod
    def params(request: Request) -> dict[str, str]:
        content_type = request.headers.get("content-type", "")
        if request.method == "GET":
            return dict(parse_qsl(request.query, keep_blank_values=True))
        if "json" in content_type:
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
        if params["PublicKey"] in self.sub_accounts and not params.get("ProjectId"):
            return self.error(request, 230, "Params [ProjectId] not available")
        if action == "DescribeUMem":
            return self._describe(request, params)
        return self._modify(request, action, params)

    def on_request(self) -> None:
        self.model.request_answered()

    def stop(self) -> None:
        self.model.cancel_timers()
        super().stop()

    # -- actions ---------------------------------------------------------------------------

    def _find(
        self, params: dict[str, str], key: str, among: Mapping[str, Group] | None = None
    ) -> Group | None:
        return self.model.find(
            params.get(key, ""),
            params["Region"],
            params.get("Zone"),
            params.get("ProjectId"),
            among,
        )

    def _describe(self, request: Request, params: dict[str, str]) -> Response:
        if params.get("Protocol") not in ("redis", "memcache"):
            return self.error(request, 230, "Params [Protocol] not available")
        with self.lock:
            if params.get("ResourceId"):
                group = self._find(params, "ResourceId")
                groups = [group] if group else []
            else:
                groups = [g for g in self.model.resources() if g.region == params["Region"]]
            wanted = params.get("ResourceType")
            data = [
                group_view(g)
                for g in groups
                if params["Protocol"] == "redis" and wanted in (None, "", g.resource_type)
            ]
        body = {
            "Action": "DescribeUMemResponse",
            "RetCode": 0,
            "DataSet": data,
            "TotalCount": len(data),
        }
        return Response(200, body)

    def _modify(self, request: Request, action: str, params: dict[str, str]) -> Response:
        id_param = CHANGES[action]
        if action == "ModifyUMemPassword" and not params.get("Zone"):
            # What UCloud's backend answers without Zone (its docs mark Zone required).
            return self.error(request, 230, "Missing Params [zone_id]")
        among = self.spaces if action == "ModifyUMemPassword" else self.groups
        group = self._find(params, id_param, among)
        if group is None:
            return self.error(request, 230, f"Params [{id_param}] not available")
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
            self.model.change_password(group, password)
        return Response(200, {"Action": f"{action}Response", "RetCode": 0})


def group_view(group: Group) -> dict[str, Any]:
    """One entry of DescribeUMem's DataSet (the SDK's UMemDataSet fields)."""
    port = group.redis.port if group.redis else 6379
    view: dict[str, Any] = {
        "ResourceId": group.group_id,
        "Name": group.group_id,
        "Protocol": "redis",
        "ResourceType": group.resource_type,
        "State": group.state,
        "HasPassword": group.has_password,
        "Zone": group.zone,
        "Address": [{"IP": "127.0.0.1", "Port": port}],
        "DataSet": [],
    }
    if not isinstance(group, Space):  # "仅主备redis返回该项参数": groups only have a role
        view["Role"] = group.role
    return view
