"""``python -m localcloud.ops_demo 2>/dev/null``: the output docs/operations.md shows, made afresh.

A local cloud in this process with four URedis secrets: one rotated, one never attached,
and two whose rotation stopped (as a Lambda timeout stops it) and was not retried: one
before its change request, one after the change landed. Then ``status`` and ``repair``
run on them, as ``redis-rotation ... --local`` would run them against ``up``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from localcloud.cloud import ExampleSecret, LocalCloud
from localcloud.instrument import Call, CrashAt, Recorder, instrument
from localcloud.logs import logs_to_stderr

Pick = Callable[[list[Call]], int]


def _change(calls: list[Call]) -> int:
    return next(c.index for c in calls if c.name == "ModifyURedisGroupPassword")


def _after_change(calls: list[Call]) -> int:
    # The first Redis question after the change: the provider has reported it done.
    return next(c.index for c in calls if c.index > _change(calls) and c.kind == "redis")


def stopped(cloud: LocalCloud, name: str, calls: list[Call], pick: Pick) -> ExampleSecret:
    example = cloud.add_uredis_secret(name, apply_after_requests=2)
    with instrument(CrashAt(pick(calls), "before")) as seams:
        result = cloud.driver("uredis", seams=seams, max_attempts=1).rotate(example.arn)
    assert not result.succeeded
    return example


def show(*argv: str) -> None:
    from rotation_cli import main

    print(f"$ redis-rotation {' '.join(argv)}", flush=True)
    code = main.main(list(argv))
    print(f"(exit {code})\n", flush=True)


def demo() -> None:
    with LocalCloud() as cloud:
        orders = cloud.add_uredis_secret("ops-demo/orders", group_id="uredis-orders")
        assert cloud.driver("uredis").rotate(orders.arn).succeeded
        cloud.add_uredis_secret("ops-demo/sessions", group_id="uredis-sessions")
        # The calls of one rotation, recorded on a secret outside the demo's prefix.
        recorded = cloud.add_uredis_secret("ops-recorded/uredis", apply_after_requests=2)
        recorder = Recorder()
        with instrument(recorder) as seams:
            assert cloud.driver("uredis", seams=seams).rotate(recorded.arn).succeeded
        carts = stopped(cloud, "ops-demo/carts", recorder.calls, _change)
        billing = stopped(cloud, "ops-demo/billing", recorder.calls, _after_change)
        show("status", "--prefix", "ops-demo/")
        show("status", "--prefix", "ops-demo/", "--check", "--stuck-after", "0")
        show("repair", billing.name)
        # Stopped without retries: no retry window to wait out.
        show("repair", billing.name, "--apply", "--stuck-after", "0")
        show("repair", carts.name, "--apply", "--stuck-after", "0")
        orders.redis.set_password("set-in-the-console")
        show("repair", orders.name)


if __name__ == "__main__":
    # The functions' own log lines go to stderr, the commands' output to stdout.
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    with logs_to_stderr():
        demo()
    sys.exit(0)
