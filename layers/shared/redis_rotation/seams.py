"""The rotation's calls to the world beyond Secrets Manager, passed in rather than patched.

A rotation reaches provider APIs through an ``HttpPoster``, Redis through a
``RedisProbe``, and time (its deadline, its waits) through a ``Runtime``. The defaults are
the real ones; the unit tests pass fakes, and the local cloud's instrument passes wrappers
that see (and may stop) every call.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from redis_rotation.polling import Runtime
from redis_rotation.providers.transport import HttpPosterFactory, Transport
from redis_rotation.redis_check import REDIS_PROBE, RedisProbe


@dataclass(frozen=True)
class Seams:
    http: HttpPosterFactory = Transport
    redis: RedisProbe = REDIS_PROBE
    runtime: Runtime = field(default_factory=Runtime)


DEFAULT_SEAMS = Seams()
