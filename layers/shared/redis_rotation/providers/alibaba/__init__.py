"""Alibaba Cloud Tair/Redis (R-KVStore API 2015-01-01)."""

from redis_rotation.providers.alibaba.provider import AlibabaProvider

__all__ = ["AlibabaProvider"]
