"""The leak check itself: it must see a secret that reaches the functions' output, in any
of the encodings it looks for, or its passing verdict on every other test means nothing."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest

from localcloud.cloud import LocalCloud
from redis_rotation.engine import RotationEngine
from redis_rotation.entrypoint import logger
from tests.conftest import leaks, stored_secrets


@pytest.mark.e2e
@pytest.mark.allow_leaks
@pytest.mark.parametrize("encode", [str, lambda s: base64.b64encode(s.encode()).decode()])
def test_the_leak_check_sees_a_password_in_a_log_line(
    cloud: LocalCloud,
    function_output: Callable[[], str],
    monkeypatch: pytest.MonkeyPatch,
    encode: Callable[[str], str],
) -> None:
    example = cloud.add_uredis_secret(f"secrecy/leaky-{id(encode)}")
    real_test = RotationEngine.test_secret

    def leaky_test(self: RotationEngine, event: Any, stages: Any) -> str:
        pending = self._read(event.secret_id, "AWSPENDING", event.token)
        assert pending is not None
        logger.info("oops", extra={"detail": encode(pending.password)})  # the planted leak
        return real_test(self, event, stages)

    monkeypatch.setattr(RotationEngine, "test_secret", leaky_test)
    assert cloud.driver("uredis").rotate(example.arn).succeeded

    secrets = stored_secrets(cloud, {example.arn})
    assert leaks(function_output(), secrets) == ["a 32-character value"]


@pytest.mark.unit
def test_encoded_forms_are_found_and_values_are_never_named() -> None:
    secret = "p@ss w/rd+1"
    for form in ("p@ss w/rd+1", "p%40ss%20w%2Frd%2B1", "p%40ss+w%2Frd%2B1", "cEBzcyB3L3JkKzE"):
        assert leaks(f"... {form} ...", {secret}) == ["a 11-character value"]
    assert leaks("nothing here", {secret}) == []


@pytest.mark.e2e
def test_an_unexpected_exception_leaves_the_handler_without_its_text(
    cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    example = cloud.add_uredis_secret(f"secrecy/unexpected-{id(monkeypatch)}")

    def failing_test(self: RotationEngine, event: Any, stages: Any) -> str:
        pending = self._read(event.secret_id, "AWSPENDING", event.token)
        assert pending is not None
        raise ValueError(f"library complaint about {pending.password}")  # quotes a secret

    monkeypatch.setattr(RotationEngine, "test_secret", failing_test)
    result = cloud.driver("uredis", max_attempts=1).rotate(example.arn)

    (failure,) = [run for run in result.runs if run.error]
    assert failure.outcome == "UnexpectedError"
    assert failure.error == "testSecret failed with an unexpected ValueError"
    assert cloud.value(example.arn, "AWSPENDING")["password"] not in (failure.error or "")
