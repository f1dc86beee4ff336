"""What the keys' owner allows: which rotated secrets may use a set of API keys, for which
instances, through which API endpoints, and to which Redis addresses passwords may go.

The binding lives in the credentials secret, beside the keys, so only whoever may write
the keys can widen it. Every field of a rotated secret is written by that secret's writer
and is trusted only as far as a grant allows it. The rotated secret's own identity (its
name and ARN) comes from DescribeSecret, not from the secret's value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from redis_rotation.addresses import AddressPattern, AddressPatternError, parse_address_pattern
from redis_rotation.errors import ConfigurationError, NotPermittedError, SecretFormatError

if TYPE_CHECKING:
    from redis_rotation.secret import Endpoint, RedisSecret

# The fields of the credentials secret that hold the binding; the rest are the keys.
BINDING_FIELDS = ("grants", "apiEndpoints")


@dataclass(frozen=True)
class Grant:
    """Rotated secrets (name or ARN patterns) that may change these instances."""

    secrets: tuple[str, ...]
    instances: tuple[str, ...]
    region: str
    project_id: str | None = None
    # Addresses that may receive a password besides those the provider reports for the
    # instance (proxies, NAT, private links, replicas it does not list).
    redis_addresses: tuple[AddressPattern, ...] = ()
    # Tencent custom accounts (patterns) a secret may name; none: the default account only.
    accounts: tuple[str, ...] = ()

    @classmethod
    def of(cls, raw: Mapping[str, Any], label: str = "grant", field: str = "") -> Grant:
        """The grant ``raw``; its addresses are parsed now, so a bad one refuses the whole
        credentials secret (SecretFormatError naming ``field``.redisAddresses.N)."""
        addresses = []
        for index, text in enumerate(raw.get("redisAddresses", ())):
            try:
                addresses.append(parse_address_pattern(str(text)))
            except AddressPatternError as exc:
                where = f"{field}.redisAddresses.{index}".lstrip(".")
                raise SecretFormatError(label, where, f"({_quoted(str(text))}) {exc}") from None
        return cls(
            secrets=tuple(raw["secrets"]),
            instances=tuple(raw["instances"]),
            region=str(raw["region"]),
            project_id=raw.get("projectId"),
            redis_addresses=tuple(addresses),
            accounts=tuple(raw.get("accounts", ())),
        )

    def names_secret(self, name: str, arn: str) -> bool:
        return any(fnmatchcase(name, p) or fnmatchcase(arn, p) for p in self.secrets)

    def refusal(self, secret: RedisSecret) -> str | None:
        """The first field of ``secret`` this grant does not allow, or None."""
        if not any(fnmatchcase(secret.instance_id, p) for p in self.instances):
            return secret.instance_field
        if secret.region != self.region:
            return "region"
        if self.project_id is not None and secret.get("projectId") != self.project_id:
            return "projectId"
        # Every account the secret names may be changed (or created): each must be granted.
        named = [("account", secret.account)] if secret.account is not None else []
        named += [(f"accounts.{i}", name) for i, name in enumerate(secret.accounts)]
        for field_path, name in named:
            if not any(fnmatchcase(name, p) for p in self.accounts):
                return field_path
        return None

    def allows_address(self, endpoint: Endpoint) -> bool:
        return any(pattern.matches(endpoint) for pattern in self.redis_addresses)


@dataclass(frozen=True)
class Binding:
    grants: tuple[Grant, ...]
    api_endpoints: tuple[str, ...]

    @classmethod
    def of(cls, document: Mapping[str, Any], label: str = "credentials secret") -> Binding:
        from redis_rotation.providers.transport import normalized_endpoint

        grants = document.get("grants", ())
        return cls(
            grants=tuple(Grant.of(g, label, f"grants.{i}") for i, g in enumerate(grants)),
            api_endpoints=tuple(normalized_endpoint(e) for e in document.get("apiEndpoints", ())),
        )

    def grant_for(self, name: str, arn: str, secret: RedisSecret, credentials: str) -> Grant:
        """The grant that lets the secret ``name`` (``arn``) act as ``secret`` says; raises
        NotPermittedError naming the first field no grant of ``credentials`` allows."""
        mine = [g for g in self.grants if g.names_secret(name, arn)]
        if not mine:
            raise NotPermittedError(
                f"{secret.label}: credentials secret {credentials} grants this secret "
                "nothing: the keys' owner must add a grant naming it"
            )
        refusals = []
        for grant in mine:
            refused = grant.refusal(secret)
            if refused is None:
                return grant
            refusals.append(refused)
        raise NotPermittedError(
            f"{secret.label}: field '{refusals[0]}' is outside what credentials secret "
            f"{credentials} grants this secret"
        )

    def check_api_endpoint(self, secret: RedisSecret, credentials: str) -> None:
        """A secret may only choose an API endpoint the keys' owner lists (the default one,
        from the function's settings, needs no listing)."""
        from redis_rotation.providers.transport import normalized_endpoint

        chosen = secret.api_endpoint
        if chosen is None:
            return
        try:
            normalized = normalized_endpoint(chosen)
        except ConfigurationError as exc:
            problem = str(exc).removeprefix("an API endpoint ")
            raise SecretFormatError(secret.label, "apiEndpoint", problem) from None
        if normalized not in self.api_endpoints:
            raise NotPermittedError(
                f"{secret.label}: field 'apiEndpoint' is not one of the apiEndpoints of "
                f"credentials secret {credentials}"
            )


def _quoted(text: str) -> str:
    """An address as an error may quote it: printable ASCII, bounded (the schema bounds it
    too, but the grant may come from elsewhere)."""
    return text[:300].encode("unicode_escape").decode("ascii")


def endpoint_fields(secret: RedisSecret) -> Iterable[tuple[str, Endpoint]]:
    """(field path, endpoint) for every address the secret would send a password to."""
    primary, *replicas = secret.endpoints
    yield "host", primary
    for index, endpoint in enumerate(replicas):
        yield f"readOnlyEndpoints.{index}", endpoint


def check_addresses(
    secret: RedisSecret, grant: Grant, reported: frozenset[Endpoint] | None
) -> None:
    """Every address a password would go to is one the provider reports for the instance
    (``reported``; None when the API cannot tell) or one the grant allows."""
    for field_path, endpoint in endpoint_fields(secret):
        if (reported is None or endpoint not in reported) and not grant.allows_address(endpoint):
            raise NotPermittedError(
                f"{secret.label}: field '{field_path}' ({endpoint}) is neither an address the "
                "provider reports for the instance nor one the keys' owner allows "
                "(redisAddresses of the grant)"
            )
