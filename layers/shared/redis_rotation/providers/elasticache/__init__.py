"""Amazon ElastiCache (Redis OSS, Valkey): RBAC users (ModifyUser with two passwords) and
replication groups' AUTH tokens (ModifyReplicationGroup ROTATE), called with the function's
IAM role (``api``); what the describe answers mean for a rotation (``views``); the provider
(``provider``)."""

from redis_rotation.providers.elasticache.provider import ElastiCacheProvider

__all__ = ["ElastiCacheProvider"]
