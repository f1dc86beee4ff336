"""The local cloud's signature checks (localcloud.signatures): tampering and malformed
input are refused. Requests built by the official SDKs: test_tencent_sdk_oracles and
test_ucloud_sign."""

from __future__ import annotations

import pytest

from localcloud.signatures.tc3 import parse_tc3_authorization, tc3_verify
from localcloud.signatures.tencent_v2 import v2_verify
from localcloud.signatures.ucloud import verify
from redis_rotation.signing.tc3 import TC3Signer, tc3_signature, tc3_string_to_sign
from redis_rotation.signing.tencent_v2 import TencentV2Signer, v2_signature, v2_string_to_sign
from redis_rotation.signing.ucloud import SIGNATURE_PARAM, UCloudSigner
from tests.unit.tencent_signing import (
    PASSWORD_PARAMS,
    SECRET_ID,
    TC3_REQUEST,
    V2_REQUEST,
    without_signature,
)

pytestmark = pytest.mark.unit


# --- v2_verify -----------------------------------------------------------------------


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


# --- parse_tc3_authorization, tc3_verify ---------------------------------------------


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


# --- verify (UCloud) -----------------------------------------------------------------


def test_verify_rejects_tampering_wrong_key_and_missing_signature() -> None:
    fields = UCloudSigner("pub", "priv").add_auth({"Action": "DescribeUMem", "Limit": 10})
    assert verify(fields, "priv")
    assert not verify(fields, "other")
    assert not verify({**fields, "Limit": "11"}, "priv")
    assert not verify({k: v for k, v in fields.items() if k != SIGNATURE_PARAM}, "priv")
    assert not verify({**fields, SIGNATURE_PARAM: "ü" * 40}, "priv")  # non-ASCII: no TypeError
