"""UCloud URedis (UMem API): master-replica groups (ModifyURedisGroupPassword) and
distributed Redis, UMem spaces (ModifyUMemPassword), with DescribeUMem for kind, state and
role of both.

The change has no task id: it is applied asynchronously, visible as the ``SetPassword``
state, so waiting means polling DescribeUMem until the instance is ``Running`` again.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, override

from redis_rotation import passwords
from redis_rotation.errors import (
    ChangeFailedError,
    ConfigurationError,
    InstanceStateError,
    ProviderCredentialsError,
    ProviderRetryableError,
    SecretFormatError,
)
from redis_rotation.passwords import PasswordPolicy
from redis_rotation.polling import poll
from redis_rotation.providers.base import (
    ChangeHandle,
    ErrorRule,
    Inspection,
    InstanceStatus,
    ProviderBase,
    ProviderContext,
)
from redis_rotation.providers.transport import call_retrying, endpoint_url
from redis_rotation.secret import Endpoint, RedisSecret
from redis_rotation.signing.ucloud import UCloudSigner

NAME = "uredis"
CREDENTIALS_SCHEMA = "credentials-uredis.schema.json"

_RETRY = ErrorRule(ProviderRetryableError)
_CREDENTIALS = ErrorRule(
    ProviderCredentialsError,
    "the API keys were refused: check the keys in {credentials} and their permissions",
)
# RetCodes (UCloud API summary): transient ones are retried, key problems never are; any
# other code is a plain ProviderError.
ERROR_RULES: Mapping[int, ErrorRule] = {
    **dict.fromkeys((110, 130, 150, 153), _RETRY),
    **dict.fromkeys((170, 171, 172, 174, 294, 295, 299, 20004), _CREDENTIALS),
}

READY_STATES = frozenset({"Running", "SetPasswordFail"})
# States of a workflow in progress (DescribeUMem's documented list): wait, then look again.
BUSY_STATES = frozenset(
    {
        "Starting",
        "Creating",
        "Configing",
        "Restarting",
        "Resizing",
        "SetPassword",
        "Disasting",
        "Replicating",
        "ReplicateDone",
        "ExecTimeout",
        "SlaveRecovering",
        "DelayUpgrade",
        "VersionUpgrading",
        "UpgradeMemInit",
        "ClusterUpgrading",
        "SSLSwitching",
    }
)


@dataclass(frozen=True)
class Kind:
    """One kind of URedis instance: the secret field naming it, DescribeUMem's ResourceType
    for it, and the call (with its id parameter) that changes its password."""

    field: str
    resource_type: str
    action: str
    id_param: str
    noun: str


GROUP = Kind("groupId", "single", "ModifyURedisGroupPassword", "GroupId", "group")
SPACE = Kind("spaceId", "distributed", "ModifyUMemPassword", "SpaceId", "space")
KINDS = {kind.field: kind for kind in (GROUP, SPACE)}
# DescribeUMem's ResourceType values, in words for an error.
RESOURCE_TYPES = {
    "single": "a master-replica group (set groupId)",
    "distributed": "a distributed space (set spaceId)",
    "performance": "a high-performance instance, which this function cannot change",
}


def kind_of(secret: RedisSecret) -> Kind:
    return KINDS.get(secret.instance_field, GROUP)


class URedisProvider(ProviderBase):
    name = NAME
    credentials_schema = CREDENTIALS_SCHEMA

    def __init__(self, context: ProviderContext) -> None:
        super().__init__(context)
        self._signer: UCloudSigner | None = None

    # -- Provider protocol -----------------------------------------------------------------

    @override
    def policy(self, secret: RedisSecret) -> PasswordPolicy:
        return passwords.UREDIS

    @override
    def inspect(self, secret: RedisSecret) -> Inspection:
        # One DescribeUMem answers both: the state and the addresses.
        answer = call_retrying(lambda: self._describe_umem(secret), self.context.deadline)
        return Inspection(self._status(secret, self._group(secret, answer)), _found(secret, answer))

    def _status(self, secret: RedisSecret, group: Mapping[str, Any]) -> InstanceStatus:
        kind = kind_of(secret)
        reported = str(group.get("ResourceType"))
        if reported != kind.resource_type:
            what = RESOURCE_TYPES.get(reported, f"of ResourceType '{self.redact(reported)}'")
            raise InstanceStateError(
                NAME,
                "DescribeUMem",
                "WrongKind",
                f"{kind.field} {secret.instance_id} is {what} according to DescribeUMem, "
                f"not a {kind.resource_type} {kind.noun}",
            )
        # Only master-replica groups have a role (DescribeUMem returns none for a space).
        role = group.get("Role")
        if kind is GROUP and role != "master":
            raise InstanceStateError(
                NAME,
                "DescribeUMem",
                "NotMaster",
                f"group {secret.instance_id} is a {role or 'group without a role'}; "
                "ModifyURedisGroupPassword may only change a master: set groupId to the "
                "master group",
            )
        state = str(group.get("State", "Unknown"))
        return InstanceStatus(ready=state in READY_STATES, busy=state in BUSY_STATES, detail=state)

    @override
    def change_password(
        self,
        secret: RedisSecret,
        inspection: Inspection,
        new_password: str,
        old_password: str | None,
    ) -> ChangeHandle:
        # The policy forbids it already; asserted here too because an empty Password
        # *removes* the instance's password.
        if not new_password:
            raise ConfigurationError("refusing to send an empty URedis password")
        kind = kind_of(secret)
        location = self._location(secret)
        # The schema requires it already; UCloud answers "Missing Params [zone_id]" without.
        if kind is SPACE and "Zone" not in location:
            raise SecretFormatError(secret.label, "zone", "is required with spaceId")
        encoded = base64.b64encode(new_password.encode("ascii")).decode("ascii")
        self.hide(new_password, encoded)
        params = {**location, kind.id_param: secret.instance_id, "Password": encoded}
        self._call(secret, kind.action, params)
        return ChangeHandle()

    @override
    def wait_for_change(self, secret: RedisSecret, handle: ChangeHandle) -> None:
        kind = kind_of(secret)
        name = f"{kind.noun} {secret.instance_id}"

        def settled() -> bool | None:
            group = call_retrying(lambda: self._describe_group(secret), self.context.deadline)
            state = str(group.get("State"))
            if state == "Running":
                return True
            if state == "SetPasswordFail":
                raise ChangeFailedError(
                    NAME,
                    kind.action,
                    state,
                    f"{name} reports SetPasswordFail; the rotation will retry",
                )
            if state in BUSY_STATES:
                return None
            raise InstanceStateError(
                NAME, "DescribeUMem", state, f"{name} went to state '{state}' during the change"
            )

        poll(settled, deadline=self.context.deadline, what=f"URedis {name}")

    # -- API calls -------------------------------------------------------------------------

    @staticmethod
    def _location(secret: RedisSecret) -> dict[str, str]:
        params = {"Region": secret.region}
        for field, param in (("zone", "Zone"), ("projectId", "ProjectId")):
            value = secret.get(field)
            if value:
                params[param] = value
        return params

    def _describe_umem(self, secret: RedisSecret) -> Mapping[str, Any]:
        params = {**self._location(secret), "Protocol": "redis", "ResourceId": secret.instance_id}
        return self._call(secret, "DescribeUMem", params)

    def _describe_group(self, secret: RedisSecret) -> Mapping[str, Any]:
        return self._group(secret, self._describe_umem(secret))

    @staticmethod
    def _group(secret: RedisSecret, answer: Mapping[str, Any]) -> Mapping[str, Any]:
        for group in answer.get("DataSet") or []:
            if isinstance(group, Mapping) and secret.instance_id in (
                group.get("ResourceId"),
                group.get("GroupId"),
            ):
                return group
        raise InstanceStateError(
            NAME,
            "DescribeUMem",
            "NotFound",
            f"{kind_of(secret).noun} {secret.instance_id} was not found in region {secret.region}",
        )

    def _get_signer(self) -> UCloudSigner:
        if self._signer is None:
            self._signer = UCloudSigner(self.key("publicKey"), self.key("privateKey"))
        return self._signer

    def _call(
        self, secret: RedisSecret, action: str, params: Mapping[str, str]
    ) -> Mapping[str, Any]:
        url, _host = endpoint_url(secret.api_endpoint or self.context.settings.uredis_endpoint)
        body = self._get_signer().add_auth({"Action": action, **params})
        self.hide(body.get("Signature"))  # a provider message may quote the request
        answer = self.context.transport.post(url, action=action, data=body)
        if not isinstance(answer, Mapping) or "RetCode" not in answer:
            raise ProviderRetryableError(NAME, action, "InvalidAnswer", "no RetCode in the answer")
        code = answer.get("RetCode")
        if code == 0:
            return answer
        rule = ERROR_RULES.get(code) if isinstance(code, int) else None
        self.fail(secret, action, str(code), answer.get("Message"), rule)


def _found(secret: RedisSecret, answer: Mapping[str, Any]) -> frozenset[Endpoint]:
    """The addresses of the group's own entry and of any read-only slaves listed under it."""
    found: set[Endpoint] = set()
    for group in _groups(answer.get("DataSet")):
        if secret.instance_id in (
            group.get("ResourceId"),
            group.get("GroupId"),
            group.get("MasterGroupId"),
        ):
            found.update(_addresses(group.get("Address")))
    return frozenset(found)


def _groups(data_set: Any) -> list[Mapping[str, Any]]:
    """DescribeUMem's entries, nested read-only slaves included."""
    found: list[Mapping[str, Any]] = []
    for entry in data_set if isinstance(data_set, list) else []:
        if isinstance(entry, Mapping):
            found.append(entry)
            found.extend(_groups(entry.get("DataSet")))
    return found


def _addresses(raw: Any) -> list[Endpoint]:
    entries = raw if isinstance(raw, list) else []
    return [
        Endpoint(a["IP"], a["Port"])
        for a in entries
        if isinstance(a, Mapping)
        and isinstance(a.get("IP"), str)
        and isinstance(a.get("Port"), int)
        and not isinstance(a.get("Port"), bool)
    ]
