"""The provider's ElastiCache calls (``providers.elasticache.api``) and what it reads from
the answers (``views``), over genuine boto3 requests to the emulator and real nodes."""

from __future__ import annotations

import pytest

from localcloud.emulators.base import Fault
from localcloud.emulators.elasticache import THROTTLING, ElastiCacheEmulator, ReplicationGroup
from redis_rotation.errors import (
    InstanceBusyError,
    InstanceStateError,
    PasswordPolicyError,
    ProviderCredentialsError,
    ProviderRetryableError,
    redact,
)
from redis_rotation.passwords import PasswordPolicy
from redis_rotation.providers.elasticache.api import ElastiCacheApi
from redis_rotation.providers.elasticache.views import (
    RBAC_POLICY,
    TOKEN_POLICY,
    group_addresses,
    group_status,
    node_addresses,
    token_refusal,
    user_status,
)
from redis_rotation.secret import Endpoint
from tests.support.elasticache import P3, T2, client, emulator, servers

pytestmark = pytest.mark.integration
__all__ = ["emulator", "servers"]  # fixtures

HELD = [P3, T2]  # what this invocation would hold: never in an error


def api(emu: ElastiCacheEmulator, secret: str | None = None) -> ElastiCacheApi:
    boto = client(emu) if secret is None else client(emu, secret=secret)
    return ElastiCacheApi(boto, lambda text: redact(str(text), HELD))


def test_a_user_its_groups_and_every_node_address(emulator: ElastiCacheEmulator) -> None:
    calls = api(emulator)
    user = calls.user("app-user")
    groups = calls.groups_of_user(user)
    assert [g["ReplicationGroupId"] for g in groups] == ["rbac-group"]
    assert user_status(user, groups).ready
    nodes = emulator.groups["rbac-group"].nodes
    expected = [Endpoint("127.0.0.1", n.server.port) for n in nodes]  # primary first
    assert node_addresses(groups[0]) == expected
    assert group_addresses(groups[0]) == frozenset(expected)


def test_a_change_in_flight_reads_as_busy_until_every_node_has_it(
    emulator: ElastiCacheEmulator,
) -> None:
    calls = api(emulator)
    calls.call("ModifyUser", UserId="app-user", Passwords=[P3])
    emulator.model.advance(1)
    user = calls.user("app-user")
    state = user_status(user, calls.groups_of_user(user))
    assert (state.ready, state.busy, state.detail) == (False, True, "user modifying")
    emulator.model.advance(1)
    assert user_status(calls.user("app-user"), []).ready

    calls.call("ModifyReplicationGroup", ReplicationGroupId="token-group", AuthToken=T2,
               AuthTokenUpdateStrategy="ROTATE", ApplyImmediately=True)  # fmt: skip
    state = group_status(calls.group("token-group"))
    assert (state.ready, state.busy) == (False, True)
    emulator.model.settle()
    assert group_status(calls.group("token-group")).ready


def test_a_change_waiting_for_the_maintenance_window_is_not_ready(
    emulator: ElastiCacheEmulator,
) -> None:
    calls = api(emulator)
    calls.call("ModifyReplicationGroup", ReplicationGroupId="token-group", AuthToken=T2)
    state = group_status(calls.group("token-group"))
    assert (state.ready, state.busy) == (False, False)
    assert "ROTATING" in state.detail


def test_aws_codes_map_onto_the_rotation_errors(emulator: ElastiCacheEmulator) -> None:
    calls = api(emulator)
    emulator.inject(Fault("code", action="DescribeUsers", code=THROTTLING))
    with pytest.raises(ProviderRetryableError) as retry:
        calls.user("app-user")
    assert retry.value.code == THROTTLING
    with pytest.raises(InstanceStateError) as missing:
        calls.user("nobody")
    assert "check userId and region" in str(missing.value)
    emulator.model.paused = True
    calls.call("ModifyUser", UserId="app-user", Passwords=[P3])
    with pytest.raises(InstanceBusyError):
        calls.call("ModifyUser", UserId="app-user", Passwords=[P3])
    with pytest.raises(ProviderCredentialsError):
        api(emulator, secret="not-the-role-secret-key").user("app-user")


def test_a_refused_password_is_a_policy_error_that_never_quotes_it(
    emulator: ElastiCacheEmulator,
) -> None:
    emulator.inject(
        Fault("echo", action="ModifyUser", code="InvalidParameterValue",
              echo=("Passwords.member.1",))
    )  # fmt: skip
    with pytest.raises(PasswordPolicyError) as caught:
        api(emulator).call("ModifyUser", UserId="app-user", Passwords=[P3])
    assert emulator.echoes[0].values["Passwords.member.1"] == P3  # the answer did quote it
    assert P3 not in str(caught.value)


def test_an_unreachable_api_is_retryable(emulator: ElastiCacheEmulator) -> None:
    calls = api(emulator)
    emulator.inject(Fault("reset", action="DescribeUsers", times=5))
    with pytest.raises(ProviderRetryableError):
        calls.user("app-user")


def test_rotate_is_refused_without_a_token_or_without_tls(emulator: ElastiCacheEmulator) -> None:
    group: ReplicationGroup = emulator.groups["token-group"]
    calls = api(emulator)
    assert token_refusal(calls.group("token-group")) is None
    group.transit_encryption_enabled = False
    assert "TransitEncryptionEnabled is false" in str(token_refusal(calls.group("token-group")))
    group.tokens.clear()
    assert "password-free logins" in str(token_refusal(calls.group("token-group")))


@pytest.mark.parametrize(
    ("policy", "bad"),
    [(RBAC_POLICY, c) for c in ',"/@%'] + [(TOKEN_POLICY, c) for c in '%/@"*+_.~'],
)
def test_the_policies_refuse_what_aws_forbids(policy: PasswordPolicy, bad: str) -> None:
    assert policy.violation("Abcdefgh12345678" + bad) is not None
    assert policy.violation("Abcdefgh12345678") is None
