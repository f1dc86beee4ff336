"""Logs, metrics and traces of the rotation functions, in one place.

Powertools' Logger, Metrics and Tracer are built here, once, at import: they are the only
objects the layer builds at import time. The engine, the providers, the transport and the
Redis check call the few functions below at the points worth watching; none of them holds
or passes around a Powertools object. Import also raises the level of the libraries that
log values at DEBUG (``quiet_libraries``), and the handler raises it again per invocation.

What goes through here is names, ids, provider codes, counts and durations. No caller
hands over a secret value, no function's return value is put in a trace, and exception
texts reach a trace only as the X-Ray SDK records them (our own messages never carry a
secret; see errors.py).

Metrics are recorded only while a Lambda invocation is handled (``invocation``): the
preflight command and the tests that drive the engine directly would otherwise leave EMF
documents on stdout, or flush them into a namespace no one looks at.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from redis_rotation.errors import ProviderError, RedisUnreachableError, RotationError

DEFAULT_NAMESPACE = "RedisRotation"

# The metric catalogue (docs/alerts.md, Metrics). Dimensions: service and Provider.
STEP_SUCCESS = "{step}Success"
STEP_FAILURE = "{step}Failure"
PROVIDER_API_LATENCY = "ProviderApiLatency"
PROVIDER_API_RETRIES = "ProviderApiRetries"
TASK_WAIT_TIME = "TaskWaitTime"
REDIS_AUTH_ATTEMPTS = "RedisAuthAttempts"
REDIS_AUTH_REFUSED = "RedisAuthRefused"
REDIS_UNREACHABLE = "RedisUnreachable"

# The rotation steps, the only words a metric name or a log key takes from the event: any
# other Step (a hostile one may be kilobytes long) is "unknown". event.STEPS, repeated so
# that this module, imported by every other, depends on errors.py alone (a test compares).
KNOWN_STEPS = frozenset({"createSecret", "setSecret", "testSecret", "finishSecret"})
UNKNOWN_STEP = "unknown"

# Libraries that log values at DEBUG: botocore logs Secrets Manager's request and response
# bodies (SecretString, PutSecretValue's new password), urllib3 and requests the URLs they
# call, the X-Ray SDK the trace entities it sends; boto3, s3transfer and redis-py log
# through the same door. They are held at INFO (see quiet_libraries).
VALUE_LOGGING_LIBRARIES = (
    "botocore",
    "boto3",
    "s3transfer",
    "urllib3",
    "requests",
    "redis",
    "aws_xray_sdk",
)


def known_step(step: object) -> str:
    """The event's Step if it is one of the four, else "unknown"."""
    return step if isinstance(step, str) and step in KNOWN_STEPS else UNKNOWN_STEP


def _serialize(record: Mapping[str, Any]) -> str:
    # Powertools writes non-ASCII text as is (ensure_ascii=False): a lone surrogate from a
    # secret's key or an event field then fails the stream write itself (UnicodeEncodeError)
    # and the line is lost. Escaped to ASCII, every line can be written to any stream.
    return json.dumps(record, default=str, separators=(",", ":"), ensure_ascii=True)


def quiet_libraries() -> None:
    """Hold VALUE_LOGGING_LIBRARIES (and any of their child loggers given a level of its
    own) at INFO or above, whatever the root logger's level.

    Why levels, not a filter: Lambda's ApplicationLogLevel=DEBUG lowers the root logger, and
    a library logger left at NOTSET inherits it; a filter on ``botocore`` would not see the
    records of ``botocore.endpoint`` (filters do not apply to propagated records), and one on
    a handler would have to be on every handler, Lambda's own included. A level on the
    library's logger stops the record before it is made. Called at import and again at
    every invocation, so that a level lowered later (boto3.set_stream_logger, a debugging
    session) is raised again before the next step runs.
    """
    manager = logging.Logger.manager
    for name in list(manager.loggerDict):
        if name.split(".", 1)[0] in VALUE_LOGGING_LIBRARIES:
            child = manager.loggerDict[name]
            # NOTSET children inherit from the library's logger, raised below.
            if isinstance(child, logging.Logger) and logging.NOTSET < child.level < logging.INFO:
                child.setLevel(logging.INFO)
    for name in VALUE_LOGGING_LIBRARIES:
        library = logging.getLogger(name)
        if library.level < logging.INFO:
            library.setLevel(logging.INFO)


quiet_libraries()

# Service name, log level and namespace come from POWERTOOLS_* (the template's Globals).
logger = Logger(json_serializer=_serialize)
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", DEFAULT_NAMESPACE))
# Only what the functions call through: botocore (Secrets Manager; the X-Ray SDK records no
# Secrets Manager parameters, the service is not on its allow-list) and requests (provider
# APIs; URL, method and status only — every provider call is a POST with the request in
# its body). Tracing is off outside Lambda and with POWERTOOLS_TRACE_DISABLED=true.
tracer = Tracer(patch_modules=("botocore", "requests"))

_recording: ContextVar[bool] = ContextVar("redis_rotation_recording", default=False)


def _add_metric(name: str, unit: MetricUnit, value: float) -> None:
    if _recording.get():
        metrics.add_metric(name=name, unit=unit, value=value)


@contextlib.contextmanager
def _span(name: str, **annotations: str) -> Iterator[None]:
    """An X-Ray subsegment with searchable annotations (a no-op while tracing is off)."""
    with tracer.provider.in_subsegment(name=name) as subsegment:
        for key, value in annotations.items():
            subsegment.put_annotation(key, value)
        yield


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000.0, 1)


def bind(**keys: str | None) -> None:
    """Add identifiers to every later log line of this invocation (never a secret value)."""
    logger.append_keys(**keys)


@contextlib.contextmanager
def invocation(provider: str, event: Any) -> Iterator[None]:
    """One Lambda invocation: its log keys, its metric dimension, its trace annotations.

    Only names are taken from the event: its RotationToken is never logged or traced.
    """
    fields: Mapping[str, Any] = event if isinstance(event, Mapping) else {}
    keys = {
        "provider": provider,
        "step": known_step(fields.get("Step")),
        "secret_id": _text(fields.get("SecretId")),
        "token": _text(fields.get("ClientRequestToken")),
    }
    bind(**keys)
    for key, value in keys.items():
        if value is not None:
            tracer.put_annotation(key=key, value=value)
    # Each invocation starts clean: with metrics disabled nothing flushes the last one's.
    metrics.clear_metrics()
    metrics.add_dimension(name="Provider", value=provider)
    recording = _recording.set(True)
    try:
        yield
    finally:
        _recording.reset(recording)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def step_result(step: str, error: BaseException | None) -> None:
    """Count the step's success or failure; log the failure's type (and our own reason).
    A ``step`` not one of the four is counted as "unknown": a metric name is at most 255
    characters, and Powertools refuses a longer one before the failure is logged."""
    template = STEP_FAILURE if error is not None else STEP_SUCCESS
    _add_metric(template.format(step=known_step(step)), MetricUnit.Count, 1)
    if error is None:
        return
    if isinstance(error, RotationError):
        # Our own messages name fields and codes only, so they are safe to log.
        logger.error("step failed", extra={"error": type(error).__name__, "reason": str(error)})
    else:
        # Anything else may carry any text: only its type is logged.
        logger.error("step failed unexpectedly", extra={"error": type(error).__name__})


@contextlib.contextmanager
def provider_call(provider: str, action: str) -> Iterator[None]:
    """One HTTP call to a provider API: its latency, and its outcome in a word."""
    started = time.perf_counter()
    outcome = "ok"
    try:
        with _span(f"## {provider} {action}", action=action):
            yield
    except ProviderError as exc:
        outcome = exc.code
        raise
    finally:
        elapsed = _elapsed_ms(started)
        _add_metric(PROVIDER_API_LATENCY, MetricUnit.Milliseconds, elapsed)
        logger.debug(
            "provider call",
            extra={"action": action, "latency_ms": elapsed, "outcome": outcome},
        )


def timed_provider_call[**P, R](post: Callable[P, R]) -> Callable[P, R]:
    """Decorates ``Transport.post(self, url, *, action, ...)``: each call is a provider_call."""

    @functools.wraps(post)
    def timed(*args: P.args, **kwargs: P.kwargs) -> R:
        with provider_call(str(getattr(args[0], "provider", "?")), str(kwargs.get("action"))):
            return post(*args, **kwargs)

    return timed


def provider_retry(error: ProviderError) -> None:
    """A provider call failed in a way worth retrying, and will be retried."""
    _add_metric(PROVIDER_API_RETRIES, MetricUnit.Count, 1)
    logger.warning(
        "provider call failed, will look again",
        extra={"provider_code": error.code, "action": error.action},
    )


@contextlib.contextmanager
def task_wait(provider: str) -> Iterator[None]:
    """Waiting for the provider to report an accepted change done (task or state)."""
    started = time.perf_counter()
    with _span(f"## {provider} wait for change"):
        yield
    elapsed = _elapsed_ms(started)
    _add_metric(TASK_WAIT_TIME, MetricUnit.Milliseconds, elapsed)
    logger.info("the provider reports the change done", extra={"waited_ms": elapsed})


def redis_auth(endpoint: str, attempt: Callable[[], bool]) -> bool:
    """One AUTH attempt on one endpoint: counted, and counted again if refused or unreachable."""
    _add_metric(REDIS_AUTH_ATTEMPTS, MetricUnit.Count, 1)
    try:
        with _span("## redis AUTH", endpoint=endpoint):
            accepted = attempt()
    except RedisUnreachableError:
        _add_metric(REDIS_UNREACHABLE, MetricUnit.Count, 1)
        raise
    if not accepted:
        _add_metric(REDIS_AUTH_REFUSED, MetricUnit.Count, 1)
    return accepted
