"""Steady application load on Redis: threads doing SET/GET at a fixed rate, each with its
own connection pool that is recycled periodically (a new connection, so a new AUTH).

Used by the disruption benchmark's client processes and by the client's tests. Every
command is one ``Sample``; nothing here judges them (``bench.disruption`` does).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis

# What a failed command is, by the exception redis-py raised: the AUTH of a new connection
# refused ("auth"), or the connection lost under a command ("dropped"), or anything else.
AUTH, DROPPED, OTHER = "auth", "dropped", "other"


@dataclass(frozen=True)
class Sample:
    start: float  # time.monotonic() when the command was sent
    latency: float  # seconds until it answered or failed
    failure: str | None = None  # None: it succeeded
    worker: int = 0  # which thread sent it

    def to_json(self) -> list[Any]:
        return [round(self.start, 6), round(self.latency, 6), self.failure, self.worker]

    @staticmethod
    def from_json(row: list[Any]) -> Sample:
        failure = None if row[2] is None else str(row[2])
        return Sample(float(row[0]), float(row[1]), failure, int(row[3]))


def failure_kind(exc: BaseException) -> str:
    if isinstance(exc, redis.AuthenticationError):
        return AUTH
    if isinstance(exc, redis.ConnectionError | redis.TimeoutError):
        return DROPPED
    return OTHER


class Load:
    """``threads`` threads, each sending ``rate`` commands a second through its own client
    (``make_client()``), whose pool is disconnected every ``recycle`` seconds."""

    def __init__(
        self,
        make_client: Callable[[], redis.Redis],
        *,
        threads: int = 3,
        rate: float = 50.0,
        recycle: float = 0.2,
    ) -> None:
        self._make_client = make_client
        self._threads = threads
        self._interval = 1.0 / rate
        self._recycle = recycle
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.samples: list[Sample] = []
        self._workers: list[threading.Thread] = []

    def start(self) -> Load:
        for n in range(self._threads):
            worker = threading.Thread(target=self._run, args=(n,), daemon=True)
            worker.start()
            self._workers.append(worker)
        return self

    def stop(self) -> list[Sample]:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=30)
        with self._lock:
            return sorted(self.samples, key=lambda s: s.start)

    def count(self) -> int:
        with self._lock:
            return len(self.samples)

    def _run(self, n: int) -> None:
        client = self._make_client()
        next_at = recycle_at = time.monotonic()
        sent = 0
        try:
            while not self._stop.is_set():
                now = time.monotonic()
                if now < next_at:
                    self._stop.wait(next_at - now)
                    continue
                # No bursts to catch up after a slow command: the rate is an upper bound.
                next_at = max(next_at + self._interval, now)
                if now >= recycle_at:
                    # Idle connections are closed; the next command connects and AUTHs anew.
                    client.connection_pool.disconnect(inuse_connections=False)
                    recycle_at = now + self._recycle
                self._record(client, n, sent)
                sent += 1
        finally:
            client.close()

    def _record(self, client: redis.Redis, worker: int, sent: int) -> None:
        key = f"load:{worker}"
        started = time.monotonic()
        failure = None
        try:
            if sent % 2:
                client.get(key)
            else:
                client.set(key, str(sent))
        except redis.RedisError as exc:
            failure = failure_kind(exc)
        sample = Sample(started, time.monotonic() - started, failure, worker)
        with self._lock:
            self.samples.append(sample)
