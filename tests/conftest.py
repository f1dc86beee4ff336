"""Fixtures shared by every tier: a fake clock for unit tests, one local cloud per session."""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import shutil
import urllib.parse
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from localcloud.cloud import LocalCloud
from localcloud.driver import Invoke
from tests.support import processes
from tests.support.clock import FakeClock

# The functions read these; set before anything imports Powertools.
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "RedisRotationTests")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "redis-rotation-tests")
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")

# Imported now, not first inside a test: Powertools' log handler keeps the sys.stdout it
# sees at import, and a test's capture stream is closed when that test ends.
import redis_rotation.entrypoint  # noqa: F401

# This run's own temporary folder, inherited by every process it starts (xdist workers keep
# the controller's): the run's end finds the redis-servers it left by their folders.
RUN_FOLDER, MADE_RUN_FOLDER = processes.run_folder()

if TYPE_CHECKING:
    from redis_rotation.seams import Seams

# The real servers' fixtures (redis_server), shared by every tier.
pytest_plugins = ["tests.support.servers"]


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def cloud() -> Iterator[LocalCloud]:
    """A started LocalCloud (moto server, provider emulators), shared by the session."""
    with LocalCloud() as started:
        yield started
        # Safe defaults, asserted on the wire: across every rotation of the session, the
        # functions never asked to remove a password nor to make an instance password-free.
        assert started.uredis.empty_password_requests == []
        assert started.tencent.no_auth_requests == []


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


TIERS = ("unit", "integration", "e2e")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """`make test` runs one tier at a time: a test in no tier, or in two, would be skipped or
    run twice."""
    for item in items:
        tiers = [t for t in TIERS if item.get_closest_marker(t) is not None]
        if len(tiers) != 1:
            raise pytest.UsageError(f"{item.nodeid} is in tiers {tiers}: give it exactly one")


SUMMARY_LINES = pytest.StashKey[list[str]]()


@pytest.fixture
def summary_line(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Adds a line to the summary printed at the end of the run (e.g. the crash counts)."""
    lines = request.config.stash.setdefault(SUMMARY_LINES, [])
    return lines.append


def pytest_sessionfinish(session: pytest.Session) -> None:
    # An xdist worker (it has workeroutput) prints no summary: its lines go to the controller.
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["summary_lines"] = session.config.stash.get(SUMMARY_LINES, [])
        return
    # The run (every worker has ended) leaves no redis-server it started. Servers stop on
    # signals, asynchronously: wait for them, bounded, before calling one left over.
    left = processes.wait_until_gone(processes.redis_servers_under(RUN_FOLDER))
    if MADE_RUN_FOLDER:
        shutil.rmtree(RUN_FOLDER, ignore_errors=True)
    if left:
        processes.end(left)
        session.config.stash.setdefault(SUMMARY_LINES, []).append(
            f"FAILED: the run left {len(left)} redis-server process(es) running "
            f"(pids {left}; now killed)"
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(optionalhook=True)  # an xdist hook, called in the controller only
def pytest_testnodedown(node: Any) -> None:
    lines = node.workeroutput.get("summary_lines", [])
    node.config.stash.setdefault(SUMMARY_LINES, []).extend(lines)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    lines = config.stash.get(SUMMARY_LINES, [])
    if lines:
        terminalreporter.section("guarantees")
        for line in lines:
            terminalreporter.write_line(line)


# Fields of the rotated and credentials secrets whose values must never leave a function.
SECRET_FIELDS = ("password", "publicKey", "privateKey", "secretId", "secretKey", "token")


def encodings(value: str) -> set[str]:
    """The forms in which a secret could leak: as is, base64, URL- and JSON-escaped."""
    raw = value.encode()
    forms = {
        value,
        base64.b64encode(raw).decode(),
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        urllib.parse.quote(value, safe=""),
        urllib.parse.quote_plus(value),
        json.dumps(value)[1:-1],
    }
    return {form for form in forms if len(form) >= 6}


def stored_secrets(cloud: LocalCloud, secret_ids: set[str]) -> set[str]:
    """Every secret field value of every version of the given secrets."""
    client = cloud.sm.secrets_manager()
    values: set[str] = set()
    for secret_id in secret_ids:
        versions = client.list_secret_version_ids(SecretId=secret_id, IncludeDeprecated=True)
        for version in versions["Versions"]:
            try:
                answer = client.get_secret_value(SecretId=secret_id, VersionId=version["VersionId"])
                document = json.loads(answer["SecretString"])
            # The empty AWSPENDING stub; hostile strings; hostile nesting ("[[[[...").
            except (ClientError, ValueError, RecursionError):
                continue
            if isinstance(document, dict):
                values.update(str(document[f]) for f in SECRET_FIELDS if document.get(f))
    return values


@pytest.fixture(autouse=True)
def no_secret_leaks(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """For every test that rotates on the local cloud: no password, API key or RotationToken
    appears in the functions' logs, metrics or exception texts, in any common encoding."""
    if "cloud" not in request.fixturenames:
        yield
        return
    cloud: LocalCloud = request.getfixturevalue("cloud")
    output: Callable[[], str] = request.getfixturevalue("function_output")
    before = set(cloud.secrets)
    rotation_tokens: list[str] = []
    errors: list[str] = []
    real_handler = LocalCloud.handler

    def watched_handler(provider: str, seams: Seams | None = None) -> Invoke:
        inner = real_handler(provider, seams)

        def invoke(event: dict[str, Any], context: Any) -> Any:
            if isinstance(event, dict) and isinstance(event.get("RotationToken"), str):
                rotation_tokens.append(event["RotationToken"])
            try:
                return inner(event, context)
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                raise

        return invoke

    monkeypatch.setattr(LocalCloud, "handler", staticmethod(watched_handler))
    yield
    if request.node.get_closest_marker("allow_leaks"):
        return
    secret_ids = {cloud.secrets[name].arn for name in set(cloud.secrets) - before}
    secret_ids |= set(cloud.credentials.values())
    secrets = stored_secrets(cloud, secret_ids) | set(rotation_tokens)
    found = leaks(output() + "\n".join(errors), secrets)
    assert not found, f"secret values leaked into function output or errors: {found}"


def leaks(text: str, secrets: set[str]) -> list[str]:
    """Descriptions (never the values) of the secrets that appear in ``text``."""
    found = {f"a {len(s)}-character value" for s in secrets for f in encodings(s) if f in text}
    return sorted(found)
