"""The function's side of a measurement, in a process of its own: ``python -m bench.worker
COMMAND STATE OUT [ARGS]``, against a cloud served by ``bench.cloudproc``.

Nothing of the local cloud runs here, so this process's CPU time is the functions' own
(plus the driver's few Secrets Manager calls, which are kept outside the timed spans).
The handlers are imported as Lambda imports them: by module name, with the function's
directory and the layer's directory on the path (``bench.common.child_environment``).

cost   per provider mode: the first rotation, one rotation with every external call
       recorded (and labelled), then N rotations timed on the process CPU clock.
rss    one rotation of one mode in a fresh process; peak RSS before and after.
fleet  every secret of the state rotated at once, one thread per secret.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

    from localcloud.driver import LambdaContext
    from localcloud.instrument import Call, Side

Handler = Callable[[dict[str, Any], "LambdaContext"], Any]


def maxrss_mb() -> float:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def handler_for(provider: str) -> Handler:
    module = f"{provider}_handler"
    handler: Handler = importlib.import_module(module).lambda_handler
    return handler


def driver_client() -> SecretsManagerClient:
    """The driver's own client, from its own boto3 session: it shares no cache with the
    function's client, so the function's first step pays for its client as in Lambda."""
    import boto3

    client: SecretsManagerClient = boto3.session.Session().client("secretsmanager")
    return client


def secrets_of_mode(state: Mapping[str, Any], mode: str) -> list[tuple[str, dict[str, Any]]]:
    return [(n, s) for n, s in state["secrets"].items() if s["mode"] == mode]


class Metered:
    """Wraps a handler: the step running now, and the process CPU time spent per step."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.step = ""
        self.cpu: dict[str, float] = defaultdict(float)
        self.outcomes: list[str] = []

    def __call__(self, event: dict[str, Any], context: LambdaContext) -> Any:
        self.step = str(event["Step"])
        start = time.process_time()
        try:
            answer = self.handler(event, context)
        finally:
            self.cpu[self.step] += time.process_time() - start
        self.outcomes.append(str(answer.get("Outcome")) if isinstance(answer, dict) else "?")
        return answer

    def reset(self) -> None:
        self.cpu.clear()
        self.outcomes.clear()


class CallLog:
    """Every external call of the function, by step, with Secrets Manager reads labelled by
    what they read (the stage of the rotated secret, or the credentials secret)."""

    def __init__(self, metered: Metered, rotated_arn: str) -> None:
        self.metered = metered
        self.rotated_arn = rotated_arn
        self.calls: list[dict[str, str]] = []
        self._label = ""

    def params(self, params: Mapping[str, Any], model: Any, **_: Any) -> None:
        name = str(model.name)
        if name == "GetSecretValue":
            if params.get("SecretId") == self.rotated_arn:
                name = f"GetSecretValue {params.get('VersionStage', '(no stage)')}"
            else:
                name = "GetSecretValue credentials"
        self._label = name

    def __call__(self, call: Call, side: Side) -> None:
        if side == "before":
            from bench.callsite import site_of

            label = self._label if call.kind == "secretsmanager" else call.name
            self.calls.append(
                {"step": self.metered.step, "kind": call.kind, "name": label}
                | site_of(None).to_json()
            )


def cmd_cost(state: Mapping[str, Any], args: list[str]) -> dict[str, Any]:
    from localcloud.driver import RotationDriver
    from localcloud.instrument import instrument

    rotations = int(args[0])
    client = driver_client()
    results: dict[str, Any] = {}
    for mode in args[1:]:
        (_name, secret), *_ = secrets_of_mode(state, mode)
        metered = Metered(handler_for(secret["provider"]))
        driver = RotationDriver(client, metered, state["functions"][secret["provider"]])

        def rotate(arn: str = secret["arn"], driver: RotationDriver = driver) -> None:
            result = driver.rotate(arn)
            if not result.succeeded or result.attempts != 1:
                raise RuntimeError(f"rotation failed: {[(r.step, r.outcome) for r in result.runs]}")

        rotate()
        first = dict(metered.cpu)
        metered.reset()

        from localcloud.cloud import LocalCloud
        from redis_rotation.entrypoint import secrets_manager_client

        provider = secret["provider"]
        log = CallLog(metered, secret["arn"])
        events = secrets_manager_client().meta.events
        events.register("provide-client-params.secrets-manager", log.params, unique_id="bench")
        try:
            with instrument(log) as seams:
                # The same handler, built with the instrument's seams for one rotation; a
                # new handler, so its caches start empty (redis_rotation.warm).
                plain, metered.handler = metered.handler, LocalCloud.handler(provider, seams)
                try:
                    rotate()
                finally:
                    metered.handler = plain
        finally:
            events.unregister("provide-client-params.secrets-manager", unique_id="bench")
        outcomes = list(metered.outcomes)
        metered.reset()

        totals: list[float] = []
        yardsticks: list[float] = []
        per_step: dict[str, list[float]] = defaultdict(list)
        for _ in range(rotations):
            rotate()
            totals.append(sum(metered.cpu.values()))
            for step, seconds in metered.cpu.items():
                per_step[step].append(seconds)
            metered.reset()
            yardsticks.append(yardstick(secret["arn"]))
        results[mode] = {
            "first_rotation_cpu": first,
            "cpu_totals": totals,
            "yardsticks": yardsticks,
            "cpu_per_step": dict(per_step),
            "calls": log.calls,
            "outcomes": outcomes,
        }

    return {"modes": results}


def yardstick(arn: str, calls: int = 5) -> float:
    """The CPU of one plain DescribeSecret through the function's own client, measured
    right after each rotation: the rotation's CPU in those units is steadier than in
    milliseconds when other processes load the machine."""
    from redis_rotation.entrypoint import secrets_manager_client

    client = secrets_manager_client()
    start = time.process_time()
    for _ in range(calls):
        client.describe_secret(SecretId=arn)
    return (time.process_time() - start) / calls


def cmd_rss(state: Mapping[str, Any], args: list[str]) -> dict[str, Any]:
    mode = args[0]
    (_name, secret), *_ = secrets_of_mode(state, mode)
    at_start = maxrss_mb()
    handler = handler_for(secret["provider"])
    after_import = maxrss_mb()

    from localcloud.driver import RotationDriver
    from redis_rotation.entrypoint import secrets_manager_client

    # The driver's few calls go through the function's own client: a second client would
    # add its own memory, which a Lambda invocation does not have.
    driver = RotationDriver(
        secrets_manager_client(), handler, state["functions"][secret["provider"]]
    )
    result = driver.rotate(secret["arn"])
    return {
        "succeeded": result.succeeded,
        "attempts": result.attempts,
        "interpreter_mb": at_start,
        "after_import_mb": after_import,
        "peak_mb": maxrss_mb(),
    }


def cmd_fleet(state: Mapping[str, Any], args: list[str]) -> dict[str, Any]:
    from localcloud.driver import RotationDriver
    from redis_rotation.entrypoint import secrets_manager_client

    timeout = float(args[0])
    secrets = list(state["secrets"].items())
    # Made before the threads start: one Lambda process makes it on its first step, but
    # 200 threads racing to make the first one would build clients concurrently from
    # boto3's default session, which is not thread-safe.
    secrets_manager_client()
    client = driver_client()
    drivers = {
        p: RotationDriver(client, handler_for(p), arn) for p, arn in state["functions"].items()
    }
    barrier = threading.Barrier(len(secrets) + 1, timeout=120)
    outcomes: dict[str, dict[str, Any]] = {}
    lock = threading.Lock()

    def rotate(name: str, secret: Mapping[str, Any]) -> None:
        barrier.wait()
        try:
            result = drivers[secret["provider"]].rotate(secret["arn"])
            outcome: dict[str, Any] = {
                "succeeded": result.succeeded,
                "attempts": result.attempts,
                "errors": sorted({r.outcome for r in result.runs if r.error}),
            }
        except Exception as exc:  # the driver's own calls failed: count it, keep going
            outcome = {"succeeded": False, "attempts": 0, "errors": [type(exc).__name__]}
        outcome["done_at"] = time.monotonic()
        with lock:
            outcomes[name] = outcome

    threads = [
        threading.Thread(target=rotate, args=(n, s), name=f"rotation-{i}", daemon=True)
        for i, (n, s) in enumerate(secrets)
    ]
    for thread in threads:
        thread.start()
    barrier.wait()
    started, cpu_start = time.monotonic(), time.process_time()
    deadline = started + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    cpu = time.process_time() - cpu_start
    unfinished = [t.name for t in threads if t.is_alive()]
    return {
        "started_at": started,
        "outcomes": outcomes,
        "unfinished": len(unfinished),
        "process_cpu": cpu,
    }


COMMANDS: dict[str, Callable[[Mapping[str, Any], list[str]], dict[str, Any]]] = {
    "cost": cmd_cost,
    "rss": cmd_rss,
    "fleet": cmd_fleet,
}


def main(argv: list[str]) -> int:
    command, state_path, out_path, *args = argv
    state: dict[str, Any] = json.loads(Path(state_path).read_text())
    os.environ.update(state["environment"])
    result = COMMANDS[command](state, args)
    Path(out_path).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
