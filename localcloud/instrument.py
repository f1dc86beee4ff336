"""Sees every external call a rotation function makes in this process, on both sides.

Three kinds of call: Secrets Manager (botocore's before-call / after-call events on the
functions' own client), the provider API (``Transport.post``) and Redis (one connection
attempt of the AUTH check). For each, the observer is told ``before`` the call is sent and
``after`` it took effect but before its answer is used. The calls themselves are real; an
observer may raise to stop the step right there, as a Lambda timeout would.

Used by the crash-at-every-point tests and by the benchmarks' call counts.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

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


@contextlib.contextmanager
def instrument(observer: Observer) -> Iterator[None]:
    """Observe every external call of the rotation functions while the block runs."""
    from redis_rotation import redis_check
    from redis_rotation.entrypoint import secrets_manager_client
    from redis_rotation.providers.transport import Transport

    counter = iter(range(1, 1 << 62))
    pending: dict[int, Call] = {}

    def sm_before(model: Any, context: Any, **_: Any) -> None:
        call = Call("secretsmanager", model.name, next(counter))
        pending[id(context)] = call
        observer(call, "before")

    def sm_after(model: Any, context: Any, **_: Any) -> None:
        observer(pending.pop(id(context)), "after")

    original_post = Transport.post
    original_ping = redis_check._ping

    def post(self: Transport, url: str, *, action: str, **kwargs: Any) -> Any:
        call = Call("provider", action, next(counter))
        observer(call, "before")
        answer = original_post(self, url, action=action, **kwargs)
        observer(call, "after")
        return answer

    def ping(endpoint: Any, options: Any, username: Any = None, password: Any = None) -> bool:
        call = Call("redis", "AUTH" if password else "PING", next(counter))
        observer(call, "before")
        answer = original_ping(endpoint, options, username, password)
        observer(call, "after")
        return answer

    events = secrets_manager_client().meta.events
    events.register("before-call.secrets-manager", sm_before, unique_id="instrument-before")
    events.register("after-call.secrets-manager", sm_after, unique_id="instrument-after")
    Transport.post = post  # type: ignore[method-assign]
    redis_check._ping = ping
    try:
        yield
    finally:
        events.unregister("before-call.secrets-manager", unique_id="instrument-before")
        events.unregister("after-call.secrets-manager", unique_id="instrument-after")
        Transport.post = original_post  # type: ignore[method-assign]
        redis_check._ping = original_ping


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
