"""redis-rotation's client side: redis-py credentials that survive a password rotation.

Applications install it beside redis-py; the rotation functions' Lambda layer never does.
"""

from redis_rotation_client.address import AddressChangedError, NotANodeError
from redis_rotation_client.connect import (
    async_redis_kwargs,
    cluster_kwargs,
    pool_kwargs,
    redis_kwargs,
)
from redis_rotation_client.provider import SecretsManagerCredentialProvider, provider_for
from redis_rotation_client.secret import Credentials, SecretFormatError

__all__ = [
    "AddressChangedError",
    "Credentials",
    "NotANodeError",
    "SecretFormatError",
    "SecretsManagerCredentialProvider",
    "async_redis_kwargs",
    "cluster_kwargs",
    "pool_kwargs",
    "provider_for",
    "redis_kwargs",
]
