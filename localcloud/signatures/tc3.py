"""The server side of the TC3-HMAC-SHA256 signature (``redis_rotation.signing.tc3``):
``parse_tc3_authorization`` and ``tc3_verify``."""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from typing import NamedTuple

from redis_rotation.signing.tc3 import (
    TC3_ALGORITHM,
    TC3_TERMINATOR,
    tc3_canonical_request_with_headers,
    tc3_date,
    tc3_signature,
    tc3_string_to_sign,
)

__all__ = ["TC3Authorization", "parse_tc3_authorization", "tc3_verify"]

_TC3_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TC3_SIGNATURE = re.compile(r"[0-9a-f]{64}")


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
    if len(credential) != 4 or credential[3] != TC3_TERMINATOR or not all(credential):
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
    canonical_request = tc3_canonical_request_with_headers(
        http_method=http_method,
        canonical_uri=canonical_uri,
        canonical_query=canonical_query,
        headers=[(name, lowered[name]) for name in names],
        payload=payload,
    )
    # auth.date is the date of the timestamp (checked above), as tc3_string_to_sign scopes it.
    string_to_sign = tc3_string_to_sign(
        timestamp=timestamp, service=auth.service, canonical_request=canonical_request
    )
    expected = tc3_signature(
        secret_key=secret_key,
        date=auth.date,
        service=auth.service,
        string_to_sign=string_to_sign,
    )
    return hmac.compare_digest(expected.encode("ascii"), auth.signature.encode("ascii"))
