"""A stateful model of rotation (Hypothesis), on the local cloud with real parts: the
moto-server Secrets Manager, the provider emulators over HTTP, real redis-servers, the real
functions and ``redis-rotation repair``.

For each rotation mode, Hypothesis interleaves: the steps of the rotation in progress (and
Secrets Manager's retry from the start), a crash after any call within a step, edits to
AWSCURRENT, hand-written AWSPENDING values, repair (dry run and ``--apply``), repair racing
a setSecret that waits for a busy instance, and new RotateSecret calls. After every rule:
- for every account, each password the instance accepts is held by a labelled version;
- when no rotation is in progress (RotateSecret accepted, or the last one finished, or
  repair applied its plan), none is left behind: RotateSecret would be accepted;
- a finishSecret that returned left the new password in AWSCURRENT, accepted.

Bounded for ``make test`` (a fixed seed, no example database); MODEL_SCALE=10 multiplies the
examples for a long run.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, note, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from localcloud.cloud import FUNCTION_NAMES, LocalCloud
from localcloud.driver import STEPS, RotationDriver
from localcloud.instrument import Call, CrashAt, Side, instrument
from tests.support.crash import MODES, new_secret, virtual_time
from tests.support.model import COMMAND_ERROR, EDITS, PENDING, PENDINGS, World

pytestmark = pytest.mark.e2e

SCALE = int(os.environ.get("MODEL_SCALE", "1"))
SETTINGS = settings(
    max_examples=4 * SCALE,
    stateful_step_count=20,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


# Where a rotation goes on to after a disturbance (None: not now); after how many of its
# calls a step crashes (0: it does not; most steps run through).
THEN = st.sampled_from((None, *STEPS))
CRASH_AFTER = st.sampled_from((0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8))


def no_crash(_call: Call, _side: Side) -> None:
    """An observer that lets every call through."""


def say(text: str) -> None:
    """A line in the report of a failing example (and nowhere else)."""
    if currently_in_test_context():
        note(text)


def machine_for(  # noqa: C901 (a class factory: its rules count as its branches)
    cloud: LocalCloud, provider: str, options: dict[str, Any]
) -> type[Any]:
    client = cloud.sm.secrets_manager()
    # A driver on this client marks its RotateSecret calls: the model invokes the steps
    # itself, so the local Secrets Manager must not run the rotation too.
    RotationDriver(client, cloud.handler(provider), cloud.function_arn(provider))

    class RotationModel(RuleBasedStateMachine):
        world: World
        in_progress = False  # what the model knows: a rotation was started and not ended
        next_step = 0  # index in STEPS of the rotation in progress

        @initialize(rotated=st.booleans())
        def new_secret(self, rotated: bool) -> None:
            """A new secret; ``rotated``: after one clean rotation (alternating: both
            accounts exist then)."""
            self.world = World.of(cloud, client, new_secret(cloud, provider, options))
            if rotated:
                self.rotate_secret("finishSecret")

        def teardown(self) -> None:
            # One redis-server per example, not per run; a cluster-mode user's cluster is
            # shared by the cloud's users (localcloud.elasticache_examples) and ends with it.
            if hasattr(self, "world") and "clusterMode" not in self.world.example.details:
                self.world.example.redis.stop()

        # -- Secrets Manager ---------------------------------------------------------------

        @rule(until=st.sampled_from((None, *STEPS)))
        def rotate_secret(self, until: str | None) -> None:
            """RotateSecret, as AWS answers it (it refuses while a rotation is unfinished);
            then, if accepted, its steps up to ``until``."""
            try:
                client.rotate_secret(
                    SecretId=self.world.example.arn,
                    ClientRequestToken=secrets.token_hex(16),
                    RotationLambdaARN=cloud.function_arn(provider),
                    RotationRules={"AutomaticallyAfterDays": 30},
                )
            except client.exceptions.InvalidRequestException:
                refused = True
            else:
                refused = False
            if refused:
                assert self.in_progress, "RotateSecret refused with no rotation in progress"
                return
            self.in_progress, self.next_step = True, 0
            if until is not None:
                self.steps(until, 0)

        def _token(self) -> str | None:
            """The version of the rotation Secrets Manager would invoke the function for."""
            stages = self.world.labels().stages
            return next((v for v, ls in stages.items() if PENDING in ls), None)

        def _run_step(self, step: str, observe: Callable[[Call, Side], None]) -> bool:
            token = self._token()
            if token is None:
                return False
            with instrument(observe, virtual_time()) as seams:
                driver = RotationDriver(
                    client,
                    cloud.handler(provider, seams),
                    cloud.function_arn(provider),
                    function_name=FUNCTION_NAMES[provider],
                )
                try:
                    driver.run_step(self.world.example.arn, token, step, "r" * 40)
                except Exception as exc:  # Secrets Manager retries the whole rotation
                    say(f"{step} failed: {type(exc).__name__}: {exc}")
                    self.next_step = 0
                    return False
            if step == "finishSecret":
                problem = self.world.new_password_works(token)
                assert problem is None, f"finishSecret returned, but {problem}"
                self.in_progress, self.next_step = False, 0
            else:
                self.next_step = STEPS.index(step) + 1
            return True

        @precondition(lambda self: self.in_progress)
        @rule(until=st.sampled_from(STEPS[::-1]), crash_after=CRASH_AFTER)
        def steps(self, until: str, crash_after: int) -> None:
            """The next steps up to ``until`` (at least one); with ``crash_after`` > 0, a
            Lambda timeout in the last of them, right after that many of its calls (Secrets
            Manager, provider, Redis)."""
            last = max(STEPS.index(until), self.next_step)
            while self.in_progress and self.next_step <= last:
                at_last = self.next_step == last
                crash = CrashAt(crash_after, "after") if crash_after and at_last else None
                if not self._run_step(STEPS[self.next_step], crash or (no_crash)):
                    return

        @precondition(lambda self: self.in_progress and self.next_step > 0)
        @rule(data=st.data())
        def rerun_done_step(self, data: st.DataObject) -> None:
            """A step already done, invoked again (Lambda delivers at least once)."""
            step = data.draw(st.sampled_from(STEPS[: self.next_step]))
            after = self.next_step
            if self._run_step(step, no_crash):
                self.next_step = after

        # -- people ------------------------------------------------------------------------

        def resume(self, then: str | None) -> None:
            """Secrets Manager's retry after a disturbance: the rotation in progress, from
            its start up to ``then``."""
            if then is not None and self.in_progress:
                self.next_step = 0
                self.steps(then, 0)

        @rule(edit=st.sampled_from(EDITS), then=THEN)
        def edit_current(self, edit: str, then: str | None) -> None:
            self.world.edit_current(edit)
            # AWS moves no AWSPENDING on PutSecretValue: an edit may leave one behind.
            self.in_progress = self.in_progress or self.world.labels().unfinished
            self.resume(then)

        @rule(kind=st.sampled_from(PENDINGS), field=st.integers(0, 20), then=THEN)
        def write_pending(self, kind: str, field: int, then: str | None) -> None:
            self.world.write_pending(kind, field)
            self.in_progress, self.next_step = True, 0
            self.resume(then)

        @rule(apply=st.booleans(), then=THEN)
        def repair_then_resume(self, apply: bool, then: str | None) -> None:
            self.repair(apply)
            self.resume(then)

        def repair(self, apply: bool) -> None:
            before = self.world.labels()
            code, out = self.world.repair(apply)
            say(f"repair{' --apply' if apply else ''}: {code} {out.strip()}")
            assert code != COMMAND_ERROR, f"repair ended in an error: {out}"
            assert not [p for _, p in before.held() if p in out]
            if not apply:
                assert self.world.labels().stages == before.stages, "a dry run moved a label"
            elif code == 0 and '"applied": true' in out:
                self.in_progress, self.next_step = False, 0

        @precondition(lambda self: self.in_progress)
        @rule(busy_polls=st.integers(1, 3), then=THEN)
        def repair_races_set_secret(self, busy_polls: int, then: str | None) -> None:
            """Secrets Manager resumes the rotation: its setSecret read AWSPENDING and waits
            for a busy instance; after ``busy_polls`` of its provider calls the instance is
            free and repair --apply runs, then setSecret goes on (and the steps after it, up
            to ``then``)."""
            self.next_step = 0
            if not self._run_step("createSecret", no_crash):
                return
            left = busy_polls
            self.world.set_busy(True)

            def observe(call: Call, side: Side) -> None:
                nonlocal left
                if side == "after" and call.kind == "provider" and left > 0:
                    left -= 1
                    if left == 0:
                        self.world.set_busy(False)
                        self.repair(apply=True)

            try:
                done = self._run_step("setSecret", observe)
            finally:
                self.world.set_busy(False)
            if done and then is not None:
                self.steps(then, 0)

        # -- the invariants ----------------------------------------------------------------

        @invariant()
        def every_accepted_password_is_labelled(self) -> None:
            if not hasattr(self, "world"):
                return
            labels = self.world.labels()
            lost = self.world.lost(labels)
            assert not lost, f"the instance accepts passwords no label holds: {sorted(lost)}"
            if not self.in_progress:
                assert not labels.unfinished, (
                    f"no rotation is in progress, yet AWSPENDING is left on a version that is "
                    f"not AWSCURRENT (RotateSecret would be refused): {labels.stages}"
                )

    return RotationModel


@pytest.mark.parametrize(("provider", "options"), [m[1:] for m in MODES], ids=[m[0] for m in MODES])
def test_rotation_model(cloud: LocalCloud, provider: str, options: dict[str, Any]) -> None:
    machine = machine_for(cloud, provider, options)
    run_state_machine_as_test(machine, settings=SETTINGS)
