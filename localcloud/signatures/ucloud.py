"""The server side of the UCloud signature (``redis_rotation.signing.ucloud``): ``verify``."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from redis_rotation.signing.ucloud import SIGNATURE_PARAM, canonical_string, signature

__all__ = ["verify"]


def verify(params: Mapping[str, str], private_key: str) -> bool:
    """Whether ``params`` (as received, PublicKey included) carry a valid Signature."""
    given = params.get(SIGNATURE_PARAM)
    if given is None:
        return False
    expected = signature(canonical_string(params), private_key)
    # Bytes, because compare_digest refuses non-ASCII str and a client may send anything.
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))
