"""What ``status`` and ``repair`` share: a Secrets Manager client that counts its calls,
and, for one secret, the rotation's own gate, provider and Redis check.

Every field of a rotated secret's value is its writer's word. Before a password goes to an
address, the keys' owner's binding must allow it exactly as it does for a rotation: the
gate admits the value (a grant for this secret and its instance), and every address is one
the grant allows or one the provider reports for the instance.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from redis_rotation.config import Settings
from redis_rotation.entrypoint import open_session
from redis_rotation.polling import Deadline, Runtime
from redis_rotation.seams import DEFAULT_SEAMS, Seams

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

    from redis_rotation.gate import CredentialsCache
    from redis_rotation.session import RotationSession

LOG = logging.getLogger("redis_rotation.cli")
# How long Secrets Manager may still run a rotation's steps after AWSPENDING was created:
# it tries a failed rotation up to 5 times, each of 4 steps up to the function's timeout.
ATTEMPTS, STEPS = 5, 4
DEFAULT_FUNCTION_TIMEOUT = 300.0  # the template's FunctionTimeout default
# How long one secret's reads and Redis questions may take in all.
SECRET_BUDGET = 60.0


def retry_window(function_timeout: float) -> float:
    return ATTEMPTS * STEPS * function_timeout


def add_window_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--function-timeout",
        type=float,
        default=DEFAULT_FUNCTION_TIMEOUT,
        help="the stack's FunctionTimeout in seconds (sets the retry window)",
    )
    parser.add_argument("--stuck-after", type=float, help="seconds: the retry window, directly")


def window_of(args: argparse.Namespace) -> float:
    """The retry window the options give: --stuck-after, else from --function-timeout."""
    if args.stuck_after is not None:
        return float(args.stuck_after)
    return retry_window(args.function_timeout)


@dataclass
class CountedClient:
    """A Secrets Manager client of its own (not the functions' shared one) and the calls it
    made, by operation."""

    client: SecretsManagerClient
    calls: Counter[str] = field(default_factory=Counter)

    @classmethod
    def create(cls) -> CountedClient:
        import boto3

        client = boto3.client(
            "secretsmanager", endpoint_url=os.environ.get("AWS_ENDPOINT_URL_SECRETS_MANAGER")
        )
        counted = cls(client)

        def count(model: Any, **_: Any) -> None:
            counted.calls[model.name] += 1

        client.meta.events.register("before-call.secrets-manager", count)
        return counted

    @property
    def total(self) -> int:
        return sum(self.calls.values())


def open_secret(
    client: SecretsManagerClient,
    provider_name: str,
    metadata: Mapping[str, Any],
    seams: Seams = DEFAULT_SEAMS,
    env: Mapping[str, str] | None = None,
    credentials: CredentialsCache | None = None,
) -> RotationSession:
    """One secret as a rotation sees it: DescribeSecret's identity, the gate and provider of
    its function, and the Redis proof (its probe is a seam). ``credentials``: a cache shared
    across secrets, so that each credentials secret is read once."""
    return open_session(
        provider_name,
        metadata,
        client=client,
        settings=Settings.from_env(os.environ if env is None else env),
        deadline=Deadline.after(Runtime(), SECRET_BUDGET),
        logger=LOG,
        seams=seams,
        credentials=credentials,
    )
