"""The Lambda entry point shared by every provider's function.

Only Powertools objects (and a handler's empty caches) are built at import time; the
Secrets Manager client is made on first use and reused by later invocations of the same
process (it holds no rotation state).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from redis_rotation import observability
from redis_rotation.errors import ConfigurationError, RotationError, UnexpectedError
from redis_rotation.observability import logger, metrics, tracer

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_secretsmanager import SecretsManagerClient

    from redis_rotation.config import Settings
    from redis_rotation.gate import CredentialsCache
    from redis_rotation.polling import Deadline
    from redis_rotation.providers.base import ProviderFactory
    from redis_rotation.seams import Seams
    from redis_rotation.secret import RedisSecret
    from redis_rotation.session import RotationSession
    from redis_rotation.warm import Warm

__all__ = ["lambda_handler_for", "logger", "metrics", "rotate", "tracer"]

# Imported on demand so a function loads only its own provider's code.
PROVIDERS: Mapping[str, str] = {
    "uredis": "redis_rotation.providers.uredis:URedisProvider",
    "tencent": "redis_rotation.providers.tencent:TencentProvider",
    "elasticache": "redis_rotation.providers.elasticache:ElastiCacheProvider",
    "alibaba": "redis_rotation.providers.alibaba:AlibabaProvider",
}

# Used when there is no Lambda context (local runs): a step may take this long.
DEFAULT_TIME_BUDGET = 60.0


def provider_factory(name: str) -> ProviderFactory:
    if name not in PROVIDERS:
        raise ConfigurationError(f"unknown provider '{name}'; known: {', '.join(PROVIDERS)}")
    module_name, class_name = PROVIDERS[name].split(":")
    factory: ProviderFactory = getattr(importlib.import_module(module_name), class_name)
    return factory


# The template names this stack's functions STACK-<provider> (the local cloud's:
# redis-rotation-<provider>): each rotates its provider's secrets.
STACK_FUNCTIONS = ("uredis", "tencent", "elasticache", "alibaba")


def function_name(arn_or_name: str | None) -> str | None:
    """A Lambda function's name from its ARN (arn:...:function:NAME[:qualifier]) or name."""
    if not arn_or_name:
        return None
    if ":function:" in arn_or_name:
        return arn_or_name.split(":function:", 1)[1].split(":", 1)[0]
    return arn_or_name


def function_provider(rotation_lambda_arn: str | None) -> str | None:
    """The provider the secret's rotation function rotates, if it is one of this stack's."""
    name = function_name(rotation_lambda_arn) or ""
    return next((p for p in STACK_FUNCTIONS if name.endswith(f"-{p}")), None)


def provider_of(metadata: Mapping[str, Any], value: RedisSecret) -> str:
    """The provider to act as: the attached function's, where there is one (its gate then
    refuses a value that claims another); else what the value says."""
    return function_provider(metadata.get("RotationLambdaARN")) or value.provider


def open_session(
    name: str,
    metadata: Mapping[str, Any],
    *,
    client: SecretsManagerClient,
    settings: Settings,
    deadline: Deadline,
    logger: Any,
    seams: Seams | None = None,
    credentials: CredentialsCache | None = None,
) -> RotationSession:
    """The session of the secret DescribeSecret described, exactly as a rotation builds it,
    for the tools that only read (preflight, status, repair). ``credentials``: see
    ``RotationSession.open``."""
    from redis_rotation.seams import DEFAULT_SEAMS
    from redis_rotation.session import RotationSession

    return RotationSession.open(
        str(metadata.get("ARN", "")),
        provider_name=name,
        factory=provider_factory(name),
        client=client,
        settings=settings,
        deadline=deadline,
        logger=logger,
        seams=seams or DEFAULT_SEAMS,
        metadata=metadata,
        credentials=credentials,
    )


@cache
def _client_for(endpoint: str | None) -> SecretsManagerClient:
    import boto3

    # The local cloud's endpoint, from AWS_ENDPOINT_URL_SECRETS_MANAGER; None in AWS.
    return boto3.client("secretsmanager", endpoint_url=endpoint or None)


def secrets_manager_client() -> SecretsManagerClient:
    """One client per endpoint per process: clients are thread-safe and hold no rotation state."""
    return _client_for(os.environ.get("AWS_ENDPOINT_URL_SECRETS_MANAGER"))


def rotate(
    event: Mapping[str, Any],
    context: LambdaContext | None,
    provider_name: str,
    *,
    client: SecretsManagerClient | None = None,
    env: Mapping[str, str] | None = None,
    seams: Seams | None = None,
    warm: Warm | None = None,
) -> dict[str, str]:
    """Run one step; its session and everything it builds live only for this call, but for
    what ``warm`` keeps (the handler's caches, bounded in time: ``redis_rotation.warm``).
    ``seams`` replaces the real HTTP poster, Redis probe and time (tests, the local cloud)."""
    from redis_rotation.config import Settings
    from redis_rotation.engine import run_step
    from redis_rotation.polling import Deadline
    from redis_rotation.seams import DEFAULT_SEAMS
    from redis_rotation.session import RotationSession

    settings = Settings.from_env(os.environ if env is None else env)
    seams = seams or DEFAULT_SEAMS
    runtime = seams.runtime
    budget = (
        context.get_remaining_time_in_millis() / 1000.0 - settings.deadline_margin
        if context is not None
        else DEFAULT_TIME_BUDGET
    )
    deadline = Deadline.after(runtime, max(1.0, budget))
    factory = provider_factory(provider_name)
    outcome = run_step(
        event,
        lambda secret_id: RotationSession.open(
            secret_id,
            provider_name=provider_name,
            factory=factory,
            client=client or secrets_manager_client(),
            settings=settings,
            deadline=deadline,
            logger=logger,
            seams=seams,
            credentials=warm.credentials if warm else None,
            known=warm.versions if warm else None,
        ),
    )
    return {"Step": str(event.get("Step")), "Outcome": outcome}


def lambda_handler_for(
    provider_name: str, seams: Seams | None = None
) -> Callable[[dict[str, Any], LambdaContext], dict[str, str]]:
    """The decorated Lambda handler of one provider's function (``seams``: see ``rotate``).
    It keeps its caches across the warm invocations of its process (``Warm``)."""
    import time

    from redis_rotation.warm import Warm

    # Empty caches (two small mappings): the time they bound is the seams' clock, if given.
    warm = Warm(seams.runtime.clock if seams else time.monotonic)

    # log_event=False whatever POWERTOOLS_LOGGER_LOG_EVENT says: the event holds the
    # RotationToken. Nothing a step returns is put in a trace.
    @logger.inject_lambda_context(clear_state=True, log_event=False)
    @tracer.capture_lambda_handler(capture_response=False, capture_error=False)
    @metrics.log_metrics
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
        # Again at each invocation: a library's level lowered since import is raised again.
        observability.quiet_libraries()
        # One of the four steps or "unknown": it names a metric and goes into the messages.
        step = observability.known_step(event.get("Step") if isinstance(event, dict) else None)
        with observability.invocation(provider_name, event):
            try:
                result = rotate(event, context, provider_name, seams=seams, warm=warm)
            except RotationError as exc:
                observability.step_result(step, exc)
                raise  # our own messages name fields and codes, never values
            except Exception as exc:
                observability.step_result(step, exc)
                # Anything else (a library's validation error can quote a parameter's value)
                # leaves as its type alone: Lambda logs and traces a handler's exception text.
                raise UnexpectedError(
                    f"{step} failed with an unexpected {type(exc).__name__}"
                ) from None
            observability.step_result(step, None)
        logger.info("step done", extra={"outcome": result["Outcome"]})
        return result

    # Tracer's decorator is typed as returning Any; the handler's own signature is the truth.
    handler: Callable[[dict[str, Any], LambdaContext], dict[str, str]] = lambda_handler
    return handler
