"""Makes moto's Secrets Manager act like AWS where a rotation depends on it.

moto 5.2.5 is the local cloud's Secrets Manager, and it differs from AWS in ways a rotation
function can come to rely on. ``apply()`` wraps four methods of its backend (in this
process, before the server starts); each wrapper says what AWS does and what moto did.
Only moto is patched, never our own package.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from moto.secretsmanager.exceptions import InvalidRequestException, ResourceExistsException
from moto.secretsmanager.models import FakeSecret, SecretsManagerBackend

PENDING, CURRENT, PREVIOUS = "AWSPENDING", "AWSCURRENT", "AWSPREVIOUS"

# AWS changes a secret's labels atomically; moto's server is threaded and these wrappers
# read the labels before they change them.
_lock = threading.RLock()
_applied = False

_rotate_secret = SecretsManagerBackend.rotate_secret
_put_secret_value = SecretsManagerBackend.put_secret_value
_update_secret_version_stage = SecretsManagerBackend.update_secret_version_stage
_list_secret_version_ids = SecretsManagerBackend.list_secret_version_ids


def _labels(secret: FakeSecret, version_id: str) -> list[str]:
    labels: list[str] = secret.versions[version_id]["version_stages"]
    return labels


def _attach(secret: FakeSecret, version_id: str, stage: str) -> None:
    """Attach a label as AWS does: it leaves any other version (a label names one version),
    and the version that loses AWSCURRENT gets AWSPREVIOUS."""
    for other in secret.versions:
        if other != version_id and stage in _labels(secret, other):
            _labels(secret, other).remove(stage)
            if stage == CURRENT:
                _attach(secret, other, PREVIOUS)
    if stage not in _labels(secret, version_id):
        _labels(secret, version_id).append(stage)


def _sync_default(secret: FakeSecret) -> None:
    """AWS answers GetSecretValue without a version or label with AWSCURRENT; moto answers
    with its default version, which RotateSecret sets to the empty AWSPENDING stub and
    UpdateSecretVersionStage never moves."""
    for version_id in secret.versions:
        if CURRENT in _labels(secret, version_id):
            secret.set_default_version_id(version_id)


def rotate_secret(
    self: SecretsManagerBackend,
    secret_id: str,
    client_request_token: str | None = None,
    rotation_lambda_arn: str | None = None,
    rotation_rules: dict[str, Any] | None = None,
    rotate_immediately: bool = True,
) -> str:
    """AWS refuses RotateSecret while AWSPENDING is on a version that is not AWSCURRENT (an
    unfinished rotation), and starts a new rotation when AWSPENDING sits on AWSCURRENT (what
    a finished one leaves). moto did the opposite: it moved AWSPENDING off the rotation in
    flight, and refused with "Previous rotation request is still in progress"."""
    with _lock:
        found = self.secrets.get(secret_id)
        secret = found if isinstance(found, FakeSecret) and not found.is_deleted() else None
        lifted: list[list[str]] = []  # the label lists AWSPENDING was taken from
        for version in secret.versions.values() if secret else ():
            labels: list[str] = version["version_stages"]
            if PENDING in labels:
                if CURRENT not in labels:
                    raise InvalidRequestException(
                        "A previous rotation isn't complete. That rotation will be continued."
                    )
                labels.remove(PENDING)  # the new version gets it
                lifted.append(labels)
        try:
            answer: str = _rotate_secret(
                self,
                secret_id,
                client_request_token=client_request_token,
                rotation_lambda_arn=rotation_lambda_arn,
                rotation_rules=rotation_rules,
                rotate_immediately=rotate_immediately,
            )
        except Exception:
            # A refused RotateSecret changes no label on AWS. (moto checks the function
            # only after adding its AWSPENDING stub; that stub keeps the label then.)
            if secret and not any(PENDING in v["version_stages"] for v in secret.versions.values()):
                for labels in lifted:
                    labels.append(PENDING)
            raise
        if secret:
            _sync_default(secret)
        return answer


def put_secret_value(
    self: SecretsManagerBackend,
    secret_id: str,
    secret_string: str,
    secret_binary: str,
    client_request_token: str,
    version_stages: list[str],
) -> str:
    """AWS: a ClientRequestToken naming a version that has a value is idempotent with the
    same value (nothing changes, labels included) and a ResourceExistsException with
    another; the labels asked for move to the new version, AWSCURRENT taking AWSPREVIOUS
    along. moto rewrote any version labelled AWSPENDING (value and labels), and moved
    AWSPREVIOUS onto its default version, which during a rotation is the empty stub, so
    two versions stayed AWSCURRENT."""
    with _lock:
        secret = self.secrets.get(secret_id)
        if not isinstance(secret, FakeSecret):  # moto's own errors
            answer: str = _put_secret_value(
                self,
                secret_id=secret_id,
                secret_string=secret_string,
                secret_binary=secret_binary,
                client_request_token=client_request_token,
                version_stages=version_stages,
            )
            return answer
        kept: list[str] = []
        version = secret.versions.get(client_request_token) if client_request_token else None
        if version is not None:
            if "secret_string" in version or "secret_binary" in version:
                same = (version.get("secret_string"), version.get("secret_binary")) == (
                    secret_string,
                    secret_binary,
                )
                if same:
                    return secret.to_short_dict(
                        include_version_stages=True, version_id=client_request_token
                    )
                raise ResourceExistsException(
                    f"You can't use ClientRequestToken {client_request_token} because that "
                    f"value is already in use for a version of secret {secret.arn}."
                )
            kept = list(_labels(secret, client_request_token))  # RotateSecret's empty stub
        # moto stores the value under no label (a first version still gets AWSCURRENT);
        # the labels are then attached as AWS attaches them.
        answer = _put_secret_value(
            self,
            secret_id=secret_id,
            secret_string=secret_string,
            secret_binary=secret_binary,
            client_request_token=client_request_token,
            version_stages=[],
        )
        version_id: str = json.loads(answer)["VersionId"]
        for stage in dict.fromkeys([*kept, *version_stages]):
            _attach(secret, version_id, stage)
        _sync_default(secret)
        return secret.to_short_dict(include_version_stages=True, version_id=version_id)


def update_secret_version_stage(
    self: SecretsManagerBackend,
    secret_id: str,
    version_stage: str,
    remove_from_version_id: str,
    move_to_version_id: str,
) -> tuple[str, str]:
    """Labels move as in moto; afterwards the default version is AWSCURRENT's again."""
    with _lock:
        answer: tuple[str, str] = _update_secret_version_stage(
            self,
            secret_id=secret_id,
            version_stage=version_stage,
            remove_from_version_id=remove_from_version_id,
            move_to_version_id=move_to_version_id,
        )
        secret = self.secrets.get(secret_id)
        if isinstance(secret, FakeSecret):
            _sync_default(secret)
        return answer


def list_secret_version_ids(self: SecretsManagerBackend, secret_id: str) -> str:
    """AWS gives each version's CreatedDate (`status` tells a stuck rotation by its
    AWSPENDING version's age); moto gave the time of the call for every version."""
    answer = json.loads(_list_secret_version_ids(self, secret_id))
    secret = self.secrets[secret_id]  # found: moto answered
    if isinstance(secret, FakeSecret):
        for version in answer.get("Versions", []):
            stored = secret.versions.get(version["VersionId"], {})
            version["CreatedDate"] = stored.get("createdate", version["CreatedDate"])
    return json.dumps(answer)


def apply() -> None:
    """Patch moto's backend class, once per process (every backend, every server)."""
    global _applied
    with _lock:
        if not _applied:
            setattr(SecretsManagerBackend, "rotate_secret", rotate_secret)  # noqa: B010
            setattr(SecretsManagerBackend, "put_secret_value", put_secret_value)  # noqa: B010
            setattr(  # noqa: B010
                SecretsManagerBackend, "update_secret_version_stage", update_secret_version_stage
            )
            setattr(  # noqa: B010
                SecretsManagerBackend, "list_secret_version_ids", list_secret_version_ids
            )
            _list_moto_modules_once()
            _applied = True


def _list_moto_modules_once() -> None:
    """Speed, not fidelity: moto's server lists its own package folder (a stat per service,
    hundreds) on every request to find the service by host; the list never changes."""
    from moto import backends

    modules = tuple(backends.list_of_moto_modules())
    setattr(backends, "list_of_moto_modules", lambda: modules)  # noqa: B010
