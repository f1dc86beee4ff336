"""The console command as a user runs it: separate processes, from a directory that is not
the checkout, with the README's local quick start run as written."""

from __future__ import annotations

import contextlib
import json
import subprocess
from pathlib import Path

import pytest

from rotation_cli.main import main
from tests.support import processes
from tests.support.docs import README, blocks
from tests.support.local_up import TIMEOUT, Up, bash, cli
from tests.support.local_up import up_environment as _env
from tests.support.tools import BIN

pytestmark = pytest.mark.e2e


def test_demo_rotates_every_example(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(BIN / "redis-rotation"), "demo"],
        cwd=tmp_path,
        env=_env(tmp_path / "state.json"),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "old password refused: True; new password accepted: True; OK" in done.stdout
    # Both kinds of Tencent custom account: the alternating one keeps the old version working.
    for name in ("localcloud/tencent-v3-account-demo", "localcloud/tencent-v3-alternating-demo"):
        assert f"== {name}" in done.stdout
    assert (
        "old version still accepted (now AWSPREVIOUS): True; new password accepted: True; OK"
    ) in done.stdout
    # ElastiCache with cluster mode enabled: every shard's nodes found and proven.
    assert "'clusterMode': 'enabled, 3 shards of 2 nodes'" in done.stdout
    summary = done.stdout.strip().splitlines()[-1]
    total = summary.split(" of ")[1].split()[0]
    assert summary == f"demo: {total} of {total} rotations succeeded"
    # Only the human lines: no JSON log line or metric of the functions, on either stream.
    assert _json_lines(done.stdout + done.stderr) == []


def _json_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.lstrip().startswith("{")]


def test_the_readmes_local_quick_start_runs_as_written(up: Up) -> None:
    """The second shell of "Try it locally", line by line in one bash, from another directory."""
    first, second = blocks(README.read_text(encoding="utf-8"), "Try it locally")
    assert first.commands == ["redis-rotation up"], "the fixture runs the first block"
    script = "set -euo pipefail\n" + "\n".join(second.commands)
    done = bash(script, up)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Verdict: ready to rotate" in done.stdout
    assert "my/tencent-redis: rotated" in done.stdout
    stages = json.loads(done.stdout[done.stdout.rindex("{") :])
    assert sorted(label for labels in stages.values() for label in labels) in (
        ["AWSCURRENT", "AWSPREVIOUS"],
        ["AWSCURRENT", "AWSPENDING", "AWSPREVIOUS"],
    )
    # As AWS leaves a finished rotation: AWSPENDING on AWSCURRENT's version or on none.
    assert all("AWSCURRENT" in labels for labels in stages.values() if "AWSPENDING" in labels)


def test_rotate_prints_json_that_parses_and_nothing_else(up: Up) -> None:
    secret = up.state["secrets"]["localcloud/uredis-demo"]["arn"]
    done = cli("rotate", secret, "--json", "--verbose", up=up)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)  # the functions' log lines went to stderr
    assert result["succeeded"] is True
    assert [s["outcome"] for s in result["steps"]] == ["created", "changed", "tested", "finished"]
    assert '"level"' in done.stderr, "--verbose after the subcommand shows the functions' logs"


def test_rotate_is_quiet_by_default_and_keeps_the_logs_in_a_file(up: Up, tmp_path: Path) -> None:
    secret = up.state["secrets"]["localcloud/tencent-v3-modify-demo"]["arn"]
    quiet = cli("rotate", secret, up=up)
    assert quiet.returncode == 0, quiet.stdout + quiet.stderr
    assert _json_lines(quiet.stdout + quiet.stderr) == []
    assert ": rotated (version" in quiet.stdout.splitlines()[-1]
    log = tmp_path / "functions.log"
    kept = cli("rotate", secret, "--log-file", str(log), up=up)
    assert kept.returncode == 0, kept.stdout + kept.stderr
    assert _json_lines(kept.stdout + kept.stderr) == []
    logged = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert {"step done"} <= {line.get("message") for line in logged}
    assert {line.get("step") for line in logged} >= {"createSecret", "finishSecret"}


def test_preflight_takes_its_own_options_on_the_local_cloud(up: Up) -> None:
    secret = up.state["secrets"]["localcloud/uredis-demo"]["arn"]
    done = cli("preflight", secret, "--local", "--password-length", "24", "--json", up=up)
    assert done.returncode == 0, done.stdout + done.stderr
    document = json.loads(done.stdout)
    assert document["ready"] is True
    policy = next(c for c in document["checks"] if c["name"] == "policy")
    assert "24 characters" in policy["detail"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("rotate", "no/such-secret"), "AWS refused GetSecretValue: ResourceNotFoundException"),
        (("rotate", "not-json"), "its AWSCURRENT value is not JSON"),
        (("rotate", "not-ours"), "field 'provider' must be one of"),
        (("add-secret", "x", "--provider", "tencent", "--secret-string", "[1]"), "JSON object"),
        (
            ("add-secret", "x", "--provider", "uredis", "--secret-string", '{"password": "p"}'),
            "sets password itself",
        ),
        # Checked by the functions' own schema before anything is made.
        (("add-secret", "x", "--provider", "uredis", "--secret-string", '{"prot": 1}'), "'prot'"),
        (
            (
                "add-secret",
                "x",
                "--provider",
                "tencent",
                "--secret-string",
                '{"apiVersion": "4.0"}',
            ),
            "field 'apiVersion'",
        ),
        (
            ("add-secret", "x", "--provider", "uredis", "--secret-string", '{"port": "six"}'),
            "field 'port'",
        ),
    ],
)
def test_a_user_error_is_one_line_and_exit_2(up: Up, args: tuple[str, ...], message: str) -> None:
    import boto3

    client = boto3.client(
        "secretsmanager",
        endpoint_url=up.state["secretsManager"],
        region_name=up.state["environment"]["AWS_REGION"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    for name, value in (("not-json", "{oops"), ("not-ours", '{"provider": "elsewhere"}')):
        with contextlib.suppress(client.exceptions.ResourceExistsException):
            client.create_secret(Name=name, SecretString=value)
    done = cli(*args, up=up)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_every_level_has_help_and_the_version_is_the_packages(
    up: Up, capsys: pytest.CaptureFixture[str]
) -> None:
    from redis_rotation import __version__

    version = cli("--version", up=up)
    assert version.stdout.strip() == f"redis-rotation {__version__}"
    top = cli("--help", up=up)
    assert top.returncode == 0
    sub = cli("rotate", "--help", up=up)
    assert sub.returncode == 0
    assert "usage: redis-rotation rotate" in sub.stdout
    # Every other command's help, in this process (a process each costs a second).
    for command in ["preflight", "status", "repair", "up", "demo", "add-secret", "env"]:
        assert command in top.stdout
        with pytest.raises(SystemExit) as done:
            main([command, "--help"])
        assert done.value.code == 0
        assert "usage: redis-rotation " + command in capsys.readouterr().out


def test_without_a_running_cloud_or_with_a_dead_one_it_says_so(tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    nothing = Up({}, _env(state_file), tmp_path)
    done = cli("rotate", "some-secret", up=nothing)
    assert done.returncode == 2
    assert "no local cloud is running" in done.stderr
    assert "redis-rotation up" in done.stderr
    # A state file left by an `up` that was killed: its process is gone.
    state_file.write_text(json.dumps({"environment": {}, "pid": _a_dead_pid()}))
    done = cli("env", up=nothing)
    assert done.returncode == 2
    assert "is gone" in done.stderr
    assert "Traceback" not in done.stderr
    state_file.write_text("{not json")
    done = cli("env", up=nothing)
    assert done.returncode == 2
    assert "unreadable" in done.stderr


def _a_dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_a_second_up_refuses_and_names_the_running_one(up: Up) -> None:
    before = Path(up.env["REDIS_ROTATION_STATE"]).read_text()
    done = cli("up", up=up)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"process {up.state['pid']}" in done.stderr
    assert up.env["REDIS_ROTATION_STATE"] in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert Path(up.env["REDIS_ROTATION_STATE"]).read_text() == before


def test_an_up_killed_with_sigkill_leaves_no_redis_server(tmp_path: Path) -> None:
    # Its own temporary folder: its redis-servers are the ones working under it.
    process = subprocess.Popen(
        [str(BIN / "redis-rotation"), "up"],
        cwd=tmp_path,
        env={**_env(tmp_path / "state.json"), "TMPDIR": str(tmp_path)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        assert any(line.startswith("local cloud ready") for line in process.stderr)
        servers = processes.redis_servers_under(str(tmp_path))
        assert servers, "up runs a redis-server per example instance"
        process.kill()
        process.wait(timeout=60)
        assert processes.wait_until_gone(servers) == []
    finally:
        process.kill()
        process.wait()
