"""The rotation's exceptions: a small hierarchy whose messages name the secret, the field
or the provider's code, and never carry a password, an API key or a token.

Messages are built only from identifiers and codes that our own code chooses; text that
comes from outside (a provider's error message) goes through ``redact`` first.
"""

from __future__ import annotations

import base64
import json
import ssl
import traceback
import urllib.parse
from collections.abc import Iterable, Iterator


class RotationError(Exception):
    """Base class: anything that makes a rotation step fail."""


class ConfigurationError(RotationError):
    """The function's own configuration (environment variables) is wrong."""


# The longest field name an error quotes: a key of a hostile secret may be kilobytes long.
FIELD_LIMIT = 100


def _quotable(name: str) -> str:
    """A field name as an error may quote it: printable ASCII, bounded. A key of the secret
    may hold anything (a lone surrogate, a newline, kilobytes of text); escaped, it can
    neither break a log line or the runtime's error JSON, nor forge a line of its own."""
    text = name[:FIELD_LIMIT].encode("unicode_escape").decode("ascii")
    return text + "..." if len(name) > FIELD_LIMIT else text


class SecretFormatError(RotationError):
    """A secret value does not match the schema. ``field`` is a JSON path like ``tls.enabled``."""

    def __init__(self, secret_label: str, field: str, problem: str) -> None:
        self.secret_label = secret_label
        self.field = field
        self.problem = problem
        where = f"field '{_quotable(field)}'" if field else "the secret"
        super().__init__(f"{secret_label}: {where} {problem}")


class NotPermittedError(RotationError):
    """The secret asks for something the keys' owner's binding does not allow."""


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


def _encoded_forms(value: str) -> set[str]:
    """The forms in which a provider may echo ``value``: as is, base64 (padded or not,
    standard or URL-safe), URL-encoded (quote, quote_plus) and JSON-escaped; and each
    base64 form URL-encoded and JSON-escaped too (a base64 password in a form body)."""
    # surrogatepass: a value may hold a lone surrogate; its forms must still be computed.
    raw = value.encode("utf-8", "surrogatepass")
    standard = base64.b64encode(raw).decode("ascii")
    url_safe = base64.urlsafe_b64encode(raw).decode("ascii")
    forms: set[str] = set()
    for form in (value, standard, standard.rstrip("="), url_safe, url_safe.rstrip("=")):
        forms.update(
            (
                form,
                urllib.parse.quote(form, safe="", errors="surrogatepass"),
                urllib.parse.quote(form, errors="surrogatepass"),  # "/" left as is
                urllib.parse.quote_plus(form, errors="surrogatepass"),
                json.dumps(form)[1:-1],
                json.dumps(form, ensure_ascii=False)[1:-1],
            )
        )
    return {form for form in forms if form}


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of any secret value in ``text``, in any of its common
    encodings (``_encoded_forms``); the longest forms first, so that no part of a longer
    form is left behind once a shorter one inside it is replaced."""
    forms: set[str] = set()
    for value in secrets:
        if value:
            forms |= _encoded_forms(value)
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, "***")
    return text


# What a failed Redis connection says about TLS: the secret's `tls` against the port's.
TLS_ON_PLAIN_PORT = (
    "the TLS handshake got no TLS answer: the port looks like plain (non-TLS) Redis; if it "
    'is, set "tls": {"enabled": false}'
)
PLAIN_ON_TLS_PORT = (
    "the server closed the connection at the first command: the port may expect TLS; if it "
    'does, set "tls": {"enabled": true}'
)
# OpenSSL's reasons for a peer that answered a ClientHello with something other than TLS.
_NOT_TLS_REASONS = frozenset(
    {"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG", "HTTP_REQUEST"}
)
# redis-py's own message when the server closes the socket before a reply.
_SERVER_CLOSED = "Connection closed by server."


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: BaseException | None = error
    while seen is not None:
        yield seen
        seen = seen.__cause__ or seen.__context__


def tls_mismatch(error: BaseException, tls: bool) -> str | None:
    """Whether a failed connection looks like TLS meeting a plain port (``tls`` on) or plain
    Redis meeting a TLS port (``tls`` off), and what to set; None when it does not.

    Read from the exceptions' types, OpenSSL's reason codes and where a timeout was raised,
    never from text the server sent (it could quote anything)."""
    chain = list(_chain(error))
    if tls:
        for link in chain:
            if isinstance(link, ssl.SSLError) and link.reason in _NOT_TLS_REASONS:
                return TLS_ON_PLAIN_PORT
            # A plain Redis reads the ClientHello as the start of a command and waits.
            if isinstance(link, TimeoutError) and any(
                frame.name == "do_handshake" for frame in traceback.extract_tb(link.__traceback__)
            ):
                return TLS_ON_PLAIN_PORT
        return None
    if any(isinstance(link, ConnectionResetError | BrokenPipeError) for link in chain):
        return PLAIN_ON_TLS_PORT
    if any(str(link) == _SERVER_CLOSED for link in chain):
        return PLAIN_ON_TLS_PORT
    return None
