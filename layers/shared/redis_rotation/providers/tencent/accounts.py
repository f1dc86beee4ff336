"""Tencent API 3.0 custom accounts: a secret's ``account`` is changed with
``ModifyInstanceAccount`` (no old password needed), and, for an alternating secret with
``createMissingAccount``, created with ``CreateInstanceAccount`` with the Privilege and
ReadonlyPolicy of the pair's other account. ``DescribeInstanceAccount`` tells whether the
account exists and whether a task is changing it (Status 1). ``NoAuth`` is never sent.

The secret given is the version whose account is changed: for an alternating secret that
is AWSPENDING (the account AWSCURRENT does not use), so AWSCURRENT's account is never
touched.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, override

from redis_rotation import passwords
from redis_rotation.errors import InstanceStateError
from redis_rotation.providers.base import ChangeHandle, Inspection, InstanceStatus, missing_account
from redis_rotation.providers.tencent.api import NAME, task_handle
from redis_rotation.providers.tencent.v3 import TencentV3Api
from redis_rotation.providers.transport import call_retrying

if TYPE_CHECKING:
    from redis_rotation.secret import RedisSecret

DESCRIBE_ACCOUNTS = "DescribeInstanceAccount"
CREATE = "CreateInstanceAccount"
PAGE = 100  # DescribeInstanceAccount's largest Limit
# DescribeInstanceAccount Status.
CHANGING, VALID = 1, 2
PRIVILEGES = ("r", "w", "rw")  # read-only, write-only, read-write


class TencentV3Account(TencentV3Api):
    name = "API 3.0 (account)"
    policy = passwords.TENCENT_V3_ACCOUNT
    needs_old_password = False
    action = "ModifyInstanceAccount"

    @override
    def inspect(self, secret: RedisSecret) -> Inspection:
        seen = super().inspect(secret)
        if not seen.status.ready:
            return seen
        name = self._name(secret)
        # The listing goes along to the change: it reads the template account from it.
        listed = self.list_accounts(secret)
        account = listed.get(name)
        status = seen.status
        if account is None:
            if not self._may_create(secret):
                raise self._missing(secret, name)
            status = InstanceStatus(ready=True, busy=False, detail=f"no account {name} yet")
        elif account.get("Status") == CHANGING:
            status = InstanceStatus(ready=False, busy=True, detail=f"account {name} is changing")
        elif account.get("Status") != VALID:
            status = InstanceStatus(
                ready=False, busy=False, detail=f"account {name} Status {account.get('Status')}"
            )
        return Inspection(status, seen.addresses, listed)

    @override
    def change(
        self,
        secret: RedisSecret,
        inspection: Inspection,
        new_password: str,
        old_password: str | None,
    ) -> ChangeHandle:
        name = self._name(secret)
        accounts = inspection.listing or self.list_accounts(secret)
        if name in accounts or not self._may_create(secret):
            return super().change(secret, inspection, new_password, old_password)
        template_name = secret.other_account()
        template = accounts.get(template_name)
        if template is None:
            raise self._missing(secret, template_name)
        privilege, policy = template.get("Privilege"), template.get("ReadonlyPolicy")
        if privilege not in PRIVILEGES or not isinstance(policy, list) or not policy:
            raise InstanceStateError(
                NAME,
                DESCRIBE_ACCOUNTS,
                "NoPrivilegeToCopy",
                f"account {template_name} of {secret.instance_id} reports no Privilege and "
                f"ReadonlyPolicy to copy: create {name} in the console, then rotate again",
            )
        body = {
            "InstanceId": secret.instance_id,
            "AccountName": name,
            "AccountPassword": new_password,
            "Privilege": privilege,
            "ReadonlyPolicy": [str(p) for p in policy],
        }
        return task_handle(self.call(secret, CREATE, body).get("TaskId"), CREATE)

    @override
    def change_body(self, secret: RedisSecret, new: str, old: str | None) -> dict[str, Any]:
        # Only the password: privileges stay as the owner set them; NoAuth is never sent.
        return {
            "InstanceId": secret.instance_id,
            "AccountName": self._name(secret),
            "AccountPassword": new,
        }

    def list_accounts(self, secret: RedisSecret) -> dict[str, Mapping[str, Any]]:
        """The instance's accounts by name, from DescribeInstanceAccount, page by page."""
        found: dict[str, Mapping[str, Any]] = {}
        offset = 0
        while True:
            answer = call_retrying(
                partial(
                    self.call,
                    secret,
                    DESCRIBE_ACCOUNTS,
                    {"InstanceId": secret.instance_id, "Limit": PAGE, "Offset": offset},
                ),
                self.client.deadline,
            )
            page = [a for a in answer.get("Accounts") or [] if isinstance(a, Mapping)]
            found.update((str(a.get("AccountName")), a) for a in page)
            offset += len(page)
            total = answer.get("TotalCount")
            if not page or not isinstance(total, int) or offset >= total:
                return found

    @staticmethod
    def _name(secret: RedisSecret) -> str:
        name = secret.account
        if name is None:  # the schema picks this class only for secrets with an account
            raise InstanceStateError(NAME, DESCRIBE_ACCOUNTS, "NoAccount", "no account named")
        return name

    @staticmethod
    def _may_create(secret: RedisSecret) -> bool:
        return secret.alternating and secret.create_missing_account

    @staticmethod
    def _missing(secret: RedisSecret, name: str) -> InstanceStateError:
        return missing_account(NAME, DESCRIBE_ACCOUNTS, secret, name)
