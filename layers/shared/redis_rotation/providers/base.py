"""What the engine needs from a provider, and the plumbing every provider shares: lazy
credentials, redaction of what the provider echoes, and reply -> error mapping."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn, Protocol

from redis_rotation.errors import PasswordPolicyError, ProviderError, redact

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


@dataclass
class ProviderContext:
    """Everything a provider may use during one invocation; nothing outlives it."""

    settings: Settings
    deadline: Deadline
    transport: HttpPoster
    # (credentials secret id, schema file) -> the validated credentials object.
    load_credentials: Callable[[str, str], Mapping[str, str]]


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

    def describe(self, secret: RedisSecret) -> InstanceStatus:
        """Whether the instance may be changed now."""
        ...

    def addresses(self, secret: RedisSecret) -> frozenset[Endpoint] | None:
        """The Redis addresses the provider reports for the instance (where a password may
        be sent), or None when its API cannot tell."""
        ...

    def change_password(
        self, secret: RedisSecret, new_password: str, old_password: str | None
    ) -> ChangeHandle:
        """Ask for the change. Not retried by the provider: the engine decides."""
        ...

    def wait_for_change(self, secret: RedisSecret, handle: ChangeHandle) -> None:
        """Return when the provider reports the change done; raise if it failed."""
        ...


ProviderFactory = Callable[[ProviderContext], Provider]


@dataclass(frozen=True)
class ErrorRule:
    """What a documented error code means for the rotation. ``hint`` says what to do, with
    ``{instance}``, ``{region}``, ``{credentials}`` and ``{policy}`` filled in."""

    error: type[ProviderError] | type[PasswordPolicyError]
    hint: str | None = None


class ProviderBase(ABC):
    """Shared plumbing, and the Provider protocol's methods for subclasses to override.
    Subclasses set ``name`` and ``credentials_schema``."""

    name: ClassVar[str]
    credentials_schema: ClassVar[str]

    def __init__(self, context: ProviderContext) -> None:
        self.context = context
        self._keys: Mapping[str, str] | None = None
        # Every value this invocation sent or holds: never echoed back in an error.
        self._redacted: list[str] = []
        # The describe answer that ``addresses`` read, for the next ``describe`` to use once.
        self._described: Mapping[str, Any] | None = None

    def credentials(self, secret: RedisSecret) -> Mapping[str, str]:
        """The API keys, loaded on first use (a step that calls no API never reads them)."""
        if self._keys is None:
            keys = self.context.load_credentials(
                secret.credentials_secret_id, self.credentials_schema
            )
            self.hide(*keys.values())
            self._keys = keys
        return self._keys

    def reuse_once(self, fetch: Callable[[], Mapping[str, Any]]) -> Mapping[str, Any]:
        """The answer ``addresses`` kept, once; else ``fetch`` a fresh one. One read serves
        setSecret's address check and its first state check: it is asked before any AUTH,
        and a state read before the "already changed?" AUTH is the safe order (a change
        that landed before that read is seen by the AUTH after it)."""
        answer, self._described = self._described, None
        return answer if answer is not None else fetch()

    def keep_for_describe(self, answer: Mapping[str, Any]) -> None:
        self._described = answer

    def hide(self, *values: str | None) -> None:
        """Values (passwords, their encodings) to redact from provider messages."""
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
    ) -> NoReturn:
        """Raise the error ``rule`` maps the provider's ``code`` to (ProviderError if none)."""
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
                policy=self.policy(secret).name,
            )
            text = f"{hint} ({said})" if said else hint
        if issubclass(error, PasswordPolicyError):
            raise error(f"{self.name} {action} failed with code {code}: {text}")
        raise error(self.name, action, code, text)

    @abstractmethod
    def policy(self, secret: RedisSecret) -> PasswordPolicy: ...

    def needs_old_password(self, secret: RedisSecret) -> bool:  # noqa: ARG002 (a default)
        return False

    @abstractmethod
    def describe(self, secret: RedisSecret) -> InstanceStatus: ...

    @abstractmethod
    def addresses(self, secret: RedisSecret) -> frozenset[Endpoint] | None: ...

    @abstractmethod
    def change_password(
        self, secret: RedisSecret, new_password: str, old_password: str | None
    ) -> ChangeHandle: ...

    @abstractmethod
    def wait_for_change(self, secret: RedisSecret, handle: ChangeHandle) -> None: ...
