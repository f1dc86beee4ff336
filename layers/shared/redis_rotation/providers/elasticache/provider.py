"""The ElastiCache provider: an RBAC user (``userId``) or a replication group's AUTH token
(``replicationGroupId``), both keeping the old password valid beside the new one.

- A user: ``ModifyUser`` with ``Passwords=[AWSPENDING, AWSCURRENT]``. The list replaces the
  user's passwords, so the next rotation drops the one before (AWSPREVIOUS by then).
- A token: ``ModifyReplicationGroup`` with ``AuthTokenUpdateStrategy=ROTATE`` and
  ``ApplyImmediately``; ElastiCache keeps the two most recent tokens. ROTATE is refused on
  a group without a token or without transit encryption: password-free logins would stay
  open. ``NoPasswordRequired`` is never sent.

ElastiCache is called with the function's IAM role; the credentials secret holds only the
grants. The client is the context's ``aws_client`` (endpoint: the admitted secret's checked
``apiEndpoint``, else the region's), and it must be in the secret's region.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from redis_rotation.errors import (
    ChangeFailedError,
    InstanceStateError,
    SecretFormatError,
)
from redis_rotation.polling import poll
from redis_rotation.providers.base import ChangeHandle, Inspection, ProviderBase
from redis_rotation.providers.elasticache.api import NAME, ElastiCacheApi
from redis_rotation.providers.elasticache.views import (
    RBAC_POLICY,
    TOKEN_POLICY,
    group_addresses,
    group_status,
    node_addresses,
    token_refusal,
    user_status,
)
from redis_rotation.providers.transport import call_retrying

if TYPE_CHECKING:
    from redis_rotation.passwords import PasswordPolicy
    from redis_rotation.secret import RedisSecret

# Statuses a change may pass through; anything else during a wait is a failure.
SETTLED = {"user": "active", "group": "available"}


class ElastiCacheProvider(ProviderBase):
    name = NAME
    credentials_schema = "credentials-elasticache.schema.json"

    _api: ElastiCacheApi | None = None

    # -- the ElastiCache client ------------------------------------------------------------

    def api(self, secret: RedisSecret) -> ElastiCacheApi:
        if self._api is None:
            client = self.context.aws_client("elasticache", secret.api_endpoint)
            region = getattr(getattr(client, "meta", None), "region_name", None)
            if region != secret.region:
                # The role's client signs for its own region; another region's ids would
                # not be found, or worse, be another resource of the same id.
                raise SecretFormatError(
                    secret.label,
                    "region",
                    f"is {secret.region}, but this function calls ElastiCache in {region}: "
                    f"rotate it with a stack in {secret.region}",
                )
            self._api = ElastiCacheApi(client, self.redact)
        return self._api

    @staticmethod
    def is_user(secret: RedisSecret) -> bool:
        return secret.get("userId") is not None

    # -- the Provider protocol -------------------------------------------------------------

    def policy(self, secret: RedisSecret) -> PasswordPolicy:
        return RBAC_POLICY if self.is_user(secret) else TOKEN_POLICY

    def needs_old_password(self, secret: RedisSecret) -> bool:
        # ModifyUser replaces the list: AWSCURRENT's password must be in it.
        return self.is_user(secret)

    def inspect(self, secret: RedisSecret) -> Inspection:
        api = self.api(secret)
        deadline = self.context.deadline
        if self.is_user(secret):
            user = call_retrying(lambda: api.user(str(secret.get("userId"))), deadline)
            if user.get("UserName") != secret.get("username"):
                # Else the change lands on this user and the proof logs in as another.
                raise InstanceStateError(
                    NAME,
                    "DescribeUsers",
                    "UserNameMismatch",
                    f"field 'username' is not the name of user {secret.get('userId')} "
                    f"(it is {user.get('UserName')}): clients log in with the user's own name",
                )
            groups = call_retrying(lambda: api.groups_of_user(user), deadline)
            addresses = frozenset().union(*(group_addresses(g) for g in groups))
            return Inspection(
                user_status(user, groups), addresses, {"user": user, "groups": groups}
            )
        group = call_retrying(lambda: api.group(str(secret.get("replicationGroupId"))), deadline)
        status = group_status(group)
        refusal = token_refusal(group)
        if refusal is not None:
            status = type(status)(ready=False, busy=False, detail=refusal)
        return Inspection(status, group_addresses(group), {"group": group})

    def change_password(
        self,
        secret: RedisSecret,
        inspection: Inspection,
        new_password: str,
        old_password: str | None,
    ) -> ChangeHandle:
        self.hide(new_password, old_password)
        self._refuse_unlisted_nodes(secret, inspection)
        api = self.api(secret)
        if self.is_user(secret):
            kept = [old_password] if old_password and old_password != new_password else []
            api.call(
                "ModifyUser", UserId=str(secret.get("userId")), Passwords=[new_password, *kept]
            )
            return ChangeHandle()
        group: Mapping[str, Any] = inspection.listing.get("group", {})
        refusal = token_refusal(group)
        if refusal is not None:
            raise InstanceStateError(NAME, "ModifyReplicationGroup", "Refused", refusal)
        api.call(
            "ModifyReplicationGroup",
            ReplicationGroupId=str(secret.get("replicationGroupId")),
            AuthToken=new_password,
            AuthTokenUpdateStrategy="ROTATE",
            ApplyImmediately=True,
        )
        return ChangeHandle()

    def one_password_at_rest(self, secret: RedisSecret) -> bool:
        return secret.data.get("strict") is True

    def drop_previous(self, secret: RedisSecret) -> ChangeHandle:
        """A user: its one password is AWSCURRENT's. A token: SET with the last token
        rotated (AWSCURRENT's), which ElastiCache allows only after that ROTATE."""
        self.hide(secret.password)
        api = self.api(secret)
        if self.is_user(secret):
            params: dict[str, Any] = {
                "UserId": str(secret.get("userId")),
                "Passwords": [secret.password],
            }
            action = "ModifyUser"
        else:
            params = {
                "ReplicationGroupId": str(secret.get("replicationGroupId")),
                "AuthToken": secret.password,
                "AuthTokenUpdateStrategy": "SET",
                "ApplyImmediately": True,
            }
            action = "ModifyReplicationGroup"
        call_retrying(lambda: api.call(action, **params), self.context.deadline)
        return ChangeHandle()

    @staticmethod
    def _refuse_unlisted_nodes(secret: RedisSecret, inspection: Inspection) -> None:
        """The proof AUTHs on the endpoints the secret lists: a node it does not list would
        take the new password unproven. Refused before anything changes."""
        listing = inspection.listing
        groups = listing.get("groups") or [listing.get("group") or {}]
        listed = set(secret.endpoints)
        for group in groups:
            for node in node_addresses(group):
                if node not in listed:
                    raise InstanceStateError(
                        NAME,
                        "inspect",
                        "NodeNotListed",
                        f"node {node} of replication group {group.get('ReplicationGroupId')} "
                        "is not in the secret's host or readOnlyEndpoints: list every node, "
                        "so that the new password is proven on each before it becomes current",
                    )

    def wait_for_change(self, secret: RedisSecret, handle: ChangeHandle) -> None:  # noqa: ARG002
        """Until the user is active / the group available again. Only a step: the proof
        that every node accepts the password is the engine's AUTH on every address."""
        api = self.api(secret)
        kind = "user" if self.is_user(secret) else "group"
        ident = str(secret.get("userId") or secret.get("replicationGroupId"))

        def settled() -> bool | None:
            found = call_retrying(
                # Only the status: no node addresses (DescribeCacheClusters) needed.
                lambda: api.user(ident) if kind == "user" else api.group(ident, nodes=False),
                self.context.deadline,
            )
            status = str(found.get("Status"))
            if status == SETTLED[kind]:
                return True
            if status == "modifying":
                return None
            raise ChangeFailedError(
                NAME, "describe", status, f"{kind} {ident} went to status '{status}'"
            )

        poll(settled, deadline=self.context.deadline, what=f"ElastiCache {kind} {ident}")
