"""The function's settings, read once per invocation from its environment."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from redis_rotation.errors import ConfigurationError
from redis_rotation.redis_check import RedisTimeouts

_DECIMAL = re.compile(r"[0-9]{1,6}(\.[0-9]{1,6})?")


def _number(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    # ASCII only: float() would also read other scripts' digits ("٣") and "nan"/"inf".
    if not _DECIMAL.fullmatch(raw):
        raise ConfigurationError(f"{name} must be a number")
    value = float(raw)
    if not low <= value <= high:
        raise ConfigurationError(f"{name} must be between {low:g} and {high:g}")
    return value


# PASSWORD_LENGTH is at most 36 (passwords.py checks the range); four digits are plenty.
MAX_LENGTH_DIGITS = 4


@dataclass(frozen=True)
class Settings:
    password_length: int | None = None
    uredis_endpoint: str = "https://api.ucloud.cn"
    tencent_v2_endpoint: str = "https://redis.api.qcloud.com"
    tencent_v3_endpoint: str = "https://redis.tencentcloudapi.com"
    redis_timeouts: RedisTimeouts = field(default_factory=RedisTimeouts)
    http_timeout: float = 10.0
    # Kept free before the Lambda timeout so a step fails cleanly instead of being killed.
    deadline_margin: float = 5.0
    # testSecret waits at most this long for the pending password to be accepted.
    test_wait: float = 60.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        length = env.get("PASSWORD_LENGTH")
        if length not in (None, ""):
            text = str(length)
            # str.isdigit alone admits "²" (int() then fails) and "٣٢" (int() reads 32); and
            # thousands of digits make int() itself fail. ASCII digits, a few, and nothing else.
            if not (text.isascii() and text.isdigit() and len(text) <= MAX_LENGTH_DIGITS):
                raise ConfigurationError(
                    "PASSWORD_LENGTH must be a whole number "
                    f"(ASCII digits 0-9, at most {MAX_LENGTH_DIGITS} of them)"
                )
            password_length: int | None = int(text)
        else:
            password_length = None
        defaults = cls()
        return cls(
            password_length=password_length,
            uredis_endpoint=env.get("UREDIS_API_ENDPOINT") or defaults.uredis_endpoint,
            tencent_v2_endpoint=env.get("TENCENT_API_ENDPOINT") or defaults.tencent_v2_endpoint,
            tencent_v3_endpoint=env.get("TENCENT_API3_ENDPOINT") or defaults.tencent_v3_endpoint,
            redis_timeouts=RedisTimeouts(
                connect=_number(env, "REDIS_CONNECT_TIMEOUT", 5.0, 0.1, 60),
                socket=_number(env, "REDIS_SOCKET_TIMEOUT", 5.0, 0.1, 60),
            ),
            http_timeout=_number(env, "HTTP_TIMEOUT", defaults.http_timeout, 0.5, 120),
            deadline_margin=_number(env, "DEADLINE_MARGIN", defaults.deadline_margin, 0, 300),
            test_wait=_number(env, "TEST_WAIT_SECONDS", defaults.test_wait, 0, 900),
        )
