"""The ElastiCache emulator's API: SigV4-signed Query requests (``wire``) for DescribeUsers,
ModifyUser, DescribeReplicationGroups, ModifyReplicationGroup and DescribeCacheClusters,
checked as the API reference documents them and applied to the model (``models``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from localcloud.emulators.base import ApiEmulator, Request, Response
from localcloud.emulators.elasticache import wire
from localcloud.emulators.elasticache.models import (
    ACCOUNT,
    ElastiCacheModel,
    Node,
    ReplicationGroup,
    User,
)
from localcloud.signatures.sigv4 import SigV4Failure, SigV4Key, sigv4_check

ACTIONS = (
    "DescribeUsers",
    "ModifyUser",
    "DescribeUserGroups",
    "DescribeReplicationGroups",
    "ModifyReplicationGroup",
    "DescribeCacheClusters",
)
THROTTLING = "Throttling"  # AWS Query's throttling code, which botocore retries as such
# RBAC passwords: 16-128 printable ASCII without , " / @ (Clusters.RBAC); AUTH tokens: the
# API reference's rule, 16-128 printable ASCII without / " @ %.
_RBAC_FORBIDDEN, _TOKEN_FORBIDDEN = ',"/@', '/"@%'
# Of ModifyReplicationGroup, the emulator changes the AUTH token only.
_TOKEN_PARAMS = {"ReplicationGroupId", "AuthToken", "AuthTokenUpdateStrategy", "ApplyImmediately"}


class ElastiCacheEmulator(ApiEmulator):
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self.keys: dict[str, SigV4Key] = {}
        self.clock = clock  # the emulator's "now" for the signature window (a test seam)
        self.model = ElastiCacheModel(self.lock)
        self.groups = self.model.groups
        self.users = self.model.users

    def add_key(self, access_key: str, secret_key: str, token: str | None = None) -> None:
        self.keys[access_key] = SigV4Key(secret_key, token)

    def add_group(self, group: ReplicationGroup) -> ReplicationGroup:
        return self.model.add_group(group)

    def add_user(self, user: User) -> User:
        return self.model.add_user(user)

    def on_request(self) -> None:
        self.model.request_answered()

    def stop(self) -> None:
        self.model.stop()
        super().stop()

    # -- ApiEmulator -----------------------------------------------------------------------

    @staticmethod
    def params(request: Request) -> dict[str, str]:
        pairs = parse_qsl(request.query, keep_blank_values=True)
        pairs += parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True)
        return dict(pairs)

    def action_of(self, request: Request) -> str:
        return self.params(request).get("Action", "")

    def error(self, request: Request, code: str | int, message: str) -> Response:  # noqa: ARG002 (one protocol)
        return Response(wire.status_of(str(code)), wire.error(str(code), message), wire.XML_HEADERS)

    def outcome_of(self, response: Response) -> str:
        if response.status == 200:
            return "ok"
        body = response.body.decode("utf-8") if isinstance(response.body, bytes) else ""
        start, end = body.find("<Code>"), body.find("</Code>")
        return body[start + 6 : end] if 0 <= start < end else f"HTTP{response.status}"

    def dispatch(self, request: Request) -> Response:
        signer = sigv4_check(
            method=request.method,
            path=request.path,
            query=request.query,
            headers=request.headers,
            body=request.body,
            service="elasticache",
            keys=self.keys,
            now=self.clock,
        )
        if isinstance(signer, SigV4Failure):
            return Response(
                signer.status, wire.error(signer.code, signer.message), wire.XML_HEADERS
            )
        params = self.params(request)
        action = params.get("Action", "")
        if action not in ACTIONS:
            return self.error(request, "InvalidAction", f"Could not find operation {action}")
        if params.get("Version") != wire.VERSION:
            return self.error(request, "InvalidParameterValue", "Version must be 2015-02-02")
        try:
            found = wire.read_input(action, params)
            handler: Callable[[str, dict[str, Any]], dict[str, Any]] = getattr(self, "_" + action)
            result = handler(signer.region, found)
        except wire.WireError as refused:
            return self.error(request, refused.code, str(refused))
        return Response(200, wire.answer(action, result), wire.XML_HEADERS)

    # -- actions (each holds the lock across its check and the change it guards) ------------

    def _user(self, region: str, user_id: str) -> User:
        user = self.users.get(user_id.lower())  # user ids are stored lower case
        if user is None or user.region != region:
            raise wire.WireError("UserNotFound", f"User {user_id} not found.")
        return user

    def _group(self, region: str, group_id: str) -> ReplicationGroup:
        group = self.groups.get(group_id.lower())
        if group is None or group.region != region:
            raise wire.WireError(
                "ReplicationGroupNotFoundFault", f"Replication group {group_id} not found."
            )
        return group

    def _DescribeUsers(self, region: str, found: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            if "UserId" in found:
                users = [self._user(region, found["UserId"])]
            else:
                users = [u for u in self.users.values() if u.region == region]
            return {"Users": [user_view(u) for u in users]}

    def _ModifyUser(self, region: str, found: dict[str, Any]) -> dict[str, Any]:
        mode = found.get("AuthenticationMode", {})
        passwords: list[str] = found.get("Passwords", mode.get("Passwords", []))
        no_password = found.get("NoPasswordRequired") or mode.get("Type") == "no-password-required"
        if {"AccessString", "AppendAccessString", "Engine"} & found.keys():
            raise wire.WireError("InvalidParameterValue", "this emulator changes passwords only")
        if "Passwords" in found and "AuthenticationMode" in found:
            raise wire.WireError(
                "InvalidParameterCombination", "Passwords and AuthenticationMode together"
            )
        if no_password and passwords:
            raise wire.WireError(
                "InvalidParameterCombination", "No password required and passwords together"
            )
        if not no_password:
            _check_secrets("Passwords", passwords, _RBAC_FORBIDDEN, most=2)
        with self.lock:
            user = self._user(region, found["UserId"])
            if user.status != "active":
                raise wire.WireError("InvalidUserState", "The user is not in active state.")
            if no_password:
                self.model.password_free_requests.append(user.user_id)
            self.model.change_user(user, passwords, bool(no_password))
            return user_view(user)

    def _DescribeUserGroups(self, region: str, found: dict[str, Any]) -> dict[str, Any]:
        """User groups exist here as the ids users and groups carry."""
        with self.lock:
            holders: list[User | ReplicationGroup] = [*self.users.values(), *self.groups.values()]
            ids = {g for h in holders if h.region == region for g in h.user_group_ids}
            wanted = found.get("UserGroupId")
            if wanted is not None and wanted not in ids:
                raise wire.WireError("UserGroupNotFound", f"User group {wanted} not found.")
            return {
                "UserGroups": [
                    self._user_group_view(region, gid)
                    for gid in sorted(ids)
                    if wanted in (None, gid)
                ]
            }

    def _user_group_view(self, region: str, group_id: str) -> dict[str, Any]:
        def holds(holder: User | ReplicationGroup) -> bool:
            return holder.region == region and group_id in holder.user_group_ids

        return {
            "UserGroupId": group_id,
            "Status": "active",
            "Engine": "redis",
            "UserIds": [u.user_id for u in self.users.values() if holds(u)],
            "MinimumEngineVersion": "6.0",
            "ReplicationGroups": [g.group_id for g in self.groups.values() if holds(g)],
            "ARN": f"arn:aws:elasticache:{region}:{ACCOUNT}:usergroup:{group_id}",
        }

    def _DescribeReplicationGroups(self, region: str, found: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            if "ReplicationGroupId" in found:
                groups = [self._group(region, found["ReplicationGroupId"])]
            else:
                groups = [g for g in self.groups.values() if g.region == region]
            return {"ReplicationGroups": [group_view(g) for g in groups]}

    def _DescribeCacheClusters(self, region: str, found: dict[str, Any]) -> dict[str, Any]:
        """Each node as its own cache cluster; its endpoint only with ShowCacheNodeInfo."""
        with self.lock:
            nodes = [(g, n) for g in self.groups.values() if g.region == region for n in g.nodes]
            wanted = found.get("CacheClusterId")
            if wanted is not None:
                nodes = [(g, n) for g, n in nodes if n.cluster_id == wanted.lower()]
                if not nodes:
                    raise wire.WireError(
                        "CacheClusterNotFound", f"CacheCluster not found: {wanted}"
                    )
            show = bool(found.get("ShowCacheNodeInfo", False))
            return {"CacheClusters": [cache_cluster_view(g, n, show) for g, n in nodes]}

    def _ModifyReplicationGroup(self, region: str, found: dict[str, Any]) -> dict[str, Any]:
        if found.keys() - _TOKEN_PARAMS or "AuthToken" not in found:
            raise wire.WireError("InvalidParameterValue", "this emulator changes AuthToken only")
        token: str = found["AuthToken"]
        strategy = found.get("AuthTokenUpdateStrategy", "ROTATE")
        _check_secrets("AuthToken", [token], _TOKEN_FORBIDDEN, most=1)
        with self.lock:
            group = self._group(region, found["ReplicationGroupId"])
            if group.status != "available":
                raise wire.WireError(
                    "InvalidReplicationGroupState",
                    "Replication group is not in the available state.",
                )
            if not group.transit_encryption_enabled:
                raise wire.WireError(
                    "InvalidParameterCombination", "AuthToken requires TransitEncryptionEnabled."
                )
            tokens = self._next_tokens(group, strategy, token)
            if not found.get("ApplyImmediately", False):
                group.deferred.append(strategy)
                return {"ReplicationGroup": group_view(group)}
            if strategy == "ROTATE" and not group.tokens:
                group.open_without_token = True
                self.model.password_free_requests.append(group.group_id)
            elif strategy == "SET":
                group.open_without_token = False
            self.model.change_token(
                group, tokens, "ROTATING" if strategy == "ROTATE" else "SETTING"
            )
            return {"ReplicationGroup": group_view(group)}

    @staticmethod
    def _next_tokens(group: ReplicationGroup, strategy: str, token: str) -> list[str]:
        if strategy == "ROTATE":
            return [*group.tokens, token][-2:]  # "up to two most recent AUTH tokens"
        if strategy == "SET":
            rotated = len(group.tokens) == 2 or group.open_without_token
            if not rotated or group.tokens[-1] != token:
                raise wire.WireError(
                    "InvalidParameterValue",
                    "SET is allowed only after ROTATE, with the last AUTH token rotated.",
                )
            return [token]
        if strategy == "DELETE":
            raise wire.WireError(
                "InvalidParameterCombination", "DELETE is allowed only when moving to RBAC."
            )
        raise wire.WireError("InvalidParameterValue", "AuthTokenUpdateStrategy is not valid.")


def _check_secrets(field: str, values: list[str], forbidden: str, most: int) -> None:
    """The documented password rule; the message names the field, never the value."""
    if not 1 <= len(values) <= most:
        raise wire.WireError("InvalidParameterValue", f"{field}: between 1 and {most} allowed.")
    for value in values:
        printable = all(" " <= c <= "~" for c in value)  # printable ASCII
        if not (16 <= len(value) <= 128 and printable and not set(value) & set(forbidden)):
            raise wire.WireError(
                "InvalidParameterValue",
                f"{field}: 16 to 128 printable characters, none of {' '.join(forbidden)}.",
            )


def user_view(user: User) -> dict[str, Any]:
    kind = "no-password" if user.no_password else "password"
    return {
        "UserId": user.user_id,
        "UserName": user.user_name,
        "Status": user.status,
        "Engine": "redis",
        "MinimumEngineVersion": "6.0",
        "AccessString": "on " + " ".join(("~*", "&*", "+@all")),
        "UserGroupIds": user.user_group_ids,
        "Authentication": {"Type": kind, "PasswordCount": len(user.passwords)},
        "ARN": user.arn(),
    }


def _endpoint(node: Node) -> Mapping[str, Any]:
    return {"Address": node.server.host, "Port": node.server.port}


def group_view(group: ReplicationGroup) -> dict[str, Any]:
    pending = {"AuthTokenStatus": group.auth_token_status} if group.auth_token_status else {}
    if group.deferred:
        pending = {"AuthTokenStatus": "ROTATING" if group.deferred[-1] == "ROTATE" else "SETTING"}
    return {
        "ReplicationGroupId": group.group_id,
        "Description": f"local {group.group_id}",
        "Status": group.status,
        "PendingModifiedValues": pending,
        "MemberClusters": [node.cluster_id for node in group.nodes],
        **(_sharded(group) if group.cluster_enabled else _one_shard(group)),
        "ClusterEnabled": group.cluster_enabled,
        "AuthTokenEnabled": group.auth_token_enabled,
        "AuthTokenLastModifiedDate": group.auth_token_last_modified,
        "TransitEncryptionEnabled": group.transit_encryption_enabled,
        "AtRestEncryptionEnabled": True,
        "UserGroupIds": group.user_group_ids,
        "ARN": group.arn(),
        "Engine": "redis",
    }


def _one_shard(group: ReplicationGroup) -> dict[str, Any]:
    members = [
        {
            "CacheClusterId": node.cluster_id,
            "CacheNodeId": "0001",
            "ReadEndpoint": _endpoint(node),
            "PreferredAvailabilityZone": f"{group.region}a",
            "CurrentRole": node.role,
        }
        for node in group.nodes
    ]
    replicas = group.replicas
    return {
        "NodeGroups": [
            {
                "NodeGroupId": "0001",
                "Status": group.status,
                "PrimaryEndpoint": _endpoint(group.primary),
                # AWS's reader endpoint spreads over the replicas; here it is the first one.
                "ReaderEndpoint": _endpoint(replicas[0] if replicas else group.primary),
                "NodeGroupMembers": members,
            }
        ]
    }


def _sharded(group: ReplicationGroup) -> dict[str, Any]:
    """Cluster mode enabled: members without endpoints (DescribeCacheClusters has them), and
    a configuration endpoint. A real clustercfg name resolves to some node: here, the first
    shard's primary."""
    return {
        "ConfigurationEndpoint": _endpoint(group.primary),
        "NodeGroups": [
            {
                "NodeGroupId": shard,
                "Status": group.status,
                "Slots": slots,
                "NodeGroupMembers": [
                    {
                        "CacheClusterId": node.cluster_id,
                        "CacheNodeId": "0001",
                        "PreferredAvailabilityZone": f"{group.region}a",
                    }
                    for node in group.nodes
                    if node.shard == shard
                ],
            }
            for shard, slots in group.slots.items()
        ],
    }


def cache_cluster_view(group: ReplicationGroup, node: Node, show_nodes: bool) -> dict[str, Any]:
    status = "available" if group.status == "available" else "modifying"
    found: dict[str, Any] = {
        "CacheClusterId": node.cluster_id,
        "CacheNodeType": "cache.t4g.micro",
        "Engine": "redis",
        "EngineVersion": "7.1.0",
        "CacheClusterStatus": status,
        "NumCacheNodes": 1,
        "PreferredAvailabilityZone": f"{group.region}a",
        "ReplicationGroupId": group.group_id,
        "AuthTokenEnabled": group.auth_token_enabled,
        "TransitEncryptionEnabled": group.transit_encryption_enabled,
        "ARN": f"arn:aws:elasticache:{group.region}:{ACCOUNT}:cluster:{node.cluster_id}",
    }
    if show_nodes:
        found["CacheNodes"] = [
            {"CacheNodeId": "0001", "CacheNodeStatus": status, "Endpoint": _endpoint(node)}
        ]
    return found
