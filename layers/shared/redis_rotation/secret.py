"""The rotated secret: a typed, read-only view of a value the schema validated
(``redis_rotation.validation``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from redis_rotation.errors import SecretFormatError
from redis_rotation.validation import MAX_SECRET_BYTES, load_json_object, secret_schema, validate

# Re-exported: callers read the schema through the secret module.
__all__ = [
    "MAX_SECRET_BYTES",
    "Endpoint",
    "RedisSecret",
    "load_json_object",
    "parse_secret",
    "secret_schema",
    "validate",
]

PROVIDERS = ("uredis", "tencent", "elasticache", "alibaba")
INSTANCE_FIELDS = ("groupId", "spaceId", "instanceId", "userId", "replicationGroupId")
# ElastiCache ids are named by kind, as in their ARNs: a grant for the group "orders" must not
# admit the user "orders".
INSTANCE_KINDS = {"userId": "user:", "replicationGroupId": "replicationgroup:"}


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class TlsSettings:
    enabled: bool = True
    verify: bool = True
    ca_certificate: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class RedisSecret:
    """A validated secret. ``data`` is the JSON object as stored; repr never shows it."""

    label: str
    data: Mapping[str, Any] = field(repr=False)

    @property
    def provider(self) -> str:
        return str(self.data["provider"])

    @property
    def password(self) -> str:
        return str(self.data["password"])

    @property
    def username(self) -> str | None:
        value = self.data.get("username")
        return None if value is None else str(value)

    @property
    def region(self) -> str:
        return str(self.data["region"])

    @property
    def credentials_secret_id(self) -> str:
        return str(self.data["credentialsSecretId"])

    @property
    def api_endpoint(self) -> str | None:
        value = self.data.get("apiEndpoint")
        return None if value is None else str(value)

    @property
    def instance_field(self) -> str:
        """The field that names the instance: URedis groupId or spaceId, Tencent instanceId
        (the schema admits exactly one per secret)."""
        return next((f for f in INSTANCE_FIELDS if f in self.data), INSTANCE_FIELDS[0])

    @property
    def instance_id(self) -> str:
        """The provider's id of the instance, from ``instance_field``."""
        field = self.instance_field
        return INSTANCE_KINDS.get(field, "") + str(self.data.get(field))

    @property
    def account(self) -> str | None:
        """The Tencent custom account of this password; None: the default account."""
        value = self.data.get("account")
        return None if value is None else str(value)

    @property
    def alternating(self) -> bool:
        return self.data.get("strategy") == "alternating"

    @property
    def accounts(self) -> tuple[str, ...]:
        """The two accounts an alternating secret takes turns with (else empty)."""
        return tuple(str(a) for a in self.data.get("accounts", ()))

    @property
    def create_missing_account(self) -> bool:
        return self.data.get("createMissingAccount") is True

    def other_account(self) -> str:
        """Of the alternating pair, the account this version does not use."""
        (other,) = (a for a in self.accounts if a != self.account)
        return other

    def auth(self, password: str) -> tuple[str | None, str]:
        """(username, password) for AUTH with ``password``. A custom account sends one
        argument, as each provider documents: Tencent ``<account>@<password>``, Alibaba
        ``<account>:<password>``."""
        if self.account is not None:
            separator = ":" if self.provider == "alibaba" else "@"
            return None, f"{self.account}{separator}{password}"
        return self.username, password

    def get(self, name: str, default: str | None = None) -> str | None:
        value = self.data.get(name, default)
        return None if value is None else str(value)

    @property
    def endpoints(self) -> tuple[Endpoint, ...]:
        primary = Endpoint(str(self.data["host"]), int(self.data["port"]))
        extra = tuple(
            Endpoint(str(e["host"]), int(e["port"])) for e in self.data.get("readOnlyEndpoints", [])
        )
        return (primary, *extra)

    @property
    def tls(self) -> TlsSettings:
        raw = self.data.get("tls", {})
        return TlsSettings(
            enabled=bool(raw.get("enabled", True)),
            verify=bool(raw.get("verify", True)),
            ca_certificate=raw.get("caCertificate"),
        )

    def edited_field(self, other: RedisSecret) -> str | None:
        """The first field but the password (and, alternating, the account: it changes with
        each version) on which ``other`` differs, or None."""
        rotating = {"password", "account"} if self.alternating else {"password"}
        for name in sorted(set(self.data) | set(other.data)):
            if name not in rotating and self.data.get(name) != other.data.get(name):
                return name
        return None

    def require_provider(self, name: str) -> None:
        """Refuse a secret of another provider than the function's own ``name``."""
        if self.provider != name:
            raise SecretFormatError(
                self.label, "provider", f"is '{self.provider}' but this function rotates '{name}'"
            )

    def with_password(self, password: str, label: str) -> RedisSecret:
        return RedisSecret(label=label, data={**self.data, "password": password})

    def with_password_of(self, other: RedisSecret, label: str) -> RedisSecret:
        """This version with ``other``'s password, and, if ``other`` alternates, its account
        (the password belongs to that account)."""
        data = {**self.data, "password": other.password}
        if other.alternating and other.account is not None:
            data["account"] = other.account
        return RedisSecret(label=label, data=data)

    def next_version(self, password: str, label: str) -> RedisSecret:
        """The next version createSecret writes: a new password, for the other account of
        an alternating pair."""
        data = {**self.data, "password": password}
        if self.alternating:
            data["account"] = self.other_account()
        return RedisSecret(label=label, data=data)

    def to_json(self) -> str:
        return json.dumps(dict(self.data), separators=(",", ":"), sort_keys=True)


def parse_secret(secret_string: str | None, label: str) -> RedisSecret:
    document = load_json_object(secret_string, label)
    validate(document, "secret.schema.json", label)
    # What JSON Schema cannot say: an alternating secret's account is one of its pair.
    alternating = document.get("strategy") == "alternating"
    if alternating and document["account"] not in document["accounts"]:
        raise SecretFormatError(label, "account", "must be one of 'accounts'")
    return RedisSecret(label=label, data=document)
