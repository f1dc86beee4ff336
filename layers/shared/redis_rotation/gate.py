"""The gate every rotated secret passes before the function acts on it: the right
provider, a grant of the keys' owner for this secret and its instance, an API endpoint the
owner lists, and Redis addresses the provider reports or the owner allows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from redis_rotation import observability
from redis_rotation.binding import Grant, check_addresses
from redis_rotation.errors import NotPermittedError
from redis_rotation.warm import CredentialsCache

if TYPE_CHECKING:
    from redis_rotation.providers.base import Inspection, Provider
    from redis_rotation.secret import RedisSecret
    from redis_rotation.store import Credentials, SecretStore

__all__ = ["CredentialsCache", "Gate"]


@dataclass
class Gate:
    """For one invocation: ``name`` and ``arn`` are the rotated secret's, as DescribeSecret
    gives them (the secret's value cannot change them). ``loaded`` may be shared across the
    gates of many secrets (status), so that each credentials secret is read once."""

    store: SecretStore
    provider_name: str
    credentials_schema: str
    name: str
    arn: str
    # Keyed by (credentials secret id, schema): the same secret read against another
    # provider's schema is another entry, validated on its own.
    loaded: CredentialsCache = field(default_factory=dict)
    # Credentials secrets named by a secret this gate admitted: only their keys go out.
    admitted: set[str] = field(default_factory=set)
    # Credentials read from Secrets Manager by this gate (not served by a warm cache).
    read: set[tuple[str, str]] = field(default_factory=set)

    @classmethod
    def of(
        cls,
        store: SecretStore,
        provider_name: str,
        credentials_schema: str,
        metadata: Mapping[str, Any],
        loaded: CredentialsCache | None = None,
    ) -> Gate:
        """The gate of provider ``provider_name`` for the secret DescribeSecret described."""
        return cls(
            store,
            provider_name,
            credentials_schema,
            str(metadata.get("Name", "")),
            str(metadata.get("ARN", "")),
            {} if loaded is None else loaded,
        )

    def credentials(self, secret_id: str, *, fresh: bool = False) -> Credentials:
        key = (secret_id, self.credentials_schema)
        # One lookup: an entry of a timed cache may expire between two.
        found = None if fresh else self.loaded.get(key)
        if found is None:
            found = self.store.load_credentials(secret_id, self.credentials_schema)
            self.loaded[key] = found
            self.read.add(key)
        return found

    def keys(self, secret: RedisSecret) -> Mapping[str, str]:
        """The API keys of a secret that passed ``admit``, for its provider."""
        if secret.credentials_secret_id not in self.admitted:
            raise NotPermittedError(f"{secret.label}: not admitted; no API keys given")
        return self.credentials(secret.credentials_secret_id).keys

    def admit(self, secret: RedisSecret) -> Grant:
        """Raise unless the keys' owner allows this secret to act as its value says."""
        observability.bind(instance_id=secret.instance_id)
        secret.require_provider(self.provider_name)
        secret_id = secret.credentials_secret_id
        try:
            grant = self._grant(self.credentials(secret_id), secret)
        except NotPermittedError:
            # A warm cache may predate a grant the owner has just added: only a refusal on
            # this invocation's own read is final (a revoked grant holds within the bound).
            if (secret_id, self.credentials_schema) in self.read:
                raise
            grant = self._grant(self.credentials(secret_id, fresh=True), secret)
        self.admitted.add(secret_id)
        return grant

    def _grant(self, credentials: Credentials, secret: RedisSecret) -> Grant:
        grant = credentials.binding.grant_for(self.name, self.arn, secret, credentials.secret_id)
        credentials.binding.check_api_endpoint(secret, credentials.secret_id)
        return grant

    @staticmethod
    def check_addresses(secret: RedisSecret, grant: Grant, provider: Provider) -> Inspection | None:
        """Before any password goes to Redis: every address is allowed by the grant or the
        instance's as the provider reports it (asked only when the grant is not enough).
        Returns the inspection, when one was made."""
        try:
            check_addresses(secret, grant, None)
        except NotPermittedError:
            inspection = provider.inspect(secret)
            check_addresses(secret, grant, inspection.addresses)
            return inspection
        return None
