"""The rotated secret: JSON Schema validation and a typed, read-only view of it.
Validation errors name the field and the rule, never the value (it may be a password):
fastjsonschema's own exception carries it (``.value``), so it is never chained or logged.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from redis_rotation.errors import SecretFormatError

PROVIDERS = ("uredis", "tencent", "elasticache", "alibaba")
INSTANCE_FIELDS = ("groupId", "spaceId", "instanceId", "userId", "replicationGroupId")
# ElastiCache ids are named by kind, as in their ARNs: a grant for the group "orders" must not
# admit the user "orders".
INSTANCE_KINDS = {"userId": "user:", "replicationGroupId": "replicationgroup:"}

# A secret value is at most 64 KiB in Secrets Manager; refuse anything larger before parsing.
MAX_SECRET_BYTES = 65536


@cache
def _schema(name: str) -> dict[str, Any]:
    text = resources.files("redis_rotation.schemas").joinpath(name).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator(name: str) -> Any:
    # Imported here: compiling is only needed by the steps that read a secret.
    import fastjsonschema

    return fastjsonschema.compile(_schema(name))


def secret_schema() -> dict[str, Any]:
    """The JSON Schema of a rotated secret (also rendered in the README)."""
    return _schema("secret.schema.json")


def _node_at(instance: Any, parts: list[Any]) -> Any:
    """The value at a fastjsonschema path (array items are named by their index text)."""
    node = instance
    for part in parts:
        if isinstance(node, list) and str(part).isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            return None
    return node


def _bad_key(rule: str, definition: Any, node: Any) -> tuple[str | None, str] | None:
    """For a rule about an object's keys: (the key to name, problem). Keys are field names,
    not secret values, so they may be shown."""
    if not isinstance(node, dict):
        return None
    if rule == "required":
        missing = [k for k in definition.get("required", []) if k not in node]
        return (missing[0] if missing else None), "is required"
    if rule == "additionalProperties":
        known = set(definition.get("properties", {}))
        extra = sorted(str(k) for k in node if k not in known)
        return (extra[0] if extra else None), "is not a known field"
    return None


_BOUNDS = ("minLength", "maxLength", "minimum", "maximum", "maxItems", "minItems")


def _problem(rule: str, definition: Any) -> str:
    """What a value breaks, in words that never quote it."""
    if definition is False:
        return "is not allowed for this provider"
    if isinstance(definition, dict) and "errorMessage" in definition:
        # A cross-field rule of the schema says itself what is wrong.
        return str(definition["errorMessage"])
    if rule == "type":
        return f"must be of type {definition.get('type')}"
    if rule == "enum":
        return f"must be one of {definition.get('enum')}"
    if rule in _BOUNDS:
        return f"breaks {rule}={definition.get(rule)}"
    if rule == "pattern":
        return "has characters or a form that is not allowed"
    if rule == "uniqueItems":
        return "must not name the same value twice"
    return f"breaks the schema rule '{rule}'"


def _describe(exc: Any, instance: Any) -> tuple[str, str]:
    """Turn a fastjsonschema error into (field path, problem) without the offending value."""
    parts = list(exc.path[1:])
    path = ".".join(str(p) for p in parts)
    key = _bad_key(exc.rule, exc.definition, _node_at(instance, parts))
    if key is not None:
        name, problem = key
        return (f"{path}.{name}" if path else name) if name else path, problem
    return path, _problem(exc.rule, exc.definition)


def validate(document: Any, schema_name: str, label: str) -> None:
    """Raise SecretFormatError naming the first bad field of ``document``."""
    import fastjsonschema

    try:
        _validator(schema_name)(document)
    except fastjsonschema.JsonSchemaValueException as exc:
        field_path, problem = _describe(exc, document)
        raise SecretFormatError(label, field_path, problem) from None
    except RecursionError:
        # A document nested just short of the parser's limit can exhaust the stack here.
        raise SecretFormatError(label, "", "is nested too deeply") from None


def load_json_object(secret_string: str | None, label: str) -> dict[str, Any]:
    """Parse a SecretString into a JSON object, with errors that never quote it."""
    if secret_string is None:
        raise SecretFormatError(label, "", "has no SecretString (binary secrets are not supported)")
    if len(secret_string.encode("utf-8", "surrogatepass")) > MAX_SECRET_BYTES:
        raise SecretFormatError(label, "", f"is larger than {MAX_SECRET_BYTES} bytes")
    try:
        document = json.loads(secret_string)
    except json.JSONDecodeError as exc:
        # The decoder's exception holds the whole document: not chained, only its position.
        raise SecretFormatError(
            label, "", f"is not valid JSON (line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        # "[[[[..." fits in 64 KiB and exhausts the decoder's stack: a format error too.
        raise SecretFormatError(label, "", "is nested too deeply") from None
    if not isinstance(document, dict):
        raise SecretFormatError(label, "", "must be a JSON object")
    return document


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
