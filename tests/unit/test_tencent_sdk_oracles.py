"""The official tencentcloud-sdk-python-common as oracle, both for the strings our signers
build and for whole requests it signs (which our verifiers, used by the emulator, must
accept)."""

from __future__ import annotations

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

from localcloud.signatures.tc3 import parse_tc3_authorization, tc3_verify
from localcloud.signatures.tencent_v2 import v2_verify
from redis_rotation.signing.tc3 import (
    TC3Signer,
    tc3_canonical_request,
    tc3_date,
    tc3_string_to_sign,
)
from redis_rotation.signing.tencent_v2 import TencentV2Signer, v2_string_to_sign
from tests.unit.tencent_signing import SECRET_ID, TC3_REQUEST, without_signature

pytestmark = pytest.mark.unit

SPECIALS = "!@#%^*()"  # every special character the 2.0 password rule allows

# The SDK computes the TC3 date with datetime.utcfromtimestamp, deprecated since 3.12.
sdk_utcfromtimestamp_warning = pytest.mark.filterwarnings(
    "ignore:datetime.datetime.utcfromtimestamp:DeprecationWarning"
)


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
