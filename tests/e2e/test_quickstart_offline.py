"""The README's quick start on AWS, rehearsed on the local cloud: after `eval "$(redis-rotation
env)"`, its commands run as written through the real AWS CLI, from a directory outside the
checkout, and `rotate-secret` rotates the secret as Secrets Manager would.

Step 3 (sam build and deploy) is the one step replaced: `redis-rotation up` stands for the
stack, with the functions under the names the stack gives them. What a user fills in (the
API keys, their Redis's address and password, the ARNs' region and account) is taken from
the local cloud: an instance of the README's id is made with `add-secret`.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import boto3
import pytest

from tests.support.docs import README, blocks
from tests.support.local_up import Up, bash, cli
from tests.support.tencent_auth import logs_in_one_argument

pytestmark = pytest.mark.e2e

SECTION = "Quick start on AWS"
DEPLOY = ("sam build", "sam deploy", "aws cloudformation describe-stacks")
SECRET = "redis/uredis-main"
_KEYS_ARN = re.compile(r"arn:aws:secretsmanager:REGION:ACCOUNT:secret:([\w/]+)-\w{6}")
# Not a speed limit: how long to wait for a rotation that will not end before failing.
GIVE_UP = 120.0


def _client(up: Up) -> Any:
    environment = up.state["environment"]
    return boto3.client(
        "secretsmanager",
        endpoint_url=up.state["secretsManager"],
        region_name=environment["AWS_REGION"],
        aws_access_key_id=environment["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=environment["AWS_SECRET_ACCESS_KEY"],
    )


def _instance(up: Up, provider: str, fields: dict[str, str]) -> dict[str, Any]:
    """An instance of the README's id; what its owner knows of it (address, password, API
    keys). The secret `add-secret` made for it is deleted: the README's step 2 stores one."""
    done = cli(
        "add-secret",
        f"quickstart/{provider}-instance",
        "--provider",
        provider,
        "--secret-string",
        json.dumps(fields),
        "--json",
        up=up,
    )
    assert done.returncode == 0, done.stderr
    made = json.loads(done.stdout)
    client = _client(up)
    value = json.loads(
        client.get_secret_value(SecretId=made["arn"], VersionStage="AWSCURRENT")["SecretString"]
    )
    keys = json.loads(
        client.get_secret_value(SecretId=value["credentialsSecretId"])["SecretString"]
    )
    client.delete_secret(SecretId=made["arn"], ForceDeleteWithoutRecovery=True)
    return {**value, "keys": keys}


def _shell_environment(up: Up) -> dict[str, str]:
    """The environment after `eval "$(redis-rotation env)"` in the user's shell."""
    done = bash('set -e; eval "$(redis-rotation env)"; env -0', up)
    assert done.returncode == 0, done.stderr
    return dict(item.split("=", 1) for item in done.stdout.split("\0") if "=" in item)


def _fill_in(text: str, values: dict[str, str]) -> str:
    """Replace what the user fills in; each placeholder must be in the README as named."""
    for placeholder, value in values.items():
        assert placeholder in text, f"the quick start no longer shows {placeholder}"
        text = text.replace(placeholder, value)
    return text


def _plain_redis(text: str) -> str:
    """The local redis-servers speak plain TCP: the user's secret says so."""
    value = json.loads(text)
    value["tls"] = {"enabled": False}
    return json.dumps(value)


def test_the_quick_start_on_aws_runs_as_written_on_the_local_cloud(up: Up) -> None:
    uredis = _instance(up, "uredis", {"groupId": "uredis-abcd1234"})
    tencent = _instance(up, "tencent", {"instanceId": "crs-ifmymj41", "apiVersion": "3.0"})
    env = _shell_environment(up)
    function_arn = up.state["functions"]["uredis"]
    region, account = function_arn.split(":")[3:5]
    files = {
        "ucloud-keys.json": {
            "YOUR-UCLOUD-PUBLIC-KEY": uredis["keys"]["publicKey"],
            "YOUR-UCLOUD-PRIVATE-KEY": uredis["keys"]["privateKey"],
        },
        "tencent-keys.json": {
            "YOUR-TENCENT-SECRET-ID": tencent["keys"]["secretId"],
            "YOUR-TENCENT-SECRET-KEY": tencent["keys"]["secretKey"],
        },
        "uredis-main.json": {
            '"10.9.1.23", "port": 6379': f'"{uredis["host"]}", "port": {uredis["port"]}',
            "the-current-password": uredis["password"],
        },
        "tencent-main.json": {
            '"10.0.0.5", "port": 6379': f'"{tencent["host"]}", "port": {tencent["port"]}',
            "the-current-password": tencent["password"],
        },
    }
    keys_arns: dict[str, str] = {}  # by name, as create-secret printed them
    ran: list[str] = []
    outputs: list[str] = []  # each command's stdout
    shown: list[str] = []  # and its stderr too
    for block in blocks(README.read_text(encoding="utf-8"), SECTION):
        for name, text in block.files.items():
            text = _fill_in(text, files[name])
            # The keys secret's full ARN, "as create-secret printed it".
            text = _KEYS_ARN.sub(lambda m: keys_arns[m.group(1)], text)
            if name.endswith("-main.json"):
                text = _plain_redis(text)
            (up.cwd / name).write_text(text, encoding="utf-8")
        for command in block.commands:
            if command.startswith(DEPLOY):
                continue  # the stack: `redis-rotation up` stands for it
            command = command.replace("REGION", region).replace("ACCOUNT", account)
            done = bash(command, up, env)
            assert done.returncode == 0, f"`{command}`:\n{done.stdout}{done.stderr}"
            ran.append(command.split(" --")[0])
            outputs.append(done.stdout)
            shown.append(done.stdout + done.stderr)
            if command.startswith("aws secretsmanager create-secret"):
                created = json.loads(done.stdout)
                keys_arns[created["Name"]] = created["ARN"]
            if command.startswith("aws secretsmanager rotate-secret"):
                # Asynchronous, as on AWS: the rotation ends after the answer.
                _wait_for_rotation(up, json.loads(done.stdout)["VersionId"])
    assert ran == [
        "aws secretsmanager create-secret",
        "aws secretsmanager create-secret",
        "rm ucloud-keys.json tencent-keys.json",
        "aws secretsmanager create-secret",
        "aws secretsmanager create-secret",
        "rm uredis-main.json tencent-main.json",
        "redis-rotation preflight redis/uredis-main",
        "aws secretsmanager rotate-secret",
        "aws secretsmanager describe-secret",
        "redis-rotation status",
    ]
    assert "Verdict: ready to rotate" in outputs[6]
    verified = json.loads(outputs[-2])
    assert verified["enabled"] is True
    labels = sorted(sorted(stages) for stages in verified["stages"].values())
    assert labels in (
        [["AWSCURRENT"], ["AWSPREVIOUS"]],
        [["AWSCURRENT", "AWSPENDING"], ["AWSPREVIOUS"]],
    )
    # `status --check`: the rotation is attached and the instance accepts AWSCURRENT.
    lines = outputs[-1].splitlines()
    (at,) = [i for i, line in enumerate(lines) if line.startswith(f"{SECRET} ")]
    assert lines[at].split()[-1] == "ok", lines[at]
    assert lines[at + 1].split() == ["auth:", "ok"], lines[at + 1]
    # Asked of Redis directly: the new password works, the one the user stored does not.
    current = json.loads(
        _client(up).get_secret_value(SecretId=SECRET, VersionStage="AWSCURRENT")["SecretString"]
    )
    assert current["password"] != uredis["password"]
    assert logs_in_one_argument(uredis["host"], uredis["port"], current["password"])
    assert not logs_in_one_argument(uredis["host"], uredis["port"], uredis["password"])
    # Nothing the user ran printed a password or a key.
    kept = [uredis["password"], current["password"], tencent["password"]]
    kept += [uredis["keys"]["privateKey"], tencent["keys"]["secretKey"]]
    assert [s for s in kept if any(s in text for text in shown)] == []


def _wait_for_rotation(up: Up, token: str) -> None:
    """Until the new version is AWSCURRENT, as a user would run describe-secret again."""
    client = _client(up)
    deadline = time.monotonic() + GIVE_UP
    while time.monotonic() < deadline:
        stages = client.describe_secret(SecretId=SECRET)["VersionIdsToStages"]
        if "AWSCURRENT" in stages.get(token, []):
            return
        time.sleep(0.1)  # polling the condition, not waiting a fixed time
    pytest.fail(f"the rotation of {SECRET} did not end: {stages}")
