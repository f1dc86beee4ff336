"""The official Alibaba Cloud SDK (alibabacloud-tea-openapi) as oracle for the ACS3 signer:
its own canonical steps and Authorization on random requests. Whole requests the official
R-KVStore client sends to the emulator: tests/integration/test_alibaba_emulator.py."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from alibabacloud_tea_openapi.utils import (
    Utils,
    get_canonical_query_string,
    get_canonicalized_headers,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from localcloud.signatures.acs3 import acs3_verify
from redis_rotation.signing.acs3 import (
    ACS3_ALGORITHM,
    EMPTY_PAYLOAD_SHA256,
    ACS3Signer,
    acs3_canonical_headers,
    acs3_canonical_query,
)

pytestmark = pytest.mark.unit


@dataclass
class SdkRequest:
    """What the SDK's get_authorization reads of its request object."""

    method: str
    pathname: str
    query: dict[str, str]
    headers: dict[str, str] = field(default_factory=dict)


utf8_text = st.text(st.characters(codec="utf-8"))
# Parameter names as the SDK flattens them (``Tag.1.Key``); values anything.
names = st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,10}(\.[A-Za-z0-9_-]{1,6}){0,2}", fullmatch=True)
params = st.dictionaries(names, utf8_text, max_size=6)
hosts = st.from_regex(r"[a-z0-9-]{1,12}(\.[a-z0-9-]{1,12}){0,3}(:[0-9]{2,5})?", fullmatch=True)
secrets = st.text(st.characters(codec="utf-8"), min_size=1, max_size=40)
tokens = st.none() | st.text(st.characters(codec="ascii", min_codepoint=33), min_size=1)
timestamps = st.integers(min_value=0, max_value=4102444800)  # up to 2100
nonces = st.text(st.characters(codec="ascii", min_codepoint=33), min_size=1, max_size=40)
actions = st.sampled_from(
    ["ResetAccountPassword", "ModifyInstanceAttribute", "DescribeAccounts", "CreateAccount"]
)


@settings(max_examples=200)
@given(params=params)
def test_canonical_query_matches_sdk(params: dict[str, str]) -> None:
    assert acs3_canonical_query(params) == get_canonical_query_string(params)


@settings(max_examples=200)
@given(
    headers=st.dictionaries(st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,12}", fullmatch=True), utf8_text)
)
def test_canonical_headers_match_sdk(headers: dict[str, str]) -> None:
    # Names that differ only in case are one header to the SDK (values joined): not sent.
    if len({name.lower() for name in headers}) == len(headers):
        assert acs3_canonical_headers(headers) == get_canonicalized_headers(headers)


@settings(max_examples=200)
@given(
    access_key_secret=secrets,
    host=hosts,
    action=actions,
    params=params,
    timestamp=timestamps,
    nonce=nonces,
    token=tokens,
    http_method=st.sampled_from(["POST", "GET"]),
)
def test_acs3_signer_matches_sdk_get_authorization(
    access_key_secret: str,
    host: str,
    action: str,
    params: dict[str, str],
    timestamp: int,
    nonce: str,
    token: str | None,
    http_method: str,
) -> None:
    headers = ACS3Signer("LTAI5texample", access_key_secret, token).add_auth(
        host=host,
        action=action,
        version="2015-01-01",
        params=params,
        timestamp=timestamp,
        nonce=nonce,
        http_method=http_method,
    )
    ours = headers.pop("Authorization")
    request = SdkRequest(http_method, "/", dict(params), headers)
    payload = Utils.hash(b"", ACS3_ALGORITHM).hex()
    assert payload == EMPTY_PAYLOAD_SHA256
    assert ours == Utils.get_authorization(
        request, ACS3_ALGORITHM, payload, "LTAI5texample", access_key_secret
    )


# The SDK's x-acs-date comes from datetime.utcnow, deprecated since 3.12.
@pytest.mark.filterwarnings("ignore:datetime.datetime.utcnow:DeprecationWarning")
@settings(max_examples=200)
@given(
    access_key_secret=secrets,
    host=hosts,
    action=actions,
    params=params,
    extra=st.dictionaries(
        st.sampled_from(["user-agent", "accept", "x-acs-accesskey-id", "x-acs-security-token"]),
        st.text(st.characters(codec="ascii", min_codepoint=33), min_size=1, max_size=20),
    ),
)
def test_acs3_verify_accepts_what_the_sdk_signs(
    access_key_secret: str,
    host: str,
    action: str,
    params: dict[str, str],
    extra: dict[str, str],
) -> None:
    """The SDK signs every header it sends (user-agent, accept, STS headers too)."""
    headers = {
        "host": host,
        "x-acs-version": "2015-01-01",
        "x-acs-action": action,
        "x-acs-date": Utils.get_timestamp(),
        "x-acs-signature-nonce": Utils.get_nonce(),
        "x-acs-content-sha256": EMPTY_PAYLOAD_SHA256,
        **extra,
    }
    request = SdkRequest("POST", "/", dict(params), headers)
    headers["Authorization"] = Utils.get_authorization(
        request, ACS3_ALGORITHM, EMPTY_PAYLOAD_SHA256, "LTAI5texample", access_key_secret
    )
    query = get_canonical_query_string(params)
    assert acs3_verify(headers=headers, query=query, body=b"", access_key_secret=access_key_secret)
    assert not acs3_verify(
        headers=headers, query=query, body=b"", access_key_secret=access_key_secret + "x"
    )
