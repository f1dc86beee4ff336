"""Alibaba Cloud Tair/Redis (R-KVStore API 2015-01-01).

- The default account (named after the instance): ``ModifyInstanceAttribute`` with
  ``NewPassword``, the documented way to set it ("the default account named after the
  instance ID"); it needs no old password.
- A custom account (``account``): ``ResetAccountPassword``, which needs no old password, so
  a retry does not depend on knowing which password is current.
- Alternating (``strategy: alternating``): the engine hands over the version whose account
  is changed (AWSPENDING's, the one AWSCURRENT does not use). With
  ``createMissingAccount`` a missing account is created (``CreateAccount``) with the
  AccountPrivilege of the pair's other account, and no more.

Every architecture (standard, rwsplit, cluster in proxy mode) has one account list for
the instance; accounts need Redis 4.0 or later, which is checked before any change. The
password APIs answer with a RequestId alone: a change is done when the instance is
``Normal`` and the account ``Available`` again (the engine then proves it with AUTH).

``inspect`` is one read-only look (state, endpoints and, for a custom account, the
account listing, which ``change_password`` is given back).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from typing import Any, NoReturn, override

from redis_rotation import passwords
from redis_rotation.errors import ConfigurationError, InstanceStateError, ProviderError
from redis_rotation.passwords import PasswordPolicy
from redis_rotation.polling import poll
from redis_rotation.providers.alibaba.api import (
    DESCRIBE_ACCOUNTS,
    DESCRIBE_INSTANCE,
    NAME,
    NET_INFO,
    AccountView,
    AlibabaApi,
    default_endpoint,
    instance_status,
    read_accounts,
    read_addresses,
    read_attribute,
)
from redis_rotation.providers.alibaba.errors import error_rule
from redis_rotation.providers.base import (
    ChangeHandle,
    Inspection,
    InstanceStatus,
    ProviderBase,
    ProviderContext,
    missing_account,
)
from redis_rotation.providers.transport import call_retrying
from redis_rotation.secret import RedisSecret

CREDENTIALS_SCHEMA = "credentials-alibaba.schema.json"
MODIFY_INSTANCE = "ModifyInstanceAttribute"
RESET = "ResetAccountPassword"
CREATE = "CreateAccount"
# Alibaba's account names (SDK 7.0.0 and the older API page, the stricter of both).
ACCOUNT_NAME = re.compile(r"[a-z][a-z0-9_]{0,15}")
# What CreateAccount can grant; RoleRepl exists on listed accounts only.
CREATABLE_PRIVILEGES = ("RoleReadOnly", "RoleReadWrite")


class AlibabaProvider(ProviderBase):
    name = NAME
    credentials_schema = CREDENTIALS_SCHEMA

    def __init__(
        self,
        context: ProviderContext,
        *,
        clock: Callable[[], float] = time.time,
        nonce: Callable[[], str] | None = None,
    ) -> None:
        super().__init__(context)
        self.clock = clock  # x-acs-date, read once per request
        self.nonce = nonce  # None: a random one per request

    def api(self, secret: RedisSecret) -> AlibabaApi:
        def refuse(action: str, code: str, message: Any) -> NoReturn:
            self.fail(secret, action, code, message, error_rule(code))

        extra = {} if self.nonce is None else {"nonce": self.nonce}
        return AlibabaApi(
            transport=self.context.transport,
            endpoint=secret.api_endpoint or default_endpoint(secret.region),
            keys=self.context.keys,
            clock=self.clock,
            hide=self.hide,
            refuse=refuse,
            **extra,
        )

    def _read(self, secret: RedisSecret, action: str, params: Mapping[str, str]) -> Any:
        api = self.api(secret)
        return call_retrying(lambda: api.call(action, params), self.context.deadline)

    # -- Provider protocol ---------------------------------------------------------------------

    @override
    def policy(self, secret: RedisSecret) -> PasswordPolicy:
        return passwords.ALIBABA

    @override
    def inspect(self, secret: RedisSecret) -> Inspection:
        """The instance's state (and its account's), and where a password may be sent."""
        status, listing = self._state(secret)
        instance = {"InstanceId": secret.instance_id}
        return Inspection(status, read_addresses(self._read(secret, NET_INFO, instance)), listing)

    def _state(self, secret: RedisSecret) -> tuple[InstanceStatus, dict[str, Any]]:
        """The instance's state and its account's, with the account listing; no addresses,
        which a wait for a change does not need."""
        name = self._account(secret)
        instance = {"InstanceId": secret.instance_id}
        attribute = read_attribute(
            self._read(secret, DESCRIBE_INSTANCE, instance), secret.instance_id
        )
        status = instance_status(attribute, secret.instance_id)
        if name is None:
            return status, {}
        engine = str(attribute.get("EngineVersion", ""))
        major = engine.split(".")[0]
        if major.isdigit() and int(major) < 4:
            raise InstanceStateError(
                NAME,
                DESCRIBE_INSTANCE,
                "InvalidEngineVersion.Format",
                f"instance {secret.instance_id} runs Redis {engine}, which has no accounts: "
                "rotate its default account (omit account) or upgrade it to 4.0 or later",
            )
        accounts = read_accounts(self._read(secret, DESCRIBE_ACCOUNTS, instance))
        return self._account_status(secret, name, status, accounts), {"accounts": accounts}

    def _account_status(
        self,
        secret: RedisSecret,
        name: str,
        status: InstanceStatus,
        accounts: Mapping[str, AccountView],
    ) -> InstanceStatus:
        if not status.ready:
            return status
        account = accounts.get(name)
        if account is None:
            if secret.alternating and secret.create_missing_account:
                return InstanceStatus(ready=True, busy=False, detail=f"no account {name} yet")
            raise self._missing(secret, name)
        if account.status == "Unavailable":
            return InstanceStatus(ready=False, busy=True, detail=f"account {name} Unavailable")
        if account.status != "Available":
            detail = f"account {name} AccountStatus {account.status}"
            return InstanceStatus(ready=False, busy=False, detail=detail)
        return status

    @override
    def change_password(
        self,
        secret: RedisSecret,
        inspection: Inspection,
        new_password: str,
        old_password: str | None,
    ) -> ChangeHandle:
        self.hide(new_password, old_password)
        self.policy(secret).check(new_password, "the new password")
        name = self._account(secret)
        api = self.api(secret)
        if name is None:
            params = {"InstanceId": secret.instance_id, "NewPassword": new_password}
            api.call(MODIFY_INSTANCE, params)
            return ChangeHandle()
        reset = {
            "InstanceId": secret.instance_id,
            "AccountName": name,
            "AccountPassword": new_password,
        }
        if not (secret.alternating and secret.create_missing_account):
            api.call(RESET, reset)
            return ChangeHandle()
        # The listing of the inspection that found the instance ready; an inspection
        # without one (not this provider's) means a fresh look.
        accounts = inspection.listing.get("accounts")
        if not isinstance(accounts, Mapping):
            accounts = self.inspect(secret).listing.get("accounts", {})
        if name in accounts:
            api.call(RESET, reset)
            return ChangeHandle()
        privilege = self._privilege_to_copy(secret, accounts)
        try:
            api.call(CREATE, {**reset, "AccountPrivilege": privilege, "AccountType": "Normal"})
        except ProviderError as exc:
            if exc.code != "InvalidAccountName.Duplicate":
                raise
            # Created since the look (an earlier attempt whose answer was lost): set it.
            api.call(RESET, reset)
        return ChangeHandle()

    @override
    def wait_for_change(self, secret: RedisSecret, handle: ChangeHandle) -> None:
        """No task to poll: the change is done when the instance (and the account) report
        they are no longer changing."""

        def settled() -> bool | None:
            status, _ = self._state(secret)
            if status.ready:
                return True
            if status.busy:
                return None
            raise InstanceStateError(NAME, DESCRIBE_INSTANCE, "NotReady", status.detail)

        poll(settled, deadline=self.context.deadline, what=f"Alibaba {secret.instance_id}")

    # -- helpers --------------------------------------------------------------------------------

    @staticmethod
    def _account(secret: RedisSecret) -> str | None:
        """The custom account to change (None: the default account), its name checked
        against Alibaba's rule before any call."""
        name = secret.account
        if name is None:
            return None
        for field_name, value in (("account", name), *(("accounts", a) for a in secret.accounts)):
            if not ACCOUNT_NAME.fullmatch(value):
                raise ConfigurationError(
                    f"secret field '{field_name}' is not an Alibaba account name (a lower-case "
                    "letter, then up to 15 lower-case letters, digits or '_')"
                )
        if name == secret.instance_id:
            raise ConfigurationError(
                "secret field 'account' names the default account: omit it to rotate the "
                "default account's password"
            )
        return name

    def _privilege_to_copy(self, secret: RedisSecret, accounts: Mapping[str, AccountView]) -> str:
        template_name = secret.other_account()
        template = accounts.get(template_name)
        if template is None:
            raise self._missing(secret, template_name)
        if template.privilege not in CREATABLE_PRIVILEGES:
            raise InstanceStateError(
                NAME,
                DESCRIBE_ACCOUNTS,
                "NoPrivilegeToCopy",
                f"account {template_name} of {secret.instance_id} has privilege "
                f"{template.privilege}, which CreateAccount cannot grant: create "
                f"{secret.account} in the console, then rotate again",
            )
        return template.privilege

    @staticmethod
    def _missing(secret: RedisSecret, name: str) -> InstanceStateError:
        return missing_account(NAME, DESCRIBE_ACCOUNTS, secret, name)
