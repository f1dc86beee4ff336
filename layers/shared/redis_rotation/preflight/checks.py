"""``python -m redis_rotation.preflight <secret-id>``: is this secret ready to be rotated?

Run it before turning rotation on, from where the rotation function runs (the same network
path to the provider's API and to Redis), with the usual AWS credential chain. It reads and
asks, and changes nothing: DescribeSecret and GetSecretValue on the secret and on its
credentials secret, the provider's describe call, and Redis AUTH + PING with the current
password. Each check prints a verdict; the exit status is 1 if any check failed.

The checks are the rotation's own pieces (the engine's reads, the provider's describe and
password policy, the Redis check), so a secret that passes here fails a rotation only for
what can change in between. Printed text names secrets, fields and codes, never a value.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from redis_rotation.config import Settings
from redis_rotation.entrypoint import open_session, provider_of, secrets_manager_client
from redis_rotation.errors import RotationError
from redis_rotation.polling import Deadline, Runtime
from redis_rotation.redis_check import Level
from redis_rotation.store import CURRENT, PENDING, SecretStore

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

    from redis_rotation.providers.base import Provider
    from redis_rotation.secret import RedisSecret
    from redis_rotation.session import RotationSession

Verdict = Literal["PASS", "WARN", "FAIL", "SKIP"]
# A Tencent secret that relies on the default API, which 0.3.0 changed.
UNPINNED_API = (
    '; no "apiVersion": Tencent API 3.0 is used (the default since 0.3.0; before, 2.0): '
    'add "apiVersion": "3.0", or "2.0" if the account still has it'
)
DEFAULT_TIMEOUT = 60.0


@dataclass(frozen=True)
class Check:
    name: str
    verdict: Verdict
    detail: str


class Preflight:
    """Runs the checks in order; a check whose input is missing is skipped, not failed."""

    def __init__(
        self,
        secret_id: str,
        *,
        client: SecretsManagerClient,
        env: Mapping[str, str],
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.secret_id = secret_id
        self.client = client
        self.settings = Settings.from_env(env)
        self.deadline = Deadline.after(Runtime(), timeout)
        self.store = SecretStore(client, logging.getLogger(__name__))

    def _session(self, name: str, metadata: Mapping[str, Any]) -> RotationSession:
        return open_session(
            name,
            metadata,
            client=self.client,
            settings=self.settings,
            deadline=self.deadline,
            logger=logging.getLogger(__name__),
        )

    def run(self) -> Iterator[Check]:
        try:
            metadata = self.store.describe(self.secret_id)
            current = self.store.read(self.secret_id, CURRENT)
            if current is None:
                raise RotationError(f"secret {self.secret_id} has no AWSCURRENT value")
        except RotationError as exc:
            yield Check("secret", "FAIL", str(exc))
            for name in ("rotation", "credentials", "binding", "instance", "policy", "auth"):
                yield Check(name, "SKIP", "needs a valid secret")
            return
        endpoints = len(current.endpoints)
        unpinned = current.provider == "tencent" and current.get("apiVersion") is None
        yield Check(
            "secret",
            "WARN" if unpinned else "PASS",
            f"AWSCURRENT matches the schema: provider {current.provider}, instance "
            f"{current.instance_id}, {endpoints} endpoint{'s' if endpoints > 1 else ''}"
            f"{UNPINNED_API if unpinned else ''}",
        )
        yield self._rotation(metadata)
        session = self._session(provider_of(metadata, current), metadata)
        credentials = self._credentials(session.factory.credentials_schema, current)
        yield credentials
        binding = (
            self._binding(session, current)
            if credentials.verdict != "FAIL"
            else Check("binding", "SKIP", "needs the credentials secret")
        )
        yield binding
        # Keys and passwords go only where the binding allows: nothing is sent otherwise.
        # The provider gets keys only for a secret the gate admitted; without, it can still
        # name the password policy.
        admitted = binding.verdict == "PASS"
        provider = session.provider(current if admitted else None)
        instance = (
            self._instance(provider, current)
            if admitted
            else Check("instance", "SKIP", "needs a binding that allows this secret")
        )
        yield instance
        yield self._policy(provider, current)
        if instance.verdict in ("PASS", "WARN"):
            yield from self._auth(session, current)
        else:
            yield Check("auth", "SKIP", "needs an instance that the binding allows and exists")

    def _rotation(self, metadata: Mapping[str, Any]) -> Check:
        stages: Mapping[str, list[str]] = metadata.get("VersionIdsToStages", {})
        unfinished = [v for v, s in stages.items() if PENDING in s and CURRENT not in s]
        enabled = metadata.get("RotationEnabled", False)
        state = (
            f"enabled, function {metadata.get('RotationLambdaARN', '(none)')}"
            if enabled
            else "not enabled yet"
        )
        key = metadata.get("KmsKeyId")
        encryption = (
            f"; encrypted with {key}: the stack's KmsKeyArn must name this key"
            if key
            else "; encrypted with aws/secretsmanager"
        )
        if unfinished:
            return Check(
                "rotation",
                "WARN",
                f"{state}; version {unfinished[0]} still holds AWSPENDING from an unfinished "
                "rotation: the next rotation resumes it (or remove the label with "
                "update-secret-version-stage)" + encryption,
            )
        return Check("rotation", "PASS", f"{state}; no unfinished rotation{encryption}")

    def _credentials(self, schema: str, current: RedisSecret) -> Check:
        try:
            self.store.load_credentials(current.credentials_secret_id, schema)
        except RotationError as exc:
            return Check("credentials", "FAIL", str(exc))
        return Check(
            "credentials",
            "PASS",
            f"credentials secret {current.credentials_secret_id} matches {schema}",
        )

    def _binding(self, session: RotationSession, current: RedisSecret) -> Check:
        try:
            session.gate.admit(current)
        except RotationError as exc:
            return Check("binding", "FAIL", str(exc))
        return Check(
            "binding",
            "PASS",
            f"credentials secret {current.credentials_secret_id} grants this secret instance "
            f"{current.instance_id}",
        )

    def _instance(self, provider: Provider, current: RedisSecret) -> Check:
        # The version the next setSecret changes: alternating, the other account's.
        subject = current.next_version(current.password, current.label)
        try:
            status = provider.inspect(subject).status
        except RotationError as exc:
            return Check("instance", "FAIL", str(exc))
        name = f"{current.provider} instance {current.instance_id}"
        if not status.described:
            return Check(
                "instance",
                "WARN",
                f"{name}: this API has no call that reads without changing ({status.detail}); "
                "its state and the API keys are first checked by setSecret",
            )
        if status.note and status.ready:
            return Check("instance", "WARN", f"{name}: {status.detail}; {status.note}")
        if status.ready:
            return Check("instance", "PASS", f"{name}: {status.detail}, may be changed now")
        if status.busy:
            return Check(
                "instance",
                "WARN",
                f"{name}: {status.detail}; a workflow runs, a rotation would wait for it",
            )
        return Check("instance", "FAIL", f"{name} cannot be changed in state '{status.detail}'")

    def _policy(self, provider: Provider, current: RedisSecret) -> Check:
        try:
            policy = provider.policy(current)
            length = policy.length(self.settings.password_length)
        except RotationError as exc:
            return Check("policy", "FAIL", str(exc))
        return Check("policy", "PASS", f"new passwords: {length} characters, rule {policy.name}")

    def _auth(self, session: RotationSession, current: RedisSecret) -> Iterator[Check]:
        try:
            # Where the password may go: the instance's addresses, or the grant's.
            session.admit(current)
        except RotationError as exc:
            yield Check("auth", "FAIL", str(exc))
            return
        tls = "TLS" if current.tls.enabled else "no TLS"
        for endpoint in current.endpoints:
            name = f"auth {endpoint}"
            try:
                accepted = session.proof.proves(current, Level.FULL, endpoint)
            except RotationError as exc:
                yield Check(name, "FAIL", str(exc))
                continue
            if accepted:
                yield Check(
                    name,
                    "PASS",
                    f"accepts the AWSCURRENT password and refuses a wrong one and none ({tls})",
                )
            else:
                yield Check(
                    name,
                    "FAIL",
                    "refuses the AWSCURRENT password, or accepts clients that send none (a "
                    "password-free instance): set the instance's password to the AWSCURRENT "
                    "value, or turn password authentication on",
                )


def run_checks(
    secret_id: str,
    *,
    client: SecretsManagerClient | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[Check]:
    """Every check of ``secret_id``, in order. Never raises for what it finds."""
    try:
        preflight = Preflight(
            secret_id,
            client=client or secrets_manager_client(),
            env=os.environ if env is None else env,
            timeout=timeout,
        )
    except RotationError as exc:  # a bad setting, e.g. PASSWORD_LENGTH
        return [Check("settings", "FAIL", str(exc))]
    return list(preflight.run())
