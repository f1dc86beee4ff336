"""Per-provider password rules, and generation through Secrets Manager's GetRandomPassword.

Each policy is checked locally before any provider call: a password the provider would
refuse, or an empty one (which URedis reads as "remove the password"), never leaves the
function.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from redis_rotation.errors import ConfigurationError, PasswordPolicyError

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

# The punctuation GetRandomPassword draws from; what a policy does not allow is excluded.
SECRETS_MANAGER_PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"

# Generation is retried a few times if a password fails the local check (it should not:
# the request already encodes the rule); after that the generator broke its contract.
GENERATION_ATTEMPTS = 3


@dataclass(frozen=True)
class PasswordPolicy:
    name: str
    min_length: int
    max_length: int
    default_length: int
    specials: str
    min_kinds: int = 1
    forbidden_first: str = ""
    # Whether upper and lower case count as one kind ("letters") or two.
    letters_are_one_kind: bool = False

    def kinds(self, password: str) -> int:
        letters = (
            (string.ascii_letters,)
            if self.letters_are_one_kind
            else (string.ascii_lowercase, string.ascii_uppercase)
        )
        classes = (*letters, string.digits, self.specials)
        return sum(1 for chars in classes if chars and any(c in chars for c in password))

    def violation(self, password: str) -> str | None:
        """Why ``password`` breaks the rule (never quoting it), or None."""
        if not password:
            return "is empty"
        if not self.min_length <= len(password) <= self.max_length:
            return f"has {len(password)} characters, outside {self.min_length}-{self.max_length}"
        allowed = string.ascii_letters + string.digits + self.specials
        if any(c not in allowed for c in password):
            return f"contains a character outside letters, digits and '{self.specials}'"
        if password[0] in self.forbidden_first:
            return f"starts with one of '{self.forbidden_first}'"
        if self.kinds(password) < self.min_kinds:
            return f"has fewer than {self.min_kinds} kinds of characters"
        return None

    def check(self, password: str, what: str) -> None:
        problem = self.violation(password)
        if problem:
            raise PasswordPolicyError(f"{what} {problem} (rule: {self.name})")

    def length(self, configured: int | None) -> int:
        if configured is None:
            return self.default_length
        if not self.min_length <= configured <= self.max_length:
            raise ConfigurationError(
                f"PASSWORD_LENGTH={configured} is outside {self.min_length}-{self.max_length} "
                f"allowed by {self.name}"
            )
        return configured

    def random_password_request(self, length: int) -> dict[str, Any]:
        excluded = "".join(c for c in SECRETS_MANAGER_PUNCTUATION if c not in self.specials)
        request: dict[str, Any] = {
            "PasswordLength": length,
            "ExcludePunctuation": not self.specials,
            "IncludeSpace": False,
            # Every included type at least once satisfies any "at least N kinds" rule.
            "RequireEachIncludedType": True,
        }
        if excluded and self.specials:
            request["ExcludeCharacters"] = excluded
        return request

    def generate(self, client: SecretsManagerClient, length: int) -> str:
        request = self.random_password_request(length)
        for _ in range(GENERATION_ATTEMPTS):
            password = client.get_random_password(**request)["RandomPassword"]
            if self.violation(password) is None:
                return password
        raise PasswordPolicyError(
            f"GetRandomPassword returned {GENERATION_ATTEMPTS} passwords that break {self.name}"
        )


# URedis ModifyURedisGroupPassword and ModifyUMemPassword: 6-36 of letters, digits, '-', '_'.
UREDIS = PasswordPolicy(
    name="URedis (6-36 letters, digits, '-', '_')",
    min_length=6,
    max_length=36,
    default_length=32,
    specials="-_",
)

# Tencent API 2.0 ModfiyRedisPassword: 8-16, at least two of letters, digits, specials.
# Tencent's API 2.0 documentation disagrees with itself on '*' (its rule text leaves it
# out, its 11058 description lists it): leaving it out satisfies both readings.
TENCENT_V2 = PasswordPolicy(
    name="Tencent API 2.0 (8-16, two of letters/digits/specials !@#%^())",
    min_length=8,
    max_length=16,
    default_length=16,
    specials="!@#%^()",
    min_kinds=2,
    letters_are_one_kind=True,
)

# Tencent API 3.0: the documented special set. '/' is left out entirely (a password must
# not start with it), so the first character never needs a special case.
_TENCENT_V3_SPECIALS = "()~!@#$%^&*-+=_|{}[]:;<>,.?"

TENCENT_V3_MODIFY = PasswordPolicy(
    name="Tencent API 3.0 ModifyInstancePassword (8-30, two kinds)",
    min_length=8,
    max_length=30,
    default_length=30,
    specials=_TENCENT_V3_SPECIALS,
    min_kinds=2,
    forbidden_first="/",
)

TENCENT_V3_RESET = PasswordPolicy(
    name="Tencent API 3.0 ResetPassword (8-32, two kinds)",
    min_length=8,
    max_length=32,
    default_length=32,
    specials=_TENCENT_V3_SPECIALS,
    min_kinds=2,
    forbidden_first="/",
)

# Tencent custom accounts (CreateInstanceAccount, ModifyInstanceAccount): 8-32 (the
# international documentation; the Chinese one says 8-64), two kinds, no leading '/'; and
# never '@': clients send "<account>@<password>" and Tencent tries the whole string as the
# default account's password first.
TENCENT_V3_ACCOUNT = PasswordPolicy(
    name="Tencent API 3.0 account (8-32, two kinds, no '@')",
    min_length=8,
    max_length=32,
    default_length=32,
    specials=_TENCENT_V3_SPECIALS.replace("@", ""),
    min_kinds=2,
    forbidden_first="/",
)

# Alibaba Tair/Redis (ModifyInstanceAttribute, ResetAccountPassword, CreateAccount): 8-32,
# at least three of upper, lower, digits, specials, and only these specials. Never ':',
# which clients put between account and password ("AUTH account:password").
ALIBABA = PasswordPolicy(
    name="Alibaba Tair/Redis (8-32, three kinds, specials !@#$%^&*()_+-=)",
    min_length=8,
    max_length=32,
    default_length=32,
    specials="!@#$%^&*()_+-=",
    min_kinds=3,
)
