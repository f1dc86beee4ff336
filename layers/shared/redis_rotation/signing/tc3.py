"""Tencent Cloud TC3-HMAC-SHA256 signature (API 3.0).

Built from small pure steps (the shape of botocore's ``auth.py``) that take the clock as
an argument; only the caller reads the time::

    tc3_canonical_request -> tc3_string_to_sign -> tc3_signature  (TC3Signer)

``tc3_canonical_request_with_headers`` is the general step under
``tc3_canonical_request``, for any list of signed headers. The server side
(``parse_tc3_authorization``, ``tc3_verify``, for the local emulator) is
``localcloud.signatures.tc3``, built on these same steps.

Logging: the canonical request and string to sign hold only hashes and headers and are
logged at DEBUG. Keys, tokens and signatures are never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Sequence
from datetime import UTC, datetime

__all__ = [
    "TC3_ALGORITHM",
    "TC3_SIGNED_HEADERS",
    "TC3_TERMINATOR",
    "TC3Signer",
    "tc3_canonical_request",
    "tc3_canonical_request_with_headers",
    "tc3_date",
    "tc3_signature",
    "tc3_string_to_sign",
]

logger = logging.getLogger(__name__)

TC3_ALGORITHM = "TC3-HMAC-SHA256"
TC3_SIGNED_HEADERS = "content-type;host"
TC3_TERMINATOR = "tc3_request"  # the last part of the credential scope


def tc3_date(timestamp: int) -> str:
    """The UTC date (``YYYY-MM-DD``) of ``timestamp``, as used in the credential scope."""
    return datetime.fromtimestamp(timestamp, tz=UTC).date().isoformat()


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tc3_canonical_request_with_headers(
    *,
    http_method: str,
    canonical_uri: str,
    canonical_query: str,
    headers: Sequence[tuple[str, str]],
    payload: bytes,
) -> str:
    """The TC3 canonical request signing ``headers`` (lower-case names, in order).

    Header values are trimmed and lower-cased, as the TC3 documentation specifies (its
    own example signs ``x-tc-action:describeinstances``).
    """
    canonical_headers = "".join(f"{name}:{value.strip().lower()}\n" for name, value in headers)
    signed_headers = ";".join(name for name, _ in headers)
    return "\n".join(
        (
            http_method,
            canonical_uri,
            canonical_query,
            canonical_headers,
            signed_headers,
            _sha256_hex(payload),
        )
    )


def tc3_canonical_request(
    *,
    host: str,
    content_type: str,
    payload: bytes,
    http_method: str = "POST",
    canonical_uri: str = "/",
    canonical_query: str = "",
) -> str:
    """The TC3 canonical request, signing the ``content-type`` and ``host`` headers.

    For POST the payload is the exact body sent; for GET it is empty and
    ``canonical_query`` is the exact query string sent.
    """
    return tc3_canonical_request_with_headers(
        http_method=http_method,
        canonical_uri=canonical_uri,
        canonical_query=canonical_query,
        headers=(("content-type", content_type), ("host", host)),
        payload=payload,
    )


def tc3_string_to_sign(*, timestamp: int, service: str, canonical_request: str) -> str:
    """``TC3-HMAC-SHA256\\n<timestamp>\\n<date>/<service>/tc3_request\\n<sha256 hex>``."""
    scope = f"{tc3_date(timestamp)}/{service}/{TC3_TERMINATOR}"
    digest = _sha256_hex(canonical_request.encode("utf-8"))
    return f"{TC3_ALGORITHM}\n{timestamp}\n{scope}\n{digest}"


def _hmac_sha256(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def tc3_signature(*, secret_key: str, date: str, service: str, string_to_sign: str) -> str:
    """Hex HMAC of the string to sign under the key derived from date and service."""
    k_date = _hmac_sha256(("TC3" + secret_key).encode("utf-8"), date)
    k_service = _hmac_sha256(k_date, service)
    k_signing = _hmac_sha256(k_service, TC3_TERMINATOR)
    return hmac.new(k_signing, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def _tc3_authorization(secret_id: str, date: str, service: str, signature: str) -> str:
    return (
        f"{TC3_ALGORITHM} Credential={secret_id}/{date}/{service}/{TC3_TERMINATOR}, "
        f"SignedHeaders={TC3_SIGNED_HEADERS}, Signature={signature}"
    )


class TC3Signer:
    """Signs API 3.0 requests for one service (``redis``) with TC3-HMAC-SHA256."""

    __slots__ = ("_secret_key", "_token", "secret_id", "service")

    def __init__(
        self, secret_id: str, secret_key: str, service: str, token: str | None = None
    ) -> None:
        if not secret_id or not secret_key:
            raise ValueError("both the Tencent SecretId and SecretKey are required")
        if not service:
            raise ValueError("the TC3 service name (e.g. 'redis') is required")
        self.secret_id = secret_id
        self._secret_key = secret_key
        self.service = service
        self._token = token

    def __repr__(self) -> str:
        return (
            f"TC3Signer(secret_id={self.secret_id!r}, service={self.service!r}, "
            f"token={self._token is not None})"
        )

    def add_auth(
        self,
        *,
        host: str,
        action: str,
        version: str,
        region: str,
        payload: bytes,
        content_type: str,
        timestamp: int,
    ) -> dict[str, str]:
        """Return the headers for a POST of ``payload`` to ``https://<host>/``.

        Send ``payload`` byte for byte and ``Content-Type`` exactly as given: both are
        signed. ``timestamp`` must be within 5 minutes of the server's clock. An empty
        ``region`` (global actions) leaves out X-TC-Region, as the SDK does.
        """
        if timestamp < 0:
            raise ValueError("timestamp must be unix seconds, not negative")
        canonical_request = tc3_canonical_request(
            host=host, content_type=content_type, payload=payload
        )
        string_to_sign = tc3_string_to_sign(
            timestamp=timestamp, service=self.service, canonical_request=canonical_request
        )
        logger.debug("TC3 canonical request:\n%s", canonical_request)
        logger.debug("TC3 string to sign:\n%s", string_to_sign)
        date = tc3_date(timestamp)
        signature = tc3_signature(
            secret_key=self._secret_key,
            date=date,
            service=self.service,
            string_to_sign=string_to_sign,
        )
        headers = {
            "Authorization": _tc3_authorization(self.secret_id, date, self.service, signature),
            "Content-Type": content_type,
            "Host": host,
            "X-TC-Action": action,
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Version": version,
        }
        if region:
            headers["X-TC-Region"] = region
        if self._token is not None:
            headers["X-TC-Token"] = self._token
        return headers
