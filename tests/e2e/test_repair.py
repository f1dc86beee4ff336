"""``redis-rotation repair``: the plan and --apply, refusals when the evidence is ambiguous,
passwords only to addresses the binding allows, and a rotation that resumes meanwhile."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from localcloud.cloud import ExampleSecret, LocalCloud
from localcloud.instrument import Call, Recorder, instrument
from rotation_cli import main
from rotation_cli.access import CountedClient
from rotation_cli.repair import Refused, Repair
from tests.support.crash import MODES, record_calls
from tests.support.stuck import stuck_secret, unlabelled_passwords

pytestmark = pytest.mark.e2e

_, PROVIDER, OPTIONS = MODES[0]  # uredis


@pytest.fixture(scope="module")
def calls(cloud: LocalCloud) -> list[Call]:
    return record_calls(cloud, PROVIDER, OPTIONS)


def _index(calls: list[Call], name: str) -> int:
    return next(c.index for c in calls if c.name == name)


@pytest.fixture
def landed(cloud: LocalCloud, calls: list[Call]) -> ExampleSecret:
    """Stopped once the provider reported the change done, before Redis was asked: Redis
    has AWSPENDING's password."""
    change = _index(calls, "ModifyURedisGroupPassword")
    ask = next(c.index for c in calls if c.index > change and c.kind == "redis")
    return stuck_secret(cloud, PROVIDER, OPTIONS, ask, "before")[0]


@pytest.fixture
def never_landed(cloud: LocalCloud, calls: list[Call]) -> ExampleSecret:
    """Stopped right before the change request, AWSPENDING stored: Redis has AWSCURRENT's."""
    return stuck_secret(
        cloud, PROVIDER, OPTIONS, _index(calls, "ModifyURedisGroupPassword"), "before"
    )[0]


def repair_json(
    capsys: pytest.CaptureFixture[str], example: ExampleSecret, *options: str
) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()  # what the functions printed before (their metrics)
    # The stopped rotations here are never retried: no retry window to wait out.
    code = main.main(["repair", example.arn, "--json", "--stuck-after", "0", *options])
    document: dict[str, Any] = json.loads(capsys.readouterr().out)
    return code, document


def test_dry_run_prints_the_plan_and_apply_carries_it_out(
    cloud: LocalCloud, landed: ExampleSecret, capsys: pytest.CaptureFixture[str]
) -> None:
    before = cloud.stages(landed.arn)
    passwords = [cloud.value(landed.arn, s)["password"] for s in ("AWSCURRENT", "AWSPENDING")]
    capsys.readouterr()
    assert main.main(["repair", landed.arn]) == 1  # a stuck secret is not fine
    text = capsys.readouterr().out
    assert not [p for p in passwords if p in text]
    assert "finding: the change landed but finishSecret never ran" in text
    assert "1. move AWSCURRENT to version" in text
    assert "2. remove AWSPENDING from version" in text
    assert "dry run: nothing changed" in text
    assert cloud.stages(landed.arn) == before

    code, done = repair_json(capsys, landed, "--apply")
    assert (code, done["applied"], done["redisAccepts"]) == (0, True, ["AWSPENDING"])
    assert not [p for p in passwords if p in json.dumps(done)]
    assert cloud.accepted_stages(landed) == ["AWSCURRENT"]
    assert not any("AWSPENDING" in labels for labels in cloud.stages(landed.arn).values())
    assert unlabelled_passwords(cloud, landed) == []
    # The evidence is DescribeSecret and one GetSecretValue per labelled version: read for
    # the plan (CURRENT, PENDING), before move 1 (the same), before move 2 (CURRENT and
    # PENDING on one version, PREVIOUS); AWSPENDING's age once; the credentials secret
    # once; the two moves;
    # and first AWSCURRENT, read to refuse an unknown or non-JSON secret with exit 2 (cli.md).
    assert done["secretsManagerCalls"] == 3 + 3 + 4 + 1 + 1 + 2 + 1
    code, again = repair_json(capsys, landed)
    assert (code, again["plan"]) == (0, [])
    assert again["finding"].startswith("ok")


def test_drift_to_previous_is_fixed_by_labels(
    cloud: LocalCloud, capsys: pytest.CaptureFixture[str]
) -> None:
    example = cloud.add_uredis_secret("repair/drift")
    assert cloud.driver(PROVIDER).rotate(example.arn).succeeded
    example.redis.set_password(cloud.value(example.arn, "AWSPREVIOUS")["password"])
    old_previous = cloud.value(example.arn, "AWSPREVIOUS")

    code, done = repair_json(capsys, example, "--apply")
    assert code == 0, done
    assert done["finding"].startswith("drift to AWSPREVIOUS")
    assert cloud.value(example.arn, "AWSCURRENT") == old_previous
    assert unlabelled_passwords(cloud, example) == []
    assert cloud.driver(PROVIDER).rotate(example.arn).succeeded


def _second_password(example: ExampleSecret, cloud: LocalCloud) -> None:
    pending = cloud.value(example.arn, "AWSPENDING")["password"]
    with example.redis.admin() as admin:
        admin.execute_command("ACL", "SETUSER", "default", f">{pending}")


def _no_password(example: ExampleSecret, _: LocalCloud) -> None:
    example.redis.set_password("")


def _other_password(example: ExampleSecret, _: LocalCloud) -> None:
    example.redis.set_password("set-outside-the-rotation")


def _unreachable(example: ExampleSecret, _: LocalCloud) -> None:
    example.redis.stop()


def test_a_user_holding_both_labelled_passwords_has_awspending_promoted(
    cloud: LocalCloud, never_landed: ExampleSecret, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two passwords live for one user (ElastiCache keeps two; here set by hand) that still
    refuses a wrong one and none: AWSPENDING's change landed. Promoting it keeps both
    labelled (AWSCURRENT and AWSPREVIOUS); removing it would leave a live password in no
    label."""
    _second_password(never_landed, cloud)
    code, done = repair_json(capsys, never_landed, "--apply")
    assert (code, done["applied"]) == (0, True), done
    assert done["finding"].startswith("the change landed but finishSecret never ran")
    assert cloud.accepted_stages(never_landed) == ["AWSCURRENT", "AWSPREVIOUS"]
    assert unlabelled_passwords(cloud, never_landed) == []


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (_no_password, "Redis accepts no labelled password"),
        (_other_password, "Redis accepts no labelled password"),
        (_unreachable, "cannot reach Redis at"),
    ],
    ids=["no-password", "unlabelled-password", "unreachable"],
)
def test_ambiguous_evidence_is_refused_and_nothing_moves(
    cloud: LocalCloud,
    never_landed: ExampleSecret,
    capsys: pytest.CaptureFixture[str],
    make: Callable[[ExampleSecret, LocalCloud], None],
    reason: str,
) -> None:
    make(never_landed, cloud)
    before = cloud.stages(never_landed.arn)
    code, done = repair_json(capsys, never_landed, "--apply")
    assert code == 1
    assert reason in done["refused"]
    assert not done["applied"]
    assert cloud.stages(never_landed.arn) == before


def test_passwords_go_only_to_addresses_the_binding_allows(
    cloud: LocalCloud, never_landed: ExampleSecret
) -> None:
    """AWSCURRENT's host and port are its writer's word: pointed at another instance's
    Redis (not the group's address, not in the grant), no password is sent there."""
    elsewhere = cloud.add_uredis_secret("repair/elsewhere").redis
    value = {**cloud.value(never_landed.arn, "AWSCURRENT"), "port": elsewhere.port}
    cloud.sm.secrets_manager().put_secret_value(
        SecretId=never_landed.arn, SecretString=json.dumps(value), VersionStages=["AWSCURRENT"]
    )
    recorder = Recorder()
    with instrument(recorder) as seams, pytest.raises(Refused, match="field 'host'"):
        Repair(never_landed.arn, CountedClient.create(), seams, window=0).plan()
    assert [c for c in recorder.calls if c.kind == "redis"] == []


def test_a_rotation_resumed_after_the_plan_stops_the_repair(
    cloud: LocalCloud, landed: ExampleSecret
) -> None:
    repair = Repair(landed.arn, CountedClient.create(), window=0)
    _, plan = repair.plan()
    assert cloud.driver(PROVIDER).rotate(landed.arn).succeeded  # Secrets Manager's retry
    with pytest.raises(Refused, match="the secret changed since the plan"):
        repair.apply(plan)
    assert cloud.accepted_stages(landed)[0] == "AWSCURRENT"
    assert unlabelled_passwords(cloud, landed) == []


def test_a_change_landing_during_the_removal_puts_the_label_back(
    cloud: LocalCloud, never_landed: ExampleSecret
) -> None:
    """Between the last check and the removal of AWSPENDING, a resumed setSecret lands its
    change: repair sees it right after, and AWSPENDING goes back."""
    pending = cloud.value(never_landed.arn, "AWSPENDING")["password"]
    client = CountedClient.create()

    def land(**_: Any) -> None:
        never_landed.redis.set_password(pending)

    client.client.meta.events.register(
        "before-call.secrets-manager.UpdateSecretVersionStage", land, unique_id="land-once"
    )
    repair = Repair(never_landed.arn, client, window=0)
    _, plan = repair.plan()
    assert plan.finding.startswith("the change never landed")
    with pytest.raises(Refused, match="the label is back"):
        repair.apply(plan)
    assert cloud.accepted_stages(never_landed) == ["AWSPENDING"]
    assert unlabelled_passwords(cloud, never_landed) == []


def test_nothing_moves_while_secrets_manager_may_still_retry(
    cloud: LocalCloud, never_landed: ExampleSecret, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 19 item 15: a retry of this rotation may have read AWSPENDING and be waiting to
    change the password; a label move now could leave that password in no label."""
    before = cloud.stages(never_landed.arn)
    capsys.readouterr()
    code = main.main(["repair", never_landed.arn, "--json", "--apply"])
    done = json.loads(capsys.readouterr().out)
    assert (code, done["applied"]) == (1, False)
    assert "Secrets Manager may still retry this rotation until" in done["refused"]
    assert cloud.stages(never_landed.arn) == before


def test_a_label_moved_by_a_resumed_finish_is_read_again_and_the_plan_finished(
    cloud: LocalCloud, landed: ExampleSecret
) -> None:
    """Issue 19 item 16: right before repair's first move, the resumed rotation's
    finishSecret moves AWSCURRENT itself; Secrets Manager then refuses repair's move
    ("Version stage AWSCURRENT not found in version ..."). Repair reads the labels again
    and does what is left: remove AWSPENDING."""
    stages = cloud.stages(landed.arn)
    current = next(v for v, s in stages.items() if "AWSCURRENT" in s)
    pending = next(v for v, s in stages.items() if "AWSPENDING" in s)
    finished: list[str] = []

    def finish(**_: Any) -> None:
        if not finished:
            finished.append(pending)
            cloud.sm.secrets_manager().update_secret_version_stage(
                SecretId=landed.arn,
                VersionStage="AWSCURRENT",
                MoveToVersionId=pending,
                RemoveFromVersionId=current,
            )

    client = CountedClient.create()
    client.client.meta.events.register(
        "before-call.secrets-manager.UpdateSecretVersionStage", finish, unique_id="finish"
    )
    repair = Repair(landed.arn, client, window=0)
    _, plan = repair.plan()
    assert len(plan.moves) == 2
    assert repair.apply(plan) == [plan.moves[1]]  # the first one was the rotation's
    assert cloud.stages(landed.arn)[pending] == ["AWSCURRENT"]
    assert cloud.accepted_stages(landed) == ["AWSCURRENT"]
    assert unlabelled_passwords(cloud, landed) == []
