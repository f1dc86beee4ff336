"""Waiting without wasting time: a deadline, and backoff that starts fast and adds jitter.

The clock, the sleep and the random source are passed in, so tests drive time themselves.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from redis_rotation.errors import DeadlineExceededError

Clock = Callable[[], float]
Sleep = Callable[[float], None]


@dataclass(frozen=True)
class Runtime:
    """The effects a rotation may have on time; replaced in tests."""

    clock: Clock = time.monotonic
    sleep: Sleep = time.sleep
    random: Callable[[], float] = field(default=random.random)


@dataclass(frozen=True)
class Deadline:
    """A point in time (on ``runtime.clock``) by which a step must have returned."""

    runtime: Runtime
    expires_at: float

    @classmethod
    def after(cls, runtime: Runtime, seconds: float) -> Deadline:
        return cls(runtime, runtime.clock() + seconds)

    def remaining(self) -> float:
        return max(0.0, self.expires_at - self.runtime.clock())

    def expired(self) -> bool:
        return self.remaining() <= 0.0

    def sooner(self, seconds: float) -> Deadline:
        """This deadline or one ``seconds`` from now, whichever comes first."""
        return Deadline(self.runtime, min(self.expires_at, self.runtime.clock() + seconds))


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with equal jitter: each delay is in [d/2, d], d doubling to ``cap``."""

    first: float = 0.05
    cap: float = 1.0
    factor: float = 2.0

    def delays(self, rng: Callable[[], float]) -> Iterator[float]:
        delay = self.first
        while True:
            yield delay / 2 + rng() * delay / 2
            delay = min(self.cap, delay * self.factor)


def poll[T](
    attempt: Callable[[], T | None],
    *,
    deadline: Deadline,
    what: str,
    backoff: Backoff | None = None,
) -> T:
    """Call ``attempt`` until it returns something other than None, or the deadline passes."""
    runtime = deadline.runtime
    for delay in (backoff or Backoff()).delays(runtime.random):
        result = attempt()
        if result is not None:
            return result
        remaining = deadline.remaining()
        if remaining <= 0:
            break
        runtime.sleep(min(delay, remaining))
    raise DeadlineExceededError(f"timed out waiting for {what}")
