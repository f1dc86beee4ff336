"""Secrets Manager's part after RotateSecret, for the local cloud's own functions.

On AWS, RotateSecret "configures and starts the asynchronous process of rotating the
secret" (RotateSecret API reference): it returns once the AWSPENDING version exists, and
the function then runs createSecret, setSecret, testSecret and finishSecret; "if any
rotation step fails, Secrets Manager retries the entire rotation process multiple times"
(user guide, Rotation by Lambda function). With RotateImmediately false, "Secrets Manager
tests the rotation configuration by running the testSecret step" only (same reference).
AWS documents neither the number of retries nor their spacing: here a rotation is run at
most ``RotationDriver.max_attempts`` times, one after the other, so that it ends quickly.

moto stores the AWSPENDING stub and "invokes" a no-op. A function attached here (the
local cloud's functions, by their ARN) is run for real, by the same ``RotationDriver``
that ``redis-rotation rotate`` uses, in a thread of the local cloud's process, after the
RotateSecret answer. A RotateSecret sent by a driver (marked with ``INVOKES_ITSELF``) is
left to that driver, which invokes the function itself. A RotateSecret that names no
function uses the one the secret has, as on AWS.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable

from moto.secretsmanager.models import FakeSecret
from moto.secretsmanager.responses import SecretsManagerResponse

from localcloud.driver import INVOKES_ITSELF, STEPS, RotationDriver

_lock = threading.Lock()
_attached: dict[str, RotationDriver] = {}  # function ARN -> the driver that runs it
_running: list[threading.Thread] = []


def apply() -> None:
    """Put the wrapper in place of moto's RotateSecret answer (once per process; without an
    attached function it only fills in the stored function, as AWS does)."""
    setattr(SecretsManagerResponse, "rotate_secret", _rotate_secret)  # noqa: B010


def attach(driver: RotationDriver) -> None:
    """From now on a RotateSecret naming ``driver.function_arn`` runs that function."""
    apply()
    with _lock:
        _attached[driver.function_arn] = driver


def detach(function_arns: Iterable[str]) -> None:
    """Back to moto's no-op for these functions, once the rotations they run have ended."""
    with _lock:
        for arn in function_arns:
            _attached.pop(arn, None)
    join()


def join() -> None:
    """Wait until every rotation started so far has ended (succeeded or given up)."""
    with _lock:
        running = list(_running)
    for thread in running:
        thread.join()


def _rotate_secret(self: SecretsManagerResponse) -> str:
    function_arn = self._get_param("RotationLambdaARN") or _stored_function(self)
    # The AWSPENDING stub, or moto's refusal.
    answer: str = self.backend.rotate_secret(
        secret_id=self._get_param("SecretId"),
        client_request_token=self._get_param("ClientRequestToken"),
        rotation_lambda_arn=function_arn,
        rotation_rules=self._get_param("RotationRules"),
        rotate_immediately=self._get_bool_param("RotateImmediately", True),
    )
    with _lock:
        driver = _attached.get(function_arn or "")
    if driver is None or self.headers.get(INVOKES_ITSELF):
        return answer
    started = json.loads(answer)
    secret = self.backend.secrets[started["ARN"]]
    if isinstance(secret, FakeSecret) and self._get_param("RotationRules"):
        # A rotation schedule turns rotation on (moto did so only for AutomaticallyAfterDays).
        secret.rotation_enabled = True
    immediately = self._get_bool_param("RotateImmediately", True)
    steps = STEPS if immediately else ("testSecret",)
    thread = threading.Thread(
        target=driver.run,
        args=(started["ARN"], started["VersionId"], steps),
        name=f"rotation {started['VersionId']}",
        daemon=True,
    )
    with _lock:
        _running[:] = [t for t in _running if t.is_alive()]
        _running.append(thread)
    thread.start()
    return answer


def _stored_function(self: SecretsManagerResponse) -> str | None:
    """AWS: "If you don't include the configuration parameters, the operation starts a
    rotation with the values already stored in the secret" (RotateSecret API reference).
    moto forgot the function then, and made the empty new version AWSCURRENT."""
    found = self.backend.secrets.get(self._get_param("SecretId"))
    stored = found.rotation_lambda_arn if isinstance(found, FakeSecret) else ""
    return stored or None
