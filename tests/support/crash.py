"""Crash at every point (the machinery; tests/e2e/test_crash_points*.py run it per mode):
no password is ever lost, and a crash never causes a second change.

A clean rotation is recorded first: every external call it makes (Secrets Manager, the
provider API, Redis). Then, for every one of those calls and for both of its sides (before
it is sent; after it took effect but before its answer is used), a fresh rotation is stopped
right there, as a Lambda timeout would, and the driver retries the whole rotation as Secrets
Manager does. Throughout, after every call, the password the redis-server accepts must be
held by AWSCURRENT, AWSPENDING or AWSPREVIOUS; for alternating accounts, more: AWSCURRENT
itself must authenticate at every moment.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.exceptions import ClientError

from localcloud import elasticache_examples
from localcloud.cloud import ExampleSecret, LocalCloud
from localcloud.instrument import Call, CrashAt, Recorder, Side, instrument
from redis_rotation.seams import Seams
from tests.support.clock import FakeClock

LABELS = {"AWSCURRENT", "AWSPENDING", "AWSPREVIOUS"}
LABEL_WRITES = {"PutSecretValue", "UpdateSecretVersionStage"}
# (mode name, provider, options for the local cloud's secret): every change path. Each
# change completes asynchronously, but after a fixed number of API requests rather than a
# time: a crash can land while a change is in flight, and every run takes the same path, so
# every recorded crash point is reached.
V3 = {"api_version": "3.0", "task_after_requests": 2}
MODES: list[tuple[str, str, dict[str, Any]]] = [
    ("uredis", "uredis", {"apply_after_requests": 2}),
    ("uredis-space", "uredis", {"space": True, "apply_after_requests": 2}),
    ("tencent-2.0", "tencent", {"api_version": "2.0", "task_after_requests": 2}),
    ("tencent-3.0-modify", "tencent", {**V3, "change_mode": "modify"}),
    ("tencent-3.0-reset", "tencent", {**V3, "change_mode": "reset"}),
    ("tencent-3.0-account", "tencent", {**V3, "account": "app"}),
    # The other account does not exist yet: the rotation creates it (the longer path).
    (
        "tencent-3.0-alternating",
        "tencent",
        {**V3, "account": "app_a", "alternate": "app_b", "create_missing": True},
    ),
    ("elasticache-user", "elasticache", {"kind": "user", "apply_per_request": True}),
    ("elasticache-token", "elasticache", {"kind": "token", "apply_per_request": True}),
    # One password at rest: the drop after the promotion is a second, expected change.
    (
        "elasticache-user-strict",
        "elasticache",
        {"kind": "user", "apply_per_request": True, "strict": True},
    ),
    (
        "elasticache-token-strict",
        "elasticache",
        {"kind": "token", "apply_per_request": True, "strict": True},
    ),
    # Cluster mode enabled: a user on a real Redis Cluster of 3 shards (one node each: a
    # replica per shard would double the DescribeCacheClusters calls, hence crash points,
    # and the e2e tests rotate a cluster with replicas).
    (
        "elasticache-cluster",
        "elasticache",
        {"kind": "user", "cluster_mode": True, "replicas": 0, "apply_per_request": True},
    ),
    ("alibaba-default", "alibaba", {"task_after_requests": 2}),
    ("alibaba-account", "alibaba", {"task_after_requests": 2, "account": "app"}),
    (
        "alibaba-alternating",
        "alibaba",
        {
            "task_after_requests": 2,
            "account": "app_a",
            "alternate": "app_b",
            "create_missing": True,
        },
    ),
    (
        "alibaba-cluster-alternating",
        "alibaba",
        {
            "architecture": "cluster",
            "task_after_requests": 2,
            "account": "app_a",
            "alternate": "app_b",
            "create_missing": True,
        },
    ),
]
_names = itertools.count()


def new_secret(cloud: LocalCloud, provider: str, options: dict[str, Any]) -> ExampleSecret:
    name = f"crash/{provider}-{next(_names)}"
    if provider == "uredis":
        return cloud.add_uredis_secret(name, **options)
    if provider == "elasticache":
        return cloud.add_elasticache_secret(name, **options)
    if provider == "alibaba":
        return cloud.add_alibaba_secret(name, **options)
    return cloud.add_tencent_secret(name, **options)


def applied_changes(cloud: LocalCloud, example: ExampleSecret) -> int:
    if example.provider == "uredis":
        return cloud.uredis_instance(example).password_changes
    if example.provider == "elasticache":
        return elasticache_examples.applied_changes(cloud.elasticache, example.details)
    if example.provider == "alibaba":
        return cloud.alibaba.instances[example.details["instanceId"]].password_changes
    return cloud.tencent.instances[example.details["instanceId"]].password_changes


@dataclass
class InvariantWatch:
    """Checks, whenever asked, that Redis accepts a password some labelled version holds
    (alternating: that AWSCURRENT's is accepted)."""

    cloud: LocalCloud
    example: ExampleSecret
    client: Any = None
    values: dict[str, dict[str, Any] | None] = field(default_factory=dict)  # version -> value
    labelled: list[str] | None = None  # versions holding a label, as last read
    current: str | None = None  # the version labelled AWSCURRENT, as last read
    observations: int = 0
    violations: list[str] = field(default_factory=list)
    current_refused: list[str] = field(default_factory=list)  # alternating only

    def check(self, where: str, call: Call | None = None) -> None:
        if self.client is None:
            self.client = self.cloud.sm.secrets_manager()  # not instrumented
        # Labels move only through Secrets Manager writes (the function's, seen here, or the
        # driver's: RotateSecret adds an empty stub, the end removes AWSPENDING): between
        # them, the labelled versions are read once.
        if call is None or self.labelled is None or call.name in LABEL_WRITES:
            stages = self.client.describe_secret(SecretId=self.example.arn)["VersionIdsToStages"]
            self.labelled = [v for v, labels in stages.items() if LABELS & set(labels)]
            self.current = next(v for v, labels in stages.items() if "AWSCURRENT" in labels)
            # A version's value never changes once set, and is set only by PutSecretValue (a
            # label write): an empty stub is read again only after one.
            for version in self.labelled:
                if self.values.get(version) is None:
                    self.values[version] = self._value(version)
        self.observations += 1
        held = [v for v in (self.values[v] for v in self.labelled) if v]
        if not self.example.accepts_any(held):
            self.violations.append(where)
        current = self.values.get(self.current or "")
        if self.example.details.get("strategy") == "alternating" and not (
            current and self.example.accepts_any([current])
        ):
            self.current_refused.append(where)

    def _value(self, version: str) -> dict[str, Any] | None:
        try:
            answer = self.client.get_secret_value(SecretId=self.example.arn, VersionId=version)
        except ClientError:  # the empty AWSPENDING stub RotateSecret creates
            return None
        value: dict[str, Any] = json.loads(answer["SecretString"])
        return value


@dataclass
class ModeReport:
    crash_points: int = 0
    converged: int = 0
    lost: int = 0
    current_refused: int = 0  # crashed rotations during which AWSCURRENT was ever refused
    second_changes: int = 0
    failures: list[str] = field(default_factory=list)


def virtual_time() -> Seams:
    """Real HTTP and Redis, but waits that cost nothing: every change here completes after a
    number of requests, not a time, so the provider is polled at once."""
    return Seams(runtime=FakeClock().runtime())


def record_calls(cloud: LocalCloud, provider: str, options: dict[str, Any]) -> list[Call]:
    example = new_secret(cloud, provider, options)
    recorder = Recorder()
    with instrument(recorder, virtual_time()) as seams:
        result = cloud.driver(provider, seams=seams).rotate(example.arn)
    assert result.succeeded, result.runs
    assert result.attempts == 1
    return recorder.calls


def crash_once(
    cloud: LocalCloud, provider: str, options: dict[str, Any], index: int, side: Side
) -> tuple[bool, InvariantWatch, int, str]:
    example = new_secret(cloud, provider, options)
    watch = InvariantWatch(cloud, example)
    crash = CrashAt(index, side)

    def observe(call: Call, call_side: Side) -> None:
        if call_side == "after":  # state changes only when a call takes effect
            watch.check(f"after {call.kind} {call.name} #{call.index}", call)
        crash(call, call_side)

    with instrument(observe, virtual_time()) as seams:
        result = cloud.driver(provider, seams=seams, max_attempts=5).rotate(example.arn)
    watch.check("at the end")
    current = cloud.value(example.arn, "AWSCURRENT")
    converged = result.succeeded and example.accepts(current) and crash.fired is not None
    if options.get("strict"):  # converged means one password at rest, too
        converged = converged and not example.accepts(cloud.value(example.arn, "AWSPREVIOUS"))
    where = f"{side} {crash.fired.kind} {crash.fired.name}" if crash.fired else "never fired"
    return converged, watch, applied_changes(cloud, example), where


# Calls that change nothing anywhere: Redis logins and Secrets Manager reads. (A provider
# read is not one: the emulators land asynchronous changes as requests are answered.)
PURE_READS = {"GetSecretValue", "DescribeSecret", "GetRandomPassword", "ListSecretVersionIds"}


def changes_nothing(call: Call) -> bool:
    return call.kind == "redis" or (call.kind == "secretsmanager" and call.name in PURE_READS)


def crash_points(calls: list[Call]) -> list[tuple[Call, Side]]:
    """Every distinct point to stop a rotation at: before each call that follows a call
    that may change something, and after the last.

    "After call i" (it took effect, its answer is lost) leaves the world exactly as "before
    call i+1" does: between the two lies only the function's own memory, which a crash
    discards, and the invocation boundary, where Secrets Manager (the driver) changes
    nothing. So each of those pairs is one crash, run once. Likewise, when call i changes
    nothing, "before call i+1" leaves the world as "before call i": run once, too."""
    kept = [c for i, c in enumerate(calls) if i == 0 or not changes_nothing(calls[i - 1])]
    return [(call, "before") for call in kept] + [(calls[-1], "after")]


def crash_test(modes: Collection[str]) -> Callable[..., None]:
    """The crash test for ``modes``: one test item per mode, for a test module to bind."""
    selected = [m for m in MODES if m[0] in modes]

    @pytest.mark.parametrize(
        ("mode", "provider", "options"), selected, ids=[m[0] for m in selected]
    )
    def test_crash_at_every_point(
        cloud: LocalCloud,
        mode: str,
        provider: str,
        options: dict[str, Any],
        summary_line: Callable[[str], None],
    ) -> None:
        """Crash one rotation of ``mode`` at every point (both sides of every call, see
        ``crash_points``); the invariant holds."""
        calls = record_calls(cloud, provider, options)
        kinds = {call.kind for call in calls}
        assert kinds == {"secretsmanager", "provider", "redis"}, "every kind of call is covered"

        report = ModeReport()
        expected = 2 if options.get("strict") else 1  # strict: the change, then the drop
        for call, side in crash_points(calls):
            converged, watch, changes, where = crash_once(
                cloud, provider, options, call.index, side
            )
            report.crash_points += 1
            report.converged += converged
            report.lost += bool(watch.violations)
            report.current_refused += bool(watch.current_refused)
            report.second_changes += changes > expected
            if not converged or watch.violations or watch.current_refused or changes != expected:
                report.failures.append(
                    f"crash {where} (#{call.index}): converged={converged}, changes={changes}, "
                    f"lost at {watch.violations[:3]}, AWSCURRENT refused at "
                    f"{watch.current_refused[:3]}"
                )

        alternating = "alternate" in options
        refused = f"AWSCURRENT refused: {report.current_refused}, " if alternating else ""
        summary = (
            f"{mode}: crash points: {report.crash_points}, converged: {report.converged}, "
            f"lost passwords: {report.lost}, {refused}second changes: {report.second_changes}"
        )
        summary_line(summary)
        assert report.failures == [], "\n".join([summary, *report.failures])
        assert report.converged == report.crash_points == len(crash_points(calls))

    test: Callable[..., None] = test_crash_at_every_point  # the decorator is typed as Any
    return test
