"""TC3-HMAC-SHA256 signer (redis_rotation.signing.tc3): the documented vectors and each
pure step."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from localcloud.signatures.tc3 import parse_tc3_authorization, tc3_verify
from redis_rotation.signing.tc3 import (
    TC3Signer,
    tc3_canonical_request,
    tc3_date,
    tc3_string_to_sign,
)
from tests.unit.tencent_signing import SECRET_ID, TC3_CASES, TC3_REQUEST, load_case

pytestmark = pytest.mark.unit

TC3_HEADER_KEYS = {
    "Authorization",
    "Content-Type",
    "Host",
    "X-TC-Action",
    "X-TC-Timestamp",
    "X-TC-Version",
    "X-TC-Region",
}


# --- known vectors -------------------------------------------------------------------


@pytest.mark.parametrize("case_dir", TC3_CASES, ids=lambda path: path.name)
def test_tc3_known_vector(case_dir: Path) -> None:
    case = load_case(case_dir)
    assert case["source"], "every vector names where it comes from"
    expected = case["expected"]
    payload = case["payload"].encode("utf-8")
    headers = TC3Signer(case["secret_id"], case["secret_key"], case["service"]).add_auth(
        host=case["host"],
        action=case["action"],
        version=case["version"],
        region=case["region"],
        payload=payload,
        content_type=case["content_type"],
        timestamp=case["timestamp"],
    )
    canonical = tc3_canonical_request(
        host=case["host"], content_type=case["content_type"], payload=payload
    )
    string_to_sign = tc3_string_to_sign(
        timestamp=case["timestamp"], service=case["service"], canonical_request=canonical
    )
    got = {
        "canonical_request": canonical,
        "string_to_sign": string_to_sign,
        "signature": parse_tc3_authorization(headers["Authorization"]).signature,
        "authorization": headers["Authorization"],
    }
    assert got == expected, "\n".join(
        f"{name}:\n  got      {got[name]!r}\n  expected {expected[name]!r}" for name in expected
    )
    assert tc3_verify(headers=headers, payload=payload, secret_key=case["secret_key"])


# --- TC3 steps -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timestamp", "date"),
    [(0, "1970-01-01"), (86399, "1970-01-01"), (86400, "1970-01-02"), (1551113065, "2019-02-25")],
)
def test_tc3_date_is_the_utc_date(timestamp: int, date: str) -> None:
    assert tc3_date(timestamp) == date


@settings(max_examples=200)
@given(st.integers(min_value=0, max_value=253402300799))  # up to 9999-12-31
def test_tc3_date_matches_gmtime(timestamp: int) -> None:
    assert tc3_date(timestamp) == time.strftime("%Y-%m-%d", time.gmtime(timestamp))


def test_tc3_canonical_request_for_get_signs_the_query_and_an_empty_body() -> None:
    canonical = tc3_canonical_request(
        host=" Redis.TencentCloudAPI.com ",
        content_type="application/x-www-form-urlencoded",
        payload=b"",
        http_method="GET",
        canonical_query="InstanceId=crs-1&Limit=10",
    )
    assert canonical == (
        "GET\n/\nInstanceId=crs-1&Limit=10\n"
        "content-type:application/x-www-form-urlencoded\nhost:redis.tencentcloudapi.com\n\n"
        "content-type;host\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


def test_tc3_string_to_sign_scopes_to_the_utc_date_and_service() -> None:
    assert tc3_string_to_sign(timestamp=86400, service="redis", canonical_request="") == (
        "TC3-HMAC-SHA256\n86400\n1970-01-02/redis/tc3_request\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


# --- TC3Signer -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "region", "expected"),
    [
        (None, "ap-guangzhou", TC3_HEADER_KEYS),
        ("tmp-token", "ap-guangzhou", TC3_HEADER_KEYS | {"X-TC-Token"}),
        (None, "", TC3_HEADER_KEYS - {"X-TC-Region"}),
    ],
    ids=["plain", "token", "no-region"],
)
def test_tc3_add_auth_returns_exactly_the_headers(
    token: str | None, region: str, expected: set[str]
) -> None:
    signer = TC3Signer(SECRET_ID, "key", "redis", token=token)
    headers = signer.add_auth(**{**TC3_REQUEST, "region": region})
    assert set(headers) == expected
    assert headers["X-TC-Timestamp"] == "1700000000"
    assert headers["Content-Type"] == "application/json"


def test_tc3_signer_refuses_missing_service_or_negative_timestamp() -> None:
    with pytest.raises(ValueError, match="service"):
        TC3Signer(SECRET_ID, "key", "")
    with pytest.raises(ValueError, match="timestamp"):
        TC3Signer(SECRET_ID, "key", "redis").add_auth(**{**TC3_REQUEST, "timestamp": -1})
