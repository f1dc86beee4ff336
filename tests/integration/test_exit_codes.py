"""One exit-code rule for every command (docs/cli.md): 0 fine, 1 a finding, 2 the command
could not start on what it was given, 130 interrupted. The AWS commands run in this
process against the local cloud, reached through the environment as AWS is."""

from __future__ import annotations

import json
import signal
import subprocess
import uuid
from pathlib import Path

import pytest

from localcloud.cloud import LocalCloud
from rotation_cli.base import INTERRUPTED, NOT_OK, OK, USER_ERROR
from rotation_cli.main import main, parser
from tests.support.tools import BIN

pytestmark = pytest.mark.integration

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _commands() -> list[str]:
    (commands,) = [a for a in parser()._actions if a.dest == "command"]
    assert isinstance(commands.choices, dict)
    return list(commands.choices)


@pytest.fixture
def aws(cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """The local cloud as AWS, plus a secret of each kind of input, by its role."""
    for name, value in cloud.environment().items():
        monkeypatch.setenv(name, value)
    # No running `up` for the local-cloud commands: they must say so.
    monkeypatch.setenv("REDIS_ROTATION_STATE", str(tmp_path / "no-state.json"))
    client = cloud.sm.secrets_manager()
    tag = uuid.uuid4().hex[:8]
    secrets = {"unknown": f"exit-{tag}/no-such-secret"}
    for role, value in (
        ("not-json", "{oops"),
        ("not-an-object", "[1, 2]"),
        ("not-the-schema", json.dumps({"provider": "uredis", "port": "six"})),
    ):
        secrets[role] = client.create_secret(Name=f"exit-{tag}/{role}", SecretString=value)["ARN"]
    secrets["good"] = cloud.add_uredis_secret(f"exit-{tag}/good", group_id=f"g-{tag}").arn
    secrets["prefix"] = f"exit-{tag}/"
    return secrets


def _exit(argv: list[str]) -> int:
    try:
        code: object = main(argv)
    except SystemExit as exit_:  # argparse
        code = exit_.code
    assert isinstance(code, int)
    return code


@pytest.mark.parametrize("command", _commands())
def test_a_wrong_option_is_2_for_every_command(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _exit([command, "--no-such-option"]) == USER_ERROR
    assert "error: " in capsys.readouterr().err  # argparse: the usage and the error


@pytest.mark.parametrize("command", ["preflight", "repair"])
@pytest.mark.parametrize("role", ["unknown", "not-json", "not-an-object"])
def test_a_secret_the_command_cannot_start_on_is_2(
    aws: dict[str, str], command: str, role: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _exit([command, aws[role]]) == USER_ERROR
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.splitlines()) == 1
    assert err.startswith(f"redis-rotation {command}: ")


def test_what_the_commands_find_is_0_or_1(
    aws: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert _exit(["preflight", aws["good"]]) == OK
    assert _exit(["repair", aws["good"]]) == OK
    assert _exit(["status", "--prefix", aws["prefix"]]) == OK
    # A JSON value the schema refuses is the `secret` check's finding, not a user error.
    assert _exit(["preflight", aws["not-the-schema"]]) == NOT_OK
    assert "FAIL  secret" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [["preflight", "x"], ["repair", "x"], ["status"]],
    ids=lambda a: a[0],
)
@pytest.mark.usefixtures("aws")
def test_no_region_is_2(
    argv: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    assert _exit(argv) == USER_ERROR
    (line,) = capsys.readouterr().err.splitlines()
    # What boto3, SAM CLI and the AWS CLI read (AWS_REGION is not among them).
    assert "region (AWS_DEFAULT_REGION or the profile's)" in line


@pytest.mark.parametrize(
    "argv",
    [["env"], ["rotate", "x"], ["add-secret", "x", "--provider", "uredis"], ["status", "--local"]],
    ids=lambda a: " ".join(a),
)
@pytest.mark.usefixtures("aws")
def test_no_local_cloud_is_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert _exit(argv) == USER_ERROR
    assert "no local cloud is running" in capsys.readouterr().err


def test_an_interrupted_command_is_130(tmp_path: Path) -> None:
    """Ctrl-C during `demo`, once it has started (its first line is out)."""
    process = subprocess.Popen(
        [str(BIN / "redis-rotation"), "demo"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().startswith("local cloud:")
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    # On a failure, what the demo printed says where the interrupt went.
    assert process.returncode == INTERRUPTED, (out[-1500:], err[-1500:])
    assert "Traceback" not in err


def test_the_docs_state_the_one_rule() -> None:
    """docs/cli.md holds the table; docs/preflight.md refers to it instead of its own."""
    cli = (DOCS / "cli.md").read_text(encoding="utf-8")
    for code in (OK, NOT_OK, USER_ERROR, INTERRUPTED):
        assert f"\n| {code} |" in cli
    preflight = (DOCS / "preflight.md").read_text(encoding="utf-8")
    assert "cli.md#exit-codes" in preflight
