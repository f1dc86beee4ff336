"""RotationSession: keys reach a provider only for an admitted secret; each version is read
once and admitted once; a credentials cache shared across sessions reads each credentials
secret once."""

from __future__ import annotations

from typing import Any

import pytest

from redis_rotation.config import Settings
from redis_rotation.errors import NotPermittedError
from redis_rotation.event import RotationEvent
from redis_rotation.gate import CredentialsCache
from redis_rotation.seams import Seams
from redis_rotation.session import RotationSession
from redis_rotation.store import CURRENT, PENDING
from tests.support.clock import FakeClock
from tests.unit.fakes import ARN, KEYS, FakeProvider, FakeRedis, FakeSecretsManager

pytestmark = pytest.mark.unit

VALUE: dict[str, Any] = {
    "provider": "uredis",
    "host": "10.0.0.5",
    "port": 6379,
    "password": "current-password-1",
    "region": "cn-bj2",
    "groupId": "uredis-abc",
    "credentialsSecretId": "keys",
    "tls": {"enabled": False},
}
EVENT = RotationEvent("setSecret", ARN, "token-2")


def opened(
    sm: FakeSecretsManager,
    fake_clock: FakeClock,
    credentials: CredentialsCache | None = None,
    **options: Any,
) -> tuple[RotationSession, FakeProvider]:
    """``options``: more of ``RotationSession.open``'s (a warm handler's, say)."""
    provider = FakeProvider(FakeRedis(VALUE["password"]))
    session = RotationSession.open(
        ARN,
        provider_name="uredis",
        factory=provider,
        client=sm,  # type: ignore[arg-type]
        settings=Settings(),
        deadline=fake_clock.deadline(60),
        seams=Seams(redis=provider.redis),
        credentials=credentials,
        **options,
    )
    return session, provider


def secrets_manager() -> FakeSecretsManager:
    sm = FakeSecretsManager()
    sm.add_version("v-current", [CURRENT], VALUE)
    sm.add_version("token-2", [PENDING], {**VALUE, "password": "new-password-22"})
    return sm


def reads(sm: FakeSecretsManager) -> list[str]:
    return [
        str(request.get("VersionStage", "")) + ":" + str(request["SecretId"])
        for name, request in sm.calls
        if name == "GetSecretValue"
    ]


def test_a_provider_gets_keys_only_for_an_admitted_secret(fake_clock: FakeClock) -> None:
    sm = secrets_manager()
    session, provider = opened(sm, fake_clock)
    found = session.versions(EVENT)
    assert found.current is not None
    # Asked before the gate admitted the secret: refused, and no provider was built.
    with pytest.raises(NotPermittedError, match="not admitted"):
        session.provider(found.current)
    assert provider.contexts == []
    current, _ = found.admitted(CURRENT)
    session.provider(current)
    (context,) = provider.contexts
    assert context.keys == {"publicKey": KEYS["publicKey"], "privateKey": KEYS["privateKey"]}


def test_a_provider_without_keys_can_be_had_for_its_policy(fake_clock: FakeClock) -> None:
    session, provider = opened(secrets_manager(), fake_clock)
    session.provider(None)
    (context,) = provider.contexts
    assert context.keys == {}


def test_each_version_is_read_once_and_admitted_once(fake_clock: FakeClock) -> None:
    sm = secrets_manager()
    session, _ = opened(sm, fake_clock)
    found = session.versions(EVENT)
    for _ in range(2):
        found.admitted(CURRENT)
        found.admitted(PENDING)
    assert sorted(reads(sm)) == sorted([f"{CURRENT}:keys", f"{CURRENT}:{ARN}", f"{PENDING}:{ARN}"])


def test_a_shared_credentials_cache_reads_each_credentials_secret_once(
    fake_clock: FakeClock,
) -> None:
    sm = secrets_manager()
    cache: CredentialsCache = {}
    for _ in range(3):
        session, _ = opened(sm, fake_clock, cache)
        found = session.versions(EVENT)
        found.admitted(CURRENT)
    assert reads(sm).count(f"{CURRENT}:keys") == 1
