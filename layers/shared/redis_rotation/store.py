"""All of the rotation's Secrets Manager I/O: describe, read a version, put AWSPENDING,
move AWSCURRENT, generate a password and load the provider's credentials.

Every read names its VersionStage (and VersionId), and errors carry the API's error code,
never a value.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from redis_rotation.binding import BINDING_FIELDS, Binding
from redis_rotation.errors import CredentialsSecretError, RotationStateError, SecretFormatError
from redis_rotation.secret import RedisSecret, load_json_object, parse_secret, validate

if TYPE_CHECKING:
    from botocore.exceptions import ClientError
    from mypy_boto3_secretsmanager import SecretsManagerClient

    from redis_rotation.passwords import PasswordPolicy

CURRENT, PENDING, PREVIOUS = "AWSCURRENT", "AWSPENDING", "AWSPREVIOUS"

Stages = Mapping[str, list[str]]


@dataclass(frozen=True)
class Credentials:
    """A credentials secret: the API keys, and the keys' owner's binding for them."""

    secret_id: str
    keys: Mapping[str, str] = field(repr=False)
    binding: Binding


def error_code(exc: ClientError) -> str:
    """The API's error code of a botocore ClientError (its message may quote a value)."""
    return str(exc.response.get("Error", {}).get("Code", "Unknown"))


def version_with(stages: Stages, stage: str) -> str | None:
    """The version holding ``stage``, if any."""
    return next((version for version, labels in stages.items() if stage in labels), None)


def carried_token(token: str) -> str:
    """The version id of an edited AWSCURRENT carried forward by the rotation ``token``."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"redis-rotation:{token}"))


def label(secret_id: str, stage: str) -> str:
    """How errors name a version of a secret."""
    return f"secret {secret_id} ({stage})"


class SecretStore:
    """One secret store over one Secrets Manager client (injected: moto, AWS or a fake)."""

    def __init__(self, client: SecretsManagerClient, logger: logging.Logger | Any = None) -> None:
        self.client = client
        self.log = logger or logging.getLogger(__name__)

    def describe(self, secret_id: str) -> Mapping[str, Any]:
        from botocore.exceptions import ClientError

        try:
            return self.client.describe_secret(SecretId=secret_id)
        except ClientError as exc:
            raise RotationStateError(
                f"cannot describe secret {secret_id}: {error_code(exc)}"
            ) from None

    def read(
        self,
        secret_id: str,
        stage: str,
        version_id: str | None = None,
        *,
        tolerate_invalid: bool = False,
    ) -> RedisSecret | None:
        """The version's value, or None if it has none. Always names the stage (and version)."""
        found = self.read_version(secret_id, stage, version_id, tolerate_invalid=tolerate_invalid)
        return None if found is None else found[1]

    def read_version(
        self,
        secret_id: str,
        stage: str,
        version_id: str | None = None,
        *,
        tolerate_invalid: bool = False,
    ) -> tuple[str, RedisSecret] | None:
        """``read``, with the id of the version read ("" if the answer names none)."""
        from botocore.exceptions import ClientError

        request: dict[str, Any] = {"SecretId": secret_id, "VersionStage": stage}
        if version_id is not None:
            request["VersionId"] = version_id
        try:
            response = self.client.get_secret_value(**request)
        except ClientError as exc:
            code = error_code(exc)
            if code == "ResourceNotFoundException":
                return None
            raise RotationStateError(f"cannot read {stage} of secret {secret_id}: {code}") from None
        try:
            value = parse_secret(response.get("SecretString"), label(secret_id, stage))
        except SecretFormatError:
            if tolerate_invalid:
                self.log.warning("ignoring a malformed version", extra={"stage": stage})
                return None
            raise
        return str(response.get("VersionId") or version_id or ""), value

    def read_required(
        self, secret_id: str, stage: str, version_id: str | None = None
    ) -> RedisSecret:
        secret = self.read(secret_id, stage, version_id)
        if secret is None:
            raise RotationStateError(f"secret {secret_id}: {stage} has no value")
        return secret

    def old_passwords(self, secret_id: str, current: RedisSecret) -> Iterator[tuple[str, str]]:
        """(stage, password) the instance may have now, for a change that needs it."""
        yield CURRENT, current.password
        previous = self.read(secret_id, PREVIOUS, tolerate_invalid=True)
        if previous is not None and previous.password != current.password:
            yield PREVIOUS, previous.password

    def random_password(self, policy: PasswordPolicy, length: int) -> str:
        return policy.generate(self.client, length)

    def put_pending(
        self, secret_id: str, token: str, value: RedisSecret, rotation_token: str | None
    ) -> None:
        request: dict[str, Any] = {
            "SecretId": secret_id,
            "ClientRequestToken": token,
            "SecretString": value.to_json(),
            "VersionStages": [PENDING],
        }
        if rotation_token:
            request["RotationToken"] = rotation_token
        self.client.put_secret_value(**request)

    def move_stage(
        self, secret_id: str, stage: str, to_version: str | None, from_version: str | None
    ) -> None:
        """Put ``stage`` on ``to_version`` and/or take it off ``from_version`` (the rotation's
        AWSCURRENT move, repair's label moves). A ClientError is the caller's to read."""
        request: dict[str, Any] = {"SecretId": secret_id, "VersionStage": stage}
        if to_version is not None:
            request["MoveToVersionId"] = to_version
        if from_version is not None:
            request["RemoveFromVersionId"] = from_version
        self.client.update_secret_version_stage(**request)

    def versions(self, secret_id: str) -> list[Mapping[str, Any]]:
        """ListSecretVersionIds' first page (100 versions; Secrets Manager keeps about that
        many): version ids, stages and creation dates."""
        answer = self.client.list_secret_version_ids(SecretId=secret_id, MaxResults=100)
        return list(answer.get("Versions", []))

    def carry_edit(self, secret_id: str, token: str, value: RedisSecret) -> None:
        """finishSecret after an edit of AWSCURRENT: ``value`` (the edit, with the new
        password) becomes a new AWSCURRENT version (AWSPREVIOUS follows to the one it
        leaves), and AWSPENDING leaves ``token``'s version: AWS does not take it off, and
        would refuse every later rotation. A retry finds the same state and repeats both."""
        self.client.put_secret_value(
            SecretId=secret_id,
            ClientRequestToken=carried_token(token),
            SecretString=value.to_json(),
            VersionStages=[CURRENT],
        )
        self.move_stage(secret_id, PENDING, None, token)

    def still_pending(self, secret_id: str, token: str) -> bool:
        """Whether ``token``'s version still holds AWSPENDING (a fresh DescribeSecret)."""
        stages = self.describe(secret_id).get("VersionIdsToStages", {})
        return PENDING in stages.get(token, ())

    def load_credentials(self, secret_id: str, schema_name: str) -> Credentials:
        """The provider's API keys and their binding from their own secret, validated
        against ``schema_name``."""
        from botocore.exceptions import ClientError

        name = f"credentials secret {secret_id}"
        try:
            response = self.client.get_secret_value(SecretId=secret_id, VersionStage=CURRENT)
        except ClientError as exc:
            raise CredentialsSecretError(f"cannot read {name}: {error_code(exc)}") from None
        try:
            document = load_json_object(response.get("SecretString"), name)
            validate(document, schema_name, name)
            binding = Binding.of(document, name)
        except SecretFormatError as exc:
            raise CredentialsSecretError(str(exc)) from None
        keys = {k: str(v) for k, v in document.items() if k not in BINDING_FIELDS}
        return Credentials(secret_id, keys, binding)
