"""The preflight check against the local cloud: a verdict per check, and nothing changed.

Every case goes through ``checked``, which asserts that the preflight changed nothing: the
secret's versions and labels, every instance's password-change counter, and the provider
calls it made (describe calls only).
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from localcloud.cloud import ExampleSecret, LocalCloud
from redis_rotation.preflight import Check, main, run_checks

pytestmark = pytest.mark.e2e

# The provider calls that only look.
DESCRIBE_ACTIONS = {"DescribeUMem", "DescribeInstances", "DescribeRedis", "DescribeInstanceAccount"}

_names = itertools.count()


def name(what: str) -> str:
    return f"preflight/{what}-{next(_names)}"


def _state(cloud: LocalCloud, secret_id: str) -> tuple[Any, ...]:
    client = cloud.sm.secrets_manager()
    try:
        listed = client.list_secret_version_ids(SecretId=secret_id)["Versions"]
    except client.exceptions.ResourceNotFoundException:
        listed = []
    versions = sorted((v["VersionId"], tuple(sorted(v.get("VersionStages", [])))) for v in listed)
    changes = sum(g.password_changes for g in cloud.uredis.groups.values()) + sum(
        i.password_changes for i in cloud.tencent.instances.values()
    )
    return tuple(versions), changes


def checked(cloud: LocalCloud, secret_id: str) -> dict[str, Check]:
    """The preflight's checks by name, after asserting that it changed nothing."""
    before = _state(cloud, secret_id)
    calls = len(cloud.uredis.calls), len(cloud.tencent.calls)

    checks = run_checks(secret_id, timeout=10.0)

    assert _state(cloud, secret_id) == before, "versions, labels and passwords unchanged"
    made = [*cloud.uredis.calls[calls[0] :], *cloud.tencent.calls[calls[1] :]]
    assert {call.action for call in made} <= DESCRIBE_ACTIONS
    return {check.name.split()[0]: check for check in checks}


def verdicts(checks: dict[str, Check]) -> dict[str, str]:
    return {name: check.verdict for name, check in checks.items()}


ALL_PASS = {
    "secret": "PASS",
    "rotation": "PASS",
    "credentials": "PASS",
    "binding": "PASS",
    "instance": "PASS",
    "policy": "PASS",
    "auth": "PASS",
}


def test_a_ready_uredis_secret_passes_every_check(cloud: LocalCloud) -> None:
    example = cloud.add_uredis_secret(name("uredis"))
    checks = checked(cloud, example.arn)
    assert verdicts(checks) == ALL_PASS
    assert example.details["groupId"] in checks["instance"].detail
    assert "Running" in checks["instance"].detail
    assert "refuses a wrong one and none" in checks["auth"].detail


def test_a_ready_uredis_space_passes_every_check(cloud: LocalCloud) -> None:
    example = cloud.add_uredis_secret(name("uredis-space"), space=True)
    checks = checked(cloud, example.arn)
    assert verdicts(checks) == ALL_PASS
    assert example.details["spaceId"] in checks["instance"].detail


@pytest.mark.parametrize("mode", ["modify", "reset"])
def test_a_ready_tencent_api_3_secret_passes_every_check(cloud: LocalCloud, mode: str) -> None:
    example = cloud.add_tencent_secret(name(f"tencent-{mode}"), api_version="3.0", change_mode=mode)
    assert verdicts(checked(cloud, example.arn)) == ALL_PASS


def test_tencent_custom_accounts_pass_and_a_missing_one_is_named(cloud: LocalCloud) -> None:
    single = cloud.add_tencent_secret(name("account"), api_version="3.0", account="app")
    checks = checked(cloud, single.arn)
    assert verdicts(checks) == ALL_PASS  # auth: AUTH app@<password> through Tencent's form
    assert "account (8-32" in checks["policy"].detail
    alternating = cloud.add_tencent_secret(
        name("alternating"), api_version="3.0", account="a", alternate="b", create_missing=True
    )
    assert "no account b yet" in checked(cloud, alternating.arn)["instance"].detail
    cloud.tencent.remove_account(single.details["instanceId"], "app")
    checks = checked(cloud, single.arn)
    assert checks["instance"].verdict == "FAIL"
    assert "has no account app" in checks["instance"].detail


def test_tencent_api_2_is_described_and_its_retirement_said(cloud: LocalCloud) -> None:
    example = cloud.add_tencent_secret(name("tencent-v2"))
    checks = checked(cloud, example.arn)
    assert verdicts(checks) == {**ALL_PASS, "instance": "WARN"}
    assert "running" in checks["instance"].detail  # DescribeRedis answered
    assert "Tencent retired API 2.0 for Redis in 2023" in checks["instance"].detail


def test_a_wrong_password_fails_auth(cloud: LocalCloud) -> None:
    example = cloud.add_uredis_secret(name("wrong"), password="not-the-instance-password")
    checks = checked(cloud, example.arn)
    assert verdicts(checks) == {**ALL_PASS, "auth": "FAIL"}
    assert "refuses the AWSCURRENT password" in checks["auth"].detail


def test_a_slave_fails_the_instance_check(cloud: LocalCloud) -> None:
    example = cloud.add_uredis_secret(name("slave"))
    cloud.uredis.groups[example.details["groupId"]].role = "slave"
    checks = checked(cloud, example.arn)
    assert verdicts(checks) == {**ALL_PASS, "instance": "FAIL", "auth": "SKIP"}
    assert "is a slave" in checks["instance"].detail


@pytest.mark.parametrize("provider", ["uredis", "tencent"])
def test_an_absent_instance_fails_the_instance_check(cloud: LocalCloud, provider: str) -> None:
    example: ExampleSecret
    # Granted by the keys' owner, but gone from the provider.
    if provider == "uredis":
        example = cloud.add_uredis_secret(name("absent"), group_id="uredis-gone")
        del cloud.uredis.groups["uredis-gone"]
    else:
        example = cloud.add_tencent_secret(
            name("absent"), api_version="3.0", instance_id="crs-gone"
        )
        del cloud.tencent.instances["crs-gone"]
    checks = checked(cloud, example.arn)
    assert verdicts(checks) == {**ALL_PASS, "instance": "FAIL", "auth": "SKIP"}
    assert "gone" in checks["instance"].detail
    assert "not found" in checks["instance"].detail or "no instance" in checks["instance"].detail


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"provider": "uredis", "port": 6379}, "groupId"),
        ("not json at all", ""),
        ({"provider": "uredis", "host": "h", "port": 1, "password": "p", "region": "r",
          "credentialsSecretId": "c", "groupId": "g", "instanceId": "i"}, "instanceId"),
    ],
)  # fmt: skip
def test_a_malformed_secret_fails_and_skips_the_rest(
    cloud: LocalCloud, value: Any, field: str
) -> None:
    text = value if isinstance(value, str) else json.dumps(value)
    arn = cloud.sm.secrets_manager().create_secret(Name=name("malformed"), SecretString=text)["ARN"]
    checks = checked(cloud, arn)
    assert checks["secret"].verdict == "FAIL"
    expected = f"field '{field}'" if field else "is not valid JSON"
    assert expected in checks["secret"].detail
    assert {c.verdict for n, c in checks.items() if n != "secret"} == {"SKIP"}
    assert text not in checks["secret"].detail


def test_a_missing_credentials_secret_fails_and_skips_the_instance(cloud: LocalCloud) -> None:
    example = cloud.add_uredis_secret(name("no-keys"), credentialsSecretId="preflight/no-such")
    checks = checked(cloud, example.arn)
    assert verdicts(checks) == {
        **ALL_PASS,
        "credentials": "FAIL",
        "binding": "SKIP",
        "instance": "SKIP",
        "auth": "SKIP",
    }
    assert "ResourceNotFoundException" in checks["credentials"].detail


def test_an_unreachable_redis_fails_auth(cloud: LocalCloud) -> None:
    example = cloud.add_uredis_secret(name("unreachable"))
    example.redis.close()
    checks = checked(cloud, example.arn)
    assert checks["auth"].verdict == "FAIL"
    assert "cannot reach Redis" in checks["auth"].detail


def test_a_password_length_outside_the_rule_fails_the_policy(
    cloud: LocalCloud, capsys: pytest.CaptureFixture[str]
) -> None:
    example = cloud.add_tencent_secret(name("length"))  # API 2.0: at most 16
    assert main([example.arn, "--password-length", "32", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ready"] is False
    (policy,) = [c for c in report["checks"] if c["name"] == "policy"]
    assert policy["verdict"] == "FAIL"
    assert "PASSWORD_LENGTH=32" in policy["detail"]


def test_an_unfinished_rotation_is_a_warning(cloud: LocalCloud) -> None:
    example = cloud.add_uredis_secret(name("unfinished"))
    token = cloud.driver("uredis").start(example.arn)  # RotateSecret, and nothing more
    checks = checked(cloud, example.arn)
    assert checks["rotation"].verdict == "WARN"
    assert token in checks["rotation"].detail


def test_the_command_prints_a_verdict_per_check_and_exits_by_it(cloud: LocalCloud) -> None:
    """As a user runs it: its own process, the AWS settings from the environment."""
    ready = cloud.add_uredis_secret(name("command"))
    slave = cloud.add_uredis_secret(name("command-slave"))
    cloud.uredis.groups[slave.details["groupId"]].role = "slave"
    env = {**os.environ, **cloud.sm.environment()}

    def command(secret_id: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "redis_rotation.preflight", secret_id],
            env=env,
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    passed, failed = command(ready.arn), command(slave.arn)

    assert passed.returncode == 0, passed.stdout + passed.stderr
    lines = passed.stdout.splitlines()
    assert lines[0] == f"Preflight of {ready.arn} (reads only, changes nothing)"
    assert [line.split()[0] for line in lines[1:-1]] == ["PASS"] * 7
    assert lines[-1] == "Verdict: ready to rotate"
    assert failed.returncode == 1
    assert "FAIL  instance" in failed.stdout
    assert failed.stdout.splitlines()[-1] == "Verdict: NOT ready to rotate: 1 failed (instance)"
    # Nothing but the report: no log line, no EMF document.
    assert '"level"' not in passed.stdout + failed.stdout
    assert "_aws" not in passed.stdout + failed.stdout


def test_the_command_without_aws_settings_says_so(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(HOME=str(tmp_path), AWS_EC2_METADATA_DISABLED="true")
    done = subprocess.run(
        [sys.executable, "-m", "redis_rotation.preflight", "some-secret"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "cannot use Secrets Manager" in done.stderr
