"""The local cloud for the bench: ``BenchCloud``, and ``python -m bench.cloudproc``, which
serves one in a process of its own.

Why a process of its own: moto, the provider emulators and the functions are all Python.
Run in one process they share one CPU clock and one GIL, so the functions' CPU time could
not be told from the cloud's, and a fleet of rotations would be limited by the emulators'
CPU rather than by the providers' rate limits.

Protocol (JSON lines): the parent writes the spec as the first line of stdin; the child
answers with the state (environment, function ARNs, secrets) on stdout, then answers each
request line ({"command": "report" | "configure" | "cpu" | "stop"}) with one line; EOF on
stdin stops it.

Additions over ``LocalCloud``, all bench-side (the emulators are not changed):
- ``TimedRedisServer`` notes when each password change was applied (the moment the
  provider's change completes, as Redis sees it);
- ``ThrottlingTencentEmulator`` also refuses a fraction of requests at random, with the
  same answer as its rate limit (4400 / RequestLimitExceeded);
- redis-servers can be started in parallel before the secrets are created (a fleet).
"""

from __future__ import annotations

import json
import logging
import random
import signal
import sys
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from bench.common import COST_MODES
from localcloud.cloud import ExampleSecret, Grant, LocalCloud, random_password
from localcloud.emulators.tencent import RATE_LIMIT, TencentEmulator
from localcloud.redis_server import OnChange, RedisServer

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

THROTTLE_OUTCOMES = frozenset({"4400", "RequestLimitExceeded"})


class TimedRedisServer(RedisServer):
    """A redis-server that notes (``time.monotonic()``) when each password was applied."""

    def __init__(self, password: str | None, on_change: OnChange = "keep") -> None:
        super().__init__(password, on_change)
        self.applied_at: list[float] = []

    def start(self) -> TimedRedisServer:
        super().start()
        return self

    def set_password(self, password: str) -> None:
        super().set_password(password)
        self.applied_at.append(time.monotonic())


class ThrottlingTencentEmulator(TencentEmulator):
    """The Tencent emulator, refusing also ``throttle_fraction`` of requests at random."""

    def __init__(self, *, rate_limit: int, throttle_fraction: float, seed: int) -> None:
        super().__init__(rate_limit=rate_limit)
        self.throttle_fraction = throttle_fraction
        self._rng = random.Random(seed)
        self.random_throttled: Counter[str] = Counter()

    def _throttled(self, api: str, action: str) -> bool:
        if self.throttle_fraction > 0:
            with self.lock:
                if self._rng.random() < self.throttle_fraction:
                    # Refused like the rate limit refuses: the request does not count.
                    self.random_throttled[action] += 1
                    return True
        return super()._throttled(api, action)


class BenchCloud(LocalCloud):
    def __init__(
        self, *, rate_limit: int = RATE_LIMIT, throttle_fraction: float = 0.0, seed: int = 0
    ) -> None:
        super().__init__()
        self.throttling = ThrottlingTencentEmulator(
            rate_limit=rate_limit, throttle_fraction=throttle_fraction, seed=seed
        )
        self.tencent = self.throttling
        self.modes: dict[str, str] = {}  # secret name -> mode
        self._spare: list[TimedRedisServer] = []
        self._client: SecretsManagerClient | None = None

    def start(self) -> BenchCloud:
        super().start()
        return self

    # -- resources -------------------------------------------------------------------------

    def _credentials_secret(self, provider: str, keys: dict[str, str], grant: Grant) -> str:
        """One patterned grant per provider for every bench secret, as a keys' owner would
        write it for a fleet: the credentials secret stays small, however many secrets."""
        if provider in self.credentials:
            return self.credentials[provider]
        # ElastiCache names its resources by kind (user:, replicationgroup:), as its ARNs do.
        instances = ["user:*", "replicationgroup:*"] if provider == "elasticache" else ["*"]
        fleet = {"secrets": ["bench/*"], "instances": instances, "region": grant["region"]}
        if provider in ("tencent", "alibaba"):  # custom accounts, named by some modes
            fleet["accounts"] = ["*"]
        return super()._credentials_secret(
            provider, keys, {**fleet, "redisAddresses": ["127.0.0.1:1-65535"]}
        )

    def prestart_redis(self, count: int, parallel: int) -> None:
        """Start ``count`` redis-servers, ``parallel`` at a time; secrets then take them."""

        def start() -> TimedRedisServer:
            return TimedRedisServer(random_password()).start()

        with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
            futures: list[Future[TimedRedisServer]] = [pool.submit(start) for _ in range(count)]
        started = [f.result() for f in futures if f.exception() is None]
        self._spare.extend(started)
        if len(started) < count:
            raise RuntimeError(f"only {len(started)} of {count} redis-servers started")

    def start_redis(self, password: str | None, on_change: OnChange = "keep") -> RedisServer:
        if self._spare:
            server = self._spare.pop()
            server.on_change = on_change
            server.set_password(password or "")
            server.applied_at.clear()  # not a provider's change
        else:
            server = TimedRedisServer(password, on_change).start()
        self._redis.append(server)
        return server

    def create_secret(self, name: str, value: dict[str, Any]) -> str:
        # One client for all secrets (LocalCloud makes one per call; 200 add up).
        created = self.client().create_secret(Name=name, SecretString=json.dumps(value))
        return str(created["ARN"])

    def client(self) -> SecretsManagerClient:
        if self._client is None:
            self._client = self.sm.secrets_manager()
        return self._client

    def add_mode_secret(self, name: str, mode: str, delay: float = 0.0) -> ExampleSecret:
        """A secret of one provider mode; ``delay``: seconds the provider's change takes."""
        provider, options = COST_MODES[mode]
        if provider == "uredis":
            example = self.add_uredis_secret(name, apply_delay=delay, **options)
        elif provider == "elasticache":
            if delay:  # its emulator applies a change node by node, at its own pace
                raise ValueError(f"mode {mode}: no delay can be set")
            example = self.add_elasticache_secret(name, **options)
        else:
            add = self.add_tencent_secret if provider == "tencent" else self.add_alibaba_secret
            example = add(name, task_duration=delay, **options)
        self.modes[name] = mode
        return example

    def password_changes(self, example: ExampleSecret) -> int:
        if example.provider == "uredis":
            return self.uredis.groups[example.details["groupId"]].password_changes
        return self.tencent.instances[example.details["instanceId"]].password_changes

    def stop(self) -> None:
        for server in self._spare:
            server.close()
        self._spare.clear()
        super().stop()

    # -- reports ---------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        providers = sorted({e.provider for e in self.secrets.values()})
        return {
            "environment": self.environment(),
            "functions": {p: self.function_arn(p) for p in providers},
            "secrets": {
                name: {"arn": e.arn, "provider": e.provider, "mode": self.modes.get(name, "")}
                for name, e in self.secrets.items()
            },
        }

    def configure(self, rate_limit: float, throttle_fraction: float) -> None:
        with self.throttling.lock:
            self.throttling.rate_limit = int(rate_limit)
            self.throttling.throttle_fraction = throttle_fraction

    def report(self) -> dict[str, Any]:
        """The secrets' state, and the provider calls since the last report."""
        secrets = {
            # The local cloud's own reading of the invariant (AWSPENDING left on AWSCURRENT's
            # version after a finished rotation, as AWS leaves it, is not a second password).
            name: {"accepted": self.accepted_stages(e), "changes": self.password_changes(e)}
            for name, e in self.secrets.items()
        }
        return {"secrets": secrets, "tencent": api_report(self.throttling)}


def api_report(emulator: ThrottlingTencentEmulator) -> dict[str, Any]:
    """Per action: outcomes, the first and last accepted request; then forgets the calls."""
    with emulator.lock:
        calls, emulator.calls = emulator.calls, []
        random_throttled = dict(emulator.random_throttled)
        emulator.random_throttled.clear()
        no_auth = len(emulator.no_auth_requests)
    outcomes: dict[str, Counter[str]] = defaultdict(Counter)
    accepted: dict[str, list[float]] = defaultdict(list)
    refused: dict[str, list[float]] = defaultdict(list)
    for call in calls:
        outcomes[call.action][call.outcome] += 1
        (refused if call.outcome in THROTTLE_OUTCOMES else accepted)[call.action].append(call.at)
    actions = {}
    for action, counts in outcomes.items():
        times = sorted(accepted[action])
        actions[action] = {
            "outcomes": dict(counts),
            "throttled": sum(n for o, n in counts.items() if o in THROTTLE_OUTCOMES),
            "randomly_throttled": random_throttled.get(action, 0),
            "first_accepted": times[0] if times else None,
            "last_accepted": times[-1] if times else None,
            "accepted_at": times,
            "throttled_at": sorted(refused[action]),
        }
    return {"actions": actions, "no_auth_requests": no_auth}


def build(spec: dict[str, Any]) -> BenchCloud:
    cloud = BenchCloud(
        rate_limit=int(spec.get("rate_limit", RATE_LIMIT)),
        throttle_fraction=float(spec.get("throttle_fraction", 0.0)),
        seed=int(spec.get("seed", 0)),
    ).start()
    try:
        secrets = spec.get("secrets", [])
        if len(secrets) > 4:
            cloud.prestart_redis(len(secrets), int(spec.get("parallel_starts", 8)))
        for entry in secrets:
            cloud.add_mode_secret(entry["name"], entry["mode"], float(entry.get("delay", 0.0)))
    except BaseException:
        cloud.stop()
        raise
    return cloud


def serve(cloud: BenchCloud) -> None:
    out = sys.stdout
    print(json.dumps(cloud.state()), file=out, flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        command = request.get("command")
        if command == "report":
            answer: dict[str, Any] = cloud.report()
        elif command == "configure":
            cloud.configure(float(request["rate_limit"]), float(request["throttle_fraction"]))
            answer = {"configured": True}
        elif command == "cpu":
            answer = {"cpu": time.process_time(), "threads": threading.active_count()}
        elif command == "stop":
            print(json.dumps({"stopped": True}), file=out, flush=True)
            return
        else:
            answer = {"error": f"unknown command {command!r}"}
        print(json.dumps(answer), file=out, flush=True)


def main() -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    # Terminated by the parent: stop the redis-servers too (the finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    spec = json.loads(sys.stdin.readline() or "{}")
    cloud = build(spec)
    try:
        serve(cloud)
    finally:
        cloud.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
