"""The sample events in events/: valid rotation events, one full rotation per provider
(they stay usable with ``sam local invoke -e``)."""

from __future__ import annotations

import itertools
import json
import re
import uuid
from pathlib import Path

import pytest

from tests.support.cloudformation import FUNCTIONS
from tests.support.tools import ROOT

pytestmark = pytest.mark.integration

EVENTS = ROOT / "events"
STEPS = frozenset({"createSecret", "setSecret", "testSecret", "finishSecret"})
EVENT_FIELDS = frozenset({"Step", "SecretId", "ClientRequestToken", "RotationToken"})
SECRET_ARN = re.compile(r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+$")

EVENT_FILES = sorted(EVENTS.rglob("*.json"))


@pytest.mark.parametrize("path", EVENT_FILES, ids=lambda path: str(path.relative_to(EVENTS)))
def test_sample_event_is_a_rotation_event(path: Path) -> None:
    event = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(event, dict)
    assert set(event) == EVENT_FIELDS
    assert event["Step"] in STEPS
    assert path.stem == event["Step"]
    assert path.parent.name in FUNCTIONS.values()
    assert SECRET_ARN.match(event["SecretId"])
    assert str(uuid.UUID(event["ClientRequestToken"])) == event["ClientRequestToken"]
    assert isinstance(event["RotationToken"], str)
    assert "FAKE" in event["RotationToken"].upper()


def test_sample_events_cover_every_step_of_one_rotation_per_provider() -> None:
    events = [
        (path.parent.name, json.loads(path.read_text(encoding="utf-8"))) for path in EVENT_FILES
    ]
    covered = {(provider, event["Step"]) for provider, event in events}
    assert covered == set(itertools.product(FUNCTIONS.values(), STEPS))
    assert len(events) == len(covered)
    for provider in FUNCTIONS.values():
        # The four steps of one rotation: same secret, same token.
        rotation = {
            (event["SecretId"], event["ClientRequestToken"])
            for name, event in events
            if name == provider
        }
        assert len(rotation) == 1
