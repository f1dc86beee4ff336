"""The server side of AWS Signature Version 4, for the AWS API emulators: the signature is
recomputed with botocore's own signer (``SigV4Auth``) over the request as received, so the
emulator and boto3 cannot drift apart.

AWS answers a request signed more than five minutes from its clock with
``SignatureDoesNotMatch`` ("Signature expired"); so does ``sigv4_check``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

__all__ = ["SIGV4_WINDOW", "SigV4Failure", "SigV4Key", "SigV4Scope", "sigv4_check"]

SIGV4_WINDOW = 5 * 60
_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/,\s]+)/(?P<date>\d{8})/(?P<region>[a-z0-9-]+)/"
    r"(?P<service>[a-z0-9-]+)/aws4_request, ?SignedHeaders=(?P<signed>[a-z0-9;-]+), ?"
    r"Signature=(?P<signature>[0-9a-f]{64})"
)
_AMZ_DATE = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True)
class SigV4Key:
    """An access key the emulator knows; ``token`` is the session token it requires, if any
    (a Lambda role's keys are temporary and come with one)."""

    secret: str
    token: str | None = None


@dataclass(frozen=True)
class SigV4Scope:
    """Who signed a valid request, and for which region."""

    access_key: str
    region: str


@dataclass(frozen=True)
class SigV4Failure:
    """Why a request was refused: AWS's error code, HTTP status and message."""

    code: str
    status: int
    message: str


def _parse(
    lowered: Mapping[str, str], service: str, now: Callable[[], float]
) -> re.Match[str] | SigV4Failure:
    """The Authorization header's parts, if it is well formed, signed for ``service`` and
    dated within the window."""
    authorization = lowered.get("authorization")
    if authorization is None:
        return SigV4Failure("MissingAuthenticationToken", 403, "Missing Authentication Token")
    match = _AUTHORIZATION.fullmatch(authorization)
    if match is None:
        return SigV4Failure("IncompleteSignature", 403, "Malformed Authorization header")
    signed = match["signed"].split(";")
    amz_date = lowered.get("x-amz-date", "")
    try:
        stamped = datetime.strptime(amz_date, _AMZ_DATE).replace(tzinfo=UTC).timestamp()
    except ValueError:
        return SigV4Failure("IncompleteSignature", 403, "X-Amz-Date is missing or malformed")
    if "host" not in signed or "x-amz-date" not in signed or any(n not in lowered for n in signed):
        return SigV4Failure("IncompleteSignature", 403, "SignedHeaders must name host, x-amz-date")
    if match["date"] != amz_date[:8] or match["service"] != service:
        return SigV4Failure("SignatureDoesNotMatch", 403, "Credential scope does not match")
    if abs(now() - stamped) > SIGV4_WINDOW:
        return SigV4Failure("SignatureDoesNotMatch", 403, f"Signature expired: {amz_date}")
    return match


def sigv4_check(
    *,
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    service: str,
    keys: Mapping[str, SigV4Key],
    now: Callable[[], float],
) -> SigV4Scope | SigV4Failure:
    """The signer's scope if ``headers`` carry a valid SigV4 signature for ``service``,
    made by a key in ``keys`` within ``SIGV4_WINDOW`` of ``now()``; else why not."""
    lowered = {name.lower(): value for name, value in headers.items()}
    match = _parse(lowered, service, now)
    if isinstance(match, SigV4Failure):
        return match
    signed, amz_date = match["signed"].split(";"), lowered["x-amz-date"]
    key = keys.get(match["key"])
    if key is None:
        return SigV4Failure("InvalidClientTokenId", 403, "The security token is not valid")
    if key.token is not None and lowered.get("x-amz-security-token") != key.token:
        return SigV4Failure("InvalidClientTokenId", 403, "The security token is not valid")
    claimed_hash = lowered.get("x-amz-content-sha256")
    if claimed_hash is not None and claimed_hash != hashlib.sha256(body).hexdigest():
        return SigV4Failure("SignatureDoesNotMatch", 403, "The payload hash does not match")
    # Only the headers the client signed, as received: botocore canonicalises them.
    request = AWSRequest(
        method=method,
        url=f"http://{lowered['host']}{path}" + (f"?{query}" if query else ""),
        data=body,
        headers={name: lowered[name] for name in signed},
    )
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(match["key"], key.secret, key.token), service, match["region"])
    expected = signer.signature(
        signer.string_to_sign(request, signer.canonical_request(request)), request
    )
    if not hmac.compare_digest(expected, match["signature"]):
        return SigV4Failure("SignatureDoesNotMatch", 403, "The request signature does not match")
    return SigV4Scope(match["key"], match["region"])
