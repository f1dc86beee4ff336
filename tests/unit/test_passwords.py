"""Password policies: the GetRandomPassword request encodes each provider's rule, and the
local check catches what breaks it."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from redis_rotation import passwords
from redis_rotation.errors import ConfigurationError, PasswordPolicyError
from redis_rotation.passwords import PasswordPolicy

pytestmark = pytest.mark.unit

POLICIES = [
    passwords.UREDIS,
    passwords.TENCENT_V2,
    passwords.TENCENT_V3_MODIFY,
    passwords.TENCENT_V3_RESET,
    passwords.TENCENT_V3_ACCOUNT,
    passwords.ALIBABA,
]


@pytest.fixture(scope="module")
def secretsmanager() -> Iterator[object]:
    # Neither reset nor cleared: moto's backends are per process, and the session's local
    # cloud (a moto server in this process) keeps its secrets and functions in them.
    mock = mock_aws()
    mock.start(reset=False)
    yield boto3.client("secretsmanager", region_name="us-east-1")
    mock.stop(remove_data=False)


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.name)
def test_generated_passwords_satisfy_the_rule(
    policy: PasswordPolicy, secretsmanager: object
) -> None:
    for length in (policy.min_length, policy.default_length, policy.max_length):
        for _ in range(50):
            password = policy.generate(secretsmanager, length)  # type: ignore[arg-type]
            assert len(password) == length
            assert policy.violation(password) is None


@pytest.mark.parametrize(
    ("policy", "password", "problem"),
    [
        (passwords.UREDIS, "", "is empty"),
        (passwords.UREDIS, "abc12", "outside 6-36"),
        (passwords.UREDIS, "a" * 37, "outside 6-36"),
        (passwords.UREDIS, "abc!defg", "character outside"),
        (passwords.TENCENT_V2, "abcdefgh", "fewer than 2 kinds"),
        (passwords.TENCENT_V2, "abcdEFGH", "fewer than 2 kinds"),  # letters are one kind
        (passwords.TENCENT_V2, "abcd*EFG1", "character outside"),
        (passwords.TENCENT_V2, "abcdefg$1", "character outside"),
        (passwords.TENCENT_V2, "abcdefgh12345678X", "outside 8-16"),
        (passwords.TENCENT_V3_MODIFY, "/abcdefg1", "character outside"),
        (passwords.TENCENT_V3_RESET, "a" * 33, "outside 8-32"),
        (passwords.TENCENT_V3_ACCOUNT, "abcd@EFG1", "character outside"),  # never '@'
        (passwords.TENCENT_V3_ACCOUNT, "/abcdEFG1", "character outside"),
        (passwords.TENCENT_V3_ACCOUNT, "aB1" * 11, "outside 8-32"),
        (passwords.TENCENT_V3_ACCOUNT, "abcdefgh", "fewer than 2 kinds"),
        (passwords.ALIBABA, "abcd:EFG1", "character outside"),  # never ':'
        (passwords.ALIBABA, "abcd~EFG1", "character outside"),
        (passwords.ALIBABA, "abcdEFGHi", "fewer than 3 kinds"),
        (passwords.ALIBABA, "aB1" * 11, "outside 8-32"),
    ],
)
def test_violations_are_described_without_the_password(
    policy: PasswordPolicy, password: str, problem: str
) -> None:
    with pytest.raises(PasswordPolicyError, match=problem) as caught:
        policy.check(password, "the AWSPENDING password")
    if password:
        assert password not in str(caught.value)


def test_documented_examples_fit_the_tencent_v2_rule() -> None:
    # Tencent's own example passwords (ModfiyRedisPassword request example).
    assert passwords.TENCENT_V2.violation("49A2d!e@f12e") is None
    assert passwords.TENCENT_V2.violation("12D3E@!r5ed") is None


def test_configured_length_must_fit_the_rule() -> None:
    assert passwords.UREDIS.length(None) == 32
    assert passwords.UREDIS.length(6) == 6
    with pytest.raises(ConfigurationError, match="PASSWORD_LENGTH=5"):
        passwords.UREDIS.length(5)
    with pytest.raises(ConfigurationError, match="outside 8-16"):
        passwords.TENCENT_V2.length(30)


def test_api3_counts_cases_as_two_kinds() -> None:
    assert passwords.TENCENT_V3_MODIFY.violation("abcdEFGH") is None


def test_the_request_excludes_every_punctuation_the_rule_forbids() -> None:
    request = passwords.TENCENT_V2.random_password_request(16)
    allowed = set(passwords.TENCENT_V2.specials)
    assert set(request["ExcludeCharacters"]) == set(passwords.SECRETS_MANAGER_PUNCTUATION) - allowed
