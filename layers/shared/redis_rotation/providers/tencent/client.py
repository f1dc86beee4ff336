"""What a Tencent API class works with for one invocation: the admitted keys, the clock
and nonce source, HTTP, the deadline, redaction and Tencent's error mapping. The provider
builds it; an API class never sees the provider."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

from redis_rotation.providers.tencent.errors import error_rule

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from redis_rotation.config import Settings
    from redis_rotation.passwords import PasswordPolicy
    from redis_rotation.polling import Deadline
    from redis_rotation.providers.base import Plumbing
    from redis_rotation.providers.transport import HttpPoster
    from redis_rotation.secret import RedisSecret


@dataclass(frozen=True)
class TencentClient:
    plumbing: Plumbing
    # Wall clock for Timestamp (read once per request) and the Nonce source; injectable so
    # that tests need not patch modules.
    clock: Callable[[], float]
    nonce: Callable[[], int]

    @property
    def settings(self) -> Settings:
        return self.plumbing.context.settings

    @property
    def deadline(self) -> Deadline:
        return self.plumbing.context.deadline

    @property
    def transport(self) -> HttpPoster:
        return self.plumbing.context.transport

    @property
    def keys(self) -> Mapping[str, str]:
        return self.plumbing.context.keys

    def key(self, name: str) -> str:
        return self.plumbing.key(name)

    def hide(self, *values: str | None) -> None:
        self.plumbing.hide(*values)

    def redact(self, text: Any) -> str:
        return self.plumbing.redact(text)

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
        rule = error_rule(code, description)
        self.plumbing.fail(secret, action, code, message, rule, policy.name)
