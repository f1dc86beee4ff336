"""What an ElastiCache or Alibaba secret's writer puts in its fields (escape sequences in the
ids, the user name, the accounts, the host) reaches the terminal of status and repair only
escaped, the line names the field, and the command does not pass: checked on the bytes
the commands print."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

import pytest

from localcloud.cloud import ExampleSecret, LocalCloud
from rotation_cli import main
from tests.e2e.test_terminal_output import HOSTILE, RAW

pytestmark = pytest.mark.e2e

_names = itertools.count()
Spoil = Callable[[dict[str, Any]], dict[str, Any]]


def _in(name: str) -> Spoil:
    return lambda value: {**value, name: f"{value[name]}{HOSTILE}"}


def _accounts(value: dict[str, Any]) -> dict[str, Any]:
    return {**value, "accounts": [value["accounts"][0], f"app_b{HOSTILE}"]}


# (provider, secret options, the field spoiled, how)
CASES = [
    ("elasticache", {"kind": "user"}, "userId", _in("userId")),
    ("elasticache", {"kind": "user"}, "username", _in("username")),
    ("elasticache", {"kind": "token"}, "replicationGroupId", _in("replicationGroupId")),
    ("elasticache", {"kind": "token"}, "host", _in("host")),
    ("alibaba", {}, "instanceId", _in("instanceId")),
    ("alibaba", {"account": "app_a", "alternate": "app_b"}, "accounts.1", _accounts),
]


def new_secret(cloud: LocalCloud, provider: str, options: dict[str, Any]) -> ExampleSecret:
    name = f"terminal-clouds/{next(_names)}/{provider}"
    if provider == "elasticache":
        return cloud.add_elasticache_secret(name, **options)
    return cloud.add_alibaba_secret(name, **options)


@pytest.mark.parametrize("stages", [("AWSCURRENT", "AWSPENDING"), ("AWSPENDING",)])
@pytest.mark.parametrize(
    ("provider", "options", "field", "spoil"), CASES, ids=[f"{c[0]}-{c[2]}" for c in CASES]
)
def test_a_hostile_field_reaches_the_terminal_escaped_and_named(
    cloud: LocalCloud,
    capsys: pytest.CaptureFixture[str],
    provider: str,
    options: dict[str, Any],
    field: str,
    spoil: Spoil,
    stages: tuple[str, ...],
) -> None:
    example = new_secret(cloud, provider, options)
    # A finished rotation first (status lists attached secrets), then the writer's value in
    # a new rotation's AWSPENDING (repair reads it) and perhaps AWSCURRENT (status reads it).
    assert cloud.driver(provider).rotate(example.arn).succeeded
    token = cloud.driver(provider).start(example.arn)
    client = cloud.sm.secrets_manager()
    hostile = json.dumps(spoil(cloud.value(example.arn, "AWSCURRENT")))
    client.put_secret_value(
        SecretId=example.arn, ClientRequestToken=token, SecretString=hostile,
        VersionStages=["AWSPENDING"],
    )  # fmt: skip
    commands = [["repair", example.arn]]
    if "AWSCURRENT" in stages:
        client.put_secret_value(SecretId=example.arn, SecretString=hostile)
        commands.append(["status", "--prefix", example.name.rsplit("/", 1)[0], "--check"])

    for argv in commands:
        capsys.readouterr()  # what the functions printed before
        code = main.main(argv)
        out, err = capsys.readouterr()
        assert code == 1, (argv[0], "a secret the rotation cannot read is not fine")
        for stream in (out.encode(), err.encode()):
            assert [b for b in RAW if b in stream] == [], (argv[0], stream)
        assert f"field '{field}'" in out + err, (argv[0], out, err)
