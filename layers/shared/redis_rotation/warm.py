"""What a warm Lambda process keeps from one invocation to the next, for at most
``WARM_SECONDS``: the credentials secrets it loaded (so a revoked grant, or new keys, take
effect within that bound) and the values of the rotated secret's versions it read or wrote.

A version's value cannot change (PutSecretValue refuses another value under an existing
VersionId), and each is keyed by the rotated secret's ARN (from DescribeSecret, never from
a value) and its version id, so a cached value is the one Secrets Manager holds. Which
version holds which label is always read afresh: each step still describes the secret.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from redis_rotation.polling import Clock
    from redis_rotation.secret import RedisSecret
    from redis_rotation.store import Credentials

# The bound the docs state (docs/security.md): a revoked grant takes effect within this.
WARM_SECONDS = 60.0
# A function rotates a few secrets at a time; more entries than this drop the oldest.
WARM_ENTRIES = 64


class TimedCache[K, V](MutableMapping[K, V]):
    """A mapping whose entries vanish ``seconds`` after they were stored (on ``clock``),
    holding at most ``size`` of them (the oldest leave first). Thread-safe: the local cloud
    and the bench run one handler in many threads."""

    def __init__(self, clock: Clock, seconds: float = WARM_SECONDS, size: int = WARM_ENTRIES):
        self._clock = clock
        self._seconds = seconds
        self._size = size
        self._entries: dict[K, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def _purge(self) -> None:
        # Every expired entry goes at each use: values a step may not use stay no longer.
        now = self._clock()
        for key in [k for k, (at, _) in self._entries.items() if now - at >= self._seconds]:
            del self._entries[key]

    def __getitem__(self, key: K) -> V:
        with self._lock:
            self._purge()
            return self._entries[key][1]

    def __setitem__(self, key: K, value: V) -> None:
        with self._lock:
            self._purge()
            self._entries.pop(key, None)
            self._entries[key] = (self._clock(), value)
            while len(self._entries) > self._size:
                del self._entries[next(iter(self._entries))]

    def __delitem__(self, key: K) -> None:
        with self._lock:
            del self._entries[key]

    def __iter__(self) -> Iterator[K]:
        with self._lock:
            self._purge()
            return iter(list(self._entries))

    def __len__(self) -> int:
        with self._lock:
            self._purge()
            return len(self._entries)


# (credentials secret id, schema) -> its keys and binding.
CredentialsCache = MutableMapping[tuple[str, str], "Credentials"]
# (rotated secret's ARN, version id) -> that version's value.
VersionCache = MutableMapping[tuple[str, str], "RedisSecret"]


@dataclass
class Warm:
    """The caches one Lambda handler keeps across its invocations."""

    clock: Clock
    credentials: CredentialsCache = field(init=False)
    versions: VersionCache = field(init=False)

    def __post_init__(self) -> None:
        self.credentials = TimedCache(self.clock)
        self.versions = TimedCache(self.clock)
