"""The Tencent provider with a stub transport, on the fake clock: retries and polls cost
nothing."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from redis_rotation.config import Settings
from redis_rotation.providers.base import ProviderContext
from redis_rotation.providers.tencent import TencentProvider
from tests.support.clock import FakeClock
from tests.unit.tencent.support import KEYS, NOW, Harness, Make, StubTransport, no_aws


@pytest.fixture
def make(fake_clock: FakeClock) -> Make:
    def build(
        answers: Mapping[str, list[Any]] | None = None,
        *,
        keys: Mapping[str, str] = KEYS,
        clock: Callable[[], float] = lambda: float(NOW),
        nonce: Callable[[], int] | None = None,
        seconds: float = 60,
    ) -> Harness:
        transport = StubTransport(fake_clock, answers or {})
        context = ProviderContext(
            settings=Settings(),
            deadline=fake_clock.deadline(seconds),
            transport=transport,
            keys=keys,
            aws_client=no_aws,
        )
        options: dict[str, Any] = {"clock": clock}
        if nonce is not None:
            options["nonce"] = nonce
        return Harness(transport, TencentProvider(context, **options))

    return build
