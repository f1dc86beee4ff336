"""(6) Operating a fleet: ``redis-rotation status`` over thousands of secrets, and how long
a fleet's rotation takes at the providers' published rate limits, with the
ReservedConcurrency that keeps it under them.

status: the secrets are created directly with boto3 against moto, all sharing one
patterned grant (the local cloud's helpers append a grant per secret to one credentials
secret, which nears Secrets Manager's 64 KiB near 400 secrets). One in ten has an
unfinished rotation (an AWSPENDING stub); the rest are rotated and settled. Measured: the
Secrets Manager calls by operation against ListSecrets' page limit (100), and wall time.
moto answers in this same process, so the time includes moto's own work.

Fleet model: one concurrency slot (one function instance: what ReservedConcurrency
counts) running SLOT_ROTATIONS rotations of a mode back to back on the local cloud, every
provider change taking ``task_seconds`` (a Tencent task, a URedis apply), unthrottled,
recorded call by call: c_a, the requests of action a per rotation; p_a, the most of them
the slot sends in any one second (a rotation polls fast at first: its requests come in
bursts, and one rotation's last polls can share a second with the next one's first); and
R, a rotation's wall time. The slot runs with the densest poll schedule the layer's
backoff allows (its jitter drawing the shortest delay every time), so p_a is the worst
case, not one draw of it. At limit L_a per action, C slots whose bursts coincide send
C * p_a requests of a in a second, so

    ReservedConcurrency = max(1, min(N, floor(min_a(L_a / p_a))))
    fleet time          = N * R / ReservedConcurrency

The check: a fleet run with that many rotations at a time (a thread pool standing in for
ReservedConcurrency) at the emulator's limit, which is the same for every action, sees no
throttled request; three times as many at a time are throttled. C is computed for the
limits the check enforces. (An average-rate bound, C * c_a / R <= L_a, allows about twice
as many and was throttled in this check: the bursts decide.)

0.2.0 missed the check (4 throttled at C = 4): p_a came from one rotation with random
jitter, which drew 5 DescribeTaskInfo polls in a second where the schedule allows 6 (the
delays are in [d/2, d]: 0, 25, 75, 175, 375 and 775 ms), and a slot's back-to-back
rotations were not measured.
"""

from __future__ import annotations

import bisect
import json
import math
import os
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from bench.common import Measurement, Target
from redis_rotation.polling import Runtime

if TYPE_CHECKING:
    from bench.cloudproc import BenchCloud

STATUS_SECRETS = 2000
PENDING_EVERY = 10
# Published per-action limits (requests per second). Tencent: each action's API page
# ("A maximum of 20 requests can be initiated per second"), and the API frequency table
# (cloud.tencent.com/document/api/239/32042) gives DescribeInstances 50. UCloud publishes
# no number (RetCode 153 when throttled).
TENCENT_LIMITS = {"DescribeInstances": 50}
TENCENT_DEFAULT_LIMIT = 20
SLOT_ROTATIONS = 3
# Every backoff delay at its shortest: the most requests a poll can send in a second.
DENSEST = Runtime(random=lambda: 0.0)


def _value(index: int, credentials: str) -> str:
    return json.dumps(
        {
            "provider": "uredis",
            "host": "127.0.0.1",
            "port": 10000 + index % 50000,
            "password": f"bench-password-{index:05d}",
            "region": "cn-bj2",
            "zone": "cn-bj2-02",
            "groupId": f"uredis-{index:05d}",
            "credentialsSecretId": credentials,
            "tls": {"enabled": False},
        }
    )


def _create_fleet(sm: Any, count: int) -> int:
    """``count`` secrets, rotation on; returns how many have an unfinished rotation."""
    client = sm.secrets_manager()
    grant = {"secrets": ["ops/*"], "instances": ["*"], "region": "cn-bj2"}
    credentials = client.create_secret(
        Name="ops-keys/uredis",
        SecretString=json.dumps(
            {"publicKey": "bench", "privateKey": "bench-private", "grants": [grant]}
        ),
    )["ARN"]
    function = sm.register_function("ops-uredis")
    unfinished = 0
    # One at a time: moto's Secrets Manager is not safe for concurrent CreateSecret.
    for index in range(count):
        arn = client.create_secret(
            Name=f"ops/fleet/{index:05d}", SecretString=_value(index, credentials)
        )["ARN"]
        stub = client.rotate_secret(
            SecretId=arn, RotationLambdaARN=function, RotationRules={"AutomaticallyAfterDays": 30}
        )["VersionId"]
        if index % PENDING_EVERY == 0:
            unfinished += 1  # left unfinished: AWSPENDING on an empty stub
        else:
            client.update_secret_version_stage(
                SecretId=arn, VersionStage="AWSPENDING", RemoveFromVersionId=stub
            )
    return unfinished


def status_scale(count: int) -> dict[str, Any]:
    from localcloud.secretsmanager import SecretsManagerServer, apply_environment
    from rotation_cli.access import CountedClient
    from rotation_cli.status import BATCH_SIZE, PAGE_SIZE, Selection, Status

    sm = SecretsManagerServer().start()
    try:
        apply_environment(sm.environment())
        began = time.monotonic()
        pending = _create_fleet(sm, count)
        setup = time.monotonic() - began
        status = Status(CountedClient.create(), Selection(prefix="ops/fleet/"), window=6000.0)
        began = time.monotonic()
        rows = status.rows()
        wall = time.monotonic() - began
    finally:
        sm.stop()
    calls = dict(status.client.calls)
    return {
        "secrets": count,
        "listed": len(rows),
        "states": dict(Counter(r.state for r in rows)),
        "unfinished_rotations": pending,
        "calls": calls,
        "calls_total": status.client.total,
        "expected_calls": {
            "ListSecrets": math.ceil(count / PAGE_SIZE),
            "BatchGetSecretValue": math.ceil(count / BATCH_SIZE),
            "ListSecretVersionIds": pending,
        },
        "naive_calls": 2 * count,  # DescribeSecret + GetSecretValue per secret
        "wall_s": round(wall, 2),
        "setup_s": round(setup, 1),
    }


def limit_of(action: str) -> int:
    return TENCENT_LIMITS.get(action, TENCENT_DEFAULT_LIMIT)


def reserved_concurrency(
    fleet: int, peaks: dict[str, int], limits: Callable[[str], int] = limit_of
) -> int:
    """The formula of docs/operations.md: the most rotations in flight whose coinciding
    bursts keep every action under its limit (at least 1, at most the fleet)."""
    most = min(limits(a) / n for a, n in peaks.items() if n)
    return max(1, min(fleet, math.floor(most)))


def fleet_time(fleet: int, seconds: float, concurrency: int) -> float:
    return fleet * seconds / concurrency


def peak_per_second(times: list[float]) -> int:
    """The most of ``times`` within any one second."""
    ordered = sorted(times)
    return max((bisect.bisect_left(ordered, t + 1.0) - i for i, t in enumerate(ordered)), default=0)


def _one_slot(cloud: BenchCloud, mode: str, task_seconds: float) -> dict[str, Any]:
    """One concurrency slot: SLOT_ROTATIONS rotations back to back, the densest polls.
    Per provider action, the requests of one rotation and the slot's peak in one second;
    and a rotation's wall seconds. Unthrottled."""
    from localcloud.instrument import Call, Side, instrument
    from redis_rotation.seams import Seams

    cloud.configure(rate_limit=1_000_000, throttle_fraction=0.0)
    example = cloud.add_mode_secret(f"bench/ops/slot-{mode}", mode, delay=task_seconds)
    sent: dict[str, list[float]] = {}

    def note(call: Call, side: Side) -> None:
        if call.kind == "provider" and side == "before":
            sent.setdefault(call.name, []).append(time.monotonic())

    with instrument(note, Seams(runtime=DENSEST)) as seams:
        driver = cloud.driver(example.provider, seams=seams)
        began = time.monotonic()
        for _ in range(SLOT_ROTATIONS):
            result = driver.rotate(example.arn)
            assert result.succeeded, result.runs
        wall = time.monotonic() - began
    return {
        "requests_per_action": {a: len(t) / SLOT_ROTATIONS for a, t in sent.items()},
        "peak_per_second": {a: peak_per_second(t) for a, t in sent.items()},
        "rotation_s": round(wall / SLOT_ROTATIONS, 2),
        "slot_rotations": SLOT_ROTATIONS,
    }


def _limited_fleet(
    cloud: BenchCloud, size: int, concurrency: int, limit: int, task_seconds: float
) -> dict[str, Any]:
    """``size`` Tencent 3.0 rotations, ``concurrency`` at a time, at ``limit`` per action."""
    from bench.cloudproc import api_report

    examples = [
        cloud.add_mode_secret(
            f"bench/ops/c{concurrency}-{i:03d}", "tencent-3.0-modify", delay=task_seconds
        )
        for i in range(size)
    ]
    cloud.configure(rate_limit=limit, throttle_fraction=0.0)
    api_report(cloud.throttling)  # forget the calls before this fleet's
    began = time.monotonic()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(lambda e: cloud.driver("tencent").rotate(e.arn), examples))
    wall = time.monotonic() - began
    report = api_report(cloud.throttling)
    throttled = sum(int(a["throttled"]) for a in report["actions"].values())
    return {
        "concurrency": concurrency,
        "succeeded": sum(r.succeeded for r in results),
        "throttled": throttled,
        "wall_s": round(wall, 2),
    }


def run(
    status_secrets: int = STATUS_SECRETS,
    *,
    fleet: int = 1000,
    task_seconds: float = 1.0,
    check_batches: int = 4,
) -> Measurement:
    # The functions' own log lines and metrics would bury the bench's output.
    for name, value in (("POWERTOOLS_LOG_LEVEL", "ERROR"), ("POWERTOOLS_METRICS_DISABLED", "true")):
        os.environ.setdefault(name, value)
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    measurement = Measurement("operations")
    scale = status_scale(status_secrets)
    measurement.figures["status"] = scale
    expected = scale["expected_calls"]
    measurement.targets.append(
        Target(
            f"status of {status_secrets}: Secrets Manager calls",
            "ceil(N/100) + ceil(N/20) + unfinished",
            f"{scale['calls_total']} ({scale['wall_s']:.1f} s)",
            scale["calls"] == expected and scale["listed"] == status_secrets,
            f"{expected['ListSecrets']} pages of 100 (the limit), "
            f"{expected['BatchGetSecretValue']} batches of 20 values, "
            f"{expected['ListSecretVersionIds']} version listings; one call per secret "
            f"each would be {scale['naive_calls']}",
        )
    )

    from bench.cloudproc import BenchCloud

    cloud = BenchCloud().start()  # its start() is typed as its own
    try:
        model = _model(cloud, fleet, task_seconds)
        measurement.figures["fleet_model"] = {"fleet": fleet, "task_seconds": task_seconds, **model}
        _check(cloud, measurement, model, check_batches, task_seconds)
    finally:
        cloud.stop()
    tencent = model["tencent-3.0-modify"]
    measurement.notes.append(
        f"fleet of {fleet} at Tencent's published limits, every change task taking "
        f"{task_seconds:g} s: ReservedConcurrency {tencent['reserved_concurrency']}, "
        f"{tencent['fleet_time_s']:.0f} s. UCloud publishes no rate limit: a URedis fleet "
        "is bounded by ReservedConcurrency and the account's throttling (RetCode 153)."
    )
    return measurement


def _model(cloud: BenchCloud, fleet: int, task_seconds: float) -> dict[str, Any]:
    model: dict[str, Any] = {}
    for mode in ("tencent-3.0-modify", "uredis"):
        entry = _one_slot(cloud, mode, task_seconds)
        if mode.startswith("tencent"):
            concurrency = reserved_concurrency(fleet, entry["peak_per_second"])
            entry |= {
                "limits_per_s": {a: limit_of(a) for a in entry["requests_per_action"]},
                "reserved_concurrency": concurrency,
                "fleet_time_s": round(fleet_time(fleet, entry["rotation_s"], concurrency), 1),
                # Spread perfectly, at any concurrency: the limits alone allow no less.
                "limit_floor_s": round(
                    fleet * max(n / limit_of(a) for a, n in entry["requests_per_action"].items()),
                    1,
                ),
            }
        model[mode] = entry
    return model


def _check(
    cloud: BenchCloud,
    measurement: Measurement,
    model: dict[str, Any],
    batches: int,
    task_seconds: float,
) -> None:
    """The formula at Tencent's limit: ``batches`` rounds of ReservedConcurrency rotations."""
    tencent = model["tencent-3.0-modify"]
    # The emulator limits every action alike (DescribeInstances too, published at 50).
    capped = reserved_concurrency(
        10_000, tencent["peak_per_second"], lambda _action: TENCENT_DEFAULT_LIMIT
    )
    size = batches * capped
    predicted = fleet_time(size, float(tencent["rotation_s"]), capped)
    under = _limited_fleet(cloud, size, capped, TENCENT_DEFAULT_LIMIT, task_seconds)
    over = _limited_fleet(cloud, size, 3 * capped, TENCENT_DEFAULT_LIMIT, task_seconds)
    measurement.figures["concurrency_check"] = {
        "secrets": size,
        "limit_per_action_per_s": TENCENT_DEFAULT_LIMIT,
        "reserved_concurrency": capped,
        "predicted_s": round(predicted, 2),
        "at_formula": under,
        "at_three_times": over,
    }
    measurement.targets.append(
        Target(
            "ReservedConcurrency formula: no throttling",
            "0 throttled at C, some at 3C",
            f"{under['throttled']} at C={capped}, {over['throttled']} at {3 * capped}",
            under["throttled"] == 0 and over["throttled"] > 0 and under["succeeded"] == size,
            f"{size} Tencent 3.0 rotations at 20/s per action: {under['wall_s']:.1f} s at C "
            f"(N*R/C predicts {predicted:.1f} s), {over['wall_s']:.1f} s at 3C",
        )
    )
