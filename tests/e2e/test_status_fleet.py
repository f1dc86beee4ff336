"""``redis-rotation status`` over a fleet an operator has: a hostile row does not end the
command (issue 19 item 7), the default selection, the strategy column, rows that fit a
terminal, and a closed pipe (issue 21 section 6)."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from localcloud.cloud import ExampleSecret, LocalCloud, grant_for
from rotation_cli import main

pytestmark = pytest.mark.e2e

_prefixes = itertools.count()
WIDEST = 120


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()  # what the functions printed before (their metrics)
    code = main.main(["status", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def rotated(cloud: LocalCloud, example: ExampleSecret) -> ExampleSecret:
    assert cloud.driver(example.provider).rotate(example.arn).succeeded
    return example


def test_a_hostile_row_is_reported_in_its_row_and_the_others_are_checked(
    cloud: LocalCloud, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Tencent secret that names the URedis keys' secret: checked after a URedis row
    loaded those keys, it must be read against the Tencent schema, not reuse them."""
    prefix = f"fleet{next(_prefixes)}/"
    good = rotated(cloud, cloud.add_uredis_secret(f"{prefix}a-good"))
    hostile = rotated(cloud, cloud.add_tencent_secret(f"{prefix}b-hostile"))
    value = {
        **cloud.value(hostile.arn, "AWSCURRENT"),
        "credentialsSecretId": cloud.credentials["uredis"],
    }
    del value["apiEndpoint"]  # the provider's default endpoint: no list to match
    cloud.sm.secrets_manager().put_secret_value(
        SecretId=hostile.arn, SecretString=json.dumps(value), VersionStages=["AWSCURRENT"]
    )
    # The URedis keys' owner granted that name and instance too (say, a copy-paste).
    grant = grant_for(hostile.name, value["instanceId"], value["region"], [hostile.redis])
    cloud._credentials_secret("uredis", cloud.api_keys["uredis"], grant)
    code, out, err = run(capsys, "--prefix", prefix, "--check", "--json")
    assert "Traceback" not in err
    auth = {row["name"]: row["auth"] for row in json.loads(out)["secrets"]}
    assert code == 1
    assert auth[good.name] == "ok"
    assert auth[hostile.name].startswith("not checked: credentials secret"), auth
    assert "field 'secretId' is required" in auth[hostile.name]  # read as Tencent keys


def test_the_provider_is_the_attached_function_s_not_the_value_s(
    cloud: LocalCloud, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Tencent value attached to the URedis function: that function would refuse it, so
    status must not check it as a Tencent secret."""
    prefix = f"fleet{next(_prefixes)}/"
    example = rotated(cloud, cloud.add_tencent_secret(f"{prefix}attached-to-uredis"))
    cloud.sm.secrets_manager().rotate_secret(
        SecretId=example.arn,
        RotationLambdaARN=cloud.function_arn("uredis"),
        RotationRules={"AutomaticallyAfterDays": 30},
    )
    _, out, _ = run(capsys, "--prefix", prefix, "--check", "--json")
    (row,) = json.loads(out)["secrets"]
    assert row["provider"] == "uredis"
    assert "'provider' is 'tencent' but this function rotates 'uredis'" in row["auth"], row


def test_default_selection_strategy_and_widths(
    cloud: LocalCloud, capsys: pytest.CaptureFixture[str]
) -> None:
    prefix = f"fleet{next(_prefixes)}/{'long-name-' * 6}"
    alternating = rotated(
        cloud,
        cloud.add_tencent_secret(
            f"{prefix}alt", api_version="3.0", account="app_a", alternate="app_b"
        ),
    )
    unattached = cloud.add_uredis_secret(f"{prefix}off")
    moved = rotated(cloud, cloud.add_uredis_secret(f"{prefix}moved"))
    moved.redis.stop()  # its --check detail is long: the unreachable message

    code, out, _ = run(capsys, "--check")
    assert code == 1
    assert [line for line in out.splitlines() if len(line) > WIDEST] == []
    assert " alternating " in out
    document = json.loads(run(capsys, "--json")[1])
    listed = {row["arn"]: row for row in document["secrets"]}
    # By default: what this stack's functions rotate; not the keys' secrets, not a secret
    # whose rotation is off.
    assert cloud.credentials["uredis"] not in listed
    assert unattached.arn not in listed
    assert listed[alternating.arn]["strategy"].startswith("alternating")
    document = json.loads(run(capsys, "--json", "--check", "--prefix", prefix)[1])
    assert document["summary"]["secrets"] == 3  # a selector lists what it selects
    (checked,) = (r for r in document["secrets"] if r["arn"] == moved.arn)
    assert checked["auth"].startswith("unreachable: cannot reach Redis at")  # whole in JSON


def test_json_into_a_closed_pipe_ends_without_a_traceback(
    cloud: LocalCloud, tmp_path: Path
) -> None:
    """`status --json | head`: the reader is gone before the command prints."""
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"pid": os.getpid(), "environment": cloud.environment()}))
    state.chmod(0o600)  # `up` writes it private, and the commands refuse one that is not
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["REDIS_ROTATION_STATE"] = str(state)
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "rotation_cli", "status", "--local", "--json"],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write)
    assert "Traceback" not in done.stderr
    assert "BrokenPipe" not in done.stderr
    assert done.returncode in (0, 1)
