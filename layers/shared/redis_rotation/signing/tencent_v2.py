"""Tencent Cloud API 2.0 signature: HMAC over the sorted, decoded parameters.

Built from small pure steps (the shape of botocore's ``auth.py``) that take the clock and
the nonce as arguments; only the caller reads the time::

    v2_canonical_query -> v2_string_to_sign -> v2_signature      (TencentV2Signer)

The server side (``v2_verify``, for the local emulator) is
``localcloud.signatures.tencent_v2``, built on these same steps.

API 2.0 signs the *decoded* parameter values. ``TencentV2Signer.add_auth`` returns them
decoded; the caller URL-encodes every value exactly once when sending
(``urllib.parse.urlencode(fields)`` as the form body or the query string). Encoding twice,
or signing encoded values, makes the signature fail (error 4100).

Logging: the string to sign contains every parameter value (the old and new passwords of
``ModfiyRedisPassword``), so only parameter names are logged. Keys, tokens and signatures
are never logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Mapping

__all__ = [
    "TencentV2Signer",
    "v2_canonical_query",
    "v2_signature",
    "v2_string_to_sign",
]

logger = logging.getLogger(__name__)

_V2_DIGESTS = {
    "HmacSHA256": hashlib.sha256,
    "HmacSHA1": hashlib.sha1,
}
_V2_HTTP_METHODS = ("GET", "POST")
# Parameters the 2.0 signer adds itself; a caller setting them would be silently overridden.
_V2_AUTH_PARAMS = frozenset(
    {"Region", "Timestamp", "Nonce", "SecretId", "SignatureMethod", "Token", "Signature"}
)


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
        if timestamp < 0:
            raise ValueError("timestamp must be unix seconds, not negative")
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
