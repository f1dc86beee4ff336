"""Plays Secrets Manager's part in a rotation, against the moto server.

RotateSecret creates the empty AWSPENDING version (or, refused while an earlier rotation
is unfinished, that rotation is continued); then the rotation function is invoked for the
four steps with the version id as ClientRequestToken and an opaque RotationToken. When a
step fails, the whole rotation is run again with the same token, as Secrets Manager does.
After success no label is moved: AWS documents no such step, so the function itself must
leave AWSPENDING on AWSCURRENT's version or on none.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")


@dataclass
class LambdaContext:
    """The parts of the Lambda context object the functions and Powertools read."""

    function_name: str
    timeout: float
    memory_limit_in_mb: int = 128
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout - (time.monotonic() - self.started)) * 1000))


Invoke = Callable[[dict[str, Any], LambdaContext], Any]


@dataclass
class StepRun:
    attempt: int
    step: str
    outcome: str  # the function's answer, or the exception's type name
    error: str | None = None


@dataclass
class RotationResult:
    secret_id: str
    token: str
    succeeded: bool
    runs: list[StepRun]

    @property
    def attempts(self) -> int:
        return max((r.attempt for r in self.runs), default=0)


class RotationDriver:
    def __init__(
        self,
        client: SecretsManagerClient,
        invoke: Invoke,
        function_arn: str,
        *,
        max_attempts: int = 5,
        step_timeout: float = 60.0,
        function_name: str = "redis-rotation",
    ) -> None:
        self.client = client
        self.invoke = invoke
        self.function_arn = function_arn
        self.max_attempts = max_attempts
        self.step_timeout = step_timeout
        self.function_name = function_name
        # This driver invokes the function itself: Secrets Manager must not run it too.
        client.meta.events.register(
            "before-sign.secrets-manager.RotateSecret", _invokes_itself, unique_id=INVOKES_ITSELF
        )

    def start(self, secret_id: str) -> str:
        """RotateSecret's new AWSPENDING version; or, when Secrets Manager refuses it
        because an earlier rotation is unfinished ("That rotation will be continued"), the
        version of that rotation (a retry)."""
        try:
            response = self.client.rotate_secret(
                SecretId=secret_id,
                ClientRequestToken=str(uuid.uuid4()),
                RotationLambdaARN=self.function_arn,
                RotationRules={"AutomaticallyAfterDays": 30},
            )
        except self.client.exceptions.InvalidRequestException:
            unfinished = [
                version
                for version, labels in self._stages(secret_id).items()
                if "AWSPENDING" in labels and "AWSCURRENT" not in labels
            ]
            if not unfinished:
                raise
            return unfinished[0]
        return str(response["VersionId"])

    def _stages(self, secret_id: str) -> dict[str, list[str]]:
        described = self.client.describe_secret(SecretId=secret_id)
        return {k: list(v) for k, v in described.get("VersionIdsToStages", {}).items()}

    def run_step(self, secret_id: str, token: str, step: str, rotation_token: str) -> Any:
        event = {
            "Step": step,
            "SecretId": secret_id,
            "ClientRequestToken": token,
            "RotationToken": rotation_token,
        }
        return self.invoke(event, LambdaContext(self.function_name, self.step_timeout))

    def rotate(self, secret_id: str) -> RotationResult:
        token = self.start(secret_id)
        return self.run(secret_id, token)

    def run(self, secret_id: str, token: str, steps: tuple[str, ...] = STEPS) -> RotationResult:
        """The steps of the rotation of version ``token``, the whole run again after a failed
        step, up to ``max_attempts`` runs (Secrets Manager's part once RotateSecret started)."""
        rotation_token = secrets.token_urlsafe(32)
        runs: list[StepRun] = []
        for attempt in range(1, self.max_attempts + 1):
            try:
                for step in steps:
                    answer = self.run_step(secret_id, token, step, rotation_token)
                    outcome = answer.get("Outcome", "ok") if isinstance(answer, dict) else "ok"
                    runs.append(StepRun(attempt, step, str(outcome)))
            except Exception as exc:  # Secrets Manager retries whatever the failure was
                runs.append(StepRun(attempt, step, type(exc).__name__, str(exc)))
                continue
            # AWS moves no label after finishSecret: the function leaves AWSPENDING on
            # AWSCURRENT's version or on none.
            return RotationResult(secret_id, token, True, runs)
        return RotationResult(secret_id, token, False, runs)


# The header of a RotateSecret whose sender invokes the function itself (a driver); the
# local cloud's Secrets Manager then does not (localcloud/rotation_service.py).
INVOKES_ITSELF = "X-Localcloud-Invokes-Itself"


def _invokes_itself(request: Any, **_: Any) -> None:
    request.headers[INVOKES_ITSELF] = "1"
