"""Fixtures shared by every tier: a fake clock for unit tests, one local cloud per session."""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from localcloud.cloud import LocalCloud
from redis_rotation.polling import Deadline, Runtime

# The functions read these; set before anything imports Powertools.
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "RedisRotationTests")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "redis-rotation-tests")
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")


@dataclass
class FakeClock:
    """Time that moves only when something sleeps: waits cost nothing and are counted."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def runtime(self) -> Runtime:
        return Runtime(clock=self.clock, sleep=self.sleep, random=lambda: 0.5)

    def deadline(self, seconds: float) -> Deadline:
        return Deadline.after(self.runtime(), seconds)


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def cloud() -> Iterator[LocalCloud]:
    """A started LocalCloud (moto server, provider emulators), shared by the session."""
    with LocalCloud() as started:
        yield started


@pytest.fixture
def function_output(capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[[], str]]:
    """Everything the functions emit: their JSON log lines (formatted by Powertools, extras
    included) and what they print (EMF metrics). Call it to read what was emitted so far."""
    from redis_rotation.entrypoint import logger

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    std_logger = logging.getLogger(logger.name)
    std_logger.addHandler(handler)
    printed: list[str] = []

    def read() -> str:
        captured = capsys.readouterr()
        printed.append(captured.out + captured.err)
        return stream.getvalue() + "".join(printed)

    yield read
    std_logger.removeHandler(handler)


SUMMARY_LINES = pytest.StashKey[list[str]]()


@pytest.fixture
def summary_line(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Adds a line to the summary printed at the end of the run (e.g. the crash counts)."""
    lines = request.config.stash.setdefault(SUMMARY_LINES, [])
    return lines.append


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    lines = config.stash.get(SUMMARY_LINES, [])
    if lines:
        terminalreporter.section("guarantees")
        for line in lines:
            terminalreporter.write_line(line)
