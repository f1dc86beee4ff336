"""An emulator of Amazon ElastiCache's API for Redis OSS passwords: RBAC users
(DescribeUsers, ModifyUser; DescribeUserGroups says which replication groups hold them) and
replication groups' AUTH tokens (DescribeReplicationGroups, ModifyReplicationGroup with
AuthToken, AuthTokenUpdateStrategy, ApplyImmediately). A group with cluster mode enabled
(``slots``: one entry per shard) answers as AWS does: shards and member ids, a
ConfigurationEndpoint (the first shard's primary), and node addresses only through
DescribeCacheClusters.

It speaks the AWS Query protocol as boto3 sends it (form POST, SigV4, XML answers and
errors), shaped by botocore's service model (``wire``). Changes land on real redis-servers,
a primary and its replicas per group, node by node after the answer (``models``): the user
or group is ``modifying`` until the last node is done, then ``active`` / ``available``.

Emulator choices where AWS documents nothing: three passwords, an empty change, or
parameters other than passwords / the token are refused with InvalidParameterValue; an
AuthToken on a group without transit encryption with InvalidParameterCombination; SET that
does not follow a ROTATE of the same token with InvalidParameterValue. A change without
ApplyImmediately waits for a maintenance window that never comes. Transit encryption is a
flag here: the nodes speak plain TCP.
"""

from localcloud.emulators.elasticache.api import THROTTLING, ElastiCacheEmulator
from localcloud.emulators.elasticache.models import Node, ReplicationGroup, User

__all__ = ["THROTTLING", "ElastiCacheEmulator", "Node", "ReplicationGroup", "User"]
