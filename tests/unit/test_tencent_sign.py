"""Tencent signers (API 2.0 and TC3): documented vectors, each pure step, and the official
tencentcloud-sdk-python-common as oracle, both for the strings it builds and for whole
requests it signs (which our verifiers, used by the emulator, must accept).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tencentcloud.common.abstract_client import AbstractClient
from tencentcloud.common.credential import Credential
from tencentcloud.common.http.request import RequestInternal
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.common.sign import Sign
from tencentcloud.redis.v20180412.redis_client import RedisClient

from redis_rotation.providers.tencent_sign import (
    TC3Signer,
    TencentV2Signer,
    parse_tc3_authorization,
    tc3_canonical_request,
    tc3_date,
    tc3_signature,
    tc3_string_to_sign,
    tc3_verify,
    v2_canonical_query,
    v2_signature,
    v2_string_to_sign,
    v2_verify,
)

pytestmark = pytest.mark.unit

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
V2_CASES = sorted(path for path in (VECTORS / "tencent_v2").iterdir() if path.is_dir())
TC3_CASES = sorted(path for path in (VECTORS / "tencent_tc3").iterdir() if path.is_dir())
V2_AUTH_KEYS = {"Region", "Timestamp", "Nonce", "SecretId", "SignatureMethod", "Signature"}
TC3_HEADER_KEYS = {
    "Authorization",
    "Content-Type",
    "Host",
    "X-TC-Action",
    "X-TC-Timestamp",
    "X-TC-Version",
    "X-TC-Region",
}
SPECIALS = "!@#%^*()"  # every special character the 2.0 password rule allows
SECRET_ID = "AKIDexampleexampleexample"
# The SDK computes the TC3 date with datetime.utcfromtimestamp, deprecated since 3.12.
sdk_utcfromtimestamp_warning = pytest.mark.filterwarnings(
    "ignore:datetime.datetime.utcfromtimestamp:DeprecationWarning"
)


def load_case(case_dir: Path) -> dict[str, Any]:
    case: dict[str, Any] = json.loads((case_dir / "case.json").read_text(encoding="utf-8"))
    return case


def without_signature(fields: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in fields.items() if key != "Signature"}


def sdk_client(
    *,
    sign_method: str,
    host: str,
    http_method: str = "POST",
    path: str = "/",
    secret_key: str = "unused",
    token: str | None = None,
) -> Any:
    """The official RedisClient, pointed at ``host``; it is only asked to build requests."""
    profile = ClientProfile(
        signMethod=sign_method, httpProfile=HttpProfile(endpoint=host, reqMethod=http_method)
    )
    client = RedisClient(Credential(SECRET_ID, secret_key, token), "ap-guangzhou", profile)
    client._requestPath = path  # 2.0 services live under /v2/index.php, API 3.0 at /
    return client


# --- known vectors -------------------------------------------------------------------


def test_vectors_are_present() -> None:
    # A wrong path would otherwise parametrize zero cases and pass silently.
    assert len(V2_CASES) >= 2
    assert len(TC3_CASES) >= 1


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


# --- TencentV2Signer, v2_verify ------------------------------------------------------

V2_REQUEST: dict[str, Any] = {
    "http_method": "POST",
    "host": "redis.api.qcloud.com",
    "path": "/v2/index.php",
    "region": "ap-guangzhou",
    "timestamp": 1700000000,
    "nonce": 42,
}
PASSWORD_PARAMS = {
    "Action": "ModfiyRedisPassword",
    "redisId": "crs-1",
    "oldPassword": "0ld!Pass",
    "password": "N3w@Pass",
}


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


def test_v2_verify_rejects_tampering_and_bad_input() -> None:
    fields = TencentV2Signer(SECRET_ID, "key").add_auth(**V2_REQUEST, params=PASSWORD_PARAMS)
    request = {key: V2_REQUEST[key] for key in ("http_method", "host", "path")}
    assert v2_verify(**request, params=fields, secret_key="key")
    assert not v2_verify(**request, params=fields, secret_key="other")
    assert not v2_verify(**request, params={**fields, "password": "x"}, secret_key="key")
    assert not v2_verify(**{**request, "host": "evil"}, params=fields, secret_key="key")
    assert not v2_verify(**{**request, "http_method": "PUT"}, params=fields, secret_key="key")
    assert not v2_verify(**request, params=without_signature(fields), secret_key="key")
    bad_method = {**fields, "SignatureMethod": "HmacMD5"}
    assert not v2_verify(**request, params=bad_method, secret_key="key")
    assert not v2_verify(**request, params={**fields, "Signature": "ü"}, secret_key="key")


def test_v2_verify_defaults_to_hmac_sha1_without_signature_method() -> None:
    request = {key: V2_REQUEST[key] for key in ("http_method", "host", "path")}
    string_to_sign = v2_string_to_sign(**request, params=PASSWORD_PARAMS)
    signed = {**PASSWORD_PARAMS, "Signature": v2_signature("key", string_to_sign, "HmacSHA1")}
    assert v2_verify(**request, params=signed, secret_key="key")


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


# --- TC3Signer, parse_tc3_authorization, tc3_verify ----------------------------------

TC3_REQUEST: dict[str, Any] = {
    "host": "redis.tencentcloudapi.com",
    "action": "ModifyInstancePassword",
    "version": "2018-04-12",
    "region": "ap-guangzhou",
    "payload": b'{"InstanceId": "crs-1", "Password": "N3w@Pass"}',
    "content_type": "application/json",
    "timestamp": 1700000000,
}


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


def test_parse_tc3_authorization_splits_the_header() -> None:
    header = TC3Signer("AKID/odd", "key", "redis").add_auth(**TC3_REQUEST)["Authorization"]
    parsed = parse_tc3_authorization(header)
    assert parsed[:4] == ("AKID/odd", "2023-11-14", "redis", "content-type;host")
    assert parsed.signature == header.rsplit("=", 1)[1]


def authorization(
    *,
    algorithm: str = "TC3-HMAC-SHA256",
    credential: str = "A/2019-02-25/cvm/tc3_request",
    signed_headers: str = "content-type;host",
    signature: str = "0" * 64,
) -> str:
    return (
        f"{algorithm} Credential={credential}, "
        f"SignedHeaders={signed_headers}, Signature={signature}"
    )


MALFORMED_AUTHORIZATION = {
    "empty": "",
    "no-fields": "TC3-HMAC-SHA256",
    "other-algorithm": authorization(algorithm="AWS4-HMAC-SHA256"),
    "missing-signature": authorization().rsplit(",", 1)[0],
    "duplicate-field": authorization().replace("SignedHeaders=", "Credential="),
    "unknown-field": authorization() + ", Extra=1",
    "wrong-terminator": authorization(credential="A/2019-02-25/cvm/aws4_request"),
    "short-credential": authorization(credential="2019-02-25/cvm/tc3_request"),
    "empty-secret-id": authorization(credential="/2019-02-25/cvm/tc3_request"),
    "bad-date": authorization(credential="A/20190225/cvm/tc3_request"),
    "host-not-signed": authorization(signed_headers="content-type"),
    "empty-header-name": authorization(signed_headers="content-type;;host"),
    "upper-case-signature": authorization(signature="A" * 64),
    "short-signature": authorization(signature="abc"),
}


@pytest.mark.parametrize(
    "header", MALFORMED_AUTHORIZATION.values(), ids=MALFORMED_AUTHORIZATION.keys()
)
def test_parse_tc3_authorization_refuses_malformed_headers(header: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the messages differ by case
        parse_tc3_authorization(header)


def test_tc3_verify_rejects_tampering() -> None:
    headers = TC3Signer(SECRET_ID, "key", "redis").add_auth(**TC3_REQUEST)
    payload = TC3_REQUEST["payload"]
    assert tc3_verify(headers=headers, payload=payload, secret_key="key")
    # Header names are case-insensitive on the wire.
    lower = {name.lower(): value for name, value in headers.items()}
    assert tc3_verify(headers=lower, payload=payload, secret_key="key")
    assert not tc3_verify(headers=headers, payload=payload, secret_key="other")
    assert not tc3_verify(headers=headers, payload=payload + b" ", secret_key="key")
    assert not tc3_verify(headers=headers, payload=payload, secret_key="key", http_method="GET")
    tampered = [
        {"Host": "evil.example.com"},
        {"Content-Type": "text/plain"},
        {"X-TC-Timestamp": "1700000001"},  # same date, but the timestamp is signed
        {"X-TC-Timestamp": "1800000000"},  # another date than the credential's
        {"X-TC-Timestamp": " 1700000000"},
        {"Authorization": "garbage"},
    ]
    for change in tampered:
        assert not tc3_verify(headers={**headers, **change}, payload=payload, secret_key="key")
    for missing in ("Host", "X-TC-Timestamp", "Authorization"):
        partial = {name: value for name, value in headers.items() if name != missing}
        assert not tc3_verify(headers=partial, payload=payload, secret_key="key")


def test_tc3_verify_accepts_extra_signed_headers() -> None:
    # Newer clients (and the current docs) also sign x-tc-action, value lower-cased.
    payload = b"{}"
    canonical = (
        "POST\n/\n\ncontent-type:application/json\nhost:redis.tencentcloudapi.com\n"
        "x-tc-action:describeinstances\n\ncontent-type;host;x-tc-action\n"
        "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    )
    string_to_sign = tc3_string_to_sign(
        timestamp=1700000000, service="redis", canonical_request=canonical
    )
    signature = tc3_signature(
        secret_key="key", date="2023-11-14", service="redis", string_to_sign=string_to_sign
    )
    headers = {
        "Authorization": (
            f"TC3-HMAC-SHA256 Credential={SECRET_ID}/2023-11-14/redis/tc3_request, "
            f"SignedHeaders=content-type;host;x-tc-action, Signature={signature}"
        ),
        "Content-Type": "application/json",
        "Host": "redis.tencentcloudapi.com",
        "X-TC-Action": "DescribeInstances",
        "X-TC-Timestamp": "1700000000",
    }
    assert tc3_verify(headers=headers, payload=payload, secret_key="key")
    assert not tc3_verify(
        headers={**headers, "X-TC-Action": "ResetPassword"}, payload=payload, secret_key="key"
    )


# --- logging -------------------------------------------------------------------------


def test_debug_logs_never_carry_keys_tokens_passwords_or_signatures(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="redis_rotation.providers.tencent_sign")
    v2_fields = TencentV2Signer(SECRET_ID, "v2-s3cr3t", token="v2-t0ken").add_auth(
        **V2_REQUEST, params=PASSWORD_PARAMS
    )
    tc3_headers = TC3Signer(SECRET_ID, "tc3-s3cr3t", "redis", token="tc3-t0ken").add_auth(
        **TC3_REQUEST
    )
    assert "TC3 canonical request" in caplog.text
    assert "TC3 string to sign" in caplog.text
    assert "oldPassword" in caplog.text  # 2.0: parameter names only
    tc3_signature_hex = parse_tc3_authorization(tc3_headers["Authorization"]).signature
    secrets = [
        "v2-s3cr3t",
        "v2-t0ken",
        "tc3-s3cr3t",
        "tc3-t0ken",
        PASSWORD_PARAMS["oldPassword"],
        PASSWORD_PARAMS["password"],
        "N3w@Pass",  # in the TC3 body, of which only the hash is logged
        v2_fields["Signature"],
        tc3_signature_hex,
    ]
    for secret in secrets:
        assert secret not in caplog.text


def test_repr_hides_secret_key_and_token() -> None:
    for signer in (
        TencentV2Signer(SECRET_ID, "s3cr3t-key", token="s3cr3t-token"),
        TC3Signer(SECRET_ID, "s3cr3t-key", "redis", token="s3cr3t-token"),
    ):
        assert "s3cr3t" not in repr(signer)
        assert SECRET_ID in repr(signer)


# --- the SDK as oracle ---------------------------------------------------------------

secret_keys = st.text(min_size=1, max_size=40)
# The SDK's Credential refuses keys with surrounding white space.
sdk_secret_keys = secret_keys.filter(lambda key: key.strip() == key)
hosts = st.from_regex(r"[a-z0-9-]{1,12}(\.[a-z0-9-]{1,12}){0,3}(:[0-9]{2,5})?", fullmatch=True)
tokens = st.none() | st.text(st.characters(codec="ascii", min_codepoint=33), min_size=1)
timestamps = st.integers(min_value=0, max_value=4102444800)  # up to 2100
alnum = st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
# 8 to 16 characters carrying every allowed special character, in any order ...
all_specials_passwords = (
    st.lists(alnum, max_size=8)
    .flatmap(lambda chars: st.permutations([*chars, *SPECIALS]))
    .map("".join)
)
# ... or any 8 to 16 characters from the rule's alphabet.
rule_passwords = st.text(
    st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" + SPECIALS),
    min_size=8,
    max_size=16,
)
passwords = all_specials_passwords | rule_passwords
# Keys with at least one "_" and no ".", so that renaming stays one-to-one.
underscore_keys = st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,8}(_[A-Za-z0-9]{1,8}){1,3}", fullmatch=True)
v2_params = st.builds(
    lambda redis_id, old, new, extra: {
        **extra,
        "Action": "ModfiyRedisPassword",
        "redisId": redis_id,
        "oldPassword": old,
        "password": new,
    },
    st.from_regex(r"crs-[a-z0-9]{8}", fullmatch=True),
    passwords,
    passwords,
    st.dictionaries(underscore_keys, st.text(max_size=20), max_size=4),
)
http_methods = st.sampled_from(["GET", "POST"])
v2_paths = st.sampled_from(["/v2/index.php", "/"])
v2_methods = st.sampled_from(["HmacSHA256", "HmacSHA1"])


@settings(max_examples=200)
@given(
    secret_key=secret_keys,
    signature_method=v2_methods,
    http_method=http_methods,
    host=hosts,
    path=v2_paths,
    params=v2_params,
    timestamp=timestamps,
    nonce=st.integers(min_value=1, max_value=2**63 - 1),
    token=tokens,
)
def test_v2_matches_sdk_string_and_sign(
    secret_key: str,
    signature_method: str,
    http_method: str,
    host: str,
    path: str,
    params: dict[str, str],
    timestamp: int,
    nonce: int,
    token: str | None,
) -> None:
    signer = TencentV2Signer(SECRET_ID, secret_key, signature_method, token)
    request = {"http_method": http_method, "host": host, "path": path}
    fields = signer.add_auth(
        **request, params=params, region="ap-guangzhou", timestamp=timestamp, nonce=nonce
    )
    unsigned = without_signature(fields)
    # The SDK's own string construction (AbstractClient._format_sign_string) ...
    client = sdk_client(sign_method=signature_method, host=host, http_method=http_method, path=path)
    sdk_string = client._format_sign_string(unsigned)
    assert v2_string_to_sign(**request, params=unsigned) == sdk_string
    # ... and its own HMAC.
    assert fields["Signature"] == Sign.sign(secret_key, sdk_string, signature_method)


@settings(max_examples=200)
@given(
    secret_key=sdk_secret_keys,
    signature_method=v2_methods,
    http_method=http_methods,
    host=hosts,
    params=v2_params,
    token=tokens,
)
def test_v2_verify_accepts_requests_built_by_the_sdk(
    secret_key: str,
    signature_method: str,
    http_method: str,
    host: str,
    params: dict[str, str],
    token: str | None,
) -> None:
    client = sdk_client(
        sign_method=signature_method,
        host=host,
        http_method=http_method,
        path="/v2/index.php",
        secret_key=secret_key,
        token=token,
    )
    request = RequestInternal(host, http_method, "/v2/index.php")
    client._build_req_with_old_signature("ModfiyRedisPassword", params, request, {})
    # What the emulator sees: the form body (or query), URL-decoded once.
    received = dict(parse_qsl(request.data, keep_blank_values=True, strict_parsing=True))
    assert v2_verify(
        http_method=http_method,
        host=host,
        path="/v2/index.php",
        params=received,
        secret_key=secret_key,
    )


@settings(max_examples=200)
@given(
    secret_key=secret_keys,
    service=st.from_regex(r"[a-z]{2,12}", fullmatch=True),
    host=hosts,
    content_type=st.sampled_from(
        ["application/json", "application/json; charset=utf-8", "application/octet-stream"]
    ),
    payload=st.binary(max_size=256),
    timestamp=timestamps,
    token=tokens,
)
def test_tc3_matches_sdk(
    secret_key: str,
    service: str,
    host: str,
    content_type: str,
    payload: bytes,
    timestamp: int,
    token: str | None,
) -> None:
    request_args = {
        **TC3_REQUEST,
        "host": host,
        "content_type": content_type,
        "payload": payload,
        "timestamp": timestamp,
    }
    headers = TC3Signer(SECRET_ID, secret_key, service, token).add_auth(**request_args)
    signature = parse_tc3_authorization(headers["Authorization"]).signature
    canonical = tc3_canonical_request(host=host, content_type=content_type, payload=payload)
    string_to_sign = tc3_string_to_sign(
        timestamp=timestamp, service=service, canonical_request=canonical
    )
    date = tc3_date(timestamp)
    # The SDK's final step on our string to sign ...
    assert signature == Sign.sign_tc3(secret_key, date, service, string_to_sign)
    # ... and its whole chain (AbstractClient._get_tc3_signature) on our headers.
    request = RequestInternal(host, "POST", "/", header=dict(headers), data=payload)
    client = sdk_client(sign_method="TC3-HMAC-SHA256", host=host)
    sdk_signature = AbstractClient._get_tc3_signature(
        client, {}, request, date, service, secret_key
    )
    assert signature == sdk_signature


@sdk_utcfromtimestamp_warning
@settings(max_examples=200)
@given(
    secret_key=sdk_secret_keys,
    http_method=http_methods,
    host=hosts,
    params=st.dictionaries(
        st.sampled_from(["InstanceId", "OldPassword", "Password", "NoAuth_Flag"]), passwords
    ),
    token=tokens,
)
def test_tc3_verify_accepts_requests_built_by_the_sdk(
    secret_key: str, http_method: str, host: str, params: dict[str, str], token: str | None
) -> None:
    client = sdk_client(
        sign_method="TC3-HMAC-SHA256",
        host=host,
        http_method=http_method,
        secret_key=secret_key,
        token=token,
    )
    request = RequestInternal(host, http_method, "/")
    client._build_req_with_tc3_signature("ModifyInstancePassword", params, request)
    # GET signs the query string and an empty body; POST signs the JSON body.
    is_get = http_method == "GET"
    assert tc3_verify(
        headers=request.header,
        payload=b"" if is_get else request.data.encode("utf-8"),
        secret_key=secret_key,
        http_method=http_method,
        canonical_query=request.data if is_get else "",
    )
