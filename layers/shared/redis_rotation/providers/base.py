"""What the engine needs from a provider (the ``Provider`` protocol, the contract in
docs/architecture.md), and the plumbing every provider shares: its admitted keys,
redaction of what the provider echoes, and reply -> error mapping."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn, Protocol

from redis_rotation.errors import (
    ConfigurationError,
    InstanceStateError,
    PasswordPolicyError,
    ProviderError,
    redact,
)

if TYPE_CHECKING:
    from redis_rotation.config import Settings
    from redis_rotation.passwords import PasswordPolicy
    from redis_rotation.polling import Deadline
    from redis_rotation.providers.transport import HttpPoster
    from redis_rotation.secret import Endpoint, RedisSecret

# How much of a provider's own message an error quotes (after redaction).
MESSAGE_LIMIT = 300


@dataclass(frozen=True)
class InstanceStatus:
    """What the provider says about the instance before a change."""

    ready: bool  # may be changed now
    busy: bool  # a workflow (perhaps our own change) runs: wait and look again
    detail: str  # the provider's own words for the state, for logs and errors
    # False when the provider has no call that asks without changing: ready/busy are
    # then assumptions, and the change request itself will tell.
    described: bool = True
    # What a person should know about this API (preflight shows it as a warning).
    note: str | None = None


@dataclass(frozen=True)
class ChangeHandle:
    """What a change call returned: the task to wait for, if the provider has tasks."""

    task_id: str | None = None


@dataclass(frozen=True)
class Inspection:
    """One read-only look at the instance, returned and passed along explicitly: a change
    attempt uses the inspection it is given, never one a provider kept."""

    status: InstanceStatus
    # Where a password may be sent, as the provider reports them; None: its API cannot tell.
    addresses: frozenset[Endpoint] | None
    # The provider's own answer (say, an account listing), for ``change_password``.
    listing: Mapping[str, Any] = field(default_factory=dict)


# (service, endpoint_url or None) -> a boto3 client: for providers that are AWS services.
AwsClientFactory = Callable[[str, "str | None"], Any]


@dataclass(frozen=True)
class ProviderContext:
    """What a provider is built with, after the gate admitted the secret; nothing in it
    outlives the invocation."""

    settings: Settings
    deadline: Deadline
    transport: HttpPoster  # signed HTTP to a provider API
    # The admitted secret's API keys (empty for a provider that uses the function's role).
    keys: Mapping[str, str]
    aws_client: AwsClientFactory


class Provider(Protocol):
    """One managed-Redis provider. Methods raise the errors of ``redis_rotation.errors``."""

    name: str
    # The schema file (in redis_rotation/schemas) its credentials secret must match.
    credentials_schema: str

    def policy(self, secret: RedisSecret) -> PasswordPolicy:
        """The password rule the provider enforces for this secret's API."""
        ...

    def needs_old_password(self, secret: RedisSecret) -> bool:
        """True when the change call must carry the password the instance has now."""
        ...

    def inspect(self, secret: RedisSecret) -> Inspection:
        """Read, without changing, whether the instance may be changed now and its
        addresses."""
        ...

    def change_password(
        self,
        secret: RedisSecret,
        inspection: Inspection,
        new_password: str,
        old_password: str | None,
    ) -> ChangeHandle:
        """Ask for the change, given the inspection that found the instance ready. Not
        retried by the provider: the engine decides."""
        ...

    def wait_for_change(self, secret: RedisSecret, handle: ChangeHandle) -> None:
        """Return when the provider reports the change done; raise if it failed."""
        ...

    def one_password_at_rest(self, secret: RedisSecret) -> bool:
        """True when the password a finished rotation replaced must stop working (a provider
        that keeps two valid passwords, asked to keep one: ElastiCache's ``strict``)."""
        ...

    def drop_previous(self, secret: RedisSecret) -> ChangeHandle:
        """Leave ``secret``'s password (AWSCURRENT's, proven) the only one. Asked after the
        promotion, only when ``one_password_at_rest`` and the one before still works."""
        ...


class ProviderFactory(Protocol):
    """A provider class: the gate reads its schema before the provider is built."""

    credentials_schema: str

    def __call__(self, context: ProviderContext) -> Provider: ...


@dataclass(frozen=True)
class ErrorRule:
    """What a documented error code means for the rotation. ``hint`` says what to do, with
    ``{instance}``, ``{region}``, ``{credentials}`` and ``{policy}`` filled in."""

    error: type[ProviderError] | type[PasswordPolicyError]
    hint: str | None = None


class Plumbing:
    """What a provider and its parts share for one invocation: the context (the admitted
    keys among it), redaction of every value sent or held, and reply -> error mapping."""

    def __init__(self, name: str, context: ProviderContext) -> None:
        self.name = name
        self.context = context
        # Every value this invocation sent or holds: never echoed back in an error.
        self._redacted: list[str] = [v for v in context.keys.values() if v]

    def key(self, name: str) -> str:
        """One of the admitted API keys (the credentials schema requires them)."""
        value = self.context.keys.get(name)
        if not value:
            raise ConfigurationError(f"{self.name}: the credentials have no field '{name}'")
        return value

    def hide(self, *values: str | None) -> None:
        """Values (passwords, their encodings, signatures) to redact from provider messages."""
        self._redacted.extend(v for v in values if v)

    def redact(self, text: Any) -> str:
        # Redacted whole, then cut: a value straddling the cut must not leak its first part.
        return redact(str(text or "")[: 64 * 1024], self._redacted)[:MESSAGE_LIMIT]

    def fail(
        self,
        secret: RedisSecret,
        action: str,
        code: str,
        message: Any,
        rule: ErrorRule | None,
        policy: str,
    ) -> NoReturn:
        """Raise the error ``rule`` maps the provider's ``code`` to (ProviderError if none);
        ``policy`` names the secret's password rule in a hint."""
        said = self.redact(message)
        if rule is None or rule.hint is None:
            error = rule.error if rule is not None else ProviderError
            text = said or "no message"
        else:
            error = rule.error
            hint = rule.hint.format(
                instance=secret.instance_id,
                region=secret.region,
                credentials=secret.credentials_secret_id,
                policy=policy,
            )
            text = f"{hint} ({said})" if said else hint
        if issubclass(error, PasswordPolicyError):
            raise error(f"{self.name} {action} failed with code {code}: {text}")
        raise error(self.name, action, code, text)


class ProviderBase(ABC):
    """The Provider protocol's methods for subclasses to override, on shared ``Plumbing``.
    Subclasses set ``name`` and ``credentials_schema``."""

    name: ClassVar[str]
    credentials_schema: ClassVar[str]

    def __init__(self, context: ProviderContext) -> None:
        self.context = context
        self.plumbing = Plumbing(self.name, context)

    def key(self, name: str) -> str:
        return self.plumbing.key(name)

    def hide(self, *values: str | None) -> None:
        self.plumbing.hide(*values)

    def redact(self, text: Any) -> str:
        return self.plumbing.redact(text)

    def fail(
        self, secret: RedisSecret, action: str, code: str, message: Any, rule: ErrorRule | None
    ) -> NoReturn:
        """``Plumbing.fail``, naming this secret's password rule in a hint."""
        self.plumbing.fail(secret, action, code, message, rule, self.policy(secret).name)

    @abstractmethod
    def policy(self, secret: RedisSecret) -> PasswordPolicy: ...

    def needs_old_password(self, secret: RedisSecret) -> bool:  # noqa: ARG002 (a default)
        return False

    @abstractmethod
    def inspect(self, secret: RedisSecret) -> Inspection: ...

    @abstractmethod
    def change_password(
        self,
        secret: RedisSecret,
        inspection: Inspection,
        new_password: str,
        old_password: str | None,
    ) -> ChangeHandle: ...

    @abstractmethod
    def wait_for_change(self, secret: RedisSecret, handle: ChangeHandle) -> None: ...

    def one_password_at_rest(self, secret: RedisSecret) -> bool:  # noqa: ARG002 (a default)
        return False

    def drop_previous(self, secret: RedisSecret) -> ChangeHandle:
        raise NotImplementedError(f"{self.name} keeps no second password to drop ({secret.label})")


def missing_account(
    provider: str, action: str, secret: RedisSecret, name: str
) -> InstanceStateError:
    """An account the instance lacks: the error names the way out (create it, or let an
    alternating rotation create it)."""
    create = (
        " (or set createMissingAccount to let the rotation create it)"
        if secret.alternating and not secret.create_missing_account
        else ""
    )
    return InstanceStateError(
        provider,
        action,
        "AccountDoesNotExist",
        f"instance {secret.instance_id} has no account {name}: create it in the "
        f"console{create}, then rotate again",
    )
