"""The server side of the Tencent API 2.0 signature (``redis_rotation.signing.tencent_v2``)."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from redis_rotation.signing.tencent_v2 import v2_signature, v2_string_to_sign

__all__ = ["V2_DEFAULT_SIGNATURE_METHOD", "v2_verify"]

# What the 2.0 server assumes when a request carries no SignatureMethod.
V2_DEFAULT_SIGNATURE_METHOD = "HmacSHA1"


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
