"""Backoff and deadlines: fast first, jittered, capped, and never past the deadline."""

from __future__ import annotations

import itertools

import pytest

from redis_rotation.errors import ConfigurationError, DeadlineExceededError
from redis_rotation.polling import Backoff, poll
from redis_rotation.providers.transport import endpoint_url
from tests.support.clock import FakeClock

pytestmark = pytest.mark.unit


def test_backoff_starts_fast_doubles_and_caps() -> None:
    high = list(itertools.islice(Backoff(first=0.05, cap=1.0).delays(lambda: 1.0), 8))
    assert high == [0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0]
    low = list(itertools.islice(Backoff(first=0.05, cap=1.0).delays(lambda: 0.0), 3))
    assert low == [0.025, 0.05, 0.1], "equal jitter: never below half the delay"


def test_poll_returns_the_first_answer(fake_clock: FakeClock) -> None:
    answers = iter([None, None, "done"])
    assert poll(lambda: next(answers), deadline=fake_clock.deadline(10), what="x") == "done"
    assert len(fake_clock.sleeps) == 2


def test_poll_stops_at_the_deadline_with_a_last_try(fake_clock: FakeClock) -> None:
    tries: list[float] = []

    def attempt() -> None:
        tries.append(fake_clock.now)

    with pytest.raises(DeadlineExceededError, match="waiting for the thing"):
        poll(attempt, deadline=fake_clock.deadline(5), what="the thing")
    assert tries[-1] == pytest.approx(1005.0), "one last try exactly at the deadline"
    assert fake_clock.now == pytest.approx(1005.0), "never sleeps past the deadline"


@pytest.mark.parametrize(
    ("endpoint", "url", "host"),
    [
        ("https://api.ucloud.cn", "https://api.ucloud.cn/", "api.ucloud.cn"),
        ("api.ucloud.cn", "https://api.ucloud.cn/", "api.ucloud.cn"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/", "127.0.0.1:8080"),
        ("http://localhost:1", "http://localhost:1/", "localhost:1"),
        ("http://[::1]:9", "http://[::1]:9/", "[::1]:9"),
    ],
)
def test_endpoints(endpoint: str, url: str, host: str) -> None:
    assert endpoint_url(endpoint) == (url, host)


@pytest.mark.parametrize(
    "endpoint", ["http://api.ucloud.cn", "http://10.0.0.1", "ftp://x", "https://"]
)
def test_plain_http_is_refused_except_to_loopback(endpoint: str) -> None:
    with pytest.raises(ConfigurationError):
        endpoint_url(endpoint)
