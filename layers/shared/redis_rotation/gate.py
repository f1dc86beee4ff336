"""The gate every rotated secret passes before the function acts on it: the right
provider, a grant of the keys' owner for this secret and its instance, an API endpoint the
owner lists, and Redis addresses the provider reports or the owner allows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from redis_rotation import observability
from redis_rotation.binding import Grant, check_addresses

if TYPE_CHECKING:
    from redis_rotation.providers.base import Provider
    from redis_rotation.secret import RedisSecret
    from redis_rotation.store import Credentials, SecretStore


@dataclass
class Gate:
    """For one invocation: ``name`` and ``arn`` are the rotated secret's, as DescribeSecret
    gives them (the secret's value cannot change them)."""

    store: SecretStore
    provider_name: str
    credentials_schema: str
    name: str
    arn: str
    # (credentials secret id, schema) -> its keys: the same secret read against another
    # provider's schema is another entry, validated on its own.
    _loaded: dict[tuple[str, str], Credentials] = field(default_factory=dict)

    @classmethod
    def of(
        cls, store: SecretStore, name: str, provider: Provider, metadata: Mapping[str, Any]
    ) -> Gate:
        """The gate of ``provider`` (named ``name``) for the secret DescribeSecret described."""
        return cls(
            store,
            name,
            provider.credentials_schema,
            str(metadata.get("Name", "")),
            str(metadata.get("ARN", "")),
        )

    def share_credentials(self, cache: dict[tuple[str, str], Credentials]) -> None:
        """Read each credentials secret once across the gates of many secrets (status)."""
        self._loaded = cache

    def credentials(self, secret_id: str) -> Credentials:
        key = (secret_id, self.credentials_schema)
        if key not in self._loaded:
            self._loaded[key] = self.store.load_credentials(secret_id, self.credentials_schema)
        return self._loaded[key]

    def keys(self, secret_id: str, _schema: str) -> Mapping[str, str]:
        """The API keys, for a provider: only of a secret that passed ``admit``."""
        return self.credentials(secret_id).keys

    def admit(self, secret: RedisSecret) -> Grant:
        """Raise unless the keys' owner allows this secret to act as its value says."""
        observability.bind(instance_id=secret.instance_id)
        secret.require_provider(self.provider_name)
        credentials = self.credentials(secret.credentials_secret_id)
        grant = credentials.binding.grant_for(self.name, self.arn, secret, credentials.secret_id)
        credentials.binding.check_api_endpoint(secret, credentials.secret_id)
        return grant

    def check_addresses(self, provider: Provider, secret: RedisSecret, grant: Grant) -> None:
        """Before any password goes to Redis: every address is the instance's (as the
        provider reports it) or allowed by the grant."""
        check_addresses(secret, grant, provider.addresses(secret))
