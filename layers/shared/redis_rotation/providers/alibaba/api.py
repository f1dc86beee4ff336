"""The R-KVStore API (2015-01-01) as the Alibaba provider uses it: signed RPC calls, and
readers of the answers (instance state, accounts, endpoints).

Every call is ``POST https://<endpoint>/?<parameters>`` with an empty body, signed with
ACS3-HMAC-SHA256 over a fresh nonce and the clock; the answer is JSON, an error carries
``Code`` and ``Message`` (HTTP 4xx). Nothing here keeps state between calls.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

from redis_rotation.errors import InstanceStateError, ProviderRetryableError
from redis_rotation.providers.base import InstanceStatus
from redis_rotation.providers.transport import endpoint_url
from redis_rotation.secret import Endpoint
from redis_rotation.signing.acs3 import ACS3Signer, acs3_canonical_query

if TYPE_CHECKING:
    from redis_rotation.providers.transport import HttpPoster

NAME = "alibaba"
VERSION = "2015-01-01"
DESCRIBE_INSTANCE = "DescribeInstanceAttribute"
DESCRIBE_ACCOUNTS = "DescribeAccounts"
NET_INFO = "DescribeDBInstanceNetInfo"

# The regions the official SDK (alibabacloud-r-kvstore20150101 7.0.0, its endpoint map)
# sends to the central host; every other region has r-kvstore.<region>.aliyuncs.com.
CENTRAL_HOST = "r-kvstore.aliyuncs.com"
CENTRAL_REGIONS = frozenset(
    {
        "ap-northeast-2-pop", "cn-beijing-finance-pop", "cn-beijing-gov-1",
        "cn-beijing-nu16-b01", "cn-edge-1", "cn-fujian", "cn-haidian-cm12-c01",
        "cn-hangzhou", "cn-hangzhou-bj-b01", "cn-hangzhou-finance",
        "cn-hangzhou-internal-prod-1", "cn-hangzhou-internal-test-1",
        "cn-hangzhou-internal-test-2", "cn-hangzhou-internal-test-3", "cn-hangzhou-test-306",
        "cn-hongkong-finance-pop", "cn-qingdao-nebula", "cn-shanghai-et15-b01",
        "cn-shanghai-et2-b01", "cn-shanghai-inner", "cn-shanghai-internal-test-1",
        "cn-shenzhen-inner", "cn-shenzhen-st4-d01", "cn-shenzhen-su18-b01", "cn-wuhan",
        "cn-yushanfang", "cn-zhangbei", "cn-zhangbei-na61-b01", "cn-zhangjiakou-na62-a01",
        "cn-zhengzhou-nebula-1", "eu-west-1-oxs", "rus-west-1-pop",
    }
)  # fmt: skip

# InstanceStatus: only Normal may be changed. These end by themselves (wait) ...
BUSY_STATUSES = frozenset(
    {
        "Creating", "Changing", "Flushing", "Transforming", "Migrating", "BackupRecovering",
        "MinorVersionUpgrading", "NetworkModifying", "SSLModifying", "MajorVersionUpgrading",
        "Rebooting",
    }
)  # fmt: skip
# ... these need a person.
DEAD_STATUSES = {
    "Inactive": "expired (Inactive): renew it in the console, then rotate again",
    "Released": "released: point the secret at a live instance",
}


def default_endpoint(region: str) -> str:
    """The R-KVStore endpoint of ``region``, as the official SDK picks it."""
    host = CENTRAL_HOST if region in CENTRAL_REGIONS else f"r-kvstore.{region}.aliyuncs.com"
    return f"https://{host}"


def _strings(answer: Any, *path: str) -> list[Mapping[str, Any]]:
    """The list of objects at ``path`` (Alibaba wraps lists: ``Accounts.Account``)."""
    for key in path:
        answer = answer.get(key) if isinstance(answer, Mapping) else None
    return [item for item in answer or () if isinstance(item, Mapping)]


def read_attribute(answer: Any, instance_id: str) -> Mapping[str, Any]:
    """The instance's DBInstanceAttribute in a DescribeInstanceAttribute answer."""
    for attribute in _strings(answer, "Instances", "DBInstanceAttribute"):
        if attribute.get("InstanceId") == instance_id:
            return attribute
    raise InstanceStateError(
        NAME, DESCRIBE_INSTANCE, "NotFound", f"the answer does not describe {instance_id}"
    )


def instance_status(attribute: Mapping[str, Any], instance_id: str) -> InstanceStatus:
    """What an instance's state means for a change; InstanceStateError where a rotation
    must not go on: dead, or password-free in its VPC (a rotated password proves nothing)."""
    status = attribute.get("InstanceStatus")
    if attribute.get("VpcAuthMode") == "Close":
        raise InstanceStateError(
            NAME,
            DESCRIBE_INSTANCE,
            "VpcAuthModeClose",
            f"instance {instance_id} allows password-free access in its VPC (VpcAuthMode "
            "Close); turn password authentication on, then rotate again",
        )
    if isinstance(status, str) and status in DEAD_STATUSES:
        raise InstanceStateError(
            NAME, DESCRIBE_INSTANCE, status, f"instance {instance_id} is {DEAD_STATUSES[status]}"
        )
    if status == "Normal":
        return InstanceStatus(ready=True, busy=False, detail="Normal")
    if isinstance(status, str) and status in BUSY_STATUSES:
        return InstanceStatus(ready=False, busy=True, detail=status)
    return InstanceStatus(ready=False, busy=False, detail=f"InstanceStatus {status}")


@dataclass(frozen=True)
class AccountView:
    """One account of a DescribeAccounts answer."""

    name: str
    status: str
    account_type: str
    privilege: str | None  # the first DatabasePrivilege's AccountPrivilege


def read_accounts(answer: Any) -> dict[str, AccountView]:
    accounts = {}
    for item in _strings(answer, "Accounts", "Account"):
        name = item.get("AccountName")
        if not isinstance(name, str):
            continue
        privileges = _strings(item, "DatabasePrivileges", "DatabasePrivilege")
        privilege = privileges[0].get("AccountPrivilege") if privileges else None
        accounts[name] = AccountView(
            name,
            str(item.get("AccountStatus")),
            str(item.get("AccountType")),
            privilege if isinstance(privilege, str) else None,
        )
    return accounts


def read_addresses(answer: Any) -> frozenset[Endpoint]:
    """Every endpoint of a DescribeDBInstanceNetInfo answer: each item's connection string
    and IP address, with its port."""
    found = set()
    for item in _strings(answer, "NetInfoItems", "InstanceNetInfo"):
        port = item.get("Port")
        port_text = str(port) if isinstance(port, (str, int)) and not isinstance(port, bool) else ""
        if not (port_text.isascii() and port_text.isdigit() and 0 < int(port_text) < 65536):
            continue
        for key in ("ConnectionString", "IPAddress"):
            host = item.get(key)
            if isinstance(host, str) and host:
                found.add(Endpoint(host.lower(), int(port_text)))
    return frozenset(found)


def _new_nonce() -> str:
    return secrets.token_hex(16)


@dataclass
class AlibabaApi:
    """Signed calls to one R-KVStore endpoint with one AccessKey.

    ``keys`` holds ``accessKeyId``, ``accessKeySecret`` and optionally ``securityToken``;
    ``hide`` is told every value an error message must never quote (the signature); an
    error answer goes to ``refuse`` (action, code, message), which raises.
    """

    transport: HttpPoster
    endpoint: str
    keys: Mapping[str, str] = field(repr=False)
    clock: Callable[[], float]
    hide: Callable[[str], None]
    refuse: Callable[[str, str, Any], NoReturn]
    nonce: Callable[[], str] = _new_nonce

    def call(self, action: str, params: Mapping[str, str]) -> Mapping[str, Any]:
        url, host = endpoint_url(self.endpoint)
        headers = ACS3Signer(
            self.keys["accessKeyId"], self.keys["accessKeySecret"], self.keys.get("securityToken")
        ).add_auth(
            host=host,
            action=action,
            version=VERSION,
            params=params,
            timestamp=int(self.clock()),
            nonce=self.nonce(),
        )
        self.hide(headers["Authorization"].rpartition("Signature=")[2])
        answer = self.transport.post(
            f"{url}?{acs3_canonical_query(params)}", action=action, body=b"", headers=headers
        )
        if not isinstance(answer, Mapping):
            raise ProviderRetryableError(
                NAME, action, "InvalidAnswer", "the answer is not an object"
            )
        code = answer.get("Code")
        if code:
            self.refuse(action, str(code), answer.get("Message"))
        return answer
