"""Sees every external call a rotation function makes in this process, on both sides.

Three kinds of call: Secrets Manager (botocore's before-call / after-call events on the
functions' own client), the provider API (an ``HttpPoster``, or the events of a client from
``aws_client`` for a provider that is an AWS service) and Redis (one connection
attempt of the AUTH check, a ``RedisProbe``); the last two through the seams the functions
are built with, so nothing in the layer is patched. For each, the observer is told
``before`` the call is sent and ``after`` it took effect but before its answer is used.
The calls themselves are real; an observer may raise to stop the step right there, as a
Lambda timeout would.

Used by the crash-at-every-point tests and by the benchmarks' call counts.
"""

from __future__ import annotations

import contextlib
import itertools
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from redis_rotation.seams import DEFAULT_SEAMS, Seams

if TYPE_CHECKING:
    from redis_rotation.polling import Deadline
    from redis_rotation.providers.transport import HttpPoster
    from redis_rotation.redis_check import RedisProbe, RedisTarget

Side = Literal["before", "after"]
Observer = Callable[["Call", Side], None]


@dataclass(frozen=True)
class Call:
    kind: str  # "secretsmanager", "provider" or "redis"
    name: str  # the operation, the provider action, or "AUTH" / "PING" (anonymous)
    index: int  # 1-based position among all calls observed


class LambdaTimeout(Exception):
    """Raised by an observer to stop a step at a call, as the Lambda timeout would."""


@dataclass
class Recorder:
    """An observer that keeps every call (and optionally passes each to another one)."""

    then: Observer | None = None
    calls: list[Call] = field(default_factory=list)

    def __call__(self, call: Call, side: Side) -> None:
        if side == "before":
            self.calls.append(call)
        if self.then is not None:
            self.then(call, side)

    def counts(self) -> Counter[str]:
        return Counter(call.kind for call in self.calls)


class _ObservedPoster:
    """An HttpPoster that tells the observer around each request of the real one."""

    def __init__(self, inner: HttpPoster, observer: Observer, counter: Iterator[int]) -> None:
        self.inner = inner
        self.observer = observer
        self.counter = counter

    def post(self, url: str, *, action: str, **kwargs: Any) -> Any:
        call = Call("provider", action, next(self.counter))
        self.observer(call, "before")
        answer = self.inner.post(url, action=action, **kwargs)
        self.observer(call, "after")
        return answer


@dataclass(frozen=True)
class _ObservedProbe:
    """A RedisProbe that tells the observer around each connection attempt of the real one."""

    inner: RedisProbe
    observer: Observer
    counter: Iterator[int]

    def ping(self, target: RedisTarget, username: str | None, password: str | None) -> bool:
        call = Call("redis", "AUTH" if password else "PING", next(self.counter))
        self.observer(call, "before")
        answer = self.inner.ping(target, username, password)
        self.observer(call, "after")
        return answer


@contextlib.contextmanager
def instrument(observer: Observer, base: Seams = DEFAULT_SEAMS) -> Iterator[Seams]:
    """Observe every external call of the rotation functions while the block runs.

    Secrets Manager calls are seen through botocore's events on the functions' shared
    client; provider and Redis calls only by the functions built with the seams yielded
    (``LocalCloud.handler(provider, seams)``)."""
    from redis_rotation.entrypoint import secrets_manager_client

    counter = itertools.count(1)
    pending: dict[int, Call] = {}

    def sm_before(model: Any, context: Any, **_: Any) -> None:
        call = Call("secretsmanager", model.name, next(counter))
        pending[id(context)] = call
        observer(call, "before")

    def sm_after(context: Any, **_: Any) -> None:
        observer(pending.pop(id(context)), "after")

    def poster(provider: str, timeout: float, deadline: Deadline) -> HttpPoster:
        return _ObservedPoster(base.http(provider, timeout, deadline), observer, counter)

    def aws_before(model: Any, context: Any, **_: Any) -> None:
        call = Call("provider", model.name, next(counter))
        pending[id(context)] = call
        observer(call, "before")

    def aws_client(service: str, endpoint_url: str | None) -> Any:
        client = base.aws_client(service, endpoint_url)
        client.meta.events.register("before-call", aws_before)
        client.meta.events.register("after-call", sm_after)
        return client

    events = secrets_manager_client().meta.events
    events.register("before-call.secrets-manager", sm_before, unique_id="instrument-before")
    events.register("after-call.secrets-manager", sm_after, unique_id="instrument-after")
    try:
        yield Seams(
            http=poster,
            redis=_ObservedProbe(base.redis, observer, counter),
            runtime=base.runtime,
            aws_client=aws_client,
        )
    finally:
        events.unregister("before-call.secrets-manager", unique_id="instrument-before")
        events.unregister("after-call.secrets-manager", unique_id="instrument-after")


@dataclass
class CrashAt:
    """An observer that raises LambdaTimeout once, at the ``index``-th call, on ``side``."""

    index: int
    side: Side
    fired: Call | None = None

    def __call__(self, call: Call, side: Side) -> None:
        if self.fired is None and call.index == self.index and side == self.side:
            self.fired = call
            raise LambdaTimeout(f"simulated timeout {side} {call.kind} {call.name}")
