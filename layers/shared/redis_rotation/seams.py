"""The rotation's calls to the world beyond Secrets Manager, passed in rather than patched.

A rotation reaches provider APIs through an ``HttpPoster``, Redis through a
``RedisProbe``, AWS services (a provider that is one) through ``aws_client``, and time
(its deadline, its waits) through a ``Runtime``. The defaults are
the real ones; the unit tests pass fakes, and the local cloud's instrument passes wrappers
that see (and may stop) every call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from redis_rotation.polling import Runtime
from redis_rotation.providers.base import AwsClientFactory
from redis_rotation.providers.transport import HttpPosterFactory, Transport
from redis_rotation.redis_check import REDIS_PROBE, RedisProbe


def boto3_client(service: str, endpoint_url: str | None) -> Any:
    """A boto3 client, imported on first use (only an AWS provider's function needs one)."""
    import boto3

    return boto3.client(service, endpoint_url=endpoint_url)  # type: ignore[call-overload]


@dataclass(frozen=True)
class Seams:
    http: HttpPosterFactory = Transport
    redis: RedisProbe = REDIS_PROBE
    runtime: Runtime = field(default_factory=Runtime)
    aws_client: AwsClientFactory = boto3_client


DEFAULT_SEAMS = Seams()
