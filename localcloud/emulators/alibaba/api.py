"""The R-KVStore (2015-01-01) RPC API of one region: ``POST /?<parameters>`` with an empty
body, signed with ACS3-HMAC-SHA256, answered in JSON.

Checks in order, each with Alibaba's common error code: the Authorization header
(IncompleteSignature), the AccessKey (InvalidAccessKeyId.NotFound, 404), ``x-acs-date``
(InvalidTimeStamp.Format; InvalidTimeStamp.Expired beyond 15 minutes), the signature
(SignatureDoesNotMatch), the STS token (InvalidSecurityToken.MismatchWithAccessKey), the
nonce (SignatureNonceUsed: a nonce is good once), the action (InvalidAction.NotFound, 404)
and version (InvalidVersion). Then the action's own checks, with the codes its API page
lists, and otherwise the codes in ``EMULATOR_CODES``.

Emulator choices where Alibaba documents nothing: the order of the checks; HTTP 400 for
every refusal but the two 404s and a 403 for a busy or stopped instance
(``IncorrectInstanceStatus``); unknown parameters are ignored, as the SDK's own
(OwnerId, SourceBiz, ...) are; ResetAccountPassword also takes the default account's name;
DescribeAccounts lists the default account, as ``Super``; a custom account's change makes
it ``Unavailable`` until it lands.
"""

from __future__ import annotations

import re
import string
import uuid
from calendar import timegm
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from time import strptime
from typing import Any

from localcloud.emulators.alibaba.models import (
    AVAILABLE,
    NORMAL,
    READ_ONLY,
    READ_WRITE,
    Account,
    AlibabaCloud,
    Change,
    Instance,
)
from localcloud.emulators.base import Request, Response
from localcloud.signatures.acs3 import acs3_verify, parse_acs3_authorization, received_params

VERSION = "2015-01-01"
DATE_WINDOW = 15 * 60  # seconds either side of the server's clock
MODIFY_INSTANCE = "ModifyInstanceAttribute"
RESET, MODIFY_ACCOUNT = "ResetAccountPassword", "ModifyAccountPassword"
CREATE, DESCRIBE_ACCOUNTS = "CreateAccount", "DescribeAccounts"
DESCRIBE_INSTANCE, NET_INFO = "DescribeInstanceAttribute", "DescribeDBInstanceNetInfo"
REQUIRED: Mapping[str, tuple[str, ...]] = {
    DESCRIBE_INSTANCE: ("InstanceId",),
    DESCRIBE_ACCOUNTS: ("InstanceId",),
    NET_INFO: ("InstanceId",),
    MODIFY_INSTANCE: ("InstanceId",),
    RESET: ("InstanceId", "AccountName", "AccountPassword"),
    MODIFY_ACCOUNT: ("InstanceId", "AccountName", "OldAccountPassword", "NewAccountPassword"),
    CREATE: ("InstanceId", "AccountName", "AccountPassword"),
}
# Codes Alibaba does not document for these cases (see the module docstring).
EMULATOR_CODES = {
    "busy": "IncorrectInstanceStatus",
    "no_account": "InvalidAccountName.NotFound",
    "old_refused": "InvalidAccountPassword.Mismatch",
}

SPECIALS = "!@#$%^&*()_+-="
_CLASSES = (string.ascii_lowercase, string.ascii_uppercase, string.digits, SPECIALS)
ACCOUNT_NAME = re.compile(r"[a-z][a-z0-9_]{0,15}")
Problem = tuple[int, str, str]  # (HTTP status, Code, Message)


def password_allowed(password: str) -> bool:
    """8-32 characters, only from the four classes, at least three classes used."""
    if not 8 <= len(password) <= 32 or any(not any(c in k for k in _CLASSES) for c in password):
        return False
    return sum(1 for kind in _CLASSES if any(c in kind for c in password)) >= 3


def ok(fields: Mapping[str, Any] | None = None) -> Response:
    return Response(200, {**(fields or {}), "RequestId": str(uuid.uuid4()).upper()})


def error(status: int, code: str, message: str) -> Response:
    body = {"Code": code, "Message": message, "RequestId": str(uuid.uuid4()).upper()}
    return Response(status, {**body, "HostId": "r-kvstore.aliyuncs.com", "Recommend": ""})


def parse_date(value: str) -> float | None:
    """``yyyy-MM-ddTHH:mm:ssZ`` as unix seconds, or None if it is not exactly that."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", value):
        return None
    try:
        return float(timegm(strptime(value, "%Y-%m-%dT%H:%M:%SZ")))
    except ValueError:
        return None


@dataclass
class RegionApi:
    """Answers the requests of one regional endpoint from the shared ``cloud``."""

    cloud: AlibabaCloud
    region: str
    now: Callable[[], float]

    def serve(self, request: Request) -> Response:
        problem = self._authenticate(request) or self._route(request)
        if problem is not None:
            return error(*problem)
        params = received_params(request.query)  # parsed by the signature check already
        action = request.headers["x-acs-action"]
        missing = [name for name in REQUIRED[action] if not params.get(name)]
        if missing:
            message = f'The input parameter "{missing[0]}" that is mandatory is not supplied.'
            return error(400, "MissingParameter", message)
        with self.cloud.lock:
            instance = self.cloud.instances.get(params["InstanceId"])
            if instance is None or instance.region != self.region:
                return error(404, "InvalidInstanceId.NotFound", "The instance is not found.")
            answer = self._act(action, instance, params)
        return error(*answer) if isinstance(answer, tuple) else ok(answer)

    def _authenticate(self, request: Request) -> Problem | None:
        headers = request.headers
        try:
            auth = parse_acs3_authorization(headers.get("authorization", ""))
        except ValueError as exc:
            return 400, "IncompleteSignature", f"The request signature is malformed: {exc}"
        key = self.cloud.keys.get(auth.access_key_id)
        if key is None:
            return 404, "InvalidAccessKeyId.NotFound", "Specified access key is not found."
        when = parse_date(headers.get("x-acs-date", ""))
        if when is None:
            return 400, "InvalidTimeStamp.Format", "x-acs-date is not yyyy-MM-ddTHH:mm:ssZ."
        now = self.now()
        if abs(now - when) > DATE_WINDOW:
            return 400, "InvalidTimeStamp.Expired", "Specified time stamp or date is expired."
        secret, token = key
        signed = acs3_verify(
            headers=headers,
            query=request.query,
            body=request.body,
            access_key_secret=secret,
            http_method=request.method,
            canonical_uri=request.path,
        )
        if not signed:
            message = "Specified signature is not matched with our calculation."
            return 400, "SignatureDoesNotMatch", message
        if headers.get("x-acs-security-token") != token:
            message = "The security token does not belong to the AccessKey."
            return 400, "InvalidSecurityToken.MismatchWithAccessKey", message
        if not self.cloud.use_nonce(headers["x-acs-signature-nonce"], now, 2 * DATE_WINDOW):
            return 400, "SignatureNonceUsed", "Specified signature nonce was used already."
        return None

    @staticmethod
    def _route(request: Request) -> Problem | None:
        action = request.headers.get("x-acs-action", "")
        if request.method != "POST" or request.path != "/" or action not in REQUIRED:
            return 404, "InvalidAction.NotFound", "Specified api is not found."
        if request.headers.get("x-acs-version") != VERSION:
            return 400, "InvalidVersion", "Specified parameter Version is not valid."
        return None

    def _act(
        self, action: str, instance: Instance, params: Mapping[str, str]
    ) -> Problem | dict[str, Any]:
        if action == DESCRIBE_INSTANCE:
            return {"Instances": {"DBInstanceAttribute": [instance_view(instance)]}}
        if action == DESCRIBE_ACCOUNTS:
            wanted = params.get("AccountName")
            views = [v for v in accounts_view(instance) if wanted in (None, v["AccountName"])]
            return {"Accounts": {"Account": views}}
        if action == NET_INFO:
            return net_info_view(instance)
        problem = self._changeable(instance, action)
        if problem is not None:
            return problem
        if action == MODIFY_INSTANCE:
            return self._modify_instance(instance, params)
        if action == CREATE:
            return self._create(instance, params)
        return self._change_account(action, instance, params)

    @staticmethod
    def _changeable(instance: Instance, action: str) -> Problem | None:
        if instance.in_flight is not None:
            return 400, "TaskExists", "Specified task have existed."
        if instance.status != NORMAL:
            return 403, EMULATOR_CODES["busy"], f"The instance is {instance.status}."
        needs_accounts = action != MODIFY_INSTANCE
        if needs_accounts and int(instance.engine_version.split(".")[0]) < 4:
            return 400, "InvalidEngineVersion.Format", "Accounts need Redis 4.0 or later."
        return None

    def _modify_instance(
        self, instance: Instance, params: Mapping[str, str]
    ) -> Problem | dict[str, Any]:
        password = params.get("NewPassword")
        if password is None:
            message = "InstanceName/NewPassword at least one is mandatory."
            return 400, "MissingParameter", message
        if not password_allowed(password):
            return 400, "InvalidPassword.Malformed", "The password breaks the password rule."
        self.cloud.start(instance, Change(password))
        return {}

    def _create(self, instance: Instance, params: Mapping[str, str]) -> Problem | dict[str, Any]:
        name, password = params["AccountName"], params["AccountPassword"]
        privilege = params.get("AccountPrivilege", READ_WRITE)
        if not ACCOUNT_NAME.fullmatch(name):
            return 400, "InvalidAccountName.Format", "The account name is malformed."
        if name in instance.accounts or name == instance.instance_id:
            return 400, "InvalidAccountName.Duplicate", "The account name exists."
        if (
            privilege not in (READ_ONLY, READ_WRITE)
            or params.get("AccountType", "Normal") != "Normal"
        ):
            return 400, "InvalidParameter", "AccountPrivilege or AccountType is not valid."
        if not password_allowed(password):
            return 400, "InvalidAccountPassword.Format", "The password breaks the rule."
        description = params.get("AccountDescription", "")
        instance.accounts[name] = Account(name, "", privilege, description)
        self.cloud.start(instance, Change(password, name))
        return {"InstanceId": instance.instance_id, "AccountName": name, "AcountName": name}

    def _change_account(
        self, action: str, instance: Instance, params: Mapping[str, str]
    ) -> Problem | dict[str, Any]:
        name = params["AccountName"]
        is_default = name == instance.instance_id
        account = instance.accounts.get(name)
        if account is None and not is_default:
            return 400, EMULATOR_CODES["no_account"], f"There is no account {name}."
        password = params.get("AccountPassword") or params.get("NewAccountPassword", "")
        if not password_allowed(password):
            return 400, "InvalidAccountPassword.Format", "The password breaks the rule."
        if action == MODIFY_ACCOUNT:
            current = instance.password if account is None else account.password
            if params["OldAccountPassword"] != current:
                return 400, EMULATOR_CODES["old_refused"], "The old password is not right."
        self.cloud.start(instance, Change(password, None if is_default else name))
        return {}


def instance_view(instance: Instance) -> dict[str, Any]:
    """One DBInstanceAttribute of DescribeInstanceAttribute."""
    port = instance_port(instance)
    return {
        "InstanceId": instance.instance_id,
        "InstanceName": instance.instance_id,
        "RegionId": instance.region,
        "InstanceStatus": instance.reported_status,
        "ArchitectureType": instance.architecture,
        "NodeType": "MASTER_SLAVE",
        "EngineVersion": instance.engine_version,
        "InstanceType": "Redis",
        "ConnectionDomain": "127.0.0.1",
        "Port": port,
        "PrivateIp": "127.0.0.1",
        "NetworkType": "VPC",
        "VpcAuthMode": instance.vpc_auth_mode,
        "ShardCount": instance.shard_count,
        "ReadOnlyCount": 0,
    }


def instance_port(instance: Instance) -> int:
    """Clients reach the proxy endpoint (the AUTH front) where there is one."""
    if instance.front is not None:
        return instance.front.port
    return instance.redis.port if instance.redis is not None else 6379


def accounts_view(instance: Instance) -> list[dict[str, Any]]:
    default = {
        "AccountName": instance.instance_id,
        "AccountType": "Super",
        "AccountStatus": AVAILABLE,
        "AccountPrivilege": READ_WRITE,
    }
    accounts = [
        {
            "AccountName": a.name,
            "AccountType": "Normal",
            "AccountStatus": a.status,
            "AccountPrivilege": a.privilege,
            "AccountDescription": a.description,
        }
        for a in instance.accounts.values()
    ]
    return [
        {
            "InstanceId": instance.instance_id,
            "AccountName": view["AccountName"],
            "AccountType": view["AccountType"],
            "AccountStatus": view["AccountStatus"],
            "AccountDescription": view.get("AccountDescription", ""),
            "DatabasePrivileges": {
                "DatabasePrivilege": [{"AccountPrivilege": view["AccountPrivilege"]}]
            },
        }
        for view in (default, *accounts)
    ]


def net_info_view(instance: Instance) -> dict[str, Any]:
    """DescribeDBInstanceNetInfo: the one VPC endpoint (the proxy, for a cluster)."""
    item = {
        "ConnectionString": "127.0.0.1",
        "Port": str(instance_port(instance)),
        "IPAddress": "127.0.0.1",
        "IPType": "Private",
        "DBInstanceNetType": "2",
        "DirectConnection": 0,
        "VPCId": "vpc-local",
        "VSwitchId": "vsw-local",
        "Upgradeable": "0",
        "ExpiredTime": "",
    }
    return {"InstanceNetworkType": "VPC", "NetInfoItems": {"InstanceNetInfo": [item]}}
