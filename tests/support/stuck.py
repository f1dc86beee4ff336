"""Stuck rotations, made as the crash-at-every-point runs make them but not retried, and
repaired (the machinery; tests/e2e/test_repair_crash_points*.py run it).

A clean rotation is recorded; then, for each recorded call and side, a fresh rotation is
stopped there and Secrets Manager does not retry it (one attempt). ``repair --apply`` must
then leave Redis accepting AWSCURRENT and no password no label holds, and the next
rotation must succeed.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from localcloud.cloud import ExampleSecret, LocalCloud
from localcloud.instrument import Call, CrashAt, Side, instrument
from rotation_cli.access import CountedClient
from rotation_cli.repair import Plan, Refused, Repair
from tests.support.crash import MODES, crash_points, new_secret, record_calls

LABELS = ("AWSCURRENT", "AWSPENDING", "AWSPREVIOUS")


def unlabelled_passwords(cloud: LocalCloud, example: ExampleSecret) -> list[str]:
    """What Redis accepts that no labelled version holds, asked of the server's ACL (the
    SHA-256 of each password the default user has; "nopass" accepts anything)."""
    user: Any = example.redis.admin().acl_getuser("default")
    flags = [str(f) for f in user["flags"]]
    if "nopass" in flags:
        return ["nopass"]
    client = cloud.sm.secrets_manager()
    labelled = set()
    for version, labels in cloud.stages(example.arn).items():
        if set(LABELS) & set(labels):
            try:
                value = client.get_secret_value(SecretId=example.arn, VersionId=version)
            except client.exceptions.ResourceNotFoundException:  # the empty stub
                continue
            password = json.loads(value["SecretString"])["password"]
            labelled.add(hashlib.sha256(password.encode()).hexdigest())
    return sorted({str(h) for h in user["passwords"]} - labelled)


def stop_points(calls: list[Call]) -> dict[str, tuple[int, Side]]:
    """finding -> (call index, side) to stop a rotation at for it."""
    created = next(c.index for c in calls if c.name == "PutSecretValue")
    finishing = next(c.index for c in calls if c.name == "UpdateSecretVersionStage")
    return {
        "the change never landed": (created, "after"),
        "the change landed but finishSecret never ran": (finishing, "before"),
    }


def stuck_secret(
    cloud: LocalCloud, provider: str, options: dict[str, Any], index: int, side: Side
) -> tuple[ExampleSecret, str]:
    """A secret whose rotation stopped at call ``index`` (``side``), not retried."""
    example = new_secret(cloud, provider, options)
    crash = CrashAt(index, side)
    with instrument(crash) as seams:
        result = cloud.driver(provider, seams=seams, max_attempts=1).rotate(example.arn)
    assert crash.fired is not None
    assert not result.succeeded
    return example, f"{side} {crash.fired.kind} {crash.fired.name} #{index}"


def repaired(
    example: ExampleSecret, client: CountedClient, tries: int = 5, *, settled: bool = False
) -> Plan:
    """``repair --apply``, run again while it says to wait (a change still in flight)."""
    for _ in range(tries - 1):
        # Not retried (one attempt): no retry window to wait out.
        repair = Repair(example.arn, client, settled=settled, window=0)
        try:
            _, plan = repair.plan()
        except Refused as exc:
            if "wait and run repair again" in str(exc):
                continue
            raise
        repair.apply(plan)
        return plan
    raise Refused(f"still unsettled after {tries} tries")


def repair_test(mode: str, every: int = 1) -> Callable[..., None]:
    """The repair test of ``mode``: every ``every``-th crash point (1: all of them)."""
    selected = [m for m in MODES if m[0] == mode]

    @pytest.mark.parametrize(("mode", "provider", "options"), selected, ids=[mode])
    def test_repair_after_a_crash(
        cloud: LocalCloud,
        mode: str,
        provider: str,
        options: dict[str, Any],
        summary_line: Callable[[str], None],
    ) -> None:
        """Each stuck rotation is repaired by labels alone, and the next rotation succeeds."""
        calls = record_calls(cloud, provider, options)
        points = crash_points(calls)[::every]
        findings: Counter[str] = Counter()
        failures = []
        client = CountedClient.create()  # one for every repair: a client takes a while to build
        for call, side in points:
            example, where = stuck_secret(cloud, provider, options, call.index, side)
            try:
                plan = repaired(example, client)
            except Refused as exc:
                failures.append(f"{where}: refused: {exc}")
                continue
            findings[plan.finding.split(":")[0]] += 1
            after = cloud.accepted_stages(example)
            extra = unlabelled_passwords(cloud, example)
            rotated = cloud.driver(provider).rotate(example.arn).succeeded
            if "AWSCURRENT" not in after or extra or not rotated:
                failures.append(f"{where}: accepted {after}, unlabelled {extra}, next {rotated}")
        summary_line(
            f"repair {mode}: {len(points)} stuck rotations, {len(failures)} not repaired; "
            + ", ".join(f"{n} {f}" for f, n in sorted(findings.items()))
        )
        assert failures == [], failures
        # Every kind a crash leaves behind was met (a crash cannot land a change twice).
        assert {"the change never landed", "the change landed but finishSecret never ran"} <= (
            set(findings)
        )

    test: Callable[..., None] = test_repair_after_a_crash  # the decorator is typed as Any
    return test
