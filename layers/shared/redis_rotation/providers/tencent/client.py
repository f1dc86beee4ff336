"""What a Tencent API class works with for one invocation: the admitted keys, the clock
and nonce source, HTTP, the deadline, redaction and Tencent's error mapping. The provider
builds it; an API class never sees the provider."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

from redis_rotation.providers.base import Plumbing
from redis_rotation.providers.tencent.errors import error_rule

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from redis_rotation.config import Settings
    from redis_rotation.passwords import PasswordPolicy
    from redis_rotation.polling import Deadline
    from redis_rotation.providers.base import ProviderContext
    from redis_rotation.providers.transport import HttpPoster
    from redis_rotation.secret import RedisSecret


class TencentClient(Plumbing):
    """The provider's plumbing (keys, redaction) with the rest an API class needs."""

    def __init__(
        self,
        name: str,
        context: ProviderContext,
        clock: Callable[[], float],
        nonce: Callable[[], int],
    ) -> None:
        super().__init__(name, context)
        # Wall clock for Timestamp (read once per request) and the Nonce source; injectable
        # so that tests need not patch modules.
        self.clock = clock
        self.nonce = nonce

    @property
    def settings(self) -> Settings:
        return self.context.settings

    @property
    def deadline(self) -> Deadline:
        return self.context.deadline

    @property
    def transport(self) -> HttpPoster:
        return self.context.transport

    @property
    def keys(self) -> Mapping[str, str]:
        return self.context.keys

    def refuse(
        self,
        secret: RedisSecret,
        action: str,
        code: str,
        description: str | None,
        message: Any,
        policy: PasswordPolicy,
    ) -> NoReturn:
        """Raise what Tencent's error ``code`` (or API 2.0 ``codeDesc``) means."""
        self.fail(secret, action, code, message, error_rule(code, description), policy.name)
