"""The server side of the ACS3-HMAC-SHA256 signature (``redis_rotation.signing.acs3``):
``parse_acs3_authorization``, ``received_params`` and ``acs3_verify``."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import NamedTuple
from urllib.parse import parse_qsl

from redis_rotation.signing.acs3 import (
    ACS3_ALGORITHM,
    acs3_canonical_query,
    acs3_canonical_request,
    acs3_signature,
    acs3_string_to_sign,
)

__all__ = [
    "REQUIRED_SIGNED",
    "ACS3Authorization",
    "acs3_verify",
    "parse_acs3_authorization",
    "received_params",
]

# The common headers every V3 request has and signs ("every common header but
# Authorization, if present, must be signed"); the verifier also demands that any
# other x-acs-* header sent is signed, so none can be added on the way.
REQUIRED_SIGNED = frozenset(
    {
        "host",
        "x-acs-action",
        "x-acs-version",
        "x-acs-date",
        "x-acs-signature-nonce",
        "x-acs-content-sha256",
    }
)
_SIGNATURE = re.compile(r"[0-9a-f]{64}")
_HEADER_NAME = re.compile(r"[a-z0-9-]+")


class ACS3Authorization(NamedTuple):
    """The parts of an ACS3 ``Authorization`` header."""

    access_key_id: str
    signed_headers: tuple[str, ...]
    signature: str


def parse_acs3_authorization(header: str) -> ACS3Authorization:
    """Split ``ACS3-HMAC-SHA256 Credential=<id>,SignedHeaders=<a;b>,Signature=<hex>``;
    raise ValueError if it is not exactly that (the SDK writes no spaces after commas,
    and none are accepted)."""
    algorithm, _, rest = header.partition(" ")
    if algorithm != ACS3_ALGORITHM:
        raise ValueError(f"not an {ACS3_ALGORITHM} Authorization header")
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, sep, value = part.partition("=")
        if not sep or name in fields:
            raise ValueError("malformed ACS3 Authorization header")
        fields[name] = value
    if set(fields) != {"Credential", "SignedHeaders", "Signature"}:
        raise ValueError("an ACS3 Authorization header has Credential, SignedHeaders, Signature")
    if not fields["Credential"]:
        raise ValueError("the ACS3 Credential (AccessKey ID) is empty")
    signed = tuple(fields["SignedHeaders"].split(";"))
    if not all(_HEADER_NAME.fullmatch(name) for name in signed) or list(signed) != sorted(
        set(signed)
    ):
        raise ValueError("ACS3 SignedHeaders must be distinct lower-case names, sorted")
    if not set(signed) >= REQUIRED_SIGNED:
        raise ValueError("ACS3 SignedHeaders must include " + ";".join(sorted(REQUIRED_SIGNED)))
    if not _SIGNATURE.fullmatch(fields["Signature"]):
        raise ValueError("the ACS3 Signature is not 64 lowercase hex digits")
    return ACS3Authorization(fields["Credential"], signed, fields["Signature"])


def received_params(query: str) -> dict[str, str]:
    """The parameters of a received query string, decoded once; ValueError for a name
    given twice (which one would be signed is ambiguous)."""
    pairs = parse_qsl(query, keep_blank_values=True, encoding="utf-8", errors="strict")
    params = dict(pairs)
    if len(params) != len(pairs):
        raise ValueError("a query parameter is given twice")
    return params


def acs3_verify(
    *,
    headers: Mapping[str, str],
    query: str,
    body: bytes,
    access_key_secret: str,
    http_method: str = "POST",
    canonical_uri: str = "/",
) -> bool:
    """Whether a received request's ACS3 ``Authorization`` header is valid for
    ``access_key_secret``.

    ``headers`` are the request's headers (any case), ``query`` its raw query string.
    The signature is recomputed over the client's own SignedHeaders (the SDK signs every
    header it sends), which must hold the common headers and every x-acs-* header sent;
    ``x-acs-content-sha256`` must be the body's hash. The caller picks the secret by the
    AccessKey ID from ``parse_acs3_authorization`` and checks the date window and nonce.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    try:
        auth = parse_acs3_authorization(lowered.get("authorization", ""))
        params = received_params(query)
    except (ValueError, UnicodeDecodeError):
        return False
    signed = set(auth.signed_headers)
    unsigned_acs = {n for n in lowered if n.startswith("x-acs-")} - signed
    if unsigned_acs or any(name not in lowered for name in signed):
        return False
    payload_sha256 = hashlib.sha256(body).hexdigest()
    if lowered["x-acs-content-sha256"] != payload_sha256:
        return False
    canonical_request = acs3_canonical_request(
        http_method=http_method,
        canonical_uri=canonical_uri,
        canonical_query=acs3_canonical_query(params),
        headers={name: lowered[name] for name in auth.signed_headers},
        payload_sha256=payload_sha256,
    )
    expected = acs3_signature(
        access_key_secret=access_key_secret,
        string_to_sign=acs3_string_to_sign(canonical_request),
    )
    return hmac.compare_digest(expected.encode("ascii"), auth.signature.encode("ascii"))
