"""The leak check itself: it must see a secret that reaches the functions' output, in any
of the encodings it looks for, or its passing verdict on every other test means nothing."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from localcloud.cloud import LocalCloud
from redis_rotation.entrypoint import logger
from redis_rotation.redis_check import REDIS_PROBE, RedisTarget
from redis_rotation.seams import Seams
from tests.conftest import leaks, stored_secrets


@dataclass
class TamperedProbe:
    """The real Redis probe, plus ``tamper`` run with the last password sent when the
    anonymous half of the proof runs: that first happens in testSecret."""

    tamper: Callable[[str], None]
    seen: list[str] = field(default_factory=list)

    def ping(self, target: RedisTarget, username: str | None, password: str | None) -> bool:
        # The proof's last connection has no password: leak every password it sent before
        # (the version's own, and the random wrong one).
        if password is None:
            for sent in self.seen:
                self.tamper(sent)
            self.seen.clear()
        else:
            self.seen.append(password)
        return REDIS_PROBE.ping(target, username, password)


@pytest.mark.e2e
@pytest.mark.allow_leaks
@pytest.mark.parametrize("encode", [str, lambda s: base64.b64encode(s.encode()).decode()])
def test_the_leak_check_sees_a_password_in_a_log_line(
    cloud: LocalCloud,
    function_output: Callable[[], str],
    encode: Callable[[str], str],
) -> None:
    example = cloud.add_uredis_secret(f"secrecy/leaky-{id(encode)}")

    def leak(password: str) -> None:
        logger.info("oops", extra={"detail": encode(password)})  # the planted leak

    seams = Seams(redis=TamperedProbe(leak))
    assert cloud.driver("uredis", seams=seams).rotate(example.arn).succeeded

    secrets = stored_secrets(cloud, {example.arn})
    assert leaks(function_output(), secrets) == ["a 32-character value"]


@pytest.mark.unit
def test_encoded_forms_are_found_and_values_are_never_named() -> None:
    secret = "p@ss w/rd+1"
    for form in ("p@ss w/rd+1", "p%40ss%20w%2Frd%2B1", "p%40ss+w%2Frd%2B1", "cEBzcyB3L3JkKzE"):
        assert leaks(f"... {form} ...", {secret}) == ["a 11-character value"]
    assert leaks("nothing here", {secret}) == []


@pytest.mark.e2e
def test_an_unexpected_exception_leaves_the_handler_without_its_text(cloud: LocalCloud) -> None:
    example = cloud.add_uredis_secret("secrecy/unexpected")

    def complain(password: str) -> None:
        raise ValueError(f"library complaint about {password}")  # quotes a secret

    seams = Seams(redis=TamperedProbe(complain))
    result = cloud.driver("uredis", seams=seams, max_attempts=1).rotate(example.arn)

    (failure,) = [run for run in result.runs if run.error]
    assert failure.outcome == "UnexpectedError"
    assert failure.error == "testSecret failed with an unexpected ValueError"
    assert cloud.value(example.arn, "AWSPENDING")["password"] not in (failure.error or "")
