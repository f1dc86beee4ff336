"""The rotation event Secrets Manager sends, checked, and what a step answers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from redis_rotation.errors import RotationStateError
from redis_rotation.store import CURRENT, PENDING, Stages

STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
# Secrets Manager's longest SecretId (an ARN or a name) and ClientRequestToken.
MAX_ID_LENGTH = 2048

# What a step did, in a word: returned by the handler, logged, and read by tests.
Outcome = Literal[
    "already-current", "kept", "created", "already-set", "changed", "tested", "finished"
]


@dataclass(frozen=True)
class RotationEvent:
    step: str
    secret_id: str
    token: str
    rotation_token: str | None = field(default=None, repr=False)

    @classmethod
    def parse(cls, event: Any) -> RotationEvent:
        if not isinstance(event, Mapping):
            raise RotationStateError("the event must be a JSON object")
        values: dict[str, str] = {}
        for name in ("Step", "SecretId", "ClientRequestToken"):
            value = event.get(name)
            if not isinstance(value, str) or not value:
                raise RotationStateError(f"the event field '{name}' is missing or not a string")
            # Secrets Manager's ids and tokens are printable ASCII; anything else is never
            # echoed into an error, a log line or a metric.
            if not (value.isascii() and value.isprintable()):
                raise RotationStateError(f"the event field '{name}' is not printable ASCII")
            if name != "Step" and len(value) > MAX_ID_LENGTH:
                raise RotationStateError(
                    f"the event field '{name}' is longer than {MAX_ID_LENGTH} characters"
                )
            values[name] = value
        if values["Step"] not in STEPS:
            raise RotationStateError(
                f"the event field 'Step' is not one of {', '.join(STEPS)}"  # value not echoed
            )
        rotation_token = event.get("RotationToken")
        if rotation_token is not None and not isinstance(rotation_token, str):
            raise RotationStateError("the event field 'RotationToken' is not a string")
        return cls(values["Step"], values["SecretId"], values["ClientRequestToken"], rotation_token)

    def stages(self, metadata: Mapping[str, Any]) -> Stages:
        """The secret's version stages (DescribeSecret's answer), once AWS's checks pass:
        rotation enabled, and the event's version labelled AWSPENDING or AWSCURRENT."""
        if not metadata.get("RotationEnabled", False):
            raise RotationStateError(f"secret {self.secret_id} does not have rotation enabled")
        stages: Stages = metadata.get("VersionIdsToStages", {})
        if self.token not in stages:
            raise RotationStateError(
                f"secret {self.secret_id}: version {self.token} has no stage for rotation"
            )
        if PENDING not in stages[self.token] and CURRENT not in stages[self.token]:
            raise RotationStateError(
                f"secret {self.secret_id}: version {self.token} is not AWSPENDING"
            )
        return stages
