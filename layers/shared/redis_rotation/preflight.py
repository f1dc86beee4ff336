"""``python -m redis_rotation.preflight <secret-id>``: is this secret ready to be rotated?

Run it before turning rotation on, from where the rotation function runs (the same network
path to the provider's API and to Redis), with the usual AWS credential chain. It reads and
asks, and changes nothing: DescribeSecret and GetSecretValue on the secret and on its
credentials secret, the provider's describe call, and Redis AUTH + PING with the current
password. Each check prints a verdict; the exit status is 1 if any check failed.

The checks are the rotation's own pieces (the engine's reads, the provider's describe and
password policy, the Redis check), so a secret that passes here fails a rotation only for
what can change in between. Printed text names secrets, fields and codes, never a value.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import BotoCoreError

from redis_rotation.config import Settings
from redis_rotation.engine import RotationEngine
from redis_rotation.entrypoint import provider_factory, secrets_manager_client
from redis_rotation.errors import RotationError
from redis_rotation.observability import logger
from redis_rotation.polling import Deadline, Runtime
from redis_rotation.redis_check import endpoint_accepts
from redis_rotation.store import CURRENT, PENDING, SecretStore

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

    from redis_rotation.providers.base import Provider
    from redis_rotation.secret import RedisSecret

Verdict = Literal["PASS", "WARN", "FAIL", "SKIP"]
DEFAULT_TIMEOUT = 60.0


@dataclass(frozen=True)
class Check:
    name: str
    verdict: Verdict
    detail: str


class Preflight:
    """Runs the checks in order; a check whose input is missing is skipped, not failed."""

    def __init__(
        self,
        secret_id: str,
        *,
        client: SecretsManagerClient,
        env: Mapping[str, str],
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.secret_id = secret_id
        self.client = client
        self.settings = Settings.from_env(env)
        self.deadline = Deadline.after(Runtime(), timeout)
        self.store = SecretStore(client, logging.getLogger(__name__))

    def _provider(self, name: str) -> Provider:
        # The provider exactly as a rotation builds it.
        return RotationEngine(
            provider_name=name,
            provider_factory=provider_factory(name),
            client=self.client,
            settings=self.settings,
            deadline=self.deadline,
            logger=logging.getLogger(__name__),
        ).provider()

    def run(self) -> Iterator[Check]:
        try:
            metadata = self.store.describe(self.secret_id)
            current = self.store.read(self.secret_id, CURRENT)
            if current is None:
                raise RotationError(f"secret {self.secret_id} has no AWSCURRENT value")
        except RotationError as exc:
            yield Check("secret", "FAIL", str(exc))
            for name in ("rotation", "credentials", "instance", "policy", "auth"):
                yield Check(name, "SKIP", "needs a valid secret")
            return
        endpoints = len(current.endpoints)
        yield Check(
            "secret",
            "PASS",
            f"AWSCURRENT matches the schema: provider {current.provider}, instance "
            f"{current.instance_id}, {endpoints} endpoint{'s' if endpoints > 1 else ''}",
        )
        yield self._rotation(metadata)
        provider = self._provider(current.provider)
        credentials = self._credentials(provider, current)
        yield credentials
        if credentials.verdict == "FAIL":
            yield Check("instance", "SKIP", "needs the provider's API keys")
        else:
            yield self._instance(provider, current)
        yield self._policy(provider, current)
        yield from self._auth(current)

    def _rotation(self, metadata: Mapping[str, Any]) -> Check:
        stages: Mapping[str, list[str]] = metadata.get("VersionIdsToStages", {})
        unfinished = [v for v, s in stages.items() if PENDING in s and CURRENT not in s]
        enabled = metadata.get("RotationEnabled", False)
        state = (
            f"enabled, function {metadata.get('RotationLambdaARN', '(none)')}"
            if enabled
            else "not enabled yet"
        )
        key = metadata.get("KmsKeyId")
        encryption = (
            f"; encrypted with {key}: the stack's KmsKeyArn must name this key"
            if key
            else "; encrypted with aws/secretsmanager"
        )
        if unfinished:
            return Check(
                "rotation",
                "WARN",
                f"{state}; version {unfinished[0]} still holds AWSPENDING from an unfinished "
                "rotation: the next rotation resumes it (or remove the label with "
                "update-secret-version-stage)" + encryption,
            )
        return Check("rotation", "PASS", f"{state}; no unfinished rotation{encryption}")

    def _credentials(self, provider: Provider, current: RedisSecret) -> Check:
        schema = provider.credentials_schema
        try:
            self.store.load_credentials(current.credentials_secret_id, schema)
        except RotationError as exc:
            return Check("credentials", "FAIL", str(exc))
        return Check(
            "credentials",
            "PASS",
            f"credentials secret {current.credentials_secret_id} matches {schema}",
        )

    def _instance(self, provider: Provider, current: RedisSecret) -> Check:
        try:
            status = provider.describe(current)
        except RotationError as exc:
            return Check("instance", "FAIL", str(exc))
        name = f"{current.provider} instance {current.instance_id}"
        if not status.described:
            return Check(
                "instance",
                "WARN",
                f"{name}: this API has no call that looks without changing ({status.detail}); "
                "its state and the API keys are first checked by setSecret",
            )
        if status.ready:
            return Check("instance", "PASS", f"{name}: {status.detail}, may be changed now")
        if status.busy:
            return Check(
                "instance",
                "WARN",
                f"{name}: {status.detail}; a workflow runs, a rotation would wait for it",
            )
        return Check("instance", "FAIL", f"{name} cannot be changed in state '{status.detail}'")

    def _policy(self, provider: Provider, current: RedisSecret) -> Check:
        try:
            policy = provider.policy(current)
            length = policy.length(self.settings.password_length)
        except RotationError as exc:
            return Check("policy", "FAIL", str(exc))
        return Check("policy", "PASS", f"new passwords: {length} characters, rule {policy.name}")

    def _auth(self, current: RedisSecret) -> Iterator[Check]:
        tls = "TLS" if current.tls.enabled else "no TLS"
        for endpoint in current.endpoints:
            name = f"auth {endpoint}"
            try:
                accepted = endpoint_accepts(
                    current, endpoint, current.password, self.settings.redis_timeouts
                )
            except RotationError as exc:
                yield Check(name, "FAIL", str(exc))
                continue
            if accepted:
                yield Check(
                    name,
                    "PASS",
                    f"accepts the AWSCURRENT password and refuses clients without one ({tls})",
                )
            else:
                yield Check(
                    name,
                    "FAIL",
                    "refuses the AWSCURRENT password, or accepts clients that send none (a "
                    "password-free instance): set the instance's password to the AWSCURRENT "
                    "value, or turn password authentication on",
                )


def run_checks(
    secret_id: str,
    *,
    client: SecretsManagerClient | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[Check]:
    """Every check of ``secret_id``, in order. Never raises for what it finds."""
    try:
        preflight = Preflight(
            secret_id,
            client=client or secrets_manager_client(),
            env=os.environ if env is None else env,
            timeout=timeout,
        )
    except RotationError as exc:  # a bad setting, e.g. PASSWORD_LENGTH
        return [Check("settings", "FAIL", str(exc))]
    return list(preflight.run())


def render(secret_id: str, checks: Sequence[Check]) -> str:
    failed = [check.name for check in checks if check.verdict == "FAIL"]
    warned = [check.name for check in checks if check.verdict == "WARN"]
    width = max(len(check.name) for check in checks)
    lines = [f"Preflight of {secret_id} (reads only, changes nothing)"]
    lines += [f"  {c.verdict:<4}  {c.name:<{width}}  {c.detail}" for c in checks]
    if failed:
        lines.append(f"Verdict: NOT ready to rotate: {len(failed)} failed ({', '.join(failed)})")
    else:
        note = f" ({len(warned)} warning{'s' if len(warned) > 1 else ''}: {', '.join(warned)})"
        lines.append(f"Verdict: ready to rotate{note if warned else ''}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None, print_: Callable[[str], None] = print) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m redis_rotation.preflight",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("secret_id", help="name or ARN of the rotated secret")
    parser.add_argument(
        "--password-length",
        type=int,
        help="the stack's password length parameter, to check it against the secret's rule",
    )
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds")
    parser.add_argument("--json", action="store_true", help="print the checks as JSON")
    parser.add_argument("--verbose", action="store_true", help="show the functions' own logs")
    args = parser.parse_args(argv)
    env = dict(os.environ)
    if args.password_length is not None:
        env["PASSWORD_LENGTH"] = str(args.password_length)
    level = logger.log_level
    if not args.verbose:
        # The engine's and providers' JSON log lines would bury the verdicts.
        logger.setLevel(logging.ERROR)
    try:
        checks = run_checks(args.secret_id, env=env, timeout=args.timeout)
    except BotoCoreError as exc:  # no credentials, no region, no route to Secrets Manager
        print(
            f"preflight: cannot use Secrets Manager ({type(exc).__name__}): check the AWS "
            "credentials, the region (AWS_REGION) and the network path",
            file=sys.stderr,
        )
        return 2
    finally:
        logger.setLevel(level)  # main() may run inside another program (the local cloud CLI)
    if args.json:
        ready = all(check.verdict != "FAIL" for check in checks)
        document = {"secret": args.secret_id, "ready": ready, "checks": [asdict(c) for c in checks]}
        print_(json.dumps(document, indent=2))
    else:
        print_(render(args.secret_id, checks))
    return 1 if any(check.verdict == "FAIL" for check in checks) else 0


if __name__ == "__main__":
    sys.exit(main())
