"""Tencent Cloud Redis: the provider (``provider.py``), one class per API (``v2.py``,
``v3.py``) and what Tencent's error codes mean (``errors.py``)."""

from redis_rotation.providers.tencent.provider import TencentProvider

__all__ = ["TencentProvider"]
