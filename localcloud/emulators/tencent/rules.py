"""What Tencent documents and the emulator enforces independently of the rotation's own
policies (so it can catch a wrong policy): the password rules, the checks made before a
change, and the rate limit."""

from __future__ import annotations

import re
import string
from collections import deque
from dataclasses import dataclass

from localcloud.emulators.tencent.models import Instance

RATE_LIMIT = 20  # requests per second per action (the API 3.0 documentation)


@dataclass(frozen=True)
class PasswordRule:
    """Lengths, the character kinds (nothing else allowed), at least two kinds used."""

    min_length: int
    max_length: int
    kinds: tuple[str, ...]
    forbidden_first: str = ""

    def allows(self, password: str) -> bool:
        if not self.min_length <= len(password) <= self.max_length:
            return False
        if password[0] in self.forbidden_first:
            return False
        if any(not any(c in kind for kind in self.kinds) for c in password):
            return False
        return sum(1 for kind in self.kinds if any(c in kind for c in password)) >= 2


# API 2.0 (as the provider documents it): letters are one kind, so "abcdEFGH" breaks the rule.
V2_RULE = PasswordRule(8, 16, (string.ascii_letters, string.digits, "!@#%^*()"))
_V3_KINDS = (
    string.ascii_lowercase,
    string.ascii_uppercase,
    string.digits,
    "()~!@#$%^&*-+=_|{}[]:;<>,.?/",
)
V3_MODIFY_RULE = PasswordRule(8, 30, _V3_KINDS, "/")
V3_RESET_RULE = PasswordRule(8, 32, _V3_KINDS, "/")
# Custom accounts (CreateInstanceAccount, ModifyInstanceAccount): 8-32 in the international
# documentation (the Chinese one says 8-64; the stricter one is kept).
V3_ACCOUNT_RULE = PasswordRule(8, 32, _V3_KINDS, "/")
ACCOUNT_NAME = re.compile(r"[A-Za-z0-9_-]{1,32}")
PRIVILEGES = ("r", "w", "rw")
READONLY_POLICIES = ("master", "replication")


@dataclass(frozen=True)
class ChangeCodes[C]:
    """Each API's error code for each reason to refuse a change."""

    locked: C
    abnormal: C  # not running: a task in process, isolated, initialising
    empty: C
    rule_broken: C
    old_refused: C


def refusal[C](
    instance: Instance,
    password: str,
    old_password: str | None,
    rule: PasswordRule,
    codes: ChangeCodes[C],
) -> C | None:
    """The checks both APIs make before a change, in order; the first failure's code."""
    if instance.locked:
        return codes.locked
    if instance.reported_status != 2:
        return codes.abnormal
    if not password:
        return codes.empty
    if not rule.allows(password):
        return codes.rule_broken
    if old_password is not None and old_password != instance.password:
        return codes.old_refused
    return None


class SlidingWindows:
    """A one-second window of accepted requests per key (API and action)."""

    def __init__(self) -> None:
        self._recent: dict[tuple[str, str], deque[float]] = {}

    def full(self, key: tuple[str, str], now: float, limit: int) -> bool:
        """Whether ``limit`` requests were accepted in the second before ``now``; if not,
        this one is accepted and counted (refused requests do not count)."""
        window = self._recent.setdefault(key, deque())
        while window and window[0] <= now - 1.0:
            window.popleft()
        if len(window) >= limit:
            return True
        window.append(now)
        return False
