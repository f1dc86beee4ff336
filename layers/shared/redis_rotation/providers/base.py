"""What the engine needs from a provider, and what every provider shares."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from redis_rotation.config import Settings
    from redis_rotation.passwords import PasswordPolicy
    from redis_rotation.polling import Deadline
    from redis_rotation.providers.transport import Transport
    from redis_rotation.secret import RedisSecret


@dataclass(frozen=True)
class InstanceStatus:
    """What the provider says about the instance before a change."""

    ready: bool  # may be changed now
    busy: bool  # a workflow (perhaps our own change) runs: wait and look again
    detail: str  # the provider's own words for the state, for logs and errors
    # False when the provider has no call that looks without changing (Tencent API 2.0):
    # ready/busy are then assumptions, and the change request itself will tell.
    described: bool = True


@dataclass(frozen=True)
class ChangeHandle:
    """What a change call returned: the task to wait for, if the provider has tasks."""

    task_id: str | None = None


@dataclass
class ProviderContext:
    """Everything a provider may use during one invocation; nothing outlives it."""

    settings: Settings
    deadline: Deadline
    transport: Transport
    # (credentials secret id, schema file) -> the validated credentials object.
    load_credentials: Callable[[str, str], Mapping[str, str]]


class Provider(Protocol):
    """One managed-Redis provider. Methods raise the errors of ``redis_rotation.errors``."""

    name: str

    def policy(self, secret: RedisSecret) -> PasswordPolicy:
        """The password rule the provider enforces for this secret's API."""
        ...

    def needs_old_password(self, secret: RedisSecret) -> bool:
        """True when the change call must carry the password the instance has now."""
        ...

    def describe(self, secret: RedisSecret) -> InstanceStatus:
        """Whether the instance may be changed now."""
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
