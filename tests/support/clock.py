"""A fake clock for the polling and deadline code."""

from __future__ import annotations

from dataclasses import dataclass, field

from redis_rotation.polling import Deadline, Runtime


@dataclass
class FakeClock:
    """Time that moves only when something sleeps: waits cost nothing and are counted."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def runtime(self) -> Runtime:
        return Runtime(clock=self.clock, sleep=self.sleep, random=lambda: 0.5)

    def deadline(self, seconds: float) -> Deadline:
        return Deadline.after(self.runtime(), seconds)
