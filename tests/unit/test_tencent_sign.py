"""What both Tencent signers promise: their vectors are there, and no key, token,
password or signature reaches a log line or a repr."""

from __future__ import annotations

import logging

import pytest

from localcloud.signatures.tc3 import parse_tc3_authorization
from redis_rotation.signing.tc3 import TC3Signer
from redis_rotation.signing.tencent_v2 import TencentV2Signer
from tests.unit.tencent_signing import (
    PASSWORD_PARAMS,
    SECRET_ID,
    TC3_CASES,
    TC3_REQUEST,
    V2_CASES,
    V2_REQUEST,
)

pytestmark = pytest.mark.unit


def test_vectors_are_present() -> None:
    # A wrong path would otherwise parametrize zero cases and pass silently.
    assert len(V2_CASES) >= 2
    assert len(TC3_CASES) >= 1


# --- logging -------------------------------------------------------------------------


def test_debug_logs_never_carry_keys_tokens_passwords_or_signatures(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="redis_rotation.signing")
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
