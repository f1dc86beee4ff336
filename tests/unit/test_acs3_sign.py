"""ACS3-HMAC-SHA256 signer (redis_rotation.signing.acs3) and its server side
(localcloud.signatures.acs3): the published vectors, each pure step, and tampering.
The official SDK as oracle: test_alibaba_sdk_oracles."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from localcloud.signatures.acs3 import acs3_verify, parse_acs3_authorization, received_params
from redis_rotation.signing.acs3 import (
    EMPTY_PAYLOAD_SHA256,
    ACS3Signer,
    acs3_canonical_headers,
    acs3_canonical_query,
    acs3_canonical_request,
    acs3_date,
)

pytestmark = pytest.mark.unit

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "alibaba_acs3"
CASES = sorted(path for path in VECTORS.iterdir() if path.is_dir())
REQUEST: dict[str, Any] = {
    "host": "r-kvstore.cn-shanghai.aliyuncs.com",
    "action": "ResetAccountPassword",
    "version": "2015-01-01",
    "params": {"InstanceId": "r-1", "AccountName": "app", "AccountPassword": "N3w@Pass w+rd"},
    "timestamp": 1700000000,
    "nonce": "nonce-1",
}


def load_case(case_dir: Path) -> dict[str, Any]:
    case: dict[str, Any] = json.loads((case_dir / "case.json").read_text(encoding="utf-8"))
    return case


@pytest.mark.parametrize("case_dir", CASES, ids=lambda path: path.name)
def test_acs3_published_vector(case_dir: Path) -> None:
    case = load_case(case_dir)
    assert case["source"], "every vector names where it comes from"
    headers = ACS3Signer(case["access_key_id"], case["access_key_secret"]).add_auth(
        host=case["host"],
        action=case["action"],
        version=case["version"],
        params=case["params"],
        timestamp=case["timestamp"],
        nonce=case["nonce"],
        http_method=case["http_method"],
    )
    unsigned = {name: value for name, value in headers.items() if name != "Authorization"}
    canonical = acs3_canonical_request(
        http_method=case["http_method"],
        canonical_uri="/",
        canonical_query=acs3_canonical_query(case["params"]),
        headers=unsigned,
        payload_sha256=EMPTY_PAYLOAD_SHA256,
    )
    got = {
        "x-acs-date": headers["x-acs-date"],
        "canonical_request_sha256": hashlib.sha256(canonical.encode()).hexdigest(),
        "authorization": headers["Authorization"],
    }
    expected = case["expected"]
    assert {name: got[name] for name in expected} == expected
    assert acs3_verify(
        headers=headers,
        query=acs3_canonical_query(case["params"]),
        body=b"",
        access_key_secret=case["access_key_secret"],
    )


# --- the steps -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timestamp", "date"),
    [
        (0, "1970-01-01T00:00:00Z"),
        (86399, "1970-01-01T23:59:59Z"),
        (1698315752, "2023-10-26T10:22:32Z"),
    ],
)
def test_acs3_date_is_utc_iso8601(timestamp: int, date: str) -> None:
    assert acs3_date(timestamp) == date


def test_acs3_canonical_query_sorts_and_encodes_rfc3986() -> None:
    params = {"b": "a b+c", "A": "~x*y/z", "a.1": "é:", "c": ""}
    # Sorted by name as code points (upper case first); space %20, "~" kept, "*" encoded.
    assert acs3_canonical_query(params) == "A=~x%2Ay%2Fz&a.1=%C3%A9%3A&b=a%20b%2Bc&c="
    assert acs3_canonical_query({}) == ""


def test_acs3_canonical_headers_lower_case_sorted_trimmed() -> None:
    canonical, signed = acs3_canonical_headers({"X-Acs-Date": " d ", "Host": "h", "accept": "*"})
    assert canonical == "accept:*\nhost:h\nx-acs-date:d\n"
    assert signed == "accept;host;x-acs-date"


def test_acs3_signer_hides_its_secret_and_token() -> None:
    signer = ACS3Signer("LTAIid", "s3cr3t-value", security_token="sts-t0ken")
    assert "s3cr3t-value" not in repr(signer)
    assert "sts-t0ken" not in repr(signer)
    assert "LTAIid" in repr(signer)
    headers = signer.add_auth(**REQUEST)
    assert headers["x-acs-security-token"] == "sts-t0ken"
    assert "x-acs-security-token" in parse_acs3_authorization(headers["Authorization"])[1]


def test_acs3_signer_refuses_missing_keys_nonce_or_negative_time() -> None:
    with pytest.raises(ValueError, match="AccessKey"):
        ACS3Signer("", "secret")
    with pytest.raises(ValueError, match="nonce"):
        ACS3Signer("id", "secret").add_auth(**{**REQUEST, "nonce": ""})
    with pytest.raises(ValueError, match="timestamp"):
        ACS3Signer("id", "secret").add_auth(**{**REQUEST, "timestamp": -1})


# --- the verifier ----------------------------------------------------------------------


def signed_request() -> tuple[dict[str, str], str]:
    headers = ACS3Signer("id", "secret").add_auth(**REQUEST)
    return headers, acs3_canonical_query(REQUEST["params"])


def test_acs3_verify_accepts_the_query_however_it_is_encoded() -> None:
    headers, query = signed_request()
    assert acs3_verify(headers=headers, query=query, body=b"", access_key_secret="secret")
    # Form encoding (space as "+", names in another order) decodes to the same parameters.
    form = "&".join(
        f"{name}={quote(value, safe='').replace('%20', '+')}"
        for name, value in reversed(REQUEST["params"].items())
    )
    assert received_params(form) == REQUEST["params"]
    assert acs3_verify(headers=headers, query=form, body=b"", access_key_secret="secret")


@pytest.mark.parametrize(
    "tamper",
    [
        "secret",
        "param",
        "extra-param",
        "twice",
        "host",
        "action",
        "nonce",
        "body",
        "unsigned-acs",
        "method",
    ],
)
def test_acs3_verify_refuses_tampering(tamper: str) -> None:
    headers, query = signed_request()
    request: dict[str, Any] = {
        "headers": headers,
        "query": query,
        "body": b"",
        "access_key_secret": "secret",
    }
    changes: dict[str, dict[str, Any]] = {
        "secret": {"access_key_secret": "other"},
        "param": {"query": query.replace("InstanceId=r-1", "InstanceId=r-2")},
        "extra-param": {"query": query + "&AccountPrivilege=RoleReadWrite"},
        "twice": {"query": query + "&InstanceId=r-1"},
        "host": {"headers": {**headers, "host": "evil.example"}},
        "action": {"headers": {**headers, "x-acs-action": "CreateAccount"}},
        "nonce": {"headers": {**headers, "x-acs-signature-nonce": "nonce-2"}},
        "body": {"body": b"x"},
        "unsigned-acs": {"headers": {**headers, "x-acs-security-token": "t"}},
        "method": {"http_method": "GET"},
    }
    assert not acs3_verify(**{**request, **changes[tamper]})


@pytest.mark.parametrize(
    "header",
    [
        "",
        "HMAC-SHA1 Credential=a,SignedHeaders=host,Signature=" + "0" * 64,
        "ACS3-HMAC-SHA256 Credential=a, SignedHeaders=x,Signature=" + "0" * 64,
        "ACS3-HMAC-SHA256 Credential=,SignedHeaders=host,Signature=" + "0" * 64,
        "ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host;x-acs-date,Signature=" + "0" * 64,
        "ACS3-HMAC-SHA256 Credential=a,Credential=b,SignedHeaders=host,Signature=" + "0" * 64,
        "ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host,Signature=XYZ",
    ],
    ids=["empty", "algorithm", "space", "no-id", "too-few-signed", "twice", "signature"],
)
def test_parse_acs3_authorization_refuses_malformed(header: str) -> None:
    with pytest.raises(ValueError, match=r"ACS3|Authorization"):
        parse_acs3_authorization(header)


def test_parse_acs3_authorization_demands_sorted_distinct_names() -> None:
    headers, _ = signed_request()
    parsed = parse_acs3_authorization(headers["Authorization"])
    assert parsed.access_key_id == "id"
    names = ";".join(reversed(parsed.signed_headers))
    reordered = headers["Authorization"].replace(";".join(parsed.signed_headers), names)
    with pytest.raises(ValueError, match="sorted"):
        parse_acs3_authorization(reordered)
