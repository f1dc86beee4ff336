"""Tencent Cloud API signatures: the legacy API 2.0 HMAC and TC3-HMAC-SHA256 (API 3.0).

Both are built from small pure steps (the shape of botocore's ``auth.py``) that take
the clock and the nonce as arguments; only the caller reads the time::

    API 2.0:  v2_canonical_query -> v2_string_to_sign -> v2_signature      (TencentV2Signer)
    TC3:      tc3_canonical_request -> tc3_string_to_sign -> tc3_signature  (TC3Signer)

``v2_verify``, ``parse_tc3_authorization`` and ``tc3_verify`` are the server side, for the
local emulator.

API 2.0 signs the *decoded* parameter values. ``TencentV2Signer.add_auth`` returns them
decoded; the caller URL-encodes every value exactly once when sending
(``urllib.parse.urlencode(fields)`` as the form body or the query string). Encoding twice,
or signing encoded values, makes the signature fail (error 4100).

Logging: the 2.0 string to sign contains every parameter value (the old and new
passwords of ``ModfiyRedisPassword``), so only parameter names are logged for it. The
TC3 canonical request and string to sign hold only hashes and headers and are logged at
DEBUG. Keys, tokens and signatures are never logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import NamedTuple

__all__ = [
    "TC3_ALGORITHM",
    "TC3_SIGNED_HEADERS",
    "V2_DEFAULT_SIGNATURE_METHOD",
    "TC3Authorization",
    "TC3Signer",
    "TencentV2Signer",
    "parse_tc3_authorization",
    "tc3_canonical_request",
    "tc3_date",
    "tc3_signature",
    "tc3_string_to_sign",
    "tc3_verify",
    "v2_canonical_query",
    "v2_signature",
    "v2_string_to_sign",
    "v2_verify",
]

logger = logging.getLogger(__name__)

_V2_DIGESTS = {
    "HmacSHA256": hashlib.sha256,
    "HmacSHA1": hashlib.sha1,
}
# What the 2.0 server assumes when a request carries no SignatureMethod.
V2_DEFAULT_SIGNATURE_METHOD = "HmacSHA1"
_V2_HTTP_METHODS = ("GET", "POST")
# Parameters the 2.0 signer adds itself; a caller setting them would be silently overridden.
_V2_AUTH_PARAMS = frozenset(
    {"Region", "Timestamp", "Nonce", "SecretId", "SignatureMethod", "Token", "Signature"}
)

TC3_ALGORITHM = "TC3-HMAC-SHA256"
TC3_SIGNED_HEADERS = "content-type;host"
_TC3_TERMINATOR = "tc3_request"
_TC3_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TC3_SIGNATURE = re.compile(r"[0-9a-f]{64}")


def _check_timestamp(timestamp: int) -> None:
    if timestamp < 0:
        raise ValueError("timestamp must be unix seconds, not negative")


# --- API 2.0 -------------------------------------------------------------------------


def v2_canonical_query(params: Mapping[str, str]) -> str:
    """Raw ``k=v`` pairs joined by ``&``, sorted by key in ASCII order, Signature left out.

    Every ``_`` in a key becomes ``.`` (``Placement_Zone`` signs as ``Placement.Zone``);
    values are used as they are, neither renamed nor URL-encoded.
    """
    renamed: dict[str, str] = {}
    for key, value in params.items():
        if key == "Signature":
            continue
        name = key.replace("_", ".")
        if name in renamed:
            # The SDK silently keeps the last one; a server could pick either.
            raise ValueError(f"parameter {key!r} collides with another once '_' becomes '.'")
        renamed[name] = value
    return "&".join(f"{name}={renamed[name]}" for name in sorted(renamed))


def v2_string_to_sign(http_method: str, host: str, path: str, params: Mapping[str, str]) -> str:
    """``METHOD + host + path + "?" + canonical query``, e.g. ``GETcvm.api.qcloud.com/v2/...``.

    ``host`` is the Host the request goes to (with ``:port`` only if it is sent that way).
    """
    if http_method not in _V2_HTTP_METHODS:
        raise ValueError(f"API 2.0 requests are GET or POST, not {http_method!r}")
    return f"{http_method}{host}{path}?{v2_canonical_query(params)}"


def v2_signature(secret_key: str, string_to_sign: str, method: str = "HmacSHA256") -> str:
    """``base64(HMAC(secret_key, string_to_sign))`` with ``HmacSHA256`` or ``HmacSHA1``."""
    digest = _V2_DIGESTS.get(method)
    if digest is None:
        raise ValueError(f"unsupported SignatureMethod {method!r}; use HmacSHA256 or HmacSHA1")
    mac = hmac.new(secret_key.encode("utf-8"), string_to_sign.encode("utf-8"), digest)
    return base64.b64encode(mac.digest()).decode("ascii")


class TencentV2Signer:
    """Signs API 2.0 requests (``https://<service>.api.qcloud.com/v2/index.php``)."""

    __slots__ = ("_secret_key", "_token", "secret_id", "signature_method")

    def __init__(
        self,
        secret_id: str,
        secret_key: str,
        signature_method: str = "HmacSHA256",
        token: str | None = None,
    ) -> None:
        if not secret_id or not secret_key:
            raise ValueError("both the Tencent SecretId and SecretKey are required")
        if signature_method not in _V2_DIGESTS:
            raise ValueError(f"unsupported SignatureMethod {signature_method!r}")
        self.secret_id = secret_id
        self._secret_key = secret_key
        self.signature_method = signature_method
        self._token = token

    def __repr__(self) -> str:
        return (
            f"TencentV2Signer(secret_id={self.secret_id!r}, "
            f"signature_method={self.signature_method!r}, token={self._token is not None})"
        )

    def add_auth(
        self,
        *,
        http_method: str,
        host: str,
        path: str,
        params: Mapping[str, str],
        region: str,
        timestamp: int,
        nonce: int,
    ) -> dict[str, str]:
        """Return ``params`` plus the common auth parameters and Signature, all decoded.

        ``timestamp`` (unix seconds, within 2 hours of the server's clock) and ``nonce``
        (a positive integer never reused, or the server answers 4500) come from the caller.
        URL-encode every value of the result exactly once when sending.
        """
        _check_timestamp(timestamp)
        if nonce <= 0:
            raise ValueError("nonce must be a positive integer")
        clashing = _V2_AUTH_PARAMS.intersection(params)
        if clashing:
            raise ValueError(f"parameters set by the signer: {', '.join(sorted(clashing))}")
        fields = dict(params)
        fields.update(
            Region=region,
            Timestamp=str(timestamp),
            Nonce=str(nonce),
            SecretId=self.secret_id,
            SignatureMethod=self.signature_method,
        )
        if self._token is not None:
            fields["Token"] = self._token
        string_to_sign = v2_string_to_sign(http_method, host, path, fields)
        # Names only: the values include passwords (see the module docstring).
        logger.debug(
            "Tencent API 2.0 signing %s %s%s with %s, parameters %s",
            http_method,
            host,
            path,
            self.signature_method,
            ",".join(sorted(fields)),
        )
        fields["Signature"] = v2_signature(self._secret_key, string_to_sign, self.signature_method)
        return fields


def v2_verify(
    *, http_method: str, host: str, path: str, params: Mapping[str, str], secret_key: str
) -> bool:
    """Whether the decoded ``params`` of a received 2.0 request carry a valid Signature.

    Checks the signature only; the caller checks Timestamp (2 hours) and Nonce (replay)
    against its own clock and memory. Malformed input (an unknown SignatureMethod,
    colliding keys, another HTTP method) is simply not valid.
    """
    given = params.get("Signature")
    if given is None:
        return False
    method = params.get("SignatureMethod", V2_DEFAULT_SIGNATURE_METHOD)
    try:
        expected = v2_signature(
            secret_key, v2_string_to_sign(http_method, host, path, params), method
        )
    except ValueError:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


# --- TC3-HMAC-SHA256 -----------------------------------------------------------------


def tc3_date(timestamp: int) -> str:
    """The UTC date (``YYYY-MM-DD``) of ``timestamp``, as used in the credential scope."""
    return datetime.fromtimestamp(timestamp, tz=UTC).date().isoformat()


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _canonical_request(
    *,
    http_method: str,
    canonical_uri: str,
    canonical_query: str,
    headers: Sequence[tuple[str, str]],
    payload: bytes,
) -> str:
    # Header values are trimmed and lower-cased, as the TC3 documentation specifies
    # (its own example signs "x-tc-action:describeinstances").
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
    return _canonical_request(
        http_method=http_method,
        canonical_uri=canonical_uri,
        canonical_query=canonical_query,
        headers=(("content-type", content_type), ("host", host)),
        payload=payload,
    )


def _tc3_string_to_sign(*, timestamp: int, date: str, service: str, canonical_request: str) -> str:
    scope = f"{date}/{service}/{_TC3_TERMINATOR}"
    digest = _sha256_hex(canonical_request.encode("utf-8"))
    return f"{TC3_ALGORITHM}\n{timestamp}\n{scope}\n{digest}"


def tc3_string_to_sign(*, timestamp: int, service: str, canonical_request: str) -> str:
    """``TC3-HMAC-SHA256\\n<timestamp>\\n<date>/<service>/tc3_request\\n<sha256 hex>``."""
    return _tc3_string_to_sign(
        timestamp=timestamp,
        date=tc3_date(timestamp),
        service=service,
        canonical_request=canonical_request,
    )


def _hmac_sha256(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def tc3_signature(*, secret_key: str, date: str, service: str, string_to_sign: str) -> str:
    """Hex HMAC of the string to sign under the key derived from date and service."""
    k_date = _hmac_sha256(("TC3" + secret_key).encode("utf-8"), date)
    k_service = _hmac_sha256(k_date, service)
    k_signing = _hmac_sha256(k_service, _TC3_TERMINATOR)
    return hmac.new(k_signing, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def _tc3_authorization(secret_id: str, date: str, service: str, signature: str) -> str:
    return (
        f"{TC3_ALGORITHM} Credential={secret_id}/{date}/{service}/{_TC3_TERMINATOR}, "
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
        _check_timestamp(timestamp)
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


class TC3Authorization(NamedTuple):
    """The parts of a TC3 ``Authorization`` header."""

    secret_id: str
    date: str
    service: str
    signed_headers: str
    signature: str


def parse_tc3_authorization(header: str) -> TC3Authorization:
    """Split ``TC3-HMAC-SHA256 Credential=<id>/<date>/<service>/tc3_request,
    SignedHeaders=<a;b>, Signature=<hex>``; raise ValueError if it is not exactly that.
    """
    algorithm, _, rest = header.partition(" ")
    if algorithm != TC3_ALGORITHM:
        raise ValueError(f"not a {TC3_ALGORITHM} Authorization header")
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep or name in fields:
            raise ValueError("malformed TC3 Authorization header")
        fields[name] = value
    if set(fields) != {"Credential", "SignedHeaders", "Signature"}:
        raise ValueError("a TC3 Authorization header has Credential, SignedHeaders, Signature")
    # rsplit: the last three parts have fixed shapes, so only the SecretId may be odd.
    credential = fields["Credential"].rsplit("/", 3)
    if len(credential) != 4 or credential[3] != _TC3_TERMINATOR or not all(credential):
        raise ValueError("malformed TC3 Credential")
    secret_id, date, service, _ = credential
    if not _TC3_DATE.fullmatch(date):
        raise ValueError("the TC3 Credential date is not YYYY-MM-DD")
    signed = fields["SignedHeaders"].split(";")
    if not all(signed) or "content-type" not in signed or "host" not in signed:
        raise ValueError("TC3 SignedHeaders must include content-type and host")
    if not _TC3_SIGNATURE.fullmatch(fields["Signature"]):
        raise ValueError("the TC3 Signature is not 64 lowercase hex digits")
    return TC3Authorization(secret_id, date, service, fields["SignedHeaders"], fields["Signature"])


def tc3_verify(
    *,
    headers: Mapping[str, str],
    payload: bytes,
    secret_key: str,
    http_method: str = "POST",
    canonical_uri: str = "/",
    canonical_query: str = "",
) -> bool:
    """Whether a received request's TC3 ``Authorization`` header is valid for ``secret_key``.

    ``headers`` are the request's headers (any case). Any SignedHeaders list is accepted
    (newer clients also sign ``x-tc-action``). The credential date must be the UTC date
    of ``X-TC-Timestamp``. The caller picks ``secret_key`` by the SecretId from
    ``parse_tc3_authorization`` and checks the 5-minute window and the service itself.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    raw_timestamp = lowered.get("x-tc-timestamp", "")
    # Plain ASCII digits only: int() would also take " 12" or "1_2", which the client
    # signed as written and we would re-render differently.
    if not (raw_timestamp.isascii() and raw_timestamp.isdigit()):
        return False
    timestamp = int(raw_timestamp)
    try:
        auth = parse_tc3_authorization(lowered.get("authorization", ""))
        date = tc3_date(timestamp)
    except (ValueError, OverflowError, OSError):  # OverflowError/OSError: absurd timestamps
        return False
    names = auth.signed_headers.split(";")
    if any(name not in lowered for name in names) or auth.date != date:
        return False
    canonical_request = _canonical_request(
        http_method=http_method,
        canonical_uri=canonical_uri,
        canonical_query=canonical_query,
        headers=[(name, lowered[name]) for name in names],
        payload=payload,
    )
    string_to_sign = _tc3_string_to_sign(
        timestamp=timestamp,
        date=auth.date,
        service=auth.service,
        canonical_request=canonical_request,
    )
    expected = tc3_signature(
        secret_key=secret_key,
        date=auth.date,
        service=auth.service,
        string_to_sign=string_to_sign,
    )
    return hmac.compare_digest(expected.encode("ascii"), auth.signature.encode("ascii"))
