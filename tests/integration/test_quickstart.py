"""The README's quick start on AWS, command by command: what needs AWS itself is checked by
the real AWS CLI up to the moment it would send (its options and parameters are validated
against the service model), and the secrets it stores are valid for the functions."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from redis_rotation.secret import load_json_object, parse_secret, validate
from tests.support.docs import README, Block, blocks, words
from tests.support.tools import BIN

pytestmark = pytest.mark.integration

SECTION = "Quick start on AWS"
# Nothing listens here: the CLI validates the whole request, then fails to connect.
NOWHERE = "http://127.0.0.1:9"
# Checked elsewhere: sam build (tests/support/sam_build.py runs it), sam deploy and
# redis-rotation (tests/unit/test_docs.py parses them), rm (the shell's).
CHECKED_ELSEWHERE = ("sam build", "sam deploy", "redis-rotation ", "rm ")


def _quick_start() -> list[Block]:
    return blocks(README.read_text(encoding="utf-8"), SECTION)


def _aws(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        "AWS_ACCESS_KEY_ID": "AKIAQUICKSTART",
        "AWS_SECRET_ACCESS_KEY": "quick-start-check",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ENDPOINT_URL": NOWHERE,
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_CONFIG_FILE": str(cwd / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(cwd / "no-credentials"),
    }
    return subprocess.run(
        [str(BIN / "aws"), *words(command)[1:]],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_every_quick_start_command_is_checked(tmp_path: Path) -> None:
    checked = 0
    for block in _quick_start():
        for name, text in block.files.items():
            (tmp_path / name).write_text(text, encoding="utf-8")
        for command in block.commands:
            if command.startswith(CHECKED_ELSEWHERE):
                continue
            assert command.startswith("aws "), f"the quick start runs `{command}`, unchecked"
            done = _aws(command, tmp_path)
            assert "Could not connect to the endpoint URL" in done.stderr, (
                f"`{command}` is refused before it is sent:\n{done.stderr}"
            )
            checked += 1
    assert checked >= 6


def test_the_secrets_the_quick_start_stores_are_valid_for_the_functions() -> None:
    files = {name: text for block in _quick_start() for name, text in block.files.items()}
    keys = {name: text for name, text in files.items() if name.endswith("-keys.json")}
    secrets = {name: text for name, text in files.items() if name not in keys}
    assert len(keys) == 2, "both providers' keys"
    assert len(secrets) == 2, "a secret for each provider"
    providers = set()
    for name, text in secrets.items():
        secret = parse_secret(text, name)
        providers.add(secret.provider)
        # Each secret is granted by its provider's keys secret, under the name it is stored as.
        (grant_text,) = [t for n, t in keys.items() if n.startswith(_keys_prefix(secret.provider))]
        grants = json.loads(grant_text)["grants"]
        assert any(secret.instance_id in g["instances"] for g in grants), name
    assert providers == {"uredis", "tencent"}
    for name, text in keys.items():
        provider = "uredis" if name.startswith("ucloud") else "tencent"
        validate(load_json_object(text, name), f"credentials-{provider}.schema.json", name)


def _keys_prefix(provider: str) -> str:
    return "ucloud" if provider == "uredis" else "tencent"
