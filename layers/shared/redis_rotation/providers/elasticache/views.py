"""What DescribeUsers, DescribeReplicationGroups and DescribeCacheClusters answers mean for
a rotation: whether a change may start, every address a password may be sent to, and the
token rules."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from redis_rotation.errors import InstanceStateError
from redis_rotation.passwords import SECRETS_MANAGER_PUNCTUATION, PasswordPolicy
from redis_rotation.providers.base import InstanceStatus
from redis_rotation.providers.elasticache.api import NAME, NODE_ENDPOINTS
from redis_rotation.secret import Endpoint

# RBAC passwords: 16-128 printable characters without , " / @ (Clusters.RBAC); '%' is left
# out too, as the API reference forbids it for tokens.
RBAC_POLICY = PasswordPolicy(
    name='ElastiCache RBAC password (16-128, no , " / @ %)',
    min_length=16,
    max_length=128,
    default_length=32,
    specials="".join(c for c in SECRETS_MANAGER_PUNCTUATION if c not in ',"/@%'),
)
# AUTH tokens: the user guide allows only these specials (the API reference is looser).
TOKEN_POLICY = PasswordPolicy(
    name="ElastiCache AUTH token (16-128, specials ! & # $ ^ < > -)",
    min_length=16,
    max_length=128,
    default_length=32,
    specials="!&#$^<>-",
)

# Statuses that end by themselves (perhaps our own change): wait and look again.
BUSY_USER = frozenset({"modifying"})
BUSY_GROUP = frozenset({"modifying", "creating", "snapshotting"})


def user_status(user: Mapping[str, Any], groups: Iterable[Mapping[str, Any]]) -> InstanceStatus:
    """A user may be changed when it is active and no group that holds it is changing."""
    status = str(user.get("Status"))
    if status != "active":
        return InstanceStatus(ready=False, busy=status in BUSY_USER, detail=f"user {status}")
    for group in groups:
        state = group_status(group)
        if not state.ready:
            return state
    return InstanceStatus(ready=True, busy=False, detail="user active")


def group_status(group: Mapping[str, Any]) -> InstanceStatus:
    """A group may be changed when it is available with no AUTH token change pending."""
    status = str(group.get("Status"))
    pending = (group.get("PendingModifiedValues") or {}).get("AuthTokenStatus")
    name = f"replication group {group.get('ReplicationGroupId')}"
    if status != "available":
        return InstanceStatus(ready=False, busy=status in BUSY_GROUP, detail=f"{name} {status}")
    if pending:
        # Asked without ApplyImmediately, it waits for the maintenance window.
        return InstanceStatus(
            ready=False, busy=False, detail=f"{name} has an AUTH token change pending ({pending})"
        )
    return InstanceStatus(ready=True, busy=False, detail=f"{name} available")


def group_addresses(group: Mapping[str, Any]) -> frozenset[Endpoint]:
    """The configuration, primary and reader endpoints and every node's endpoint."""
    found = [group.get("ConfigurationEndpoint")]
    for shard in group.get("NodeGroups") or ():
        found += [shard.get("PrimaryEndpoint"), shard.get("ReaderEndpoint")]
    return frozenset(_endpoints(found)) | frozenset(node_addresses(group))


def node_addresses(group: Mapping[str, Any]) -> list[Endpoint]:
    """Every node's own endpoint (cluster mode disabled: primary first): where the proof
    must AUTH. Cluster mode enabled: every shard's nodes, as DescribeCacheClusters gave
    them (``api.NODE_ENDPOINTS``)."""
    if group.get("ClusterEnabled") is True:
        if NODE_ENDPOINTS not in group:
            # Else no node would be required in the secret: fail closed.
            raise InstanceStateError(
                NAME, "DescribeCacheClusters", "NoNodeEndpoints", "the nodes were not described"
            )
        return _endpoints(group[NODE_ENDPOINTS])
    members = [
        m for shard in group.get("NodeGroups") or () for m in shard.get("NodeGroupMembers") or ()
    ]
    members.sort(key=lambda m: m.get("CurrentRole") != "primary")
    return _endpoints(m.get("ReadEndpoint") for m in members)


def _endpoints(found: Iterable[Any]) -> list[Endpoint]:
    return [
        Endpoint(str(e["Address"]), int(e["Port"]))
        for e in found
        if isinstance(e, Mapping) and e.get("Address") and e.get("Port")
    ]


def token_refusal(group: Mapping[str, Any]) -> str | None:
    """Why ROTATE must not be sent to this group, naming the field; None if it may."""
    if group.get("AuthTokenEnabled") is not True:
        return (
            "AuthTokenEnabled is false: ROTATE on a group without a token leaves password-free "
            "logins open next to the new token; turn AUTH on first (ROTATE, then SET so that "
            "the token is required), then rotate"
        )
    if group.get("TransitEncryptionEnabled") is not True:
        return (
            "TransitEncryptionEnabled is false: an AUTH token needs in-transit encryption, "
            "and without it password-free logins would stay open"
        )
    return None
