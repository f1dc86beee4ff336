"""The e2e tier's shared fixture: a `redis-rotation up` per test module that asks for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.local_up import Up, running_up


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    """`redis-rotation up`, started from a directory outside the checkout."""
    cwd = tmp_path_factory.mktemp("anywhere")
    with running_up(cwd, tmp_path_factory.mktemp("state") / "state.json") as started:
        yield started
