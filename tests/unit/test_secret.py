"""The secret schema and its error messages: they name the field, never the value."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from redis_rotation.errors import SecretFormatError
from redis_rotation.secret import MAX_SECRET_BYTES, parse_secret, secret_schema

pytestmark = pytest.mark.unit

VALID: dict[str, Any] = {
    "provider": "uredis",
    "host": "10.0.0.5",
    "port": 6379,
    "password": "Sekrit-value_123",
    "region": "cn-bj2",
    "groupId": "uredis-abc",
    "credentialsSecretId": "keys",
}
TENCENT: dict[str, Any] = {
    **{k: v for k, v in VALID.items() if k != "groupId"},
    "provider": "tencent",
    "instanceId": "crs-ifmymj41",
}


def parse(value: Any) -> Any:
    return parse_secret(json.dumps(value), "secret s (AWSCURRENT)")


def test_valid_secrets_parse_with_defaults() -> None:
    secret = parse(VALID)
    assert secret.provider == "uredis"
    assert secret.instance_id == "uredis-abc"
    assert secret.tls.enabled
    assert secret.tls.verify
    assert [str(e) for e in secret.endpoints] == ["10.0.0.5:6379"]
    assert parse(TENCENT).instance_id == "crs-ifmymj41"


def test_repr_never_shows_the_password() -> None:
    assert VALID["password"] not in repr(parse(VALID))


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        ({"port": "6379"}, "port", "must be of type integer"),
        ({"port": 70000}, "port", "breaks maximum"),
        ({"provider": "redislabs"}, "provider", "must be one of"),
        ({"password": ""}, "password", "breaks minLength"),
        ({"password": "with space"}, "password", "not allowed"),
        ({"password": "tab\there"}, "password", "not allowed"),
        ({"password": "x" * 129}, "password", "breaks maxLength"),
        ({"extra": 1}, "extra", "is not a known field"),
        ({"instanceId": "crs-1"}, "instanceId", "not allowed for this provider"),
        ({"apiVersion": "3.0"}, "apiVersion", "not allowed for this provider"),
        ({"tls": {"enabled": "yes"}}, "tls.enabled", "must be of type boolean"),
        ({"tls": {"caCertificate": "not a pem"}}, "tls.caCertificate", "not allowed"),
        ({"apiEndpoint": "ftp://x"}, "apiEndpoint", "not allowed"),
        ({"readOnlyEndpoints": [{"host": "h"}]}, "readOnlyEndpoints.0.port", "is required"),
        ({"host": "bad host"}, "host", "not allowed"),
    ],
)
def test_bad_fields_are_named_without_their_values(
    change: dict[str, Any], field: str, problem: str
) -> None:
    with pytest.raises(SecretFormatError) as caught:
        parse({**VALID, **change})
    assert caught.value.field == field
    assert problem in str(caught.value)
    for value in change.values():
        if isinstance(value, str) and len(value) > 3:
            assert value not in str(caught.value)
    assert caught.value.__cause__ is None, "the validator's exception (with the value) is dropped"


@pytest.mark.parametrize("missing", ["provider", "host", "port", "password", "region", "groupId"])
def test_missing_fields_are_named(missing: str) -> None:
    with pytest.raises(SecretFormatError, match=f"field '{missing}' is required"):
        parse({k: v for k, v in VALID.items() if k != missing})


SPACE: dict[str, Any] = {
    **{k: v for k, v in VALID.items() if k != "groupId"},
    "spaceId": "umem-abc",
    "zone": "cn-bj2-02",
}


def test_a_space_secret_names_its_instance_by_space_id() -> None:
    secret = parse(SPACE)
    assert (secret.instance_field, secret.instance_id) == ("spaceId", "umem-abc")
    assert parse(VALID).instance_field == "groupId"


@pytest.mark.parametrize(
    ("value", "field", "problem"),
    [
        ({**SPACE, "groupId": "uredis-abc"}, "groupId", "names exactly one of groupId"),
        ({k: v for k, v in SPACE.items() if k != "spaceId"}, "groupId", "is required"),
        ({k: v for k, v in SPACE.items() if k != "zone"}, "zone", "is required"),
        ({**TENCENT, "spaceId": "umem-abc"}, "spaceId", "not allowed for this provider"),
    ],
    ids=["both-ids", "neither-id", "space-without-zone", "tencent-with-space"],
)
def test_space_rules(value: dict[str, Any], field: str, problem: str) -> None:
    with pytest.raises(SecretFormatError) as caught:
        parse(value)
    assert caught.value.field == field
    assert problem in str(caught.value)


def test_tencent_needs_an_instance_id() -> None:
    with pytest.raises(SecretFormatError, match="field 'instanceId' is required"):
        parse({k: v for k, v in TENCENT.items() if k != "instanceId"})


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"password": "Sekrit-value_123"', "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ("x" * (MAX_SECRET_BYTES + 1), "larger than"),
        (None, "no SecretString"),
    ],
)
def test_unparseable_secrets(text: str | None, problem: str) -> None:
    with pytest.raises(SecretFormatError, match=problem) as caught:
        parse_secret(text, "secret s (AWSCURRENT)")
    assert "Sekrit" not in str(caught.value)
    assert caught.value.__cause__ is None


def test_edited_field_names_the_first_differing_field_but_the_password() -> None:
    current = parse(VALID)
    assert current.edited_field(parse({**VALID, "password": "other-pass"})) is None
    assert current.edited_field(parse({**VALID, "host": "10.0.0.6"})) == "host"
    assert current.edited_field(parse({**VALID, "tls": {"enabled": True}})) == "tls"


def test_the_docs_document_every_schema_field() -> None:
    # The README's table, or the table of a topic's own page (docs/tencent-accounts.md).
    root = Path(__file__).parents[2]
    pages = [root / "README.md", *sorted((root / "docs").glob("*.md"))]
    documented = {
        name
        for page in pages
        for name in re.findall(r"^\| `(\w+)` \|", page.read_text(), flags=re.MULTILINE)
    }
    assert set(secret_schema()["properties"]) <= documented


ACCOUNT: dict[str, Any] = {**TENCENT, "apiVersion": "3.0", "account": "app_a"}
ALTERNATING: dict[str, Any] = {**ACCOUNT, "strategy": "alternating", "accounts": ["app_a", "app_b"]}


@pytest.mark.parametrize(
    ("value", "field", "problem"),
    [
        (
            {**TENCENT, "apiVersion": "2.0", "account": "app"},
            "account",
            "applies to apiVersion 3.0 only",
        ),
        ({**ACCOUNT, "account": "root"}, "account", "Tencent's default account"),
        ({**ACCOUNT, "account": "a@b"}, "account", "not allowed"),
        ({**ACCOUNT, "account": "a" * 33}, "account", "maxLength"),
        ({**ACCOUNT, "changeMode": "reset"}, "changeMode", "default account only"),
        ({**ACCOUNT, "username": "app_a"}, "username", "AUTH <account>@<password>"),
        ({**TENCENT, "apiVersion": "3.0", "strategy": "single"}, "strategy", "custom accounts"),
        ({**ACCOUNT, "strategy": "alternating"}, "accounts", "is required"),
        ({**ACCOUNT, "accounts": ["app_a", "app_b"]}, "accounts", "'alternating' only"),
        ({**ACCOUNT, "createMissingAccount": True}, "createMissingAccount", "'alternating'"),
        ({**ALTERNATING, "accounts": ["app_a", "app_a"]}, "accounts", "same value twice"),
        ({**ALTERNATING, "account": "app_c"}, "account", "must be one of 'accounts'"),
        ({**ALTERNATING, "accounts": ["app_a", "root"]}, "accounts", "names root"),
        ({**VALID, "account": "app"}, "account", "not allowed for this provider"),
        # A bad value is named for itself, not by a cross-field rule it also breaks.
        ({**ALTERNATING, "strategy": "alternating\x1b[2K"}, "strategy", "must be one of"),
        ({**ALTERNATING, "accounts": "app_a,app_b"}, "accounts", "must be of type array"),
    ],
)
def test_account_fields_follow_their_rules(value: Any, field: str, problem: str) -> None:
    with pytest.raises(SecretFormatError, match=re.escape(problem)) as caught:
        parse(value)
    assert f"field '{field}'" in str(caught.value)


def test_a_custom_account_authenticates_in_tencents_one_argument_form() -> None:
    assert parse(ACCOUNT).auth("Pw-1234567") == (None, "app_a@Pw-1234567")
    assert parse(TENCENT).auth("Pw-1234567") == (None, "Pw-1234567")


def test_alternating_versions_take_turns_and_the_account_is_no_edit() -> None:
    current = parse(ALTERNATING)
    pending = current.next_version("N3w-password", "p")
    assert (pending.account, pending.password) == ("app_b", "N3w-password")
    assert pending.next_version("x", "q").account == "app_a"
    assert current.edited_field(pending) is None
    assert current.edited_field(parse({**ALTERNATING, "accounts": ["app_a", "app_c"]})) == (
        "accounts"
    )
    single = parse(ACCOUNT)
    assert single.next_version("n", "p").account == "app_a"
    assert single.edited_field(parse({**ACCOUNT, "account": "app_b"})) == "account"
