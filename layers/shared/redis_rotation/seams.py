"""The rotation's calls to the world beyond Secrets Manager, passed in rather than patched.

A rotation reaches provider APIs through an ``HttpPoster``, Redis through a
``RedisProbe``, AWS services (a provider that is one) through ``aws_client``, and time
(its deadline, its waits) through a ``Runtime``. The defaults are
the real ones; the unit tests pass fakes, and the local cloud's instrument passes wrappers
that see (and may stop) every call.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from redis_rotation.polling import Runtime
from redis_rotation.providers.base import AwsClientFactory
from redis_rotation.providers.transport import HttpPosterFactory, Transport
from redis_rotation.redis_check import REDIS_PROBE, RedisProbe


def boto3_client(service: str, endpoint_url: str | None) -> Any:
    """A boto3 client of the function's own region (``AWS_REGION``, which Lambda sets; else
    boto3's usual lookup), signed with the function's role; imported on first use (only an
    AWS provider's function needs one).

    The seam takes no region on purpose: a function rotates the secrets of its own region.
    The ElastiCache provider compares ``client.meta.region_name`` with the secret's
    ``region`` and refuses another: the function runs in the nodes' VPC (its proof must
    reach every node) and its role names the stack's users and groups. A seam passed in
    instead must keep this contract.
    """
    import boto3

    region = os.environ.get("AWS_REGION") or None
    return boto3.client(  # type: ignore[call-overload]
        service, region_name=region, endpoint_url=endpoint_url
    )


@dataclass(frozen=True)
class Seams:
    http: HttpPosterFactory = Transport
    redis: RedisProbe = REDIS_PROBE
    runtime: Runtime = field(default_factory=Runtime)
    aws_client: AwsClientFactory = boto3_client  # the function's own region: boto3_client


DEFAULT_SEAMS = Seams()
