"""UCloud signer: the documented vectors, each pure step, and ucloud-sdk-python3 as oracle."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ucloud.core.auth import Credential
from ucloud.core.typesystem import encoder as sdk_encoder

from localcloud.signatures.ucloud import verify
from redis_rotation.signing.ucloud import (
    PUBLIC_KEY_PARAM,
    SIGNATURE_PARAM,
    UCloudSigner,
    canonical_string,
    encode_params,
    signature,
)

pytestmark = pytest.mark.unit

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "ucloud"
CASES = sorted(path for path in VECTORS.iterdir() if path.is_dir())
AUTH_PARAMS = {PUBLIC_KEY_PARAM, SIGNATURE_PARAM}


def load_case(case_dir: Path) -> dict[str, Any]:
    case: dict[str, Any] = json.loads((case_dir / "case.json").read_text(encoding="utf-8"))
    return case


# --- known vectors -------------------------------------------------------------------


def test_vectors_are_present() -> None:
    # A wrong path would otherwise parametrize zero cases and pass silently.
    assert len(CASES) >= 3


@pytest.mark.parametrize("case_dir", CASES, ids=lambda path: path.name)
def test_known_vector(case_dir: Path) -> None:
    case = load_case(case_dir)
    assert case["source"], "every vector names where it comes from"
    expected = case["expected"]
    if case["public_key"] is None:
        # The SDK's bare verify_ac example signs the given params only, no PublicKey.
        fields = encode_params(case["params"])
        got_signature = signature(canonical_string(fields), case["private_key"])
    else:
        fields = UCloudSigner(case["public_key"], case["private_key"]).add_auth(case["params"])
        got_signature = fields[SIGNATURE_PARAM]
    got_canonical = canonical_string(fields)
    assert (got_canonical, got_signature) == (expected["canonical"], expected["signature"]), (
        f"{case_dir.name}:\n"
        f"  canonical got      {got_canonical!r}\n"
        f"  canonical expected {expected['canonical']!r}\n"
        f"  signature got {got_signature} expected {expected['signature']}"
    )


# --- encode_params -------------------------------------------------------------------


ENCODINGS = {
    "bool": ({"Flag": True, "Off": False}, {"Flag": "true", "Off": "false"}),
    "integral-float": (
        {"Limit": 10.0, "Neg": -0.0, "Big": 1e16},
        {"Limit": "10", "Neg": "0", "Big": "1" + "0" * 16},
    ),
    "no-exponent": (
        {"Tiny": 1e-05, "Tinier": 1.5e-07, "Half": 0.5},
        {"Tiny": "0.00001", "Tinier": "0.00000015", "Half": "0.5"},
    ),
    "scalars": ({"Count": 3, "Name": "x y"}, {"Count": "3", "Name": "x y"}),
    "list": ({"Ids": ["a", "b"], "Pair": ("c",)}, {"Ids.0": "a", "Ids.1": "b", "Pair.0": "c"}),
    "dict": ({"Tag": {"Key": "k", "Value": 1}}, {"Tag.Key": "k", "Tag.Value": "1"}),
    "list-of-dict": (
        {"Disks": [{"Size": 20, "Type": "SSD"}]},
        {"Disks.0.Size": "20", "Disks.0.Type": "SSD"},
    ),
    "nested-list": ({"Grid": [[1, 2]]}, {"Grid.0.0": "1", "Grid.0.1": "2"}),
    "none-omitted": ({"Zone": None, "Tag": {"Key": None}, "Empty": []}, {}),
}


@pytest.mark.parametrize(("params", "expected"), ENCODINGS.values(), ids=ENCODINGS.keys())
def test_encode_params(params: dict[str, object], expected: dict[str, str]) -> None:
    assert encode_params(params) == expected


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"Ids.0": "a", "Ids": ["b"]}, ValueError),
        ({"Limit": float("inf")}, ValueError),
        ({"Limit": float("nan")}, ValueError),
        ({"Raw": b"bytes"}, TypeError),
        ({"Ids": ["a", None]}, TypeError),
    ],
    ids=["collision", "inf", "nan", "bytes", "none-in-list"],
)
def test_encode_params_refuses(params: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        encode_params(params)


@settings(max_examples=200)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_float_text_is_exact_and_never_scientific(value: float) -> None:
    text = encode_params({"F": value})["F"]
    assert "e" not in text.lower()
    assert float(text) == value  # reads back as the very same float
    sdk_text = sdk_encoder.encode_value(value)
    if "e" not in sdk_text:  # the SDK renders 1e-05 as is; elsewhere we agree exactly
        assert text == sdk_text


# --- canonical_string, signature -----------------------------------------------------


def test_canonical_string_sorts_by_byte_order_without_separators() -> None:
    params = {"ChargeType": "Month", "CPU": "2", "action": "x", "Action": "Y"}
    assert canonical_string(params) == "ActionYCPU2ChargeTypeMonthactionx"


def test_canonical_string_leaves_out_signature() -> None:
    assert canonical_string({"A": "1", SIGNATURE_PARAM: "abc"}) == "A1"


def test_signature_is_plain_sha1_of_canonical_and_private_key() -> None:
    assert signature("A1", "secret") == hashlib.sha1(b"A1secret", usedforsecurity=False).hexdigest()
    assert signature("", "") == "da39a3ee5e6b4b0d3255bfef95601890afd80709"


# --- UCloudSigner --------------------------------------------------------------------


def test_add_auth_returns_encoded_params_plus_public_key_and_signature() -> None:
    params: dict[str, object] = {"Action": "ModifyURedisGroupPassword", "Flag": True}
    fields = UCloudSigner("pub", "priv").add_auth(params)
    assert set(fields) == {"Action", "Flag", PUBLIC_KEY_PARAM, SIGNATURE_PARAM}
    assert fields["Flag"] == "true"
    assert fields[PUBLIC_KEY_PARAM] == "pub"
    assert params == {"Action": "ModifyURedisGroupPassword", "Flag": True}  # not mutated


@pytest.mark.parametrize("reserved", sorted(AUTH_PARAMS))
def test_add_auth_refuses_auth_params_from_the_caller(reserved: str) -> None:
    with pytest.raises(ValueError, match=reserved):
        UCloudSigner("pub", "priv").add_auth({reserved: "x"})


def test_signer_needs_both_keys() -> None:
    with pytest.raises(ValueError, match="required"):
        UCloudSigner("pub", "")


def test_repr_hides_private_key() -> None:
    assert "s3cr3t-private" not in repr(UCloudSigner("pub", "s3cr3t-private"))


def test_debug_log_names_params_but_never_values(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="redis_rotation.signing.ucloud")
    fields = UCloudSigner("pub", "s3cr3t-private").add_auth({"Password": "bmV3LXB3ZA=="})
    assert "Password" in caplog.text
    for secret in ("bmV3LXB3ZA==", "s3cr3t-private", fields[SIGNATURE_PARAM]):
        assert secret not in caplog.text


# --- the SDK as oracle ---------------------------------------------------------------

# No "." in generated keys: flattening could then make two keys collide, which we refuse
# and the SDK silently resolves, so such inputs have no common answer to compare.
keys = st.text(st.characters(codec="utf-8", exclude_characters="."), min_size=1, max_size=10)
top_keys = keys.filter(lambda key: key not in AUTH_PARAMS)
api_keys = st.text(min_size=1, max_size=40)
# The SDK renders floats like 1e-05 in scientific notation; that case is covered above.
sdk_floats = st.floats(allow_nan=False, allow_infinity=False).filter(
    lambda value: value.is_integer() or "e" not in repr(value)
)
scalars = st.one_of(st.booleans(), st.integers(), sdk_floats, st.text(max_size=20))
# The SDK flattens lists of scalars or dicts, and dicts of anything (not lists of lists).
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(st.one_of(scalars, st.dictionaries(keys, children, max_size=3)), max_size=3),
        st.dictionaries(keys, children, max_size=3),
    ),
    max_leaves=10,
)


@settings(max_examples=200)
@given(
    public_key=api_keys, private_key=api_keys, params=st.dictionaries(top_keys, scalars, max_size=8)
)
def test_flat_params_match_sdk_verify_ac(
    public_key: str, private_key: str, params: dict[str, Any]
) -> None:
    fields = UCloudSigner(public_key, private_key).add_auth(params)
    # Credential.verify_ac adds PublicKey to the dict it is given and encodes each value.
    assert fields[SIGNATURE_PARAM] == Credential(public_key, private_key).verify_ac(dict(params))
    assert verify(fields, private_key)


@settings(max_examples=200)
@given(
    public_key=api_keys, private_key=api_keys, params=st.dictionaries(top_keys, values, max_size=5)
)
def test_nested_params_match_sdk_client_pipeline(
    public_key: str, private_key: str, params: dict[str, Any]
) -> None:
    # What the SDK client does before sending: encoder.encode, then verify_ac.
    sdk_fields = sdk_encoder.encode(params)
    fields = UCloudSigner(public_key, private_key).add_auth(params)
    assert {k: v for k, v in fields.items() if k not in AUTH_PARAMS} == sdk_fields
    assert fields[SIGNATURE_PARAM] == Credential(public_key, private_key).verify_ac(sdk_fields)
