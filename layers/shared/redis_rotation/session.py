"""One secret, for one invocation (or one tool run): everything a step or a tool acts
through, built in one place (``RotationSession.open``) and passed down, never reached into.

It owns the store (the only Secrets Manager code), the gate (admits a secret; each
credentials secret is loaded once), the provider (built only after the gate admitted a
secret, with that secret's keys) and the Redis proof. A warm Lambda process passes in its
caches (``redis_rotation.warm``), so that a rotation reads each version and each
credentials secret once, not once per step.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from redis_rotation.errors import RedisUnreachableError, RotationStateError
from redis_rotation.gate import Gate
from redis_rotation.providers.base import Provider, ProviderContext, ProviderFactory
from redis_rotation.redis_check import Level, Proof
from redis_rotation.seams import DEFAULT_SEAMS, Seams
from redis_rotation.store import CURRENT, PENDING, PREVIOUS, SecretStore, version_with

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

    from redis_rotation.binding import Grant
    from redis_rotation.config import Settings
    from redis_rotation.event import RotationEvent
    from redis_rotation.polling import Deadline
    from redis_rotation.providers.base import Inspection
    from redis_rotation.secret import RedisSecret
    from redis_rotation.warm import CredentialsCache, VersionCache


@dataclass
class Versions:
    """AWSCURRENT and the event's AWSPENDING, each read once; each admitted by the gate
    once, when a step first asks for it."""

    secret_id: str
    current: RedisSecret | None
    pending: RedisSecret | None
    gate: Gate
    grants: dict[str, Grant] = field(default_factory=dict)

    def admitted(self, stage: str) -> tuple[RedisSecret, Grant]:
        """The version labelled ``stage`` (AWSCURRENT or AWSPENDING) and its grant."""
        secret = self.current if stage == CURRENT else self.pending
        if secret is None:
            raise RotationStateError(f"secret {self.secret_id}: {stage} has no value")
        if stage not in self.grants:
            self.grants[stage] = self.gate.admit(secret)
        return secret, self.grants[stage]


class RotationSession:
    """See the module. Build it with ``open``."""

    def __init__(
        self,
        *,
        provider_name: str,
        factory: ProviderFactory,
        store: SecretStore,
        gate: Gate,
        proof: Proof,
        metadata: Mapping[str, Any],
        settings: Settings,
        deadline: Deadline,
        seams: Seams,
        known: VersionCache | None = None,
    ) -> None:
        self.provider_name = provider_name
        self.factory = factory
        self.store = store
        self.gate = gate
        self.proof = proof
        self.metadata = metadata
        self.settings = settings
        self.deadline = deadline
        self.seams = seams
        self.log = store.log
        # (secret ARN, version id) -> value: a version's value never changes.
        self.known: VersionCache = {} if known is None else known
        # By credentials secret: a provider holds the keys of one ("" for none).
        self._providers: dict[str, Provider] = {}

    @classmethod
    def open(
        cls,
        secret_id: str,
        *,
        provider_name: str,
        factory: ProviderFactory,
        client: SecretsManagerClient,
        settings: Settings,
        deadline: Deadline,
        logger: logging.Logger | Any | None = None,
        seams: Seams = DEFAULT_SEAMS,
        metadata: Mapping[str, Any] | None = None,
        credentials: CredentialsCache | None = None,
        known: VersionCache | None = None,
    ) -> RotationSession:
        """The session of ``secret_id`` (DescribeSecret'd here unless ``metadata`` is given:
        its name and ARN are the secret's identity in the keys' owner's grants).
        ``credentials``: a cache shared across sessions, so that each credentials secret
        is read once (status, a warm process). ``known``: versions' values, likewise."""
        store = SecretStore(client, logger or logging.getLogger(__name__))
        metadata = store.describe(secret_id) if metadata is None else metadata
        return cls(
            provider_name=provider_name,
            factory=factory,
            store=store,
            gate=Gate.of(store, provider_name, factory.credentials_schema, metadata, credentials),
            proof=Proof(settings.redis_timeouts, seams.redis),
            metadata=metadata,
            settings=settings,
            deadline=deadline,
            seams=seams,
            known=known,
        )

    def versions(self, event: RotationEvent) -> Versions:
        """AWSCURRENT and the event's AWSPENDING (None where a version has no value), each
        from ``known`` when this step's DescribeSecret shows it on a version read before."""
        stages = self.metadata.get("VersionIdsToStages", {})
        current = self._read(event.secret_id, CURRENT, version_with(stages, CURRENT))
        pending = self._read(event.secret_id, PENDING, event.token, name_version=True)
        return Versions(event.secret_id, current, pending, self.gate)

    def replaced(self, event: RotationEvent) -> RedisSecret | None:
        """The version this rotation's promotion replaces: AWSCURRENT's before finishSecret
        moves the label, AWSPREVIOUS's after (as this step's DescribeSecret shows them)."""
        stages = self.metadata.get("VersionIdsToStages", {})
        moved = CURRENT in stages.get(event.token, ())
        stage = PREVIOUS if moved else CURRENT
        return self._read(event.secret_id, stage, version_with(stages, stage), name_version=moved)

    def _read(
        self, secret_id: str, stage: str, version_id: str | None, *, name_version: bool = False
    ) -> RedisSecret | None:
        arn = self.gate.arn
        cached = self.known.get((arn, version_id)) if arn and version_id else None
        if cached is not None:
            return cached
        # AWSCURRENT by its label alone, as AWS's templates read it: an edit made since the
        # describe is seen, and kept under the version id the answer names.
        found = self.store.read_version(secret_id, stage, version_id if name_version else None)
        if found is None:
            return None
        read_id, value = found
        if arn and read_id:
            self.known[(arn, read_id)] = value
        return value

    def put_pending(self, event: RotationEvent, value: RedisSecret) -> None:
        """Store ``value`` as the event's AWSPENDING (then known: it cannot change)."""
        self.store.put_pending(event.secret_id, event.token, value, event.rotation_token)
        if self.gate.arn:
            self.known[(self.gate.arn, event.token)] = value

    def provider(self, secret: RedisSecret | None) -> Provider:
        """The provider, with the API keys of ``secret``, which the gate must have admitted
        (keys reach a provider only this way). None: a provider without keys, which can
        name its password policy but call nothing (preflight, for a secret not admitted)."""
        keys = self.gate.keys(secret) if secret is not None else {}
        key = secret.credentials_secret_id if secret is not None else ""
        if key not in self._providers:
            self._providers[key] = self.factory(
                ProviderContext(
                    settings=self.settings,
                    deadline=self.deadline,
                    transport=self.seams.http(
                        self.provider_name, self.settings.http_timeout, self.deadline
                    ),
                    keys=keys,
                    aws_client=self.seams.aws_client,
                )
            )
        return self._providers[key]

    def clear_addresses(self, secret: RedisSecret, grant: Grant) -> Inspection | None:
        """Raise unless every address ``secret`` would send a password to is allowed by the
        grant or reported by the provider (asked only when the grant is not enough).
        Returns the provider's inspection, when one was made."""
        return self.gate.check_addresses(secret, grant, self.provider(secret))

    def accepts(self, version: RedisSecret, level: Level) -> bool:
        """Whether the primary proves ``version`` now; unreachable counts as "not yet" (a
        later attempt asks again)."""
        try:
            return self.proof.proves(version, level)
        except RedisUnreachableError:
            return False

    def admit(self, secret: RedisSecret) -> Grant:
        """For the tools: the grant that lets this secret act as ``secret`` says, with every
        address it would send a password to allowed."""
        grant = self.gate.admit(secret)
        self.clear_addresses(secret, grant)
        return grant
