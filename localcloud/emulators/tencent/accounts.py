"""API 3.0's custom accounts: CreateInstanceAccount, ModifyInstanceAccount,
DeleteInstanceAccount and DescribeInstanceAccount, each 20 requests/s (the emulator's rate
limit per action). Every change answers with a TaskId; while its task runs the account
reports Status 1 ("changing"), then 2 ("valid").

Emulator choices where Tencent documents nothing: InvalidParameterValue for an account
that already exists, for a bad AccountName, Privilege or ReadonlyPolicy; a second change
of an account whose task runs is refused with ResourceUnavailable.InstanceStatusAbnormal;
NoAuth=true is recorded and refused (InvalidParameterValue.PasswordFreeDenied), for the
default account ``root`` as for custom ones (which Tencent documents cannot be
password-free); ``root`` cannot be created or deleted, and its password is changed by
ModifyInstanceAccount too, as Tencent documents.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from localcloud.emulators.tencent.models import (
    ACCOUNT_CHANGING,
    Account,
    Change,
    Instance,
    TencentCloud,
)
from localcloud.emulators.tencent.rules import (
    ACCOUNT_NAME,
    PRIVILEGES,
    READONLY_POLICIES,
    V3_ACCOUNT_RULE,
)

ROOT = "root"
CREATE, MODIFY = "CreateInstanceAccount", "ModifyInstanceAccount"
DELETE, DESCRIBE = "DeleteInstanceAccount", "DescribeInstanceAccount"
ACCOUNT_ACTIONS = (CREATE, MODIFY, DELETE, DESCRIBE)

ACCOUNT_PARAMS: Mapping[str, Mapping[str, type]] = {
    CREATE: {
        "InstanceId": str,
        "AccountName": str,
        "AccountPassword": str,
        "ReadonlyPolicy": list,
        "Privilege": str,
        "Remark": str,
        "EncryptPassword": bool,
    },
    MODIFY: {
        "InstanceId": str,
        "AccountName": str,
        "AccountPassword": str,
        "Remark": str,
        "ReadonlyPolicy": list,
        "Privilege": str,
        "NoAuth": bool,
        "EncryptPassword": bool,
    },
    DELETE: {"InstanceId": str, "AccountName": str},
    DESCRIBE: {"InstanceId": str, "Limit": int, "Offset": int},
}
ACCOUNT_REQUIRED: Mapping[str, tuple[str, ...]] = {
    CREATE: ("InstanceId", "AccountName", "AccountPassword", "ReadonlyPolicy", "Privilege"),
    MODIFY: ("InstanceId", "AccountName"),
    DELETE: ("InstanceId", "AccountName"),
    DESCRIBE: ("InstanceId",),
}
BAD = "InvalidParameterValue"
NOT_FOUND = "ResourceNotFound.AccountDoesNotExists"
BUSY = "ResourceUnavailable.InstanceStatusAbnormal"

Answer = tuple[str, str] | dict[str, Any]  # an error (code, message), or the answer's fields


def account_view(account: Account) -> dict[str, Any]:
    return {
        "AccountName": account.name,
        "Remark": account.remark,
        "Privilege": account.privilege,
        "ReadonlyPolicy": list(account.readonly_policy),
        "Status": account.status,
        "CreateTime": account.created,
    }


def _options_problem(params: Mapping[str, Any]) -> str | None:
    if params.get("Privilege", "rw") not in PRIVILEGES:
        return f"Privilege must be one of {PRIVILEGES}"
    policy = params.get("ReadonlyPolicy", ["master"])
    if not policy or any(p not in READONLY_POLICIES for p in policy):
        return f"ReadonlyPolicy must hold values of {READONLY_POLICIES}"
    if params.get("EncryptPassword") is True:
        return "EncryptPassword is not emulated"
    return None


class AccountApi:
    """The account actions, on the shared ``cloud``; ``now`` is the wall clock."""

    def __init__(self, cloud: TencentCloud, now: Callable[[], float]) -> None:
        self.cloud = cloud
        self.now = now

    def serve(self, action: str, params: Mapping[str, Any], region: str) -> Answer:
        instance = self.cloud.find(params["InstanceId"], region)
        if instance is None:
            return "ResourceNotFound.InstanceNotExists", "no such instance"
        if action == DESCRIBE:
            return self._describe(instance, params)
        if params.get("NoAuth") is True:
            with self.cloud.lock:
                self.cloud.no_auth_requests.append(instance.instance_id)
            return "InvalidParameterValue.PasswordFreeDenied", "NoAuth=true is refused"
        problem = _options_problem(params)
        if problem is not None:
            return BAD, problem
        with self.cloud.lock:
            if instance.locked:
                return "ResourceUnavailable.InstanceLockedError", "the instance is locked"
            if instance.reported_status != 2:
                return BUSY, "the instance is not running"
            if action == CREATE:
                return self._create(instance, params)
            if action == MODIFY:
                return self._modify(instance, params)
            return self._delete(instance, params)

    def _describe(self, instance: Instance, params: Mapping[str, Any]) -> Answer:
        limit, offset = params.get("Limit", 20), params.get("Offset", 0)
        if not 1 <= limit <= 100 or offset < 0:
            return BAD, "Limit must be 1-100 and Offset at least 0"
        with self.cloud.lock:
            accounts = list(instance.accounts.values())
            views = [account_view(a) for a in accounts[offset : offset + limit]]
        return {"Accounts": views, "TotalCount": len(accounts)}

    def _password_problem(self, password: str) -> Answer | None:
        if not password:
            return "InvalidParameterValue.PasswordEmpty", "AccountPassword is empty"
        if not V3_ACCOUNT_RULE.allows(password):
            return "InvalidParameterValue.PasswordRuleError", "AccountPassword breaks the rule"
        return None

    def _task(self, instance: Instance, change: Change, action: str) -> Answer:
        task = self.cloud.start_task(instance, change, action, self.now())
        return {"TaskId": task.task_id}

    def _create(self, instance: Instance, params: Mapping[str, Any]) -> Answer:
        name, password = params["AccountName"], params["AccountPassword"]
        if not ACCOUNT_NAME.fullmatch(name) or name == ROOT:
            return BAD, "AccountName must be 1-32 letters, digits, '_' or '-', not root"
        if name in instance.accounts:
            return BAD, "the account exists"
        problem = self._password_problem(password)
        if problem is not None:
            return problem
        created = datetime.fromtimestamp(self.now(), tz=UTC).strftime("%Y-%m-%d %H:%M:%S")
        # No password until the task applies it: a failed task removes the account again.
        instance.accounts[name] = Account(
            name,
            "",
            privilege=params["Privilege"],
            readonly_policy=list(params["ReadonlyPolicy"]),
            remark=params.get("Remark", ""),
            created=created,
        )
        return self._task(instance, Change(password, name), CREATE)

    def _modify(self, instance: Instance, params: Mapping[str, Any]) -> Answer:
        name = params["AccountName"]
        password = params.get("AccountPassword")
        if name == ROOT:
            if password is None:
                return BAD, "root: only its password is emulated"
            problem = self._password_problem(password)
            return problem or self._task(instance, Change(password), MODIFY)
        account = instance.accounts.get(name)
        if account is None:
            return NOT_FOUND, f"there is no account {name}"
        if account.status == ACCOUNT_CHANGING:
            return BUSY, "a task of this account runs"
        if password is not None:
            problem = self._password_problem(password)
            if problem is not None:
                return problem
        account.privilege = params.get("Privilege", account.privilege)
        account.readonly_policy = list(params.get("ReadonlyPolicy", account.readonly_policy))
        account.remark = params.get("Remark", account.remark)
        # Without a new password the ACL user is rewritten with the one it has.
        return self._task(instance, Change(password or account.password, name), MODIFY)

    def _delete(self, instance: Instance, params: Mapping[str, Any]) -> Answer:
        name = params["AccountName"]
        account = instance.accounts.get(name)
        if name == ROOT:
            return BAD, "the default account cannot be deleted"
        if account is None:
            return NOT_FOUND, f"there is no account {name}"
        if account.status == ACCOUNT_CHANGING:
            return BUSY, "a task of this account runs"
        return self._task(instance, Change(account.password, name, delete=True), DELETE)
