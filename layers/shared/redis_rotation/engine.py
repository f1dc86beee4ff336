"""The rotation engine: Secrets Manager's four steps for every provider.

The invariant it keeps: at every moment, the password the Redis instance accepts is held
by AWSCURRENT, AWSPENDING or AWSPREVIOUS. createSecret stores the new password before any
provider call; setSecret changes the instance only to the stored AWSPENDING value and,
before every change request, checks whether that value already works, so a retry after a
crash never issues a second change once the first has taken effect.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from redis_rotation import observability
from redis_rotation.errors import (
    CredentialsSecretError,
    DeadlineExceededError,
    InstanceStateError,
    OldPasswordRejectedError,
    ProviderRetryableError,
    RedisAuthError,
    RedisUnreachableError,
    RotationStateError,
    SecretFormatError,
)
from redis_rotation.polling import Backoff, Deadline, poll
from redis_rotation.providers.base import Provider, ProviderContext, ProviderFactory
from redis_rotation.providers.transport import Transport
from redis_rotation.redis_check import password_accepted
from redis_rotation.secret import RedisSecret, load_json_object, parse_secret, validate

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

    from redis_rotation.config import Settings

CURRENT, PENDING, PREVIOUS = "AWSCURRENT", "AWSPENDING", "AWSPREVIOUS"
STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")

# Polls for a change to show (task state, AUTH) start fast and stay frequent: the time
# between the provider finishing and us noticing is wasted Lambda time.
STATUS_BACKOFF = Backoff(first=0.05, cap=1.0)
# Retrying a whole change attempt after a provider fault spreads out further.
ATTEMPT_BACKOFF = Backoff(first=0.25, cap=2.0)


@dataclass(frozen=True)
class RotationEvent:
    step: str
    secret_id: str
    token: str
    rotation_token: str | None = field(default=None, repr=False)

    @classmethod
    def parse(cls, event: Any) -> RotationEvent:
        if not isinstance(event, Mapping):
            raise RotationStateError("the event must be a JSON object")
        values: dict[str, str] = {}
        for name in ("Step", "SecretId", "ClientRequestToken"):
            value = event.get(name)
            if not isinstance(value, str) or not value:
                raise RotationStateError(f"the event field '{name}' is missing or not a string")
            values[name] = value
        if values["Step"] not in STEPS:
            raise RotationStateError(
                f"the event field 'Step' is not one of {', '.join(STEPS)}"  # value not echoed
            )
        rotation_token = event.get("RotationToken")
        if rotation_token is not None and not isinstance(rotation_token, str):
            raise RotationStateError("the event field 'RotationToken' is not a string")
        return cls(values["Step"], values["SecretId"], values["ClientRequestToken"], rotation_token)


class RotationEngine:
    """Runs one step of one rotation. Built per invocation: it holds no state across them."""

    def __init__(
        self,
        *,
        provider_name: str,
        provider_factory: ProviderFactory,
        client: SecretsManagerClient,
        settings: Settings,
        deadline: Deadline,
        logger: logging.Logger | Any | None = None,
    ) -> None:
        self.provider_name = provider_name
        self.provider_factory = provider_factory
        self.client = client
        self.settings = settings
        self.deadline = deadline
        self.log = logger or logging.getLogger(__name__)

    # -- entry point ---------------------------------------------------------------------

    def run(self, raw_event: Any) -> str:
        """Run the event's step; returns what happened in a word, for logs and tests."""
        event = RotationEvent.parse(raw_event)
        metadata = self._describe(event.secret_id)
        if not metadata.get("RotationEnabled", False):
            raise RotationStateError(f"secret {event.secret_id} does not have rotation enabled")
        stages = metadata.get("VersionIdsToStages", {})
        if event.token not in stages:
            raise RotationStateError(
                f"secret {event.secret_id}: version {event.token} has no stage for rotation"
            )
        if CURRENT in stages[event.token]:
            self.log.info("version is already AWSCURRENT: nothing to do")
            return "already-current"
        if PENDING not in stages[event.token]:
            raise RotationStateError(
                f"secret {event.secret_id}: version {event.token} is not AWSPENDING"
            )
        step: Callable[[RotationEvent, Mapping[str, list[str]]], str] = {
            "createSecret": self.create_secret,
            "setSecret": self.set_secret,
            "testSecret": self.test_secret,
            "finishSecret": self.finish_secret,
        }[event.step]
        return step(event, stages)

    # -- the four steps ------------------------------------------------------------------

    def create_secret(self, event: RotationEvent, stages: Mapping[str, list[str]]) -> str:
        current = self._read(event.secret_id, CURRENT)
        if current is None:
            raise RotationStateError(f"secret {event.secret_id} has no AWSCURRENT value")
        self._check_provider(current)
        provider = self.provider_factory(self._context())
        policy = provider.policy(current)
        length = policy.length(self.settings.password_length)
        existing = self._read(event.secret_id, PENDING, event.token)
        if existing is not None:
            self._check_provider(existing)
            self.log.info("AWSPENDING already has a value: kept")
            return "kept"
        password = policy.generate(self.client, length)
        pending = current.with_password(password, self._label(event.secret_id, PENDING))
        request: dict[str, Any] = {
            "SecretId": event.secret_id,
            "ClientRequestToken": event.token,
            "SecretString": pending.to_json(),
            "VersionStages": [PENDING],
        }
        if event.rotation_token:
            request["RotationToken"] = event.rotation_token
        self.client.put_secret_value(**request)
        self.log.info("stored a new AWSPENDING password")
        return "created"

    def set_secret(self, event: RotationEvent, stages: Mapping[str, list[str]]) -> str:
        current, pending = self._current_and_pending(event)
        provider = self.provider_factory(self._context())
        provider.policy(current).check(pending.password, f"{pending.label}: field 'password'")
        if self._accepts(pending, pending.password):
            self.log.info("Redis already accepts the AWSPENDING password: nothing to change")
            return "already-set"
        return self._change(event, provider, current, pending)

    def test_secret(self, event: RotationEvent, stages: Mapping[str, list[str]]) -> str:
        pending = self._read(event.secret_id, PENDING, event.token)
        if pending is None:
            raise RotationStateError(f"secret {event.secret_id}: AWSPENDING has no value")
        self._check_provider(pending)
        try:
            self._wait_accepted(
                pending, self.deadline.sooner(self.settings.test_wait), everywhere=True
            )
        except DeadlineExceededError:
            raise RedisAuthError(
                f"{pending.label}: Redis does not accept the AWSPENDING password on every "
                f"endpoint ({', '.join(map(str, pending.endpoints))})"
            ) from None
        self.log.info("Redis accepts the AWSPENDING password on every endpoint")
        return "tested"

    def finish_secret(self, event: RotationEvent, stages: Mapping[str, list[str]]) -> str:
        current_version = next((v for v, s in stages.items() if CURRENT in s), None)
        request: dict[str, Any] = {
            "SecretId": event.secret_id,
            "VersionStage": CURRENT,
            "MoveToVersionId": event.token,
        }
        if current_version is not None:
            request["RemoveFromVersionId"] = current_version
        self.client.update_secret_version_stage(**request)
        self.log.info("moved AWSCURRENT to the new version")
        return "finished"

    # -- setSecret's change, safe to re-run ----------------------------------------------

    def _change(
        self, event: RotationEvent, provider: Provider, current: RedisSecret, pending: RedisSecret
    ) -> str:
        last_error: list[str] = []
        attempts: list[int] = []

        def attempt() -> str | None:
            # setSecret asked Redis just before the first attempt.
            just_checked = not attempts
            attempts.append(1)
            try:
                return self._attempt_change(event, provider, current, pending, just_checked)
            except ProviderRetryableError as exc:
                last_error[:] = [exc.code]
                observability.provider_retry(exc)
                return None

        try:
            return poll(
                attempt, deadline=self.deadline, what="the password change", backoff=ATTEMPT_BACKOFF
            )
        except DeadlineExceededError:
            hint = f" (last provider answer: {last_error[0]})" if last_error else ""
            raise DeadlineExceededError(
                f"{current.label}: the {provider.name} password change of {current.instance_id} "
                f"did not complete before the function's deadline{hint}; Secrets Manager's "
                "retry resumes it"
            ) from None

    def _attempt_change(
        self,
        event: RotationEvent,
        provider: Provider,
        current: RedisSecret,
        pending: RedisSecret,
        just_checked: bool = False,
    ) -> str | None:
        status = provider.describe(current)
        if status.busy:
            self.log.info("instance is busy, waiting", extra={"instance_state": status.detail})
            return None
        # Asked after the provider said "not busy": an earlier attempt (or a crashed earlier
        # invocation) may have changed the password, and a change that landed before that
        # answer is visible now. Asked before it, a change landing in between would be
        # missed and a second one issued.
        # (A describe that asked the provider nothing (Tencent API 2.0) brings no news: right
        # after setSecret's own check, asking again would only repeat it.)
        news = status.described or not just_checked
        if news and self._accepts(pending, pending.password, tolerate_unreachable=True):
            return "already-set"
        if not status.ready:
            raise InstanceStateError(
                provider.name,
                "describe",
                status.detail,
                f"{current.instance_id} cannot be changed in state '{status.detail}'",
            )
        handle = None
        if provider.needs_old_password(current):
            for label, old in self._old_passwords(event, current):
                try:
                    handle = provider.change_password(current, pending.password, old)
                    self.log.info("change requested", extra={"old_password_from": label})
                    break
                except OldPasswordRejectedError:
                    self.log.warning("old password refused", extra={"old_password_from": label})
            else:
                # Our own earlier change may be what made both old passwords wrong.
                if self._accepts(pending, pending.password, tolerate_unreachable=True):
                    return "already-set"
                raise OldPasswordRejectedError(
                    provider.name,
                    "change",
                    "OldPasswordError",
                    f"{current.label}: the instance accepts neither the AWSCURRENT nor the "
                    "AWSPREVIOUS password as the old password; set its password to the "
                    "AWSCURRENT value in the provider's console, then rotate again",
                )
        else:
            handle = provider.change_password(current, pending.password, None)
            self.log.info("change requested")
        with observability.task_wait(provider.name):
            provider.wait_for_change(current, handle)
        # AUTH alone here: the full proof (a client without a password is refused too) is
        # testSecret's, moments later; the checks that decide "already set" keep it.
        self._wait_accepted(pending, self.deadline, require_refusal=False)
        self.log.info("Redis accepts the new password")
        return "changed"

    def _old_passwords(
        self, event: RotationEvent, current: RedisSecret
    ) -> Iterator[tuple[str, str]]:
        yield CURRENT, current.password
        previous = self._read(event.secret_id, PREVIOUS, tolerate_invalid=True)
        if previous is not None and previous.password != current.password:
            yield PREVIOUS, previous.password

    # -- Redis ---------------------------------------------------------------------------

    def _accepts(
        self,
        secret: RedisSecret,
        password: str,
        *,
        tolerate_unreachable: bool = False,
        everywhere: bool = False,
        require_refusal: bool = True,
    ) -> bool:
        """Whether Redis accepts ``password``. By default only the primary endpoint is asked:
        it is the instance the provider changes, so it tells whether a change took effect;
        replicas follow, and testSecret waits for ``everywhere``."""
        try:
            return password_accepted(
                secret,
                password,
                self.settings.redis_timeouts,
                everywhere=everywhere,
                require_refusal=require_refusal,
            )
        except RedisUnreachableError:
            if tolerate_unreachable:
                return False
            raise

    def _wait_accepted(
        self,
        secret: RedisSecret,
        deadline: Deadline,
        *,
        everywhere: bool = False,
        require_refusal: bool = True,
    ) -> None:
        poll(
            lambda: (
                True
                if self._accepts(
                    secret,
                    secret.password,
                    tolerate_unreachable=True,
                    everywhere=everywhere,
                    require_refusal=require_refusal,
                )
                else None
            ),
            deadline=deadline,
            what=f"Redis to accept the new password of {secret.instance_id}",
            backoff=STATUS_BACKOFF,
        )

    # -- Secrets Manager -----------------------------------------------------------------

    def _describe(self, secret_id: str) -> Mapping[str, Any]:
        from botocore.exceptions import ClientError

        try:
            return self.client.describe_secret(SecretId=secret_id)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "Unknown")
            raise RotationStateError(f"cannot describe secret {secret_id}: {code}") from None

    @staticmethod
    def _label(secret_id: str, stage: str) -> str:
        return f"secret {secret_id} ({stage})"

    def _read(
        self,
        secret_id: str,
        stage: str,
        version_id: str | None = None,
        *,
        tolerate_invalid: bool = False,
    ) -> RedisSecret | None:
        """The version's value, or None if it has none. Always names the stage (and version)."""
        from botocore.exceptions import ClientError

        request: dict[str, Any] = {"SecretId": secret_id, "VersionStage": stage}
        if version_id is not None:
            request["VersionId"] = version_id
        try:
            response = self.client.get_secret_value(**request)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "Unknown")
            if code == "ResourceNotFoundException":
                return None
            raise RotationStateError(f"cannot read {stage} of secret {secret_id}: {code}") from None
        try:
            return parse_secret(response.get("SecretString"), self._label(secret_id, stage))
        except SecretFormatError:
            if tolerate_invalid:
                self.log.warning("ignoring a malformed version", extra={"stage": stage})
                return None
            raise

    def _current_and_pending(self, event: RotationEvent) -> tuple[RedisSecret, RedisSecret]:
        current = self._read(event.secret_id, CURRENT)
        pending = self._read(event.secret_id, PENDING, event.token)
        if current is None or pending is None:
            missing = CURRENT if current is None else PENDING
            raise RotationStateError(f"secret {event.secret_id}: {missing} has no value")
        self._check_provider(current)
        self._check_provider(pending)
        mismatch = current.identity_mismatch(pending)
        if mismatch:
            raise SecretFormatError(
                pending.label,
                mismatch,
                "differs from AWSCURRENT: refusing to change another instance",
            )
        return current, pending

    def _check_provider(self, secret: RedisSecret) -> None:
        observability.bind(instance_id=secret.instance_id)
        if secret.provider != self.provider_name:
            raise SecretFormatError(
                secret.label,
                "provider",
                f"is '{secret.provider}' but this function rotates '{self.provider_name}'",
            )

    def _load_credentials(self, secret_id: str, schema_name: str) -> Mapping[str, str]:
        from botocore.exceptions import ClientError

        label = f"credentials secret {secret_id}"
        try:
            response = self.client.get_secret_value(SecretId=secret_id, VersionStage=CURRENT)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "Unknown")
            raise CredentialsSecretError(f"cannot read {label}: {code}") from None
        try:
            document = load_json_object(response.get("SecretString"), label)
            validate(document, schema_name, label)
        except SecretFormatError as exc:
            raise CredentialsSecretError(str(exc)) from None
        return document

    def _context(self) -> ProviderContext:
        return ProviderContext(
            settings=self.settings,
            deadline=self.deadline,
            transport=Transport(self.provider_name, self.settings.http_timeout, self.deadline),
            load_credentials=self._load_credentials,
        )
