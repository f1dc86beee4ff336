"""HTTP to the provider APIs: HTTPS with certificate verification, typed failures, retries.

Providers post through an ``HttpPoster``; ``Transport`` is the real one, and tests and the
local cloud's instrument pass in their own (see ``redis_rotation.seams``).

Plain HTTP is refused except to a loopback address (the local cloud). Failures become
``ProviderRetryableError`` (timeouts, resets, 5xx, unreadable bodies) or ``ProviderError``;
their messages carry the status and the exception type, never a request parameter.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from redis_rotation import observability
from redis_rotation.errors import ConfigurationError, ProviderError, ProviderRetryableError
from redis_rotation.polling import Backoff, Deadline

if TYPE_CHECKING:
    import requests

# Idempotent calls (describe, task status) back off more gently than status polls: a
# throttled fleet needs spreading out, not hammering.
API_RETRY_BACKOFF = Backoff(first=0.25, cap=2.0)


class HttpPoster(Protocol):
    """POSTs one request to a provider API and returns the parsed JSON answer."""

    def post(
        self,
        url: str,
        *,
        action: str,
        data: Mapping[str, str] | None = None,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any: ...


# (provider name, HTTP timeout, the invocation's deadline) -> a poster for one invocation.
HttpPosterFactory = Callable[[str, float, Deadline], HttpPoster]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# scheme://host[:port] and nothing else: no userinfo, backslash, path, query or fragment.
_ENDPOINT = re.compile(r"(https?)://([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::([0-9]{1,5}))?/?")
_DEFAULT_PORTS = {"https": 443, "http": 80}


def normalized_endpoint(endpoint: str) -> str:
    """``scheme://host[:port]`` as the HTTP client will connect and send ``Host``: the host
    lower-cased, a default port dropped. A bare host means https.

    Parsed twice, by a strict pattern and by urllib3 (the parser requests connects with),
    and refused unless both agree: a URL that two parsers read differently (a backslash
    before ``@``, say) could pass a check and still reach another host."""
    from urllib3.exceptions import LocationParseError
    from urllib3.util import parse_url

    if "://" not in endpoint:
        endpoint = f"https://{endpoint}"
    match = _ENDPOINT.fullmatch(endpoint)
    if match is None:
        raise ConfigurationError(
            "an API endpoint must be https://host[:port] (no user, path, query or fragment)"
        )
    scheme, host, port_text = match.group(1), match.group(2).lower(), match.group(3)
    port = int(port_text) if port_text else _DEFAULT_PORTS[scheme]
    if not 0 < port < 65536:
        raise ConfigurationError("an API endpoint's port must be 1-65535")
    try:
        parsed = parse_url(endpoint)
    except LocationParseError:
        raise ConfigurationError("an API endpoint is read differently by the HTTP client") from None
    if (parsed.scheme, parsed.host, parsed.port or _DEFAULT_PORTS[scheme], parsed.auth) != (
        scheme,
        host,
        port,
        None,
    ) or parsed.path not in (None, "", "/"):
        raise ConfigurationError("an API endpoint is read differently by the HTTP client")
    if scheme == "http" and not _is_loopback(host.strip("[]")):
        raise ConfigurationError(
            "an API endpoint uses plain HTTP; only loopback endpoints may (use https)"
        )
    netloc = host if port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    return f"{scheme}://{netloc}"


def endpoint_url(endpoint: str, path: str = "/") -> tuple[str, str]:
    """(URL to call, host as signed: exactly the Host header the client sends)."""
    normalized = normalized_endpoint(endpoint)
    return f"{normalized}{path}", normalized.split("://", 1)[1]


class Transport:
    """One requests session for one invocation."""

    def __init__(self, provider: str, timeout: float, deadline: Deadline) -> None:
        self.provider = provider
        self.timeout = timeout
        self.deadline = deadline
        self._session: requests.Session | None = None

    def _get_session(self) -> requests.Session:
        if self._session is None:
            import requests

            self._session = requests.Session()
            self._session.verify = True
        return self._session

    @observability.timed_provider_call
    def post(
        self,
        url: str,
        *,
        action: str,
        data: Mapping[str, str] | None = None,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """POST and return the parsed JSON body."""
        import requests

        # Never wait past the deadline: a Lambda killed mid-call learns nothing.
        timeout = max(0.5, min(self.timeout, self.deadline.remaining()))
        try:
            response = self._get_session().post(
                url,
                data=data if data is not None else body,
                headers=dict(headers or {}),
                timeout=timeout,
                allow_redirects=False,
            )
        except requests.Timeout:
            raise ProviderRetryableError(self.provider, action, "Timeout", "no answer") from None
        except requests.exceptions.SSLError:
            # Not retried: a certificate that does not verify will not start to.
            raise ProviderError(
                self.provider,
                action,
                "TLSError",
                f"the certificate of {url.split('/')[2]} does not verify",
            ) from None
        except requests.ConnectionError as exc:
            raise ProviderRetryableError(
                self.provider, action, "ConnectionError", type(exc).__name__
            ) from None
        if response.status_code >= 500 or response.status_code == 429:
            raise ProviderRetryableError(
                self.provider, action, f"HTTP{response.status_code}", "server error"
            )
        try:
            return response.json()
        except ValueError:
            if response.status_code >= 400:
                raise ProviderError(
                    self.provider, action, f"HTTP{response.status_code}", "unexpected answer"
                ) from None
            raise ProviderRetryableError(
                self.provider, action, "InvalidJSON", "the answer is not JSON (truncated?)"
            ) from None

    def close(self) -> None:
        if self._session is not None:
            self._session.close()


def call_retrying[T](
    call: Callable[[], T], deadline: Deadline, backoff: Backoff = API_RETRY_BACKOFF
) -> T:
    """Run an idempotent call, retrying ProviderRetryableError until the deadline."""
    runtime = deadline.runtime
    delays = backoff.delays(runtime.random)
    while True:
        try:
            return call()
        except ProviderRetryableError as exc:
            delay = next(delays)
            if deadline.remaining() <= delay:
                raise
            observability.provider_retry(exc)
            runtime.sleep(delay)
