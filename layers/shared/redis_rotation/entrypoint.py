"""The Lambda entry point shared by every provider's function.

Only Powertools objects are built at import time; the Secrets Manager client is made on
first use and reused by later invocations of the same process (it holds no rotation state).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from redis_rotation.errors import ConfigurationError, RotationError

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_secretsmanager import SecretsManagerClient

    from redis_rotation.providers.base import ProviderFactory

logger = Logger()
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "RedisRotation"))

# Imported on demand so a function loads only its own provider's code.
PROVIDERS: Mapping[str, str] = {
    "uredis": "redis_rotation.providers.uredis:URedisProvider",
    "tencent": "redis_rotation.providers.tencent:TencentProvider",
}

# Used when there is no Lambda context (local runs): a step may take this long.
DEFAULT_TIME_BUDGET = 60.0


def provider_factory(name: str) -> ProviderFactory:
    if name not in PROVIDERS:
        raise ConfigurationError(f"unknown provider '{name}'; known: {', '.join(PROVIDERS)}")
    module_name, class_name = PROVIDERS[name].split(":")
    factory: ProviderFactory = getattr(importlib.import_module(module_name), class_name)
    return factory


@cache
def _client_for(endpoint: str | None) -> SecretsManagerClient:
    import boto3

    # boto3 itself honours AWS_ENDPOINT_URL_SECRETS_MANAGER (the local cloud's endpoint).
    return boto3.client("secretsmanager")


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
) -> dict[str, str]:
    """Run one step; the engine and everything it builds live only for this call."""
    from redis_rotation.config import Settings
    from redis_rotation.engine import RotationEngine
    from redis_rotation.polling import Deadline, Runtime

    settings = Settings.from_env(os.environ if env is None else env)
    runtime = Runtime()
    budget = (
        context.get_remaining_time_in_millis() / 1000.0 - settings.deadline_margin
        if context is not None
        else DEFAULT_TIME_BUDGET
    )
    engine = RotationEngine(
        provider_name=provider_name,
        provider_factory=provider_factory(provider_name),
        client=client or secrets_manager_client(),
        settings=settings,
        deadline=Deadline.after(runtime, max(1.0, budget)),
        logger=logger,
    )
    outcome = engine.run(event)
    return {"Step": str(event.get("Step")), "Outcome": outcome}


def lambda_handler_for(
    provider_name: str,
) -> Callable[[dict[str, Any], LambdaContext], dict[str, str]]:
    """The decorated Lambda handler of one provider's function."""

    @logger.inject_lambda_context(clear_state=True)
    @metrics.log_metrics
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
        step = str(event.get("Step", "unknown")) if isinstance(event, dict) else "unknown"
        # Names only: the event's RotationToken is never logged.
        logger.append_keys(
            provider=provider_name,
            step=step,
            secret_id=event.get("SecretId") if isinstance(event, dict) else None,
            token=event.get("ClientRequestToken") if isinstance(event, dict) else None,
        )
        # Each invocation starts clean: with metrics disabled nothing flushes the last one's.
        metrics.clear_metrics()
        metrics.add_dimension(name="Provider", value=provider_name)
        try:
            result = rotate(event, context, provider_name)
        except RotationError as exc:
            metrics.add_metric(name=f"{step}Failure", unit=MetricUnit.Count, value=1)
            # Our own messages name fields and codes only, so they are safe to log.
            logger.error("step failed", extra={"error": type(exc).__name__, "reason": str(exc)})
            raise
        except Exception as exc:
            metrics.add_metric(name=f"{step}Failure", unit=MetricUnit.Count, value=1)
            # Anything else may carry any text: only its type is logged.
            logger.error("step failed unexpectedly", extra={"error": type(exc).__name__})
            raise
        metrics.add_metric(name=f"{step}Success", unit=MetricUnit.Count, value=1)
        logger.info("step done", extra={"outcome": result["Outcome"]})
        return result

    return lambda_handler
