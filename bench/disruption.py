"""What applications see during a rotation: failed commands, stalls, latency and Secrets
Manager calls, per client kind, for every rotation mode and both change behaviours.

For each (mode, behaviour) one secret is made on a local cloud in this process; three
application processes (``bench.disruption_client``), one per client kind, put steady load
on its redis-server side by side; after a baseline the rotation runs (the real handler,
driven as Secrets Manager drives it), then the load goes on for a while. A new mode in
``bench.common.MODES`` is measured here too.
"""

from __future__ import annotations

import itertools
import math
import os
import subprocess
import sys
import time
from collections.abc import Sequence, Set
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import (
    MODES,
    NEW_PROVIDER_MODES,
    RESULTS_DIR,
    ROOT,
    LineChannel,
    Measurement,
    Target,
)
from bench.common import child_environment as base_environment
from bench.disruption_client import KINDS
from bench.load import AUTH, DROPPED, Sample
from localcloud.redis_server import ON_CHANGE, OnChange

PLOT = RESULTS_DIR / "disruption.png"
CLIENT_PATH = ROOT / "clients" / "python"


@dataclass(frozen=True)
class Shape:
    """The load and the windows around the rotation."""

    threads: int = 3
    rate: float = 50.0  # commands per second per thread
    recycle: float = 0.2  # seconds between pool recycles per thread
    baseline: float = 1.5  # seconds of load before the rotation
    after: float = 1.5  # seconds of load after it


# -- arithmetic (unit-tested) ----------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def longest_stall(samples: Sequence[Sample], begin: float, end: float) -> float:
    """The longest time in [begin, end] in which no command of the process succeeded."""
    done = sorted(s.start + s.latency for s in samples if s.failure is None)
    marks = [begin, *(t for t in done if begin <= t <= end), end]
    return max(b - a for a, b in itertools.pairwise(marks))


def recovered(samples: Sequence[Sample]) -> bool:
    """Whether every thread's last command succeeded."""
    last = {s.worker: s for s in sorted(samples, key=lambda s: s.start)}
    return all(s.failure is None for s in last.values())


def summarise(
    samples: Sequence[Sample], calls: Sequence[float], rotation: tuple[float, float], end: float
) -> dict[str, Any]:
    """One process's figures. "During" is from the rotation's start to the end of the run:
    a client that never recovers keeps failing after finishSecret."""
    start, _ = rotation
    before = [s for s in samples if s.start < start]
    during = [s for s in samples if s.start >= start]
    failed = [s for s in samples if s.failure]
    first = samples[0].start if samples else start
    return {
        "commands": len(samples),
        "failed": len(failed),
        "failed_auth": sum(1 for s in failed if s.failure == AUTH),
        "failed_dropped": sum(1 for s in failed if s.failure == DROPPED),
        "longest_stall_ms": round(1000 * longest_stall(samples, first, end), 1),
        "p50_before_ms": round(1000 * percentile([s.latency for s in before], 0.5), 2),
        "p99_before_ms": round(1000 * percentile([s.latency for s in before], 0.99), 2),
        "p50_during_ms": round(1000 * percentile([s.latency for s in during], 0.5), 2),
        "p99_during_ms": round(1000 * percentile([s.latency for s in during], 0.99), 2),
        # A client that never recovers fails (or stalls) until the run ends.
        "recovered": recovered(samples),
        "sm_calls": len(calls),
        "sm_calls_during": sum(1 for t in calls if t >= start),
    }


def judge(runs: Sequence[dict[str, Any]]) -> list[Target]:
    """The issue's targets for our client, over every run."""
    ours = [(r, r["kinds"]["ours"]) for r in runs]
    kept = [f for r, f in ours if r["on_change"] == "keep"]
    dropped = [f for r, f in ours if r["on_change"] == "drop"]
    kept_failed = sum(f["failed"] for f in kept)
    not_in_flight = sum(f["failed"] - f["failed_dropped"] for f in dropped)
    calls = max((f["sm_calls_during"] for _, f in ours), default=0)
    ratios = [f["p99_during_ms"] / f["p99_before_ms"] for _, f in ours if f["p99_before_ms"] > 0]
    ratio = max(ratios, default=float("nan"))
    return [
        Target(
            "ours: failed commands, connections kept",
            "0",
            str(kept_failed),
            kept_failed == 0,
            "commands failed although the provider kept the connections",
        ),
        Target(
            "ours: failed commands, connections dropped",
            "only in flight on a dropped connection",
            f"{sum(f['failed'] for f in dropped)} ({not_in_flight} not in flight)",
            not_in_flight == 0,
            "a command failed for another reason than its connection being dropped",
        ),
        Target(
            "ours: Secrets Manager calls per process per rotation",
            "<= 2",
            str(calls),
            calls <= 2,
            "the client re-read the secret more often than the target allows",
        ),
        Target(
            "ours: p99 latency during rotation / before",
            "<= 2x",
            f"{ratio:.2f}x",
            ratio <= 2.0,
            "p99 during the rotation exceeds twice the baseline (worst run)",
        ),
        # Alternating accounts: AWSCURRENT's account is never changed, so even a client
        # that read the secret once, before the rotation, is never refused.
        _every_client(
            runs,
            ALTERNATING_MODES,
            "alternating accounts: failed commands, every client",
            "a client was refused although AWSCURRENT's account was not changed",
        ),
        # Dual passwords: AWSCURRENT's password stays valid beside AWSPENDING's.
        _every_client(
            runs,
            DUAL_PASSWORD_MODES,
            "dual passwords (ElastiCache): failed commands, every client",
            "a client was refused although AWSCURRENT's password stayed valid",
        ),
    ]


def _every_client(runs: Sequence[dict[str, Any]], modes: Set[str], name: str, why: str) -> Target:
    """0 failed commands for every client kind over the runs of ``modes``; not met if none
    ran, never silently passed."""
    figures = [f for r in runs if r["mode"] in modes for f in r["kinds"].values()]
    failed = sum(f["failed"] for f in figures)
    return Target(
        name, "0", str(failed) if figures else "not run", bool(figures) and failed == 0, why
    )


# -- running -----------------------------------------------------------------------------------


def _environment(cloud_env: dict[str, str]) -> dict[str, str]:
    env = base_environment(cloud_env)
    env["PYTHONPATH"] = f"{env['PYTHONPATH']}:{CLIENT_PATH}"
    return env


class _Client:
    """One application process of one kind."""

    def __init__(self, kind: str, secret_id: str, shape: Shape, env: dict[str, str]) -> None:
        self.kind = kind
        self.log = (RESULTS_DIR / f"disruption-{kind}.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.disruption_client"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
        )
        self.channel = LineChannel(self.process)
        self.channel.send(
            {
                "kind": kind,
                "secret_id": secret_id,
                "threads": shape.threads,
                "rate": shape.rate,
                "recycle": shape.recycle,
            }
        )

    def stop(self) -> None:
        self.channel.send({"command": "stop"})

    def answer(self) -> dict[str, Any]:
        try:
            return self.channel.receive(timeout=120)
        finally:
            self.close()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()
        self.log.close()


# Every mode of the other benchmarks, and those whose clients log in another way: a URedis
# space, custom accounts, alternating accounts (which keep AWSCURRENT's account unchanged),
# ElastiCache's RBAC user and AUTH token (which keep AWSCURRENT's password valid beside
# AWSPENDING's) and Alibaba's default account, on a cluster instance too.
ALTERNATING_MODES = frozenset(
    {"tencent-3.0-alternating", "alibaba-alternating", "alibaba-cluster-alternating"}
)
DUAL_PASSWORD_MODES = frozenset({"elasticache-user", "elasticache-token"})
DISRUPTION_MODES: dict[str, tuple[str, dict[str, Any]]] = {
    **MODES,
    "uredis-space": ("uredis", {"space": True}),
    "tencent-3.0-account": ("tencent", {"api_version": "3.0", "account": "app"}),
    "tencent-3.0-alternating": (
        "tencent",
        {"api_version": "3.0", "account": "app", "alternate": "app_b"},
    ),
    **NEW_PROVIDER_MODES,
}


def behaviours(mode: str, wanted: Sequence[OnChange]) -> tuple[OnChange, ...]:
    """The change behaviours ``mode`` runs with: ElastiCache maintains existing connections
    when a password changes (its emulator never drops them), so only "keep" is real there."""
    if DISRUPTION_MODES[mode][0] == "elasticache":
        return tuple(b for b in wanted if b == "keep")
    return tuple(wanted)


def run_one(cloud: Any, mode: str, on_change: OnChange, shape: Shape) -> dict[str, Any]:
    provider, options = DISRUPTION_MODES[mode]
    add = getattr(cloud, f"add_{provider}_secret")
    if provider != "elasticache":  # see behaviours()
        options = {**options, "on_change": on_change}
    example = add(f"bench/disruption-{mode}-{on_change}", **options)
    env = _environment(cloud.environment())
    clients = [_Client(kind, example.arn, shape, env) for kind in KINDS]
    try:
        for client in clients:
            client.channel.receive(timeout=120)
        time.sleep(shape.baseline)
        started = time.monotonic()
        result = cloud.driver(provider).rotate(example.arn)
        ended = time.monotonic()
        time.sleep(shape.after)
        for client in clients:  # all at once: a stuck client's retries must not hold the others
            client.stop()
        end = time.monotonic()
        answers = {c.kind: c.answer() for c in clients}
    finally:
        for client in clients:
            client.close()
    if not result.succeeded:
        raise RuntimeError(f"the {mode} rotation failed: {result.runs}")
    kinds: dict[str, Any] = {}
    series: dict[str, list[list[Any]]] = {}
    for kind, answer in answers.items():
        samples = [Sample.from_json(row) for row in answer["samples"]]
        kinds[kind] = summarise(samples, answer["calls"], (started, ended), end)
        series[kind] = [[s.start - started, s.latency, s.failure] for s in samples]
    return {
        "mode": mode,
        "on_change": on_change,
        "rotation_s": round(ended - started, 3),
        "end_s": round(end - started, 3),
        "kinds": kinds,
        "_series": series,
    }


def plot(run: dict[str, Any], path: Path) -> None:
    """Latency and cumulative failed commands over time through one rotation, per kind."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = run["_series"]
    figure, axes = plt.subplots(len(series), 1, figsize=(7, 2.2 * len(series)), sharex=True)
    for axis, (kind, rows) in zip(axes, series.items(), strict=True):
        ok = [(t, 1000 * latency) for t, latency, failure in rows if failure is None]
        axis.scatter([t for t, _ in ok], [ms for _, ms in ok], s=2, label="latency (ok)")
        axis.set_yscale("log")
        axis.set_ylabel(f"{kind}\nms")
        failed = [(t, 1000 * latency) for t, latency, failure in rows if failure is not None]
        axis.scatter([t for t, _ in failed], [ms for _, ms in failed], s=12, marker="x", c="red")
        failed_at = [t for t, _ in failed]
        twin = axis.twinx()
        twin.step(failed_at, range(1, len(failed_at) + 1), color="red", where="post")
        twin.set_ylabel("failed (cum.; x: its latency)", color="red")
        twin.set_ylim(bottom=0, top=max(1, len(failed_at)) * 1.1)
        axis.set_xlim(right=run["end_s"])
        axis.axvspan(0, run["rotation_s"], color="orange", alpha=0.2)
    axes[-1].set_xlabel("seconds since the rotation started (orange: the rotation)")
    figure.suptitle(f"{run['mode']}, connections {run['on_change']}: through one rotation")
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)


def table(runs: Sequence[dict[str, Any]]) -> list[list[str]]:
    header = ["mode", "conns", "client", "failed", "stall ms", "p50/p99 before", "p50/p99 during"]
    rows = [[*header, "SM calls", "recovered"]]
    for run in runs:
        for kind, f in run["kinds"].items():
            rows.append(
                [
                    run["mode"],
                    run["on_change"],
                    kind,
                    f"{f['failed']}/{f['commands']}",
                    f"{f['longest_stall_ms']:.0f}",
                    f"{f['p50_before_ms']:.1f}/{f['p99_before_ms']:.1f}",
                    f"{f['p50_during_ms']:.1f}/{f['p99_during_ms']:.1f}",
                    f"{f['sm_calls_during']}",
                    "yes" if f["recovered"] else "no",
                ]
            )
    return rows


def run(
    modes: Sequence[str] | None = None,
    wanted: Sequence[OnChange] = ON_CHANGE,
    shape: Shape | None = None,
) -> Measurement:
    from localcloud.cloud import LocalCloud
    from localcloud.logs import logs_to

    shape = shape or Shape()
    RESULTS_DIR.mkdir(exist_ok=True)
    measurement = Measurement("disruption")
    runs = []
    # The rotation runs in this process: its log lines and EMF metrics go to a file, as
    # they would go to CloudWatch, not between the bench's tables.
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    functions_log = (RESULTS_DIR / "disruption-functions.log").open("w")
    with functions_log, logs_to(functions_log), LocalCloud() as cloud:
        for mode in modes or DISRUPTION_MODES:
            for on_change in behaviours(mode, wanted):
                print(f"bench: disruption {mode} / {on_change} ...", file=sys.stderr, flush=True)
                runs.append(run_one(cloud, mode, on_change, shape))
    plot(runs[0], PLOT)
    for each in runs:
        each.pop("_series")
    measurement.figures = {
        "shape": shape.__dict__,
        "clients": list(KINDS),
        "runs": runs,
        "table": table(runs),
        "plot": str(PLOT.relative_to(ROOT)),
    }
    measurement.targets = judge(runs)
    measurement.notes.append(
        "One process per client kind, all three on the same instance during the same "
        "rotation. 'SM calls' are the GetSecretValue calls each process made from the "
        "rotation's start to the end of the run."
    )
    return measurement
