"""The ElastiCache emulator, driven by genuine boto3 ``elasticache`` requests: boto3 signs
them (SigV4) and parses the XML answers by botocore's service model, so it is the oracle
of the wire. Changes land on real redis-servers, node by node, after the answer."""

from __future__ import annotations

import http.client

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from localcloud.emulators.base import Fault
from localcloud.emulators.elasticache import THROTTLING, ElastiCacheEmulator
from localcloud.redis_server import RedisServer
from tests.support.elasticache import (
    ACCESS,
    P1,
    P2,
    P3,
    REGION,
    SECRET,
    T1,
    T2,
    client,
    emulator,
    servers,
)

pytestmark = pytest.mark.integration
__all__ = ["emulator", "servers"]  # fixtures


def code_of(caught: pytest.ExceptionInfo[ClientError]) -> str:
    return str(caught.value.response["Error"]["Code"])


# -- describing ------------------------------------------------------------------------------


def test_describe_users_as_boto3_parses_it(emulator: ElastiCacheEmulator) -> None:
    (user,) = client(emulator).describe_users(UserId="app-user")["Users"]
    assert (user["UserId"], user["UserName"], user["Status"]) == ("app-user", "app", "active")
    assert user["Authentication"] == {"Type": "password", "PasswordCount": 2}
    assert user["UserGroupIds"] == ["app-users"]
    assert user["ARN"].endswith(f":{REGION}:123456789012:user:app-user")


def test_describe_replication_groups_names_every_node(
    emulator: ElastiCacheEmulator, servers: list[RedisServer]
) -> None:
    (group,) = client(emulator).describe_replication_groups(ReplicationGroupId="token-group")[
        "ReplicationGroups"
    ]
    assert (group["Status"], group["AuthTokenEnabled"], group["ClusterEnabled"]) == (
        "available",
        True,
        False,
    )
    (shard,) = group["NodeGroups"]
    assert shard["PrimaryEndpoint"] == {"Address": "127.0.0.1", "Port": servers[2].port}
    assert shard["ReaderEndpoint"] == {"Address": "127.0.0.1", "Port": servers[3].port}
    members = {(m["CurrentRole"], m["ReadEndpoint"]["Port"]) for m in shard["NodeGroupMembers"]}
    assert members == {("primary", servers[2].port), ("replica", servers[3].port)}
    assert group["MemberClusters"] == ["token-group-001", "token-group-002"]


def test_describe_user_groups_links_users_to_their_replication_groups(
    emulator: ElastiCacheEmulator,
) -> None:
    (group,) = client(emulator).describe_user_groups(UserGroupId="app-users")["UserGroups"]
    assert (group["UserIds"], group["ReplicationGroups"]) == (["app-user"], ["rbac-group"])
    with pytest.raises(ClientError) as caught:
        client(emulator).describe_user_groups(UserGroupId="other-users")
    assert code_of(caught) == "UserGroupNotFound"


def test_unknown_ids_and_other_regions_are_not_found(emulator: ElastiCacheEmulator) -> None:
    with pytest.raises(ClientError) as caught:
        client(emulator).describe_users(UserId="nobody")
    assert (code_of(caught), caught.value.response["ResponseMetadata"]["HTTPStatusCode"]) == (
        "UserNotFound",
        404,
    )
    with pytest.raises(ClientError) as caught:
        client(emulator, region="us-east-1").describe_replication_groups(
            ReplicationGroupId="token-group"
        )
    assert code_of(caught) == "ReplicationGroupNotFoundFault"


# -- ModifyUser: node by node -----------------------------------------------------------------


def test_modify_user_lands_node_by_node_and_keeps_both_passwords(
    emulator: ElastiCacheEmulator, servers: list[RedisServer]
) -> None:
    primary, replica = servers[0], servers[1]
    answer = client(emulator).modify_user(UserId="app-user", Passwords=[P3, P2])
    assert answer["Status"] == "modifying"
    assert primary.accepts(P1, "app")  # nothing has landed yet

    emulator.model.advance(1)  # the primary only: the window where the nodes differ
    assert (primary.accepts(P3, "app"), primary.accepts(P1, "app")) == (True, False)
    assert (replica.accepts(P3, "app"), replica.accepts(P1, "app")) == (False, True)
    (user,) = client(emulator).describe_users(UserId="app-user")["Users"]
    assert user["Status"] == "modifying"
    with pytest.raises(ClientError) as caught:
        client(emulator).modify_user(UserId="app-user", Passwords=[P1, P3])
    assert code_of(caught) == "InvalidUserState"

    emulator.model.advance(1)
    (user,) = client(emulator).describe_users(UserId="app-user")["Users"]
    assert user["Status"] == "active"
    for node in (primary, replica):
        accepted = [node.accepts(p, "app") for p in (P1, P2, P3)]
        assert accepted == [False, True, True]


def test_an_unpaused_change_lands_on_every_node_by_itself(
    emulator: ElastiCacheEmulator, servers: list[RedisServer]
) -> None:
    emulator.model.paused = False
    client(emulator).modify_user(UserId="app-user", Passwords=[P3])
    assert emulator.model.wait_idle()
    assert [s.accepts(P3, "app") for s in servers[:2]] == [True, True]
    assert client(emulator).describe_users(UserId="app-user")["Users"][0]["Status"] == "active"


@pytest.mark.parametrize(
    "passwords",
    [
        [P1, P2, P3],
        ["fifteen-chars-1"],
        ["x" * 129],
        ["comma,in-the-password"],
        ["at@sign-password"],
    ],
)
def test_passwords_against_the_documented_rule_are_refused(
    emulator: ElastiCacheEmulator, servers: list[RedisServer], passwords: list[str]
) -> None:
    with pytest.raises(ClientError) as caught:
        client(emulator).modify_user(UserId="app-user", Passwords=passwords)
    assert code_of(caught) == "InvalidParameterValue"
    assert "Passwords" in str(caught.value)
    assert not any(p in str(caught.value) for p in passwords)
    assert emulator.users["app-user"].password_changes == 0
    assert servers[0].accepts(P1, "app")


def test_no_password_required_is_served_and_recorded(
    emulator: ElastiCacheEmulator, servers: list[RedisServer]
) -> None:
    with pytest.raises(ClientError) as caught:
        client(emulator).modify_user(UserId="app-user", Passwords=[P3], NoPasswordRequired=True)
    assert code_of(caught) == "InvalidParameterCombination"
    client(emulator).modify_user(UserId="app-user", NoPasswordRequired=True)
    emulator.model.settle()
    assert servers[1].accepts("anything-at-all-really", "app")  # what AWS warns about
    assert emulator.model.password_free_requests == ["app-user"]


# -- ModifyReplicationGroup: ROTATE, SET ------------------------------------------------------


def test_rotate_then_set_the_auth_token(
    emulator: ElastiCacheEmulator, servers: list[RedisServer]
) -> None:
    primary, replica = servers[2], servers[3]
    rotate = client(emulator).modify_replication_group(
        ReplicationGroupId="token-group",
        AuthToken=T2,
        AuthTokenUpdateStrategy="ROTATE",
        ApplyImmediately=True,
    )["ReplicationGroup"]
    assert (rotate["Status"], rotate["PendingModifiedValues"]) == (
        "modifying",
        {"AuthTokenStatus": "ROTATING"},
    )
    emulator.model.advance(1)
    assert (primary.accepts(T2), replica.accepts(T2), replica.accepts(T1)) == (True, False, True)
    with pytest.raises(ClientError) as caught:
        client(emulator).modify_replication_group(
            ReplicationGroupId="token-group", AuthToken=T2, AuthTokenUpdateStrategy="SET",
            ApplyImmediately=True,
        )  # fmt: skip
    assert code_of(caught) == "InvalidReplicationGroupState"
    emulator.model.advance(1)
    (group,) = client(emulator).describe_replication_groups(ReplicationGroupId="token-group")[
        "ReplicationGroups"
    ]
    assert (group["Status"], group["PendingModifiedValues"]) == ("available", {})
    assert "AuthTokenLastModifiedDate" in group
    assert [(n.accepts(T1), n.accepts(T2)) for n in (primary, replica)] == [(True, True)] * 2

    client(emulator).modify_replication_group(
        ReplicationGroupId="token-group", AuthToken=T2, AuthTokenUpdateStrategy="SET",
        ApplyImmediately=True,
    )  # fmt: skip
    emulator.model.settle()
    assert [(n.accepts(T1), n.accepts(T2)) for n in (primary, replica)] == [(False, True)] * 2


def test_set_must_follow_a_rotate_of_the_same_token(emulator: ElastiCacheEmulator) -> None:
    with pytest.raises(ClientError) as caught:
        client(emulator).modify_replication_group(
            ReplicationGroupId="token-group", AuthToken=T2, AuthTokenUpdateStrategy="SET",
            ApplyImmediately=True,
        )  # fmt: skip
    assert code_of(caught) == "InvalidParameterValue"
    assert emulator.groups["token-group"].token_changes == 0


def test_rotate_on_a_group_without_a_token_leaves_logins_open(
    emulator: ElastiCacheEmulator, servers: list[RedisServer]
) -> None:
    emulator.groups["token-group"].tokens.clear()
    client(emulator).modify_replication_group(
        ReplicationGroupId="token-group", AuthToken=T2, ApplyImmediately=True
    )
    emulator.model.settle()
    # The trap AWS documents: a client that sends no token at all gets in.
    assert servers[2].accepts(None)
    assert emulator.model.password_free_requests == ["token-group"]


def test_without_apply_immediately_nothing_changes(
    emulator: ElastiCacheEmulator, servers: list[RedisServer]
) -> None:
    group = client(emulator).modify_replication_group(
        ReplicationGroupId="token-group", AuthToken=T2, AuthTokenUpdateStrategy="ROTATE"
    )["ReplicationGroup"]
    assert (group["Status"], group["PendingModifiedValues"]) == (
        "available",
        {"AuthTokenStatus": "ROTATING"},
    )
    assert emulator.model.pending_steps() == 0
    assert not servers[2].accepts(T2)


@pytest.mark.parametrize("token", ["percent%-token-00001", "short-token!", "slash/token-000001"])
def test_tokens_against_the_documented_rule_are_refused(
    emulator: ElastiCacheEmulator, token: str
) -> None:
    with pytest.raises(ClientError) as caught:
        client(emulator).modify_replication_group(
            ReplicationGroupId="token-group", AuthToken=token, ApplyImmediately=True
        )
    assert code_of(caught) == "InvalidParameterValue"
    assert token not in str(caught.value)
    assert emulator.groups["token-group"].token_changes == 0


# -- throttling and the signature -------------------------------------------------------------


def test_throttling_is_retried_by_boto3_as_throttling(emulator: ElastiCacheEmulator) -> None:
    emulator.inject(Fault("code", action="DescribeUsers", code=THROTTLING))
    with pytest.raises(ClientError) as caught:
        client(emulator).describe_users(UserId="app-user")
    assert code_of(caught) == THROTTLING
    emulator.inject(Fault("code", action="DescribeUsers", code=THROTTLING))
    client(emulator, attempts=2).describe_users(UserId="app-user")
    assert emulator.count("DescribeUsers", THROTTLING) == 2
    assert emulator.count("DescribeUsers") == 1


def test_a_wrong_secret_key_is_refused(emulator: ElastiCacheEmulator) -> None:
    with pytest.raises(ClientError) as caught:
        client(emulator, secret="not-the-secret-key").describe_users()
    assert code_of(caught) == "SignatureDoesNotMatch"


def test_an_unknown_key_or_missing_session_token_is_refused(emulator: ElastiCacheEmulator) -> None:
    emulator.add_key(ACCESS, SECRET, token="session-token-of-the-role")
    with pytest.raises(ClientError) as caught:
        client(emulator).describe_users()
    assert code_of(caught) == "InvalidClientTokenId"
    emulator.keys.clear()
    with pytest.raises(ClientError) as caught:
        client(emulator).describe_users()
    assert code_of(caught) == "InvalidClientTokenId"


def test_a_request_signed_outside_the_window_is_refused(emulator: ElastiCacheEmulator) -> None:
    real_clock = emulator.clock
    emulator.clock = lambda: real_clock() + 6 * 60
    with pytest.raises(ClientError) as caught:
        client(emulator).describe_users()
    assert code_of(caught) == "SignatureDoesNotMatch"
    assert "expired" in caught.value.response["Error"]["Message"]
    assert emulator.count("DescribeUsers") == 0


def signed_post(emulator: ElastiCacheEmulator, body: str) -> AWSRequest:
    request = AWSRequest(
        method="POST",
        url=emulator.endpoint + "/",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    SigV4Auth(Credentials(ACCESS, SECRET), "elasticache", REGION).add_auth(request)
    return request


def send(emulator: ElastiCacheEmulator, request: AWSRequest, body: str) -> tuple[int, str]:
    """POST ``body`` with the headers signed for ``request`` (perhaps another body)."""
    connection = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=10)
    try:
        connection.request("POST", "/", body=body.encode(), headers=dict(request.headers.items()))
        answer = connection.getresponse()
        return answer.status, answer.read().decode()
    finally:
        connection.close()


def test_a_body_changed_after_signing_is_refused(emulator: ElastiCacheEmulator) -> None:
    """The signature covers the form: a man in the middle cannot swap the user id."""
    signed_for = "Action=DescribeUsers&Version=2015-02-02&UserId=app-user"
    request = signed_post(emulator, signed_for)
    assert send(emulator, request, signed_for)[0] == 200  # the control: the signed body passes
    status, body = send(emulator, request, signed_for.replace("app-user", "other-user"))
    assert (status, "<Code>SignatureDoesNotMatch</Code>" in body) == (403, True)
