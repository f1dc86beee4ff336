"""``repair --apply`` in every rotation mode, at the two points a stopped rotation leaves
for it to tell apart: after createSecret (the change never landed) and right before
finishSecret (the change landed). Each labelled version is proved with its own account:
an alternating rotation stopped after setSecret holds the other account's live password
in AWSPENDING only, and repair must promote it, not remove it."""

from __future__ import annotations

from typing import Any

import pytest

from localcloud.cloud import LocalCloud
from rotation_cli.access import CountedClient
from tests.support.crash import MODES, record_calls
from tests.support.stuck import repaired, stop_points, stuck_secret

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(("mode", "provider", "options"), MODES, ids=[m[0] for m in MODES])
def test_repair_proves_each_version_with_its_own_account(
    cloud: LocalCloud, mode: str, provider: str, options: dict[str, Any]
) -> None:
    client = CountedClient.create()
    for finding, (index, side) in stop_points(record_calls(cloud, provider, options)).items():
        example, where = stuck_secret(cloud, provider, options, index, side)
        before = {s: cloud.value(example.arn, s) for s in ("AWSCURRENT", "AWSPENDING")}
        plan = repaired(example, client, settled=True)
        assert plan.finding.startswith(finding), (mode, where, plan.finding)
        stages = cloud.stages(example.arn)
        assert not any("AWSPENDING" in labels for labels in stages.values()), (mode, where)
        promoted = finding.startswith("the change landed")
        assert (
            cloud.value(example.arn, "AWSCURRENT")
            == before["AWSPENDING" if promoted else "AWSCURRENT"]
        )
        accepted = cloud.accepted_stages(example)
        assert "AWSCURRENT" in accepted, (mode, where, accepted)
        if promoted and "accounts" in before["AWSCURRENT"]:
            # The account the rotation left alone keeps its password, now AWSPREVIOUS's.
            assert "AWSPREVIOUS" in accepted, (mode, where, accepted)
