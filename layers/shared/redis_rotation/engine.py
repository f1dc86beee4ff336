"""The rotation engine: Secrets Manager's four steps for every provider, and the change.

The invariant it keeps: at every moment, the password the Redis instance accepts is held
by AWSCURRENT, AWSPENDING or AWSPREVIOUS. createSecret stores the new password before any
provider call; setSecret changes the instance only to the stored AWSPENDING value and,
before every change request, checks whether that value already works, so a retry after a
crash never issues a second change once the first has taken effect. Secrets Manager I/O
is the store's, Redis the check's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from redis_rotation import observability, versions
from redis_rotation.errors import (
    DeadlineExceededError,
    InstanceStateError,
    OldPasswordRejectedError,
    ProviderRetryableError,
    RedisAuthError,
    RotationStateError,
)
from redis_rotation.event import Outcome, RotationEvent
from redis_rotation.gate import Gate
from redis_rotation.polling import Backoff, Deadline, poll
from redis_rotation.providers.base import (
    Inspection,
    Provider,
    ProviderContext,
    ProviderFactory,
)
from redis_rotation.redis_check import Level, Proof, Where
from redis_rotation.seams import DEFAULT_SEAMS, Seams
from redis_rotation.store import CURRENT, PENDING, SecretStore, label, version_with

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

    from redis_rotation.config import Settings
    from redis_rotation.secret import RedisSecret

# Whole change attempts after a provider fault back off further than status polls.
ATTEMPT_BACKOFF = Backoff(first=0.25, cap=2.0)


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
        seams: Seams = DEFAULT_SEAMS,
    ) -> None:
        self.provider_name = provider_name
        self.provider_factory = provider_factory
        self.settings = settings
        self.deadline = deadline
        self.seams = seams
        self.log = logger or logging.getLogger(__name__)
        self.store = SecretStore(client, self.log)
        self.proof = Proof(settings.redis_timeouts, seams.redis)
        # By credentials secret: a provider holds the keys of one.
        self._providers: dict[str, Provider] = {}

    def run(self, raw_event: Any) -> Outcome:
        """Run the event's step; returns what happened in a word, for logs and tests."""
        event = RotationEvent.parse(raw_event)
        metadata = self.store.describe(event.secret_id)
        stages = event.stages(metadata)
        if CURRENT in stages[event.token]:
            self.log.info("version is already AWSCURRENT: nothing to do")
            return "already-current"
        self.bind(metadata)
        step: Callable[[RotationEvent], Outcome] = {
            "createSecret": self.create_secret,
            "setSecret": self.set_secret,
            "testSecret": self.test_secret,
            "finishSecret": lambda e: self.finish_secret(e, version_with(stages, CURRENT)),
        }[event.step]
        return step(event)

    def bind(self, metadata: Mapping[str, Any]) -> None:
        """The gate for the secret that DescribeSecret described (its name and ARN are the
        secret's identity in the keys' owner's grants)."""
        self.gate = Gate.of(
            self.store, self.provider_name, self.provider_factory.credentials_schema, metadata
        )

    def provider_for(self, secret: RedisSecret | None) -> Provider:
        """The provider, built with the API keys of ``secret``, which the gate admitted:
        keys reach a provider only this way. None: a provider without keys, which can
        name its password policy but call nothing (preflight, for a secret not admitted)."""
        keys = self.gate.keys(secret) if secret is not None else {}
        key = secret.credentials_secret_id if secret is not None else ""
        if key not in self._providers:
            self._providers[key] = self.provider_factory(
                ProviderContext(
                    settings=self.settings,
                    deadline=self.deadline,
                    transport=self.seams.http(
                        self.provider_name, self.settings.http_timeout, self.deadline
                    ),
                    keys=keys,
                    aws_client=self.seams.aws_client,
                )
            )
        return self._providers[key]

    # -- the four steps ------------------------------------------------------------------

    def create_secret(self, event: RotationEvent) -> Outcome:
        current = self.store.read(event.secret_id, CURRENT)
        if current is None:
            raise RotationStateError(f"secret {event.secret_id} has no AWSCURRENT value")
        self.gate.admit(current)
        policy = self.provider_for(current).policy(current)
        length = policy.length(self.settings.password_length)
        existing = self.store.read(event.secret_id, PENDING, event.token)
        if existing is not None:
            self.gate.admit(existing)
            self.log.info("AWSPENDING already has a value: kept")
            return "kept"
        password = self.store.random_password(policy, length)
        # Alternating accounts: the new version belongs to the account AWSCURRENT does not use.
        pending = current.next_version(password, label(event.secret_id, PENDING))
        self.store.put_pending(event.secret_id, event.token, pending, event.rotation_token)
        self.log.info("stored a new AWSPENDING password")
        return "created"

    def set_secret(self, event: RotationEvent) -> Outcome:
        current, pending, grant = versions.current_and_pending(self.store, self.gate, event)
        provider = self.provider_for(pending)
        provider.policy(current).check(pending.password, f"{pending.label}: field 'password'")
        # The state read here (if the grant did not allow every address) serves the first
        # change attempt: it comes before the "already set?" AUTH below, the safe order (a
        # change that landed before this read is seen by that AUTH).
        inspection = self.gate.check_addresses(pending, grant, provider)
        # Every check of AWSPENDING comes before "already set": a hand-written AWSPENDING
        # whose password already works must not pass for a rotation that changed nothing.
        versions.refuse_same_account(current, pending)
        versions.refuse_unchanged(current, pending)
        if self.proof.proves(pending):
            # A field that differs now means AWSCURRENT was edited after the change landed:
            # finishSecret carries the edit forward with the new password.
            self.log.info("Redis already accepts the AWSPENDING password: nothing to change")
            return "already-set"
        versions.refuse_edits(event, provider, current, pending)
        # Before any change, AWSCURRENT and AWSPENDING differ only in the password (and,
        # alternating, the account): the inspection of AWSPENDING is the subject's.
        return self._change(event, provider, current, pending, inspection)

    def _target(self, event: RotationEvent) -> tuple[RedisSecret, RedisSecret]:
        target, pending, grant = versions.target(self.store, self.gate, event)
        self.gate.check_addresses(target, grant, self.provider_for(target))
        return target, pending

    def test_secret(self, event: RotationEvent) -> Outcome:
        target, pending = self._target(event)
        try:
            self.proof.wait(
                target, self.deadline.sooner(self.settings.test_wait), Level.FULL, Where.EVERY
            )
        except DeadlineExceededError:
            raise RedisAuthError(
                f"{pending.label}: Redis does not accept the AWSPENDING password on every "
                f"endpoint ({', '.join(map(str, target.endpoints))})"
            ) from None
        self.log.info("Redis accepts the AWSPENDING password on every endpoint")
        return "tested"

    def finish_secret(self, event: RotationEvent, current_version: str | None) -> Outcome:
        target, pending = self._target(event)
        # Proof before promotion: a direct invoke cannot make AWSCURRENT a password the
        # instance never got.
        if not self.proof.proves(target):
            raise RedisAuthError(
                f"{pending.label}: Redis does not accept the AWSPENDING password: refusing to "
                "make it AWSCURRENT"
            )
        if target is pending:
            self.store.move_current(event.secret_id, event.token, current_version)
            self.log.info("moved AWSCURRENT to the new version")
        else:
            # AWSCURRENT was edited during the rotation: the edit is kept, with the new
            # password, as a version of its own (idempotent: its token derives from ours).
            self.store.put_current(event.secret_id, versions.carried_token(event.token), target)
            # AWSPENDING must not stay on a version that is not AWSCURRENT's: Secrets Manager
            # would refuse every later rotation. A retry finds the same state and repeats both.
            self.store.clear_pending(event.secret_id, event.token)
            self.log.info("stored the edited AWSCURRENT with the new password")
        return "finished"

    # -- setSecret's change, safe to re-run ----------------------------------------------

    def _change(
        self,
        event: RotationEvent,
        provider: Provider,
        current: RedisSecret,
        pending: RedisSecret,
        inspection: Inspection | None,
    ) -> Outcome:
        # The version whose account the provider changes: AWSCURRENT's own, or, alternating,
        # AWSPENDING's (the other account; AWSCURRENT's is never touched).
        subject = pending if current.alternating else current
        last_error: str | None = None
        attempts = 0

        def attempt() -> Outcome | None:
            nonlocal last_error, attempts
            attempts += 1
            try:
                # setSecret inspected, then asked Redis, just before the first attempt.
                first = attempts == 1
                seen = inspection if first and inspection else provider.inspect(subject)
                return self._attempt_change(event, provider, subject, pending, seen, first=first)
            except ProviderRetryableError as exc:
                last_error = exc.code
                observability.provider_retry(exc)
                return None

        try:
            return poll(
                attempt, deadline=self.deadline, what="the password change", backoff=ATTEMPT_BACKOFF
            )
        except DeadlineExceededError:
            hint = f" (last provider answer: {last_error})" if last_error else ""
            raise DeadlineExceededError(
                f"{current.label}: the {provider.name} password change of {current.instance_id} "
                f"did not complete before the function's deadline{hint}; Secrets Manager's "
                "retry resumes it"
            ) from None

    def _attempt_change(
        self,
        event: RotationEvent,
        provider: Provider,
        subject: RedisSecret,
        pending: RedisSecret,
        inspection: Inspection,
        *,
        first: bool,
    ) -> Outcome | None:
        # ``subject``: the version whose account is changed (AWSCURRENT, or alternating,
        # AWSPENDING); the two differ in nothing else the provider reads.
        status = inspection.status
        if status.busy:
            self.log.info("instance is busy, waiting", extra={"instance_state": status.detail})
            return None
        # Asked after the provider said "not busy": an earlier attempt (or a crashed earlier
        # invocation) may have changed the password, and a change that landed before that
        # answer is visible now. Asked before it, a change landing in between would be
        # missed and a second one issued.
        # (A describe that asked the provider nothing brings no news: right after
        # setSecret's own check, asking again would only repeat it.)
        news = status.described or not first
        if news and self.proof.proves(pending, unreachable_is_no=True):
            return "already-set"
        if not status.ready:
            raise InstanceStateError(
                provider.name,
                "describe",
                status.detail,
                f"{subject.instance_id} cannot be changed in state '{status.detail}'",
            )
        # After a wait, someone (repair, an operator) may have taken AWSPENDING off this
        # version: a change now would set a password no label holds.
        if not first and not self.store.still_pending(event.secret_id, event.token):
            raise RotationStateError(
                f"{pending.label}: version {event.token} is no longer AWSPENDING; nothing was "
                "changed. Start a new rotation"
            )
        if provider.needs_old_password(subject):
            handle = None
            for stage, old in self.store.old_passwords(event.secret_id, subject):
                try:
                    handle = provider.change_password(subject, inspection, pending.password, old)
                    self.log.info("change requested", extra={"old_password_from": stage})
                    break
                except OldPasswordRejectedError:
                    self.log.warning("old password refused", extra={"old_password_from": stage})
            else:
                # Our own earlier change may be what made both old passwords wrong.
                if self.proof.proves(pending, unreachable_is_no=True):
                    return "already-set"
                raise OldPasswordRejectedError.neither(provider.name, subject.label)
        else:
            handle = provider.change_password(subject, inspection, pending.password, None)
            self.log.info("change requested")
        with observability.task_wait(provider.name):
            provider.wait_for_change(subject, handle)
        # AUTH alone here: the full proof (a wrong password and no password are refused too)
        # is testSecret's, moments later; the checks that decide "already set" keep it.
        self.proof.wait(pending, self.deadline, Level.AUTH)
        self.log.info("Redis accepts the new password")
        return "changed"
