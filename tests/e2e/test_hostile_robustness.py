"""Hostile input that once broke the functions' own machinery rather than the rotation: a
secret nested too deeply for the JSON decoder, a lone surrogate that made the log line
unwritable, an event Step too long for a metric name, PASSWORD_LENGTH in other digits,
libraries logging values at DEBUG, and provider messages that quote the request.

Every case runs through the real handler against the local cloud; the autouse leak check
(tests/conftest.py) watches each one, and the DEBUG cases widen what it sees to every
logger of the process.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import logging
import secrets
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from localcloud.cloud import ExampleSecret, LocalCloud
from localcloud.driver import STEPS, LambdaContext, RotationDriver
from localcloud.emulators.base import ApiEmulator, Fault
from redis_rotation import event as rotation_event
from redis_rotation import observability
from redis_rotation.entrypoint import logger
from redis_rotation.errors import (
    ConfigurationError,
    CredentialsSecretError,
    ProviderCredentialsError,
    RotationError,
    RotationStateError,
    SecretFormatError,
)
from redis_rotation.providers.base import MESSAGE_LIMIT
from tests.conftest import leaks, stored_secrets

pytestmark = pytest.mark.e2e

_names = itertools.count()
Spoil = Callable[[dict[str, Any]], dict[str, Any]]
# "[[[[...]]]]": 40 000 characters, well inside Secrets Manager's 64 KiB, far deeper than
# the decoder's recursion limit.
TOO_DEEP = "[" * 20_000 + "]" * 20_000


def new_secret(cloud: LocalCloud, provider: str = "uredis", **options: Any) -> ExampleSecret:
    name = f"robustness/{provider}-{next(_names)}"
    if provider == "uredis":
        return cloud.add_uredis_secret(name, **options)
    return cloud.add_tencent_secret(name, **options)


def first_failure(
    driver: RotationDriver,
    secret_id: str,
    token: str,
    spoil: Spoil | None = None,
) -> tuple[str, RotationError]:
    """Invoke the steps in order until one fails: (that step, its error)."""
    for step in STEPS:
        event: dict[str, Any] = {"Step": step, "SecretId": secret_id, "ClientRequestToken": token}
        if spoil is not None:
            event = spoil(event)
        try:
            driver.invoke(event, LambdaContext(driver.function_name, driver.step_timeout))
        except RotationError as exc:
            return step, exc
    raise AssertionError("no step failed")


def log_lines(text: str) -> list[dict[str, Any]]:
    lines = []
    for line in text.splitlines():
        if line.startswith("{"):
            document = json.loads(line)
            if isinstance(document, dict) and "message" in document:
                lines.append(document)
    return lines


def step_failed(text: str) -> dict[str, Any]:
    (line,) = [line for line in log_lines(text) if line["message"] == "step failed"]
    return line


# -- A1: nesting ------------------------------------------------------------------------------


def test_a_rotated_secret_nested_too_deeply_is_a_named_format_error(cloud: LocalCloud) -> None:
    example = new_secret(cloud)
    cloud.sm.secrets_manager().put_secret_value(SecretId=example.arn, SecretString=TOO_DEEP)
    driver = cloud.driver("uredis")

    step, error = first_failure(driver, example.arn, driver.start(example.arn))

    assert step == "createSecret"
    assert type(error) is SecretFormatError, repr(error)
    assert "AWSCURRENT" in str(error)
    assert str(error).endswith(": the secret is nested too deeply")


def test_a_credentials_secret_nested_too_deeply_is_a_named_error(
    cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = cloud.sm.secrets_manager()
    example = new_secret(cloud)
    # A credentials secret of this test's own; the shared one stays as it is.
    monkeypatch.setattr(cloud, "credentials", {**cloud.credentials})
    spoiled = client.create_secret(Name=f"robustness/keys-{next(_names)}", SecretString=TOO_DEEP)
    value = {**cloud.value(example.arn, "AWSCURRENT"), "credentialsSecretId": spoiled["ARN"]}
    client.put_secret_value(SecretId=example.arn, SecretString=json.dumps(value))
    driver = cloud.driver("uredis")

    _, error = first_failure(driver, example.arn, driver.start(example.arn))

    assert type(error) is CredentialsSecretError, repr(error)
    assert "nested too deeply" in str(error)


# -- A2: lone surrogates ----------------------------------------------------------------------


@pytest.fixture
def lambda_stdout() -> Iterator[Callable[[], str]]:
    """The functions' log lines as Lambda's stdout takes them: UTF-8, strict. (The capture
    of ``function_output`` is a StringIO, and pytest's own replaces what it cannot encode:
    neither would fail on a lone surrogate.)"""
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="utf-8", errors="strict", write_through=True)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    std_logger = logging.getLogger(logger.name)
    std_logger.addHandler(handler)
    yield lambda: raw.getvalue().decode("utf-8")
    std_logger.removeHandler(handler)


# case -> (what is spoiled: the current secret or the event, how, the error expected)
SURROGATE_CASES: dict[str, tuple[str, Spoil, type[RotationError]]] = {
    "in-a-key": ("current", lambda v: {**v, "x\ud800": 1}, SecretFormatError),
    "in-a-value": ("current", lambda v: {**v, "zone": "cn-\ud800"}, SecretFormatError),
    "in-the-event": ("event", lambda e: {**e, "ClientRequestToken": "\ud800"}, RotationStateError),
}


@pytest.mark.parametrize("case", SURROGATE_CASES)
def test_a_lone_surrogate_never_loses_the_step_failed_line(
    cloud: LocalCloud,
    function_output: Callable[[], str],
    lambda_stdout: Callable[[], str],
    case: str,
) -> None:
    where, spoil, expected = SURROGATE_CASES[case]
    example = new_secret(cloud)
    if where == "current":
        # json.dumps escapes the surrogate ("\\ud800"): the JSON decoder makes it again.
        spoiled = json.dumps(spoil(cloud.value(example.arn, "AWSCURRENT")))
        cloud.sm.secrets_manager().put_secret_value(SecretId=example.arn, SecretString=spoiled)
    driver = cloud.driver("uredis")

    _, error = first_failure(
        driver, example.arn, driver.start(example.arn), spoil if where == "event" else None
    )

    assert type(error) is expected, repr(error)
    written = lambda_stdout()
    assert written.isascii()
    failure = step_failed(written)
    assert failure["error"] == expected.__name__
    assert failure["reason"] == str(error)
    assert "Logging error" not in function_output()
    if case == "in-a-key":
        # The field is named, escaped: the message itself is plain ASCII.
        assert str(error).endswith(": field 'x\\ud800' is not a known field")


# -- A3: a Step too long for a metric name ----------------------------------------------------


@pytest.mark.parametrize("length", [249, 10_000])
def test_a_long_step_is_refused_and_logged_as_unknown(
    cloud: LocalCloud, function_output: Callable[[], str], length: int
) -> None:
    example = new_secret(cloud)
    driver = cloud.driver("uredis")
    token = driver.start(example.arn)

    _, error = first_failure(driver, example.arn, token, lambda e: {**e, "Step": "x" * length})

    assert type(error) is RotationStateError, repr(error)
    assert "the event field 'Step' is not one of" in str(error)
    output = function_output()
    failure = step_failed(output)
    assert failure["error"] == "RotationStateError"
    assert failure["step"] == observability.UNKNOWN_STEP
    assert "x" * 100 not in output
    emf = [json.loads(line) for line in output.splitlines() if line.startswith('{"_aws"')]
    assert any(document.get("unknownFailure") in (1.0, [1.0]) for document in emf), emf


def test_the_known_steps_are_the_events_steps() -> None:
    assert observability.KNOWN_STEPS == set(rotation_event.STEPS) == set(STEPS)


# -- A4: PASSWORD_LENGTH in other digits ------------------------------------------------------


LENGTHS = {
    "superscript-two": "3\u00b2",  # isdigit() is true, int() fails
    "arabic-indic": "\u0663\u0662",  # int() reads 32
    "fullwidth": "\uff13\uff12",  # int() reads 32
    "five-thousand-digits": "1" * 5000,  # int() refuses more than 4300 digits
    "leading-space": " 32",
    "plus-sign": "+32",
}


@pytest.mark.parametrize("length", LENGTHS.values(), ids=LENGTHS.keys())
def test_password_length_takes_ascii_digits_only(
    cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch, length: str
) -> None:
    example = new_secret(cloud)
    monkeypatch.setenv("PASSWORD_LENGTH", length)
    driver = cloud.driver("uredis")

    step, error = first_failure(driver, example.arn, driver.start(example.arn))

    assert step == "createSecret"
    assert type(error) is ConfigurationError, repr(error)
    assert str(error).startswith("PASSWORD_LENGTH must be a whole number (ASCII digits 0-9")


# -- B5: every level, DEBUG included ----------------------------------------------------------

# Lambda's ApplicationLogLevel=DEBUG lowers the root logger (and Powertools' level, through
# AWS_LAMBDA_LOG_LEVEL); someone debugging lowers the libraries' own.
DEBUG_LOGGERS = ("", "botocore", "urllib3", logger.name)


@contextlib.contextmanager
def debug_everywhere() -> Iterator[None]:
    """Every record at DEBUG of this thread (the functions run in it; the moto server and
    the emulators in their own) goes to sys.stdout, which ``function_output`` reads, as
    Lambda's root handler sends every logger's records to the log group."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    thread = threading.get_ident()
    handler.addFilter(lambda record: record.thread == thread)
    saved = {name: logging.getLogger(name).level for name in DEBUG_LOGGERS}
    logging.getLogger().addHandler(handler)
    for name in DEBUG_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield
    finally:
        logging.getLogger().removeHandler(handler)
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def plant_botocore_record(marker: str, password: str) -> None:
    """What botocore.endpoint logs at DEBUG for GetSecretValue's answer, in short."""
    secret_string = json.dumps({"password": password})
    logging.getLogger("botocore.endpoint").debug(
        "%s Response body: %s", marker, json.dumps({"SecretString": secret_string})
    )


@pytest.mark.allow_leaks
def test_the_debug_capture_sees_a_botocore_record_until_a_function_runs(
    cloud: LocalCloud, function_output: Callable[[], str]
) -> None:
    """Without the functions' level pin, a botocore DEBUG record holding a password would
    reach the output, and the leak check would say so; after one invocation it is dropped."""
    example = new_secret(cloud)
    stored = stored_secrets(cloud, {example.arn})
    password = cloud.value(example.arn, "AWSCURRENT")["password"]
    with debug_everywhere():
        plant_botocore_record("before-any-invocation", password)
        planted = function_output()
        assert "botocore.endpoint DEBUG before-any-invocation Response body" in planted
        assert leaks(planted, stored) == ["a 20-character value"]

        driver = cloud.driver("uredis")
        token = driver.start(example.arn)
        driver.run_step(example.arn, token, "createSecret", secrets.token_urlsafe(32))
        assert logging.getLogger("botocore").level == logging.INFO
        assert logging.getLogger("urllib3").level == logging.INFO
        plant_botocore_record("after-an-invocation", password)
    assert "after-an-invocation" not in function_output()


@pytest.mark.parametrize("provider", ["uredis", "tencent"])
def test_a_rotation_at_debug_leaks_nothing(
    cloud: LocalCloud, function_output: Callable[[], str], provider: str
) -> None:
    example = new_secret(
        cloud, provider, **({"api_version": "3.0"} if provider == "tencent" else {})
    )
    with debug_everywhere():
        result = cloud.driver(provider).rotate(example.arn)
    assert result.succeeded, result.runs
    output = function_output()
    # DEBUG records were captured: botocore's and urllib3's (the driver's RotateSecret,
    # before the first invocation raised their levels), the functions' own.
    assert "botocore.endpoint DEBUG Making request" in output
    assert "urllib3.connectionpool DEBUG" in output
    assert '"level":"DEBUG"' in output
    assert "redis_rotation.signing" in output
    # The autouse leak check then reads the same output, and the stored secrets.


# -- B6: provider messages that quote the request ---------------------------------------------


@dataclass(frozen=True)
class EchoMode:
    provider: str
    options: dict[str, Any]
    change: str  # the change action, whose answer quotes the request
    code: str | int  # a code that refuses the keys: no retry, the step fails at once
    fields: tuple[str, ...]  # what the answer quotes
    pending: str  # an AWSPENDING password whose encoded forms differ from it


ECHO_MODES = {
    # The password is sent base64, then form-encoded: "=" -> "%3D".
    "uredis": EchoMode(
        "uredis", {}, "ModifyURedisGroupPassword", 171, ("Password", "Signature"),
        "Echo-Pass_word-12",
    ),
    # Form-encoded: "@" -> "%40"; the base64 Signature's "+", "/" and "=" too.
    "tencent-2.0": EchoMode(
        "tencent", {"api_version": "2.0"}, "ModfiyRedisPassword", 4100,
        ("password", "oldPassword", "Signature"), "Echo@Pw#1(x)",
    ),
    # JSON body; the signature is in the Authorization header.
    "tencent-3.0": EchoMode(
        "tencent", {"api_version": "3.0", "change_mode": "modify"}, "ModifyInstancePassword",
        "AuthFailure.SignatureFailure", ("Password", "OldPassword", "Authorization"),
        "Echo&Pw=1+x%y",
    ),
}  # fmt: skip


def emulator_of(cloud: LocalCloud, provider: str) -> ApiEmulator:
    return cloud.uredis if provider == "uredis" else cloud.tencent


@pytest.mark.parametrize("mode_name", ECHO_MODES)
def test_a_message_quoting_the_request_leaks_neither_password_nor_signature(
    cloud: LocalCloud, function_output: Callable[[], str], mode_name: str
) -> None:
    mode = ECHO_MODES[mode_name]
    example = new_secret(cloud, mode.provider, **mode.options)
    client = cloud.sm.secrets_manager()
    driver = cloud.driver(mode.provider)
    token = driver.start(example.arn)
    pending = {**cloud.value(example.arn, "AWSCURRENT"), "password": mode.pending}
    client.put_secret_value(
        SecretId=example.arn,
        ClientRequestToken=token,
        SecretString=json.dumps(pending),
        VersionStages=["AWSPENDING"],
    )
    emulator = emulator_of(cloud, mode.provider)
    echoes_before = len(emulator.echoes)
    emulator.inject(Fault("echo", action=mode.change, code=mode.code, echo=mode.fields))

    step, error = first_failure(driver, example.arn, token)

    assert step == "setSecret"
    assert isinstance(error, ProviderCredentialsError), repr(error)
    (echo,) = emulator.echoes[echoes_before:]
    quoted = {
        name: value.rpartition("Signature=")[2] if name == "Authorization" else value
        for name, value in echo.values.items()
    }
    assert all(quoted.values()), echo.values
    if mode.provider == "uredis":
        assert quoted["Password"] != mode.pending  # base64, as sent
    else:
        assert mode.pending in quoted.values()
    # The functions were shown every value, whole, within the part of a message they quote.
    shown = echo.message[:MESSAGE_LIMIT]
    assert all(value in shown for value in quoted.values()), "each value shown whole"
    text = function_output() + "\n" + str(error)
    assert leaks(text, set(quoted.values())) == []
    failure = step_failed(function_output())
    assert failure["reason"] == str(error)
    assert "***" in failure["reason"], "the quoted fields are there, redacted"
