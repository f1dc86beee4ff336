"""Issue 19 item 8: what a rotated secret's writer chooses (AWSPENDING's version id, via
ClientRequestToken, 32-64 characters of any kind) reaches the terminal of status, repair
and preflight only escaped: checked byte by byte on what the commands print."""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from localcloud.cloud import LocalCloud
from rotation_cli import main

pytestmark = pytest.mark.e2e

# Erase the line, return to its start, print a fake verdict; a bidi override; C1 CSI; DEL.
HOSTILE = "\x1b[2K\r ok \u202e\x9b2J\x7f\x07"
RAW = [b"\x1b", b"\r", b"\x07", b"\x7f", "\u202e".encode(), "\x9b".encode()]


def _hostile_pending(cloud: LocalCloud) -> str:
    """A secret whose writer started a rotation with a token full of escapes; its ARN."""
    example = cloud.add_uredis_secret(f"terminal/{uuid.uuid4().hex[:8]}")
    cloud.sm.secrets_manager().rotate_secret(
        SecretId=example.arn,
        ClientRequestToken=f"{HOSTILE}{uuid.uuid4().hex}",
        RotationLambdaARN=cloud.function_arn("uredis"),
        RotationRules={"AutomaticallyAfterDays": 30},
    )
    return example.arn


def _strings(document: Any) -> Iterator[str]:
    if isinstance(document, str):
        yield document
    elif isinstance(document, dict):
        yield from itertools.chain.from_iterable(map(_strings, document.values()))
    elif isinstance(document, list):
        yield from itertools.chain.from_iterable(map(_strings, document))


@pytest.mark.parametrize(
    "command",
    [["status", "--prefix", "terminal/"], ["repair", "{arn}"], ["preflight", "{arn}"]],
    ids=["status", "repair", "preflight"],
)
def test_a_hostile_version_id_reaches_the_terminal_escaped(
    cloud: LocalCloud, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    arn = _hostile_pending(cloud)
    argv = [a.replace("{arn}", arn) for a in command]

    def printed(*extra: str) -> tuple[bytes, bytes]:
        """What the command wrote, as the bytes a UTF-8 terminal receives."""
        capsys.readouterr()  # what the functions printed before
        main.main([*argv, *extra])
        out, err = capsys.readouterr()
        return out.encode(), err.encode()

    out, err = printed()
    for stream in (out, err):
        assert [b for b in RAW if b in stream] == [], stream
    assert b"\\x1b[2K\\x0d ok \\u202e\\x9b2J\\x7f\\x07" in out  # shown, not dropped

    out, _ = printed("--json")
    assert [b for b in RAW if b in out] == []
    # JSON escapes them itself, and keeps the id exactly.
    assert any(HOSTILE in text for text in _strings(json.loads(out)))
