"""``redis-rotation status`` in every rotation mode (tests/support/crash.py MODES): a healthy
secret, a rotation stopped before its change landed and one stopped after it, each with
the state and the ``--check`` answer and exit code the instance itself gives; and what
status asks of the provider and of Redis is read-only."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from localcloud.cloud import ExampleSecret, LocalCloud
from localcloud.instrument import Recorder, instrument
from rotation_cli import main
from rotation_cli.access import CountedClient
from rotation_cli.status import Selection, Status
from tests.support.crash import MODES, applied_changes, new_secret, virtual_time
from tests.support.stuck import stop_points, stuck_secret

pytestmark = pytest.mark.e2e

_fleets = itertools.count()
# What a status may ask a provider: reads only (the emulators' read actions).
READS = ("Describe", "Get", "List", "Query")


def status(capsys: pytest.CaptureFixture[str], *options: str) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()  # what the functions printed before (their metrics)
    code = main.main(["status", "--json", *options])
    document: dict[str, Any] = json.loads(capsys.readouterr().out)
    return code, document


def expected_auth(cloud: LocalCloud, example: ExampleSecret) -> str:
    """The oracle: whether the instance accepts AWSCURRENT, asked of the server's ACL."""
    if example.accepts(cloud.value(example.arn, "AWSCURRENT")):
        return "ok"
    return "refused"


@pytest.mark.parametrize(("mode", "provider", "options"), MODES, ids=[m[0] for m in MODES])
def test_status_of_each_state_in_each_mode(
    cloud: LocalCloud,
    mode: str,
    provider: str,
    options: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    fleet = f"modes{next(_fleets)}-{mode}"
    healthy = new_secret(cloud, provider, options)
    recorder = Recorder()
    with instrument(recorder, virtual_time()) as seams:
        assert cloud.driver(provider, seams=seams).rotate(healthy.arn).succeeded
    examples = {"ok": healthy}
    for finding, (index, side) in stop_points(recorder.calls).items():
        examples[finding] = stuck_secret(cloud, provider, options, index, side)[0]
    client = cloud.sm.secrets_manager()
    for state, example in examples.items():
        client.tag_resource(
            SecretId=example.arn,
            Tags=[{"Key": "fleet", "Value": fleet}, {"Key": "state", "Value": state}],
        )
    names = {e.name: state for state, e in examples.items()}

    # Inside the retry window an unfinished rotation is rotating; past it, stuck.
    code, document = status(capsys, "--tag", f"fleet={fleet}")
    assert {r["name"]: r["state"] for r in document["secrets"]} == {
        name: "ok" if state == "ok" else "rotating" for name, state in names.items()
    }, mode
    assert code == 0, mode
    code, document = status(capsys, "--tag", f"fleet={fleet}", "--stuck-after", "0", "--check")
    rows = {names[r["name"]]: r for r in document["secrets"]}
    assert {s: r["state"] for s, r in rows.items()} == {
        s: "ok" if s == "ok" else "stuck" for s in names.values()
    }, mode
    assert code == 1, mode  # a stuck rotation is not fine
    for state, example in examples.items():
        auth = rows[state]["auth"]
        assert auth.split(" ", 1)[0] == expected_auth(cloud, example), (mode, state, auth)
        assert rows[state]["provider"] == provider, (mode, state)
        alternating = rows[state]["strategy"].startswith("alternating")
        assert alternating == ("alternate" in options), (mode, state, rows[state]["strategy"])
    # Each alone, inside the retry window: --check passes (exit 0) exactly when the instance
    # accepts AWSCURRENT (a dual-password or alternating mode, after its change, does).
    for state, example in examples.items():
        code, document = status(
            capsys, "--tag", f"fleet={fleet}", "--tag", f"state={state}", "--check"
        )
        expected = expected_auth(cloud, example)
        assert [r["auth"].split(" ", 1)[0] for r in document["secrets"]] == [expected], mode
        assert code == (0 if expected == "ok" else 1), (mode, state)

    # What status --check sends the provider and Redis: reads and AUTHs, no change.
    changes = {state: applied_changes(cloud, e) for state, e in examples.items()}
    calls = Recorder()
    selection = Selection(tags=(("fleet", fleet),))
    with instrument(calls, virtual_time()) as seams:
        checked = Status(CountedClient.create(), selection, window=0, seams=seams).rows(check=True)
    assert len(checked) == len(examples)
    writes = [c.name for c in calls.calls if c.kind == "provider" and not c.name.startswith(READS)]
    assert writes == [], mode
    assert {c.name for c in calls.calls if c.kind == "redis"} == {"AUTH"}, mode
    assert {s: applied_changes(cloud, e) for s, e in examples.items()} == changes, mode
