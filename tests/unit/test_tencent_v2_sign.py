"""Tencent API 2.0 signer (redis_rotation.signing.tencent_v2): the documented vectors and
each pure step."""

from __future__ import annotations

from pathlib import Path

import pytest

from localcloud.signatures.tencent_v2 import v2_verify
from redis_rotation.signing.tencent_v2 import (
    TencentV2Signer,
    v2_canonical_query,
    v2_signature,
    v2_string_to_sign,
)
from tests.unit.tencent_signing import (
    PASSWORD_PARAMS,
    SECRET_ID,
    V2_CASES,
    V2_REQUEST,
    load_case,
    without_signature,
)

pytestmark = pytest.mark.unit

V2_AUTH_KEYS = {"Region", "Timestamp", "Nonce", "SecretId", "SignatureMethod", "Signature"}


# --- known vectors -------------------------------------------------------------------


@pytest.mark.parametrize("case_dir", V2_CASES, ids=lambda path: path.name)
def test_v2_known_vector(case_dir: Path) -> None:
    case = load_case(case_dir)
    assert case["source"], "every vector names where it comes from"
    expected = case["expected"]
    signer = TencentV2Signer(case["secret_id"], case["secret_key"], case["signature_method"])
    request = {key: case[key] for key in ("http_method", "host", "path")}
    fields = signer.add_auth(
        **request,
        params=case["params"],
        region=case["region"],
        timestamp=case["timestamp"],
        nonce=case["nonce"],
    )
    unsigned = without_signature(fields)
    got = {
        "canonical_query": v2_canonical_query(unsigned),
        "string_to_sign": v2_string_to_sign(**request, params=unsigned),
        "signature": fields["Signature"],
    }
    assert got == expected, "\n".join(
        f"{name}:\n  got      {got[name]!r}\n  expected {expected[name]!r}" for name in expected
    )
    assert v2_verify(**request, params=fields, secret_key=case["secret_key"])


# --- API 2.0 steps -------------------------------------------------------------------


def test_v2_canonical_query_renames_keys_not_values_and_sorts_ascii() -> None:
    params = {
        "redisId": "crs_1",
        "Placement_Zone": "CN_GUANGZHOU",
        "password": "a&b=c%20",
        "Action": "ModfiyRedisPassword",
        "Signature": "left-out",
    }
    assert v2_canonical_query(params) == (
        "Action=ModfiyRedisPassword&Placement.Zone=CN_GUANGZHOU&password=a&b=c%20&redisId=crs_1"
    )


def test_v2_canonical_query_refuses_keys_that_collide_after_renaming() -> None:
    with pytest.raises(ValueError, match="collides"):
        v2_canonical_query({"a_b": "1", "a.b": "2"})


def test_v2_string_to_sign_concatenates_method_host_path_query() -> None:
    string_to_sign = v2_string_to_sign("POST", "redis.api.qcloud.com", "/v2", {"b": "2", "a": "1"})
    assert string_to_sign == "POSTredis.api.qcloud.com/v2?a=1&b=2"


@pytest.mark.parametrize("http_method", ["PUT", "get", ""])
def test_v2_string_to_sign_accepts_only_get_and_post(http_method: str) -> None:
    with pytest.raises(ValueError, match="GET or POST"):
        v2_string_to_sign(http_method, "h", "/", {})


@pytest.mark.parametrize(("method", "length"), [("HmacSHA256", 44), ("HmacSHA1", 28)])
def test_v2_signature_is_base64_of_the_chosen_hmac(method: str, length: int) -> None:
    assert len(v2_signature("key", "text", method)) == length


@pytest.mark.parametrize("method", ["HmacSHA512", "TC3-HMAC-SHA256", "hmacsha256"])
def test_v2_signature_refuses_other_methods(method: str) -> None:
    with pytest.raises(ValueError, match="SignatureMethod"):
        v2_signature("key", "text", method)


# --- TencentV2Signer -----------------------------------------------------------------


@pytest.mark.parametrize(("token", "extra"), [(None, set()), ("tmp-token", {"Token"})])
def test_v2_add_auth_returns_exactly_params_plus_auth_keys(
    token: str | None, extra: set[str]
) -> None:
    fields = TencentV2Signer(SECRET_ID, "key", token=token).add_auth(
        **V2_REQUEST, params=PASSWORD_PARAMS
    )
    assert set(fields) == set(PASSWORD_PARAMS) | V2_AUTH_KEYS | extra
    assert fields["Timestamp"] == "1700000000"
    assert fields["Nonce"] == "42"
    assert fields["SignatureMethod"] == "HmacSHA256"


@pytest.mark.parametrize("reserved", sorted(V2_AUTH_KEYS | {"Token"}))
def test_v2_add_auth_refuses_auth_params_from_the_caller(reserved: str) -> None:
    with pytest.raises(ValueError, match=reserved):
        TencentV2Signer(SECRET_ID, "key").add_auth(**V2_REQUEST, params={reserved: "x"})


@pytest.mark.parametrize(("name", "value"), [("nonce", 0), ("nonce", -1), ("timestamp", -1)])
def test_v2_add_auth_refuses_bad_clock_or_nonce(name: str, value: int) -> None:
    with pytest.raises(ValueError, match=name):
        TencentV2Signer(SECRET_ID, "key").add_auth(
            **{**V2_REQUEST, name: value}, params=PASSWORD_PARAMS
        )


def test_v2_signer_refuses_unknown_method_and_missing_keys() -> None:
    with pytest.raises(ValueError, match="SignatureMethod"):
        TencentV2Signer(SECRET_ID, "key", signature_method="HmacMD5")
    with pytest.raises(ValueError, match="required"):
        TencentV2Signer("", "key")
