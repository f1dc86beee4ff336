"""Secrets Manager's four steps and the change, through a session. Invariant: the password
Redis accepts is always held by AWSCURRENT, AWSPENDING or AWSPREVIOUS. createSecret stores
the password before any provider call; setSecret changes the instance only to AWSPENDING's,
and before every change request checks whether it already works: a retry never issues a
second change once one landed."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from redis_rotation import observability, strict, versions
from redis_rotation.errors import (
    DeadlineExceededError,
    InstanceStateError,
    OldPasswordRejectedError,
    ProviderRetryableError,
    RedisAuthError,
    RotationStateError,
)
from redis_rotation.event import Outcome, RotationEvent
from redis_rotation.polling import Backoff, poll
from redis_rotation.redis_check import Level
from redis_rotation.store import CURRENT, PENDING, label, version_with

if TYPE_CHECKING:
    from redis_rotation.providers.base import Inspection, Provider
    from redis_rotation.secret import RedisSecret
    from redis_rotation.session import RotationSession

# Whole change attempts after a provider fault back off further than status polls.
ATTEMPT_BACKOFF = Backoff(first=0.25, cap=2.0)


def run_step(raw_event: Any, open_session: Callable[[str], RotationSession]) -> Outcome:
    """Parse the event, open the session of its secret, run its step."""
    event = RotationEvent.parse(raw_event)
    return RotationEngine(open_session(event.secret_id)).run(event)


class RotationEngine:
    """Runs one step of one rotation through its session; holds no state across steps."""

    def __init__(self, session: RotationSession) -> None:
        self.session = session
        self.store = session.store
        self.proof = session.proof
        self.log = session.log

    def run(self, event: RotationEvent) -> Outcome:
        """Run the event's step; returns what happened in a word, for logs and tests."""
        stages = event.stages(self.session.metadata)
        if CURRENT in stages[event.token]:
            if event.step == "finishSecret":  # a retry: a drop a crash cut off is finished
                strict.drop_previous(self.session, event)
            self.log.info("version is already AWSCURRENT: nothing to do")
            return "already-current"
        step: Callable[[RotationEvent], Outcome] = {
            "createSecret": self.create_secret,
            "setSecret": self.set_secret,
            "testSecret": self.test_secret,
            "finishSecret": lambda e: self.finish_secret(e, version_with(stages, CURRENT)),
        }[event.step]
        return step(event)

    # -- the four steps ------------------------------------------------------------------

    def create_secret(self, event: RotationEvent) -> Outcome:
        found = self.session.versions(event)
        if found.current is None:
            raise RotationStateError(f"secret {event.secret_id} has no AWSCURRENT value")
        current, _ = found.admitted(CURRENT)
        policy = self.session.provider(current).policy(current)
        length = policy.length(self.session.settings.password_length)
        if found.pending is not None:
            found.admitted(PENDING)
            self.log.info("AWSPENDING already has a value: kept")
            return "kept"
        password = self.store.random_password(policy, length)
        # Alternating accounts: the new version belongs to the account AWSCURRENT does not use.
        pending = current.next_version(password, label(event.secret_id, PENDING))
        self.session.put_pending(event, pending)
        self.log.info("stored a new AWSPENDING password")
        return "created"

    def set_secret(self, event: RotationEvent) -> Outcome:
        found = self.session.versions(event)
        current, grant = found.admitted(CURRENT)
        pending, _ = found.admitted(PENDING)
        provider = self.session.provider(pending)
        provider.policy(current).check(pending.password, f"{pending.label}: field 'password'")
        # The state read here (if the grant did not allow every address) serves the first
        # change attempt: it comes before the "already set?" AUTH below, the safe order (a
        # change that landed before this read is seen by that AUTH).
        inspection = self.session.clear_addresses(pending, grant)
        # Every check of AWSPENDING comes before "already set": a hand-written AWSPENDING
        # whose password already works must not pass for a rotation that changed nothing.
        versions.refuse_same_account_or_password(current, pending)
        if self.proof.proves(pending, Level.FULL):
            # A field that differs now means AWSCURRENT was edited after the change landed:
            # finishSecret carries the edit forward with the new password.
            self.log.info("Redis already accepts the AWSPENDING password: nothing to change")
            return "already-set"
        versions.refuse_edits(event, provider, current, pending)
        # Before any change, AWSCURRENT and AWSPENDING differ only in the password (and,
        # alternating, the account): the inspection of AWSPENDING is the subject's.
        return self._change(event, provider, current, pending, inspection)

    def test_secret(self, event: RotationEvent) -> Outcome:
        target, pending = versions.target(self.session, event)
        until = self.session.deadline.sooner(self.session.settings.test_wait)
        if not self.proof.holds(target, until):
            raise RedisAuthError(f"{pending.label}: {versions.refusal(target)}")
        self.log.info("Redis accepts the AWSPENDING password on every endpoint")
        return "tested"

    def finish_secret(self, event: RotationEvent, current_version: str | None) -> Outcome:
        target, pending = versions.target(self.session, event)
        # Proof before promotion: the primary refuses a password it never got at once (a
        # direct invoke); a node that has not caught up yet is waited for.
        deadline = self.session.deadline
        if not (self.proof.proves(target, Level.FULL) and self.proof.holds(target, deadline)):
            raise RedisAuthError(
                f"{pending.label}: {versions.refusal(target)}: refusing to make it AWSCURRENT"
            )
        if target is pending:
            self.store.move_stage(event.secret_id, CURRENT, event.token, current_version)
            self.log.info("moved AWSCURRENT to the new version")
        else:
            # AWSCURRENT was edited during the rotation: the edit is kept, with the new
            # password, as a version of its own (idempotent: its token derives from ours).
            self.store.carry_edit(event.secret_id, event.token, target)
            self.log.info("stored the edited AWSCURRENT with the new password")
        strict.drop_previous(self.session, event, target)
        return "finished"

    # -- setSecret's change, safe to re-run ----------------------------------------------

    def _change(
        self, event: RotationEvent, provider: Provider, current: RedisSecret,
        pending: RedisSecret, inspection: Inspection | None,
    ) -> Outcome:  # fmt: skip
        # The account changed: AWSCURRENT's own, or, alternating, AWSPENDING's (the other
        # account; AWSCURRENT's is never touched). They differ in nothing else the provider reads.
        subject = pending if current.alternating else current
        codes: list[str] = []  # each attempt's retryable provider answer
        tries = itertools.count()

        def attempt() -> Outcome | None:
            first = next(tries) == 0
            try:
                # setSecret inspected, then asked Redis, just before the first attempt.
                seen = inspection if first and inspection else provider.inspect(subject)
                return self._attempt(event, provider, subject, pending, seen, first=first)
            except ProviderRetryableError as exc:
                codes.append(exc.code)
                observability.provider_retry(exc)
                return None

        try:
            deadline = self.session.deadline
            return poll(attempt, deadline=deadline, what="the change", backoff=ATTEMPT_BACKOFF)
        except DeadlineExceededError:
            hint = f" (last provider answer: {codes[-1]})" if codes else ""
            raise DeadlineExceededError(
                f"{current.label}: the {provider.name} password change of {current.instance_id} "
                f"did not complete before the function's deadline{hint}; Secrets Manager's "
                "retry resumes it"
            ) from None

    def _attempt(
        self, event: RotationEvent, provider: Provider, subject: RedisSecret,
        pending: RedisSecret, inspection: Inspection, *, first: bool,
    ) -> Outcome | None:  # fmt: skip
        status = inspection.status
        if status.busy:
            self.log.info("instance is busy, waiting", extra={"instance_state": status.detail})
            return None
        # Asked after the provider said "not busy": a change an earlier attempt (or crashed
        # invocation) made before that answer is visible now; asked before, one landing in
        # between would be missed and a second one issued. An inspection that asked the
        # provider nothing brings no news right after setSecret's own check.
        if (status.described or not first) and self.session.accepts(pending, Level.FULL):
            return "already-set"
        if not status.ready:
            raise InstanceStateError(
                provider.name, "describe", status.detail,
                f"{subject.instance_id} cannot be changed in state '{status.detail}'",
            )  # fmt: skip
        # After a wait, someone (repair, an operator) may have taken AWSPENDING off this
        # version: a change now would set a password no label holds.
        if not first and not self.store.still_pending(event.secret_id, event.token):
            raise RotationStateError(
                f"{pending.label}: version {event.token} is no longer AWSPENDING; nothing was "
                "changed. Start a new rotation"
            )
        olds = self.store.old_passwords(event.secret_id, subject)
        for stage, old in olds if provider.needs_old_password(subject) else [("", None)]:
            try:
                handle = provider.change_password(subject, inspection, pending.password, old)
                self.log.info("change requested", extra={"old_password_from": stage or "-"})
                break
            except OldPasswordRejectedError:
                self.log.warning("old password refused", extra={"old_password_from": stage})
        else:
            # Our own earlier change may be what made both old passwords wrong.
            if self.session.accepts(pending, Level.FULL):
                return "already-set"
            raise OldPasswordRejectedError.neither(provider.name, subject.label)
        with observability.task_wait(provider.name):
            provider.wait_for_change(subject, handle)
        # AUTH alone: the full proof (a wrong password and none refused too) is testSecret's,
        # moments later; the checks that decide "already set" keep it.
        self.proof.wait(pending, self.session.deadline, Level.AUTH)
        self.log.info("Redis accepts the new password")
        return "changed"
