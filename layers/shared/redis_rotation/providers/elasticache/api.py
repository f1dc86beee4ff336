"""The ElastiCache calls the provider makes, through a boto3 ``elasticache`` client, with
AWS's error codes mapped onto the rotation's errors (every message redacted first).

A cluster-mode group's node addresses come from DescribeCacheClusters, one call per
member cache cluster.

The client comes from the context's ``aws_client`` seam, so it is signed with the function's
role and, in tests, aimed at the local emulator.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from redis_rotation.errors import (
    InstanceBusyError,
    InstanceStateError,
    PasswordPolicyError,
    ProviderCredentialsError,
    ProviderError,
    ProviderRetryableError,
)

NAME = "elasticache"

# What each documented code means. Throttling has two spellings in AWS's own answers.
RETRYABLE = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "APICallRateForCustomerExceeded",
        "RequestLimitExceeded",
        "ServiceUnavailable",
        "InternalFailure",
    }
)
BUSY = frozenset({"InvalidUserState", "InvalidReplicationGroupState", "InvalidUserGroupState"})
NOT_FOUND = frozenset(
    {"UserNotFound", "ReplicationGroupNotFoundFault", "UserGroupNotFound", "CacheClusterNotFound"}
)
# A cluster-mode group's answer gains this key: its nodes' endpoints, which only
# DescribeCacheClusters gives (its NodeGroupMembers carry none).
NODE_ENDPOINTS = "CacheNodeEndpoints"
REFUSED_ROLE = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "UnrecognizedClientException",
        "MissingAuthenticationToken",
    }
)
# On a change call, the code AWS gives a password it refuses.
POLICY = frozenset({"InvalidParameterValue"})

Redactor = Callable[[Any], str]


def _error_for(code: str) -> type[ProviderError]:
    if code in RETRYABLE:
        return ProviderRetryableError
    if code in BUSY:
        return InstanceBusyError
    if code in NOT_FOUND:
        return InstanceStateError
    if code in REFUSED_ROLE:
        return ProviderCredentialsError
    return ProviderError


_HINTS = {
    "UserNotFound": "check userId and region",
    "ReplicationGroupNotFoundFault": "check replicationGroupId and region",
    "UserGroupNotFound": "a user group of the user is gone",
    "CacheClusterNotFound": "a node of the replication group is gone",
}


class ElastiCacheApi:
    """One invocation's ElastiCache calls. ``redact`` hides every value the invocation
    holds from AWS's messages (a message may quote a request field)."""

    def __init__(self, client: Any, redact: Redactor) -> None:
        self.client = client
        self.redact = redact

    def call(self, action: str, **params: Any) -> Mapping[str, Any]:
        """``action`` with ``params``; raises the rotation's error for AWS's code."""
        method = getattr(self.client, _snake(action))
        try:
            answer: Mapping[str, Any] = method(**params)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code") or "Unknown")
            said = self.redact(error.get("Message") or "no message")
            hint = _HINTS.get(code)
            text = f"{hint} ({said})" if hint else said
            if code in POLICY and action in ("ModifyUser", "ModifyReplicationGroup"):
                message = f"{NAME} {action} failed with code {code}: {text}"
                raise PasswordPolicyError(message) from None
            raise _error_for(code)(NAME, action, code, text) from None
        except BotoCoreError as exc:
            # Network, timeouts, unparsable answers: no value of ours in the type name.
            raise ProviderRetryableError(
                NAME, action, type(exc).__name__, "the ElastiCache API could not be reached"
            ) from None
        return answer

    def user(self, user_id: str) -> Mapping[str, Any]:
        answer = self.call("DescribeUsers", UserId=user_id)
        return _one(answer.get("Users"), "UserId", user_id, "DescribeUsers", "UserNotFound")

    def group(self, group_id: str, *, nodes: bool = True) -> Mapping[str, Any]:
        """The group; with cluster mode enabled and ``nodes``, with its nodes' endpoints
        (NODE_ENDPOINTS)."""
        answer = self.call("DescribeReplicationGroups", ReplicationGroupId=group_id)
        group = _one(
            answer.get("ReplicationGroups"),
            "ReplicationGroupId",
            group_id,
            "DescribeReplicationGroups",
            "ReplicationGroupNotFoundFault",
        )
        if not nodes or group.get("ClusterEnabled") is not True:
            return group
        return {**group, NODE_ENDPOINTS: self.node_endpoints(group)}

    def node_endpoints(self, group: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        """Every node's endpoint of every member cache cluster (each shard's nodes)."""
        found: list[Mapping[str, Any]] = []
        for member in group.get("MemberClusters") or ():
            answer = self.call(
                "DescribeCacheClusters", CacheClusterId=str(member), ShowCacheNodeInfo=True
            )
            cluster = _one(
                answer.get("CacheClusters"),
                "CacheClusterId",
                str(member),
                "DescribeCacheClusters",
                "CacheClusterNotFound",
            )
            found += [n.get("Endpoint") for n in cluster.get("CacheNodes") or ()]
        return found

    def groups_of_user(self, user: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        """The replication groups that hold ``user`` (through its user groups)."""
        group_ids: list[str] = []
        for user_group_id in user.get("UserGroupIds") or ():
            answer = self.call("DescribeUserGroups", UserGroupId=str(user_group_id))
            user_group = _one(
                answer.get("UserGroups"),
                "UserGroupId",
                str(user_group_id),
                "DescribeUserGroups",
                "UserGroupNotFound",
            )
            group_ids += [str(g) for g in user_group.get("ReplicationGroups") or ()]
        return [self.group(group_id) for group_id in dict.fromkeys(group_ids)]


def _one(items: Any, key: str, wanted: str, action: str, code: str) -> Mapping[str, Any]:
    """The entry of ``items`` whose ``key`` is ``wanted``: an answer about anything else is
    not about our resource."""
    for item in items or ():
        if isinstance(item, Mapping) and item.get(key) == wanted:
            return item
    raise InstanceStateError(NAME, action, code, f"{wanted} is not in the answer")


def _snake(action: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in action).lstrip("_")
