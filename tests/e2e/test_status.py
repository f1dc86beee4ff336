"""``redis-rotation status``: the states, the selection, --check, the calls it makes, and
the command as a user runs it against a local cloud (--local)."""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localcloud.cloud import FUNCTION_NAMES, ExampleSecret, LocalCloud
from rotation_cli import main
from tests.support.crash import MODES, record_calls
from tests.support.stuck import stuck_secret

pytestmark = pytest.mark.e2e

_, PROVIDER, OPTIONS = MODES[0]  # uredis
_prefixes = itertools.count()


def status_json(capsys: pytest.CaptureFixture[str], *options: str) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()  # what the functions printed before (their metrics)
    code = main.main(["status", "--json", *options])
    document: dict[str, Any] = json.loads(capsys.readouterr().out)
    return code, document


def states(document: dict[str, Any]) -> dict[str, str]:
    return {row["name"].rsplit("/", 1)[1]: row["state"] for row in document["secrets"]}


def failure_line(output: str, example: ExampleSecret) -> str:
    """The function's own "step failed" log line for ``example``, as it printed it."""
    for line in output.splitlines():
        if '"step failed' in line and example.arn in line:
            return line
    raise AssertionError("the function logged no step failure")


@contextlib.contextmanager
def function_logs() -> Iterator[io.StringIO]:
    """The functions' JSON log lines while the block runs, formatted as they print them."""
    from redis_rotation.entrypoint import logger

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    std_logger = logging.getLogger(logger.name)
    std_logger.addHandler(handler)
    try:
        yield stream
    finally:
        std_logger.removeHandler(handler)


def put_log_line(cloud: LocalCloud, line: str) -> None:
    """Into the uredis function's log group in moto's CloudWatch Logs, as Lambda would."""
    logs = cloud.sm.client("logs")
    group = f"/aws/lambda/{FUNCTION_NAMES['uredis']}"
    stream = f"stream-{time.time_ns()}"
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    event = {"timestamp": int(time.time() * 1000), "message": line}
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[event])


@pytest.fixture(scope="module")
def fleet(cloud: LocalCloud) -> tuple[str, dict[str, Any]]:
    """One secret in each state, tagged with a fleet name of their own (and their name
    under a prefix of their own where the test machinery lets them choose it)."""
    prefix = f"status{next(_prefixes)}/"
    calls = record_calls(cloud, PROVIDER, OPTIONS)
    change = next(c.index for c in calls if c.name == "ModifyURedisGroupPassword")
    examples: dict[str, Any] = {}
    examples["ok"] = cloud.add_uredis_secret(f"{prefix}ok")
    assert cloud.driver(PROVIDER).rotate(examples["ok"].arn).succeeded
    examples["not-attached"] = cloud.add_uredis_secret(f"{prefix}not-attached")
    examples["rotating"] = stuck_secret(cloud, PROVIDER, OPTIONS, change, "before")[0]
    with function_logs() as output:
        examples["failing"] = stuck_secret(cloud, PROVIDER, OPTIONS, change, "before")[0]
    put_log_line(cloud, failure_line(output.getvalue(), examples["failing"]))
    client = cloud.sm.secrets_manager()
    for state, example in examples.items():
        client.tag_resource(
            SecretId=example.arn,
            Tags=[{"Key": "fleet", "Value": prefix}, {"Key": "state", "Value": state}],
        )
    return prefix, examples


def by_state(document: dict[str, Any]) -> dict[str, str]:
    return {row["name"]: row["state"] for row in document["secrets"]}


def test_every_state_with_the_calls_it_took(
    fleet: tuple[str, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    prefix, examples = fleet
    code, document = status_json(capsys, "--tag", f"fleet={prefix}")
    assert by_state(document) == {e.name: state for state, e in examples.items()}
    assert code == 1  # a failing secret is not fine
    failing = next(r for r in document["secrets"] if r["state"] == "failing")
    # The error type the function logged: the Lambda timeout the crash stands for.
    assert failing["detail"].startswith("setSecret failed: LambdaTimeout")
    # One page, one batch of values, and one version listing per secret with AWSPENDING.
    assert document["summary"]["secretsManagerCallsByOperation"] == {
        "ListSecrets": 1,
        "BatchGetSecretValue": 1,
        "ListSecretVersionIds": 2,
    }
    assert document["summary"]["logsCalls"] == 1

    # Past the retry window both unfinished rotations are stuck.
    _, later = status_json(capsys, "--tag", f"fleet={prefix}", "--stuck-after", "0")
    assert sorted(by_state(later).values()) == ["not-attached", "ok", "stuck", "stuck"]


def test_selection_by_tag_value_function_and_prefix(
    cloud: LocalCloud, fleet: tuple[str, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    prefix, examples = fleet
    # The server's tag-key and tag-value filters match any tags: the pair is checked too.
    _, pair = status_json(capsys, "--tag", f"fleet={prefix}", "--tag", "state=ok")
    assert list(by_state(pair)) == [examples["ok"].name]
    _, none = status_json(capsys, "--tag", f"fleet={prefix}", "--tag", f"state={prefix}")
    assert none["secrets"] == []
    _, attached = status_json(
        capsys, "--tag", f"fleet={prefix}", "--function", cloud.function_arn(PROVIDER)
    )
    assert "not-attached" not in by_state(attached).values()
    assert len(attached["secrets"]) == 3
    _, named = status_json(capsys, "--prefix", prefix)
    assert list(by_state(named)) == [e.name for e in examples.values() if e.name.startswith(prefix)]


def test_check_asks_redis_once_per_endpoint(
    cloud: LocalCloud, capsys: pytest.CaptureFixture[str]
) -> None:
    prefix = f"check{next(_prefixes)}/"
    good = cloud.add_uredis_secret(f"{prefix}good", replicas=1)
    moved = cloud.add_uredis_secret(f"{prefix}moved")
    for example in (good, moved):
        assert cloud.driver(PROVIDER).rotate(example.arn).succeeded
    code, document = status_json(capsys, "--prefix", prefix, "--check")
    assert code == 0
    assert [r["auth"] for r in document["secrets"]] == ["ok", "ok"]

    moved.redis.set_password("changed-outside-the-rotation")
    code, document = status_json(capsys, "--prefix", prefix, "--check")
    auth = {r["name"]: r["auth"] for r in document["secrets"]}
    assert code == 1
    assert auth == {
        good.name: "ok",
        moved.name: f"refused at {moved.redis.host}:{moved.redis.port}",
    }


def test_the_command_against_a_running_local_cloud(
    cloud: LocalCloud, fleet: tuple[str, dict[str, Any]], tmp_path: Path
) -> None:
    """As a user runs it: another process, pointed at the local cloud only by --local."""
    prefix, examples = fleet
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"pid": os.getpid(), "environment": cloud.environment()}))
    state.chmod(0o600)  # a state file others can read is refused
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["REDIS_ROTATION_STATE"] = str(state)

    def command(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "rotation_cli", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )

    listed = command("status", "--local", "--prefix", prefix)
    assert listed.returncode == 0, listed.stderr  # the prefix holds ok and not-attached
    assert "2 secrets: 1 not-attached, 1 ok" in listed.stdout
    assert "Secrets Manager calls: 2 (BatchGetSecretValue 1, ListSecrets 1)" in listed.stdout
    planned = command("repair", "--local", examples["rotating"].arn)
    assert planned.returncode == 1, planned.stderr
    assert "finding: the change never landed" in planned.stdout
