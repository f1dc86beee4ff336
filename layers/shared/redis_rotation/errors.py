"""The rotation's exceptions: a small hierarchy whose messages name the secret, the field
or the provider's code, and never carry a password, an API key or a token.

Messages are built only from identifiers and codes that our own code chooses; text that
comes from outside (a provider's error message) goes through ``redact`` first.
"""

from __future__ import annotations

from collections.abc import Iterable


class RotationError(Exception):
    """Base class: anything that makes a rotation step fail."""


class ConfigurationError(RotationError):
    """The function's own configuration (environment variables) is wrong."""


class SecretFormatError(RotationError):
    """A secret value does not match the schema. ``field`` is a JSON path like ``tls.enabled``."""

    def __init__(self, secret_label: str, field: str, problem: str) -> None:
        self.secret_label = secret_label
        self.field = field
        self.problem = problem
        where = f"field '{field}'" if field else "the secret"
        super().__init__(f"{secret_label}: {where} {problem}")


class RotationStateError(RotationError):
    """The event or the secret's versions are not in a state this step may act on."""


class PasswordPolicyError(RotationError):
    """A generated or configured password breaks the provider's rule: a bug or a bad setting."""


class RedisAuthError(RotationError):
    """Redis did not accept a password that should work (testSecret, preflight)."""


class RedisUnreachableError(RotationError):
    """Redis could not be reached at all (network, TLS); says nothing about the password."""


class ProviderError(RotationError):
    """The provider's API refused or failed. ``code`` is the provider's own error code."""

    def __init__(self, provider: str, action: str, code: str, message: str) -> None:
        self.provider = provider
        self.action = action
        self.code = code
        super().__init__(f"{provider} {action} failed with code {code}: {message}")


class ProviderCredentialsError(ProviderError):
    """The API keys were refused: retrying cannot help."""


class ProviderRetryableError(ProviderError):
    """Throttling, a 5xx or a transient service error: the call may be retried."""


class InstanceStateError(ProviderError):
    """The instance cannot be changed now (a slave, locked, not running, not found)."""


class InstanceBusyError(ProviderRetryableError):
    """A workflow (perhaps our own earlier change) is running: look again later."""


class CredentialsSecretError(RotationError):
    """The secret holding the provider's API keys cannot be read or is malformed."""


class OldPasswordRejectedError(ProviderError):
    """The provider refused the old password we sent (API that needs the old password)."""

    @classmethod
    def neither(cls, provider: str, label: str) -> OldPasswordRejectedError:
        """Neither AWSCURRENT's nor AWSPREVIOUS's password worked as the old one."""
        return cls(
            provider,
            "change",
            "OldPasswordError",
            f"{label}: the instance accepts neither the AWSCURRENT nor the AWSPREVIOUS "
            "password as the old password; set its password to the AWSCURRENT value in the "
            "provider's console, then rotate again",
        )


class ChangeFailedError(ProviderError):
    """The provider accepted the change but its task failed."""


class UnexpectedError(RotationError):
    """Anything our code did not anticipate, reduced to its type: its text could quote values."""


class DeadlineExceededError(RotationError):
    """A wait ran out of time before the function's own deadline; Secrets Manager retries."""


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of any secret value in ``text`` (longest first)."""
    for value in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(value, "***")
    return text
