"""Alibaba Cloud ACS3-HMAC-SHA256 signature (OpenAPI signature V3).

Built from small pure steps (the shape of botocore's ``auth.py``); the caller passes the
clock and the nonce::

    acs3_canonical_query + acs3_canonical_headers -> acs3_canonical_request
        -> acs3_string_to_sign -> acs3_signature                     (ACS3Signer)

RPC-style calls (R-KVStore) carry their parameters in the query string and send an empty
body. The server side (``parse_acs3_authorization``, ``acs3_verify``, for the local
emulator) is ``localcloud.signatures.acs3``, built on these same steps.

Logging: the canonical request and string to sign are logged at DEBUG only as hashes,
because the canonical query holds the parameters, passwords included. Keys, tokens and
signatures are never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import quote

__all__ = [
    "ACS3_ALGORITHM",
    "EMPTY_PAYLOAD_SHA256",
    "ACS3Signer",
    "acs3_canonical_headers",
    "acs3_canonical_query",
    "acs3_canonical_request",
    "acs3_date",
    "acs3_signature",
    "acs3_string_to_sign",
]

logger = logging.getLogger(__name__)

ACS3_ALGORITHM = "ACS3-HMAC-SHA256"
EMPTY_PAYLOAD_SHA256 = hashlib.sha256(b"").hexdigest()


def acs3_date(timestamp: int) -> str:
    """``x-acs-date``: the UTC time of ``timestamp`` as ``yyyy-MM-ddTHH:mm:ssZ``."""
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _encode(text: str) -> str:
    # RFC 3986: only A-Z a-z 0-9 - _ . ~ stay as they are; a space is %20, not "+".
    return quote(text, safe="~", encoding="utf-8")


def acs3_canonical_query(params: Mapping[str, str]) -> str:
    """Parameters sorted by name, ``name=value`` joined with ``&``, both percent-encoded.

    The same string is the query to send. (The Python SDK encodes values only; for the
    names it builds, letters, digits and ``._-``, the two agree.)
    """
    return "&".join(f"{_encode(name)}={_encode(params[name])}" for name in sorted(params))


def acs3_canonical_headers(headers: Mapping[str, str]) -> tuple[str, str]:
    """(CanonicalHeaders, SignedHeaders) of ``headers``: lower-case names, sorted, each
    ``name:trimmed-value\\n``; the names joined with ``;``. Sign every header sent but
    Authorization: the verifier recomputes over the client's own list."""
    lowered = {name.lower(): value.strip() for name, value in headers.items()}
    names = sorted(lowered)
    return "".join(f"{name}:{lowered[name]}\n" for name in names), ";".join(names)


def acs3_canonical_request(
    *,
    http_method: str,
    canonical_uri: str,
    canonical_query: str,
    headers: Mapping[str, str],
    payload_sha256: str,
) -> str:
    """``METHOD\\nURI\\nQuery\\nCanonicalHeaders\\nSignedHeaders\\nHashedPayload``."""
    canonical_headers, signed_headers = acs3_canonical_headers(headers)
    return "\n".join(
        (
            http_method,
            canonical_uri,
            canonical_query,
            canonical_headers,
            signed_headers,
            payload_sha256,
        )
    )


def acs3_string_to_sign(canonical_request: str) -> str:
    """``ACS3-HMAC-SHA256\\n<hex SHA-256 of the canonical request>``."""
    digest = hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()
    return f"{ACS3_ALGORITHM}\n{digest}"


def acs3_signature(*, access_key_secret: str, string_to_sign: str) -> str:
    """Hex HMAC-SHA256 of the string to sign under the AccessKey secret (no derived key)."""
    return hmac.new(
        access_key_secret.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha256
    ).hexdigest()


class ACS3Signer:
    """Signs Alibaba Cloud OpenAPI requests with ACS3-HMAC-SHA256."""

    __slots__ = ("_access_key_secret", "_security_token", "access_key_id")

    def __init__(
        self, access_key_id: str, access_key_secret: str, security_token: str | None = None
    ) -> None:
        if not access_key_id or not access_key_secret:
            raise ValueError("both the Alibaba AccessKey ID and AccessKey secret are required")
        self.access_key_id = access_key_id
        self._access_key_secret = access_key_secret
        self._security_token = security_token

    def __repr__(self) -> str:
        return (
            f"ACS3Signer(access_key_id={self.access_key_id!r}, "
            f"security_token={self._security_token is not None})"
        )

    def add_auth(
        self,
        *,
        host: str,
        action: str,
        version: str,
        params: Mapping[str, str],
        timestamp: int,
        nonce: str,
        http_method: str = "POST",
        canonical_uri: str = "/",
    ) -> dict[str, str]:
        """The headers of an RPC call to ``https://<host><canonical_uri>?<query>`` with an
        empty body, where the query is ``acs3_canonical_query(params)`` exactly.

        ``timestamp`` must be close to the server's clock (Alibaba: 15 minutes) and
        ``nonce`` new for every request: the server refuses a nonce it has seen.
        """
        if timestamp < 0:
            raise ValueError("timestamp must be unix seconds, not negative")
        if not nonce:
            raise ValueError("every ACS3 request needs a nonce (x-acs-signature-nonce)")
        headers = {
            "host": host,
            "x-acs-action": action,
            "x-acs-version": version,
            "x-acs-date": acs3_date(timestamp),
            "x-acs-signature-nonce": nonce,
            "x-acs-content-sha256": EMPTY_PAYLOAD_SHA256,
        }
        if self._security_token is not None:
            headers["x-acs-security-token"] = self._security_token
        canonical_request = acs3_canonical_request(
            http_method=http_method,
            canonical_uri=canonical_uri,
            canonical_query=acs3_canonical_query(params),
            headers=headers,
            payload_sha256=EMPTY_PAYLOAD_SHA256,
        )
        string_to_sign = acs3_string_to_sign(canonical_request)
        logger.debug("ACS3 string to sign:\n%s", string_to_sign)
        signature = acs3_signature(
            access_key_secret=self._access_key_secret, string_to_sign=string_to_sign
        )
        _, signed_headers = acs3_canonical_headers(headers)
        headers["Authorization"] = (
            f"{ACS3_ALGORITHM} Credential={self.access_key_id},"
            f"SignedHeaders={signed_headers},Signature={signature}"
        )
        return headers
