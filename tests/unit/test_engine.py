"""Every state check and step of the rotation engine, with in-memory Secrets Manager,
provider and Redis (see fakes.py). Time is a fake clock: waits cost nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from redis_rotation.config import Settings
from redis_rotation.engine import run_step
from redis_rotation.errors import (
    ConfigurationError,
    DeadlineExceededError,
    InstanceBusyError,
    InstanceStateError,
    NotPermittedError,
    OldPasswordRejectedError,
    PasswordPolicyError,
    ProviderCredentialsError,
    RedisAuthError,
    RedisUnreachableError,
    RotationStateError,
    SecretFormatError,
)
from redis_rotation.providers.base import Inspection, InstanceStatus
from redis_rotation.seams import Seams
from redis_rotation.secret import RedisSecret
from redis_rotation.session import RotationSession
from tests.support.clock import FakeClock
from tests.unit.fakes import ARN, FakeProvider, FakeRedis, FakeSecretsManager

pytestmark = pytest.mark.unit

CURRENT_PASSWORD = "current-password-1"
NEW_PASSWORD = "generated-password-22"
PREVIOUS_PASSWORD = "previous-password-0"
TOKEN = "token-2"

SECRET: dict[str, Any] = {
    "provider": "uredis",
    "host": "10.0.0.5",
    "port": 6379,
    "password": CURRENT_PASSWORD,
    "region": "cn-bj2",
    "groupId": "uredis-abc",
    "credentialsSecretId": "keys",
    "tls": {"enabled": False},
}


@dataclass
class World:
    sm: FakeSecretsManager
    redis: FakeRedis
    provider: FakeProvider
    clock: FakeClock
    settings: Settings

    def session(self, secret_id: str, provider_name: str = "uredis") -> RotationSession:
        return RotationSession.open(
            secret_id,
            provider_name=provider_name,
            factory=self.provider,
            client=self.sm,  # type: ignore[arg-type]
            settings=self.settings,
            deadline=self.clock.deadline(120),
            seams=Seams(redis=self.redis),
        )

    def run(self, step: str, token: str = TOKEN, **extra: Any) -> str:
        event = {"Step": step, "SecretId": ARN, "ClientRequestToken": token, **extra}
        return run_step(event, self.session)

    def with_pending(self, **changes: Any) -> None:
        self.sm.add_version(TOKEN, ["AWSPENDING"], {**SECRET, "password": NEW_PASSWORD, **changes})


@pytest.fixture
def world(fake_clock: FakeClock) -> World:
    sm = FakeSecretsManager(generated=[NEW_PASSWORD])
    sm.add_version("v-previous", ["AWSPREVIOUS"], {**SECRET, "password": PREVIOUS_PASSWORD})
    sm.add_version("v-current", ["AWSCURRENT"], SECRET)
    sm.add_version(TOKEN, ["AWSPENDING"], None)  # what RotateSecret leaves: no value yet
    redis = FakeRedis(password=CURRENT_PASSWORD)
    return World(sm, redis, FakeProvider(redis), fake_clock, Settings(test_wait=30))


# -- checks made before every step ---------------------------------------------------------


@pytest.mark.parametrize("enabled", [False, None])
def test_rotation_disabled_or_absent_is_refused(world: World, enabled: bool | None) -> None:
    world.sm.rotation_enabled = enabled
    with pytest.raises(RotationStateError, match="does not have rotation enabled"):
        world.run("createSecret")
    assert world.sm.count("PutSecretValue") == 0


def test_token_without_a_stage_is_refused(world: World) -> None:
    with pytest.raises(RotationStateError, match="has no stage for rotation"):
        world.run("createSecret", token="unknown-token")


def test_token_already_current_is_a_no_op(world: World) -> None:
    for step in ("createSecret", "setSecret", "testSecret", "finishSecret"):
        assert world.run(step, token="v-current") == "already-current"
    assert world.sm.count("PutSecretValue") == 0
    assert world.provider.calls == []


def test_token_not_pending_is_refused(world: World) -> None:
    with pytest.raises(RotationStateError, match="is not AWSPENDING"):
        world.run("setSecret", token="v-previous")


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"SecretId": ARN, "ClientRequestToken": TOKEN}, "'Step' is missing"),
        ({"Step": "rotateSecret", "SecretId": ARN, "ClientRequestToken": TOKEN}, "'Step' is not"),
        ({"Step": "setSecret", "ClientRequestToken": TOKEN}, "'SecretId' is missing"),
        ({"Step": "setSecret", "SecretId": ARN}, "'ClientRequestToken' is missing"),
        ({"Step": "setSecret", "SecretId": ARN, "ClientRequestToken": ""}, "'ClientRequestToken'"),
        ({"Step": "setSecret", "SecretId": ARN, "ClientRequestToken": 7}, "'ClientRequestToken'"),
        (
            {"Step": "setSecret", "SecretId": ARN, "ClientRequestToken": TOKEN, "RotationToken": 1},
            "'RotationToken' is not a string",
        ),
    ],
)
def test_malformed_events_name_the_field(world: World, event: dict[str, Any], message: str) -> None:
    with pytest.raises(RotationStateError, match=message):
        run_step(event, world.session)
    assert world.sm.calls == []


def test_event_that_is_not_an_object_is_refused(world: World) -> None:
    with pytest.raises(RotationStateError, match="must be a JSON object"):
        run_step(["createSecret"], world.session)


# -- createSecret ------------------------------------------------------------------------


def test_create_stores_a_generated_password_with_the_rotation_token(world: World) -> None:
    assert world.run("createSecret", RotationToken="opaque-rotation-token") == "created"
    put = next(kwargs for name, kwargs in world.sm.calls if name == "PutSecretValue")
    assert put["ClientRequestToken"] == TOKEN
    assert put["VersionStages"] == ["AWSPENDING"]
    assert put["RotationToken"] == "opaque-rotation-token"
    assert world.sm.value_of("AWSPENDING") == {**SECRET, "password": NEW_PASSWORD}
    assert world.provider.calls == []  # createSecret never touches the provider


def test_create_asks_for_a_password_that_fits_the_provider_rule(world: World) -> None:
    world.run("createSecret")
    request = next(kwargs for name, kwargs in world.sm.calls if name == "GetRandomPassword")
    assert request["PasswordLength"] == 32
    assert request["RequireEachIncludedType"] is True
    assert "-" not in request["ExcludeCharacters"]
    assert "_" not in request["ExcludeCharacters"]
    assert "!" in request["ExcludeCharacters"]


def test_create_is_idempotent(world: World) -> None:
    world.with_pending()
    assert world.run("createSecret") == "kept"
    assert world.sm.count("PutSecretValue") == 0
    assert world.sm.value_of("AWSPENDING")["password"] == NEW_PASSWORD


def test_create_retries_a_generated_password_that_breaks_the_rule(world: World) -> None:
    world.sm.generated = ["short", NEW_PASSWORD]
    world.run("createSecret")
    assert world.sm.value_of("AWSPENDING")["password"] == NEW_PASSWORD


def test_create_fails_loud_when_the_generator_keeps_breaking_the_rule(world: World) -> None:
    world.sm.generated = ["bad!"] * 3
    with pytest.raises(PasswordPolicyError, match="returned 3 passwords"):
        world.run("createSecret")
    assert world.sm.count("PutSecretValue") == 0


def test_create_refuses_a_password_length_outside_the_rule(world: World) -> None:
    world.settings = Settings(password_length=40)
    with pytest.raises(ConfigurationError, match="PASSWORD_LENGTH=40 is outside 6-36"):
        world.run("createSecret")


def test_create_refuses_a_current_secret_of_another_provider(world: World) -> None:
    tencent = {k: v for k, v in SECRET.items() if k != "groupId"}
    tencent.update(provider="tencent", instanceId="crs-abc")
    world.sm.add_version("v-current", ["AWSCURRENT"], tencent)
    with pytest.raises(SecretFormatError, match="field 'provider'"):
        world.run("createSecret")


def test_create_without_a_current_value_is_refused(world: World) -> None:
    world.sm.versions["v-current"]["stages"] = []
    with pytest.raises(RotationStateError, match="has no AWSCURRENT value"):
        world.run("createSecret")


# -- setSecret -----------------------------------------------------------------------------


def test_set_changes_the_password(world: World) -> None:
    world.with_pending()
    assert world.run("setSecret") == "changed"
    assert world.redis.password == NEW_PASSWORD
    assert [name for name, _ in world.provider.calls] == ["describe", "change", "wait"]


def test_set_is_idempotent_when_the_pending_password_already_works(world: World) -> None:
    world.with_pending()
    world.redis.password = NEW_PASSWORD
    assert world.run("setSecret") == "already-set"
    assert world.provider.calls == []


@pytest.mark.parametrize(
    ("field", "value", "error", "named"),
    [
        ("host", "10.0.0.6", NotPermittedError, "host"),
        ("groupId", "uredis-other", NotPermittedError, "groupId"),
        ("region", "cn-sh2", NotPermittedError, "region"),
        ("port", 6380, NotPermittedError, "host"),  # 10.0.0.5:6380 is not allowed
        ("tls", {"enabled": True}, RotationStateError, "tls"),  # allowed, but not AWSCURRENT's
    ],
)
def test_set_refuses_a_pending_secret_for_another_instance(
    world: World, field: str, value: Any, error: type[Exception], named: str
) -> None:
    world.with_pending(**{field: value})
    with pytest.raises(error, match=f"field '{named}'"):
        world.run("setSecret")
    assert world.provider.count("change") == 0
    assert world.redis.password == CURRENT_PASSWORD


def test_set_refuses_a_pending_password_that_breaks_the_rule(world: World) -> None:
    world.with_pending(password="has space")
    with pytest.raises(SecretFormatError, match="field 'password'"):
        world.run("setSecret")
    world.with_pending(password="abc")  # schema-valid, but shorter than URedis allows
    with pytest.raises(PasswordPolicyError, match="outside 6-36"):
        world.run("setSecret")
    assert world.provider.calls == []


def test_set_waits_while_the_instance_is_busy(world: World) -> None:
    world.with_pending()
    busy = InstanceStatus(ready=False, busy=True, detail="SetPassword")
    world.provider.statuses = [busy, busy, InstanceStatus(True, False, "Running")]
    assert world.run("setSecret") == "changed"
    assert world.provider.count("describe") == 3
    assert world.provider.count("change") == 1
    assert world.clock.sleeps, "waiting on a busy instance backs off"


def test_set_changes_nothing_once_its_token_left_awspending_during_a_wait(world: World) -> None:
    # Issue 19 item 15: repair removed AWSPENDING while setSecret waited for a busy
    # instance; a change now would set a password no label holds.
    world.with_pending()
    busy = InstanceStatus(ready=False, busy=True, detail="SetPassword")
    world.provider.statuses = [busy, InstanceStatus(True, False, "Running")]
    inspect = world.provider.inspect

    def inspect_then_repair(secret: RedisSecret) -> Inspection:
        inspection = inspect(secret)
        if inspection.status.busy:
            world.sm.update_secret_version_stage(
                SecretId=ARN, VersionStage="AWSPENDING", RemoveFromVersionId=TOKEN
            )
        return inspection

    world.provider.inspect = inspect_then_repair  # type: ignore[method-assign]
    with pytest.raises(RotationStateError, match="no longer AWSPENDING"):
        world.run("setSecret")
    assert world.provider.count("change") == 0
    assert world.redis.password == CURRENT_PASSWORD


def test_set_refuses_a_pending_copy_of_the_current_password(world: World) -> None:
    world.with_pending(password=CURRENT_PASSWORD)  # a copy of AWSCURRENT
    with pytest.raises(RotationStateError, match="field 'password'"):
        world.run("setSecret")
    assert world.provider.calls == []


def test_set_refuses_an_instance_that_cannot_be_changed(world: World) -> None:
    world.with_pending()
    world.provider.statuses = [InstanceStatus(ready=False, busy=False, detail="ISolation")]
    with pytest.raises(InstanceStateError, match="state 'ISolation'"):
        world.run("setSecret")
    assert world.provider.count("change") == 0


def test_set_retries_retryable_provider_errors(world: World) -> None:
    world.with_pending()
    world.provider.failures = [InstanceBusyError("uredis", "change", "10702", "in process")]
    assert world.run("setSecret") == "changed"
    assert world.provider.count("change") == 2


def test_set_fails_at_once_on_a_credentials_error(world: World) -> None:
    world.with_pending()
    world.provider.failures = [ProviderCredentialsError("uredis", "change", "171", "signature")]
    with pytest.raises(ProviderCredentialsError, match="code 171"):
        world.run("setSecret")
    assert world.provider.count("change") == 1


def test_set_gives_up_at_the_deadline_and_says_what_happened(world: World) -> None:
    world.with_pending()
    world.provider.statuses = [InstanceStatus(ready=False, busy=True, detail="SetPassword")]
    with pytest.raises(DeadlineExceededError, match="did not complete before the function's"):
        world.run("setSecret")
    assert world.provider.count("change") == 0
    assert world.clock.now - 1000.0 <= 121, "the wait stops at the deadline"


def test_set_with_old_password_falls_back_to_previous(world: World) -> None:
    world.with_pending()
    world.provider.old_password_needed = True
    world.provider.accepted_old = {PREVIOUS_PASSWORD}
    world.redis.password = PREVIOUS_PASSWORD  # the instance drifted back
    assert world.run("setSecret") == "changed"
    assert [old for name, old in world.provider.calls if name == "change"] == [
        CURRENT_PASSWORD,
        PREVIOUS_PASSWORD,
    ]


def test_set_with_old_password_fails_clearly_when_neither_is_accepted(world: World) -> None:
    world.with_pending()
    world.provider.old_password_needed = True
    world.provider.accepted_old = set()
    with pytest.raises(
        OldPasswordRejectedError, match="neither the AWSCURRENT nor the AWSPREVIOUS"
    ):
        world.run("setSecret")


def test_set_refuses_to_change_when_redis_is_unreachable(world: World) -> None:
    world.with_pending()
    world.redis.unreachable = True
    with pytest.raises(RedisUnreachableError, match="cannot reach Redis"):
        world.run("setSecret")
    assert world.provider.calls == []


# -- testSecret ----------------------------------------------------------------------------


def test_test_passes_when_the_pending_password_works(world: World) -> None:
    world.with_pending()
    world.redis.password = NEW_PASSWORD
    assert world.run("testSecret") == "tested"


def test_test_waits_a_bounded_time_then_fails(world: World) -> None:
    world.with_pending()
    with pytest.raises(RedisAuthError, match="does not accept the AWSPENDING password"):
        world.run("testSecret")
    assert 30 <= world.clock.now - 1000.0 <= 32, "bounded by TEST_WAIT_SECONDS"
    assert world.redis.checks > 5, "it polls, with backoff"


def test_test_without_a_pending_value_is_refused(world: World) -> None:
    with pytest.raises(RotationStateError, match="AWSPENDING has no value"):
        world.run("testSecret")


# -- finishSecret --------------------------------------------------------------------------


def test_finish_moves_current_and_previous(world: World) -> None:
    world.with_pending()
    world.redis.password = NEW_PASSWORD  # setSecret's change landed
    assert world.run("finishSecret") == "finished"
    assert world.sm.stages_of(TOKEN) == ["AWSPENDING", "AWSCURRENT"]
    assert world.sm.stages_of("v-current") == ["AWSPREVIOUS"]


def test_finish_copes_with_a_secret_that_has_no_current_version(world: World) -> None:
    world.with_pending()
    world.sm.versions["v-current"]["stages"] = []
    world.redis.password = NEW_PASSWORD
    assert world.run("finishSecret") == "finished"
    assert "AWSCURRENT" in world.sm.stages_of(TOKEN)
    move = next(kwargs for name, kwargs in world.sm.calls if name == "UpdateSecretVersionStage")
    assert "RemoveFromVersionId" not in move


def test_finish_proves_the_password_before_promoting_it(world: World) -> None:
    # A direct invoke right after createSecret: the instance never got the new password.
    world.with_pending()
    with pytest.raises(RedisAuthError, match="refusing to make it AWSCURRENT"):
        world.run("finishSecret")
    assert world.sm.count("UpdateSecretVersionStage") == 0
    assert world.sm.stages_of("v-current") == ["AWSCURRENT"]


def test_every_read_names_the_version_stage(world: World) -> None:
    world.with_pending()
    world.provider.old_password_needed = True
    for step in ("createSecret", "setSecret", "testSecret"):
        world.run(step)
    reads = [kwargs for name, kwargs in world.sm.calls if name == "GetSecretValue"]
    assert reads, "the steps read the secret"
    assert all("VersionStage" in kwargs for kwargs in reads)
    pending_reads = [kwargs for kwargs in reads if kwargs["VersionStage"] == "AWSPENDING"]
    assert all(kwargs.get("VersionId") == TOKEN for kwargs in pending_reads)
