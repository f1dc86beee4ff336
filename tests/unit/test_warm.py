"""A warm handler's caches: each version and credentials secret read once per rotation, a
revoked grant honoured within WARM_SECONDS, an edit of AWSCURRENT seen at once, and no
secret ever served another secret's value."""

from __future__ import annotations

import json
from typing import Any

import pytest

from redis_rotation.errors import NotPermittedError
from redis_rotation.session import RotationSession
from redis_rotation.store import CURRENT, PENDING
from redis_rotation.warm import WARM_SECONDS, TimedCache, Warm
from tests.support.clock import FakeClock
from tests.unit.fakes import ARN, KEYS, FakeSecretsManager
from tests.unit.test_session import EVENT, VALUE, opened, reads, secrets_manager

pytestmark = pytest.mark.unit


def step(
    sm: FakeSecretsManager,
    warm: Warm,
    fake_clock: FakeClock,
    metadata: dict[str, Any] | None = None,
) -> RotationSession:
    """One invocation's session in a process whose handler keeps ``warm``."""
    session, _ = opened(sm, fake_clock, warm.credentials, known=warm.versions, metadata=metadata)
    return session


def test_a_warm_handler_reads_each_version_and_credentials_secret_once(
    fake_clock: FakeClock,
) -> None:
    sm, warm = secrets_manager(), Warm(fake_clock.clock)
    for _ in range(3):  # setSecret, testSecret, finishSecret of one rotation
        found = step(sm, warm, fake_clock).versions(EVENT)
        found.admitted(CURRENT)
        found.admitted(PENDING)
    assert sorted(reads(sm)) == sorted([f"{CURRENT}:keys", f"{CURRENT}:{ARN}", f"{PENDING}:{ARN}"])


def test_a_revoked_grant_takes_effect_within_the_bound(fake_clock: FakeClock) -> None:
    sm, warm = secrets_manager(), Warm(fake_clock.clock)
    step(sm, warm, fake_clock).versions(EVENT).admitted(CURRENT)
    revoked = json.loads(json.dumps(KEYS))
    revoked["grants"][0]["secrets"] = ["someone-else"]
    sm.others["keys"] = json.dumps(revoked)

    fake_clock.now += WARM_SECONDS - 1  # the bound is an upper one: the grant may still hold
    step(sm, warm, fake_clock).versions(EVENT).admitted(CURRENT)
    fake_clock.now += 1
    with pytest.raises(NotPermittedError, match="grants this secret nothing"):
        step(sm, warm, fake_clock).versions(EVENT).admitted(CURRENT)
    assert reads(sm).count(f"{CURRENT}:keys") == 2


def test_a_grant_the_owner_adds_works_at_once(fake_clock: FakeClock) -> None:
    """The owner adds the grant after a refusal: the next step reads the credentials
    secret again instead of refusing from a warm cache for WARM_SECONDS."""
    sm, warm = secrets_manager(), Warm(fake_clock.clock)
    granted = sm.others["keys"]
    withheld = json.loads(granted)
    withheld["grants"][0]["secrets"] = ["someone-else"]
    sm.others["keys"] = json.dumps(withheld)
    with pytest.raises(NotPermittedError, match="grants this secret nothing"):
        step(sm, warm, fake_clock).versions(EVENT).admitted(CURRENT)

    sm.others["keys"] = granted
    fake_clock.now += 1  # well within the bound
    step(sm, warm, fake_clock).versions(EVENT).admitted(CURRENT)
    assert reads(sm).count(f"{CURRENT}:keys") == 2


def test_an_edit_of_awscurrent_is_seen_by_the_next_step_at_once(fake_clock: FakeClock) -> None:
    sm, warm = secrets_manager(), Warm(fake_clock.clock)
    for _ in range(2):
        step(sm, warm, fake_clock).versions(EVENT)
    assert reads(sm).count(f"{CURRENT}:{ARN}") == 1
    # An edit is a new version: DescribeSecret shows AWSCURRENT on it, so it is read.
    sm.add_version("v-edited", [CURRENT], {**VALUE, "host": "10.0.0.6"})
    current = step(sm, warm, fake_clock).versions(EVENT).current
    assert current is not None
    assert current.get("host") == "10.0.0.6"
    assert reads(sm).count(f"{CURRENT}:{ARN}") == 2


def test_a_version_id_another_secret_uses_never_serves_its_value(fake_clock: FakeClock) -> None:
    """The writer of another secret chooses its version ids (ClientRequestToken): the same
    ids as this secret's must still read that secret's own values."""
    warm = Warm(fake_clock.clock)
    step(secrets_manager(), warm, fake_clock).versions(EVENT)
    other = FakeSecretsManager()
    other.add_version("v-current", [CURRENT], {**VALUE, "host": "10.9.9.9"})
    other.add_version("token-2", [PENDING], {**VALUE, "host": "10.9.9.9", "password": "other-22"})
    metadata = {**other.describe_secret(), "ARN": f"{ARN}-other", "Name": "redis-other"}
    found = step(other, warm, fake_clock, metadata).versions(EVENT)
    assert found.current is not None
    assert found.pending is not None
    assert (found.current.get("host"), found.pending.password) == ("10.9.9.9", "other-22")


def test_a_timed_cache_forgets_after_its_time_and_holds_at_most_its_size(
    fake_clock: FakeClock,
) -> None:
    cache: TimedCache[str, int] = TimedCache(fake_clock.clock, seconds=10, size=2)
    cache["a"], cache["b"] = 1, 2
    fake_clock.now += 9
    assert dict(cache) == {"a": 1, "b": 2}
    cache["c"] = 3  # the oldest leaves
    assert dict(cache) == {"b": 2, "c": 3}
    fake_clock.now += 1
    assert dict(cache) == {"c": 3}
    assert cache.get("b") is None
