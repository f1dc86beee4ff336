"""The URedis emulator is faithful (the official UCloud SDK is accepted by it), enforces the
rules the provider documents, and our URedis provider maps its answers correctly over real
HTTP: master-replica groups and distributed spaces (UMem)."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from ucloud.client import Client
from ucloud.core.exc import RetCodeException

from localcloud.emulators.base import Fault
from localcloud.emulators.uredis import EMULATOR_CODES, Group, Space, URedisEmulator
from localcloud.redis_server import RedisServer
from redis_rotation.config import Settings
from redis_rotation.errors import (
    ChangeFailedError,
    InstanceStateError,
    ProviderCredentialsError,
    ProviderRetryableError,
    SecretFormatError,
)
from redis_rotation.polling import Deadline, Runtime
from redis_rotation.providers.base import ProviderContext
from redis_rotation.providers.transport import Transport
from redis_rotation.providers.uredis import URedisProvider
from redis_rotation.seams import boto3_client
from redis_rotation.secret import Endpoint, RedisSecret
from tests.support.inspection import UNSEEN
from tests.support.servers import START_PASSWORD, serving

pytestmark = pytest.mark.integration

PUBLIC, PRIVATE = "test-public-key", "test-private-key-0123456789"


@pytest.fixture
def emulator(redis_server: RedisServer) -> Iterator[URedisEmulator]:
    emu = URedisEmulator()
    emu.add_key(PUBLIC, PRIVATE)
    emu.add_group(Group("uredis-master", "cn-bj2", redis_server, zone="cn-bj2-02"))
    emu.add_group(Group("uredis-slave", "cn-bj2", None, zone="cn-bj2-02", role="slave"))
    with serving(emu):
        yield emu


@pytest.fixture
def space_server(emulator: URedisEmulator) -> Iterator[RedisServer]:
    """A distributed space (UMem) beside the groups, with its own redis-server."""
    with RedisServer(START_PASSWORD) as server:
        emulator.add_group(Space("umem-space", "cn-bj2", server, zone="cn-bj2-02"))
        yield server


def sdk_client(
    emulator: URedisEmulator,
    private_key: str = PRIVATE,
    public_key: str = PUBLIC,
    project_id: str | None = None,
) -> Any:
    # The SDK logs every request's arguments at INFO: keep it quiet in test output.
    logging.getLogger("ucloud").setLevel(logging.WARNING)
    config = {
        "region": "cn-bj2",
        "public_key": public_key,
        "private_key": private_key,
        "base_url": emulator.endpoint,
        "max_retries": 0,
        "log_level": logging.WARNING,
        **({"project_id": project_id} if project_id else {}),
    }
    return Client(config).umem()


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# -- the official SDK against the emulator -----------------------------------------------


def test_official_sdk_changes_the_password(
    emulator: URedisEmulator, redis_server: RedisServer
) -> None:
    umem = sdk_client(emulator)
    umem.modify_uredis_group_password(
        {"GroupId": "uredis-master", "Zone": "cn-bj2-02", "Password": b64("New-password_2")}
    )
    assert redis_server.accepts("New-password_2")
    assert not redis_server.accepts(START_PASSWORD)
    assert emulator.groups["uredis-master"].password_changes == 1


def test_official_sdk_describes_the_group(emulator: URedisEmulator) -> None:
    answer = sdk_client(emulator).describe_umem(
        {"Protocol": "redis", "ResourceId": "uredis-master", "Zone": "cn-bj2-02"}
    )
    (group,) = answer["DataSet"]
    assert (group["ResourceId"], group["Role"], group["State"]) == (
        "uredis-master",
        "master",
        "Running",
    )


def test_wrong_private_key_is_a_signature_error(emulator: URedisEmulator) -> None:
    with pytest.raises(RetCodeException) as caught:
        sdk_client(emulator, private_key="not-the-key").describe_umem({"Protocol": "redis"})
    assert caught.value.code == 171


def test_unknown_public_key_is_refused(emulator: URedisEmulator) -> None:
    emulator.keys.clear()
    with pytest.raises(RetCodeException) as caught:
        sdk_client(emulator).describe_umem({"Protocol": "redis"})
    assert caught.value.code == 172


@pytest.mark.parametrize(
    "password",
    ["short", "x" * 37, "has space1", "bang!bang!", "点点点点点点"],
)
def test_passwords_that_break_the_documented_rule_are_refused(
    emulator: URedisEmulator, redis_server: RedisServer, password: str
) -> None:
    with pytest.raises(RetCodeException) as caught:
        sdk_client(emulator).modify_uredis_group_password(
            {"GroupId": "uredis-master", "Password": b64(password)}
        )
    assert caught.value.code == 230
    assert redis_server.accepts(START_PASSWORD)


def test_not_base64_is_refused(emulator: URedisEmulator, redis_server: RedisServer) -> None:
    with pytest.raises(RetCodeException) as caught:
        sdk_client(emulator).modify_uredis_group_password(
            {"GroupId": "uredis-master", "Password": "Not base64!"}
        )
    assert caught.value.code == 230
    assert redis_server.accepts(START_PASSWORD)


def test_empty_password_removes_the_password(
    emulator: URedisEmulator, redis_server: RedisServer
) -> None:
    # The rule the provider documents, and the reason the rotation never sends an empty password.
    sdk_client(emulator).modify_uredis_group_password({"GroupId": "uredis-master", "Password": ""})
    assert redis_server.accepts(None)
    assert emulator.groups["uredis-master"].has_password is False


def test_a_slave_cannot_be_changed(emulator: URedisEmulator) -> None:
    with pytest.raises(RetCodeException) as caught:
        sdk_client(emulator).modify_uredis_group_password(
            {"GroupId": "uredis-slave", "Password": b64("New-password_2")}
        )
    assert caught.value.code == EMULATOR_CODES["slave"]


def test_delayed_change_passes_through_set_password(
    emulator: URedisEmulator, redis_server: RedisServer
) -> None:
    group = emulator.groups["uredis-master"]
    group.apply_delay = 0.3
    umem = sdk_client(emulator)
    umem.modify_uredis_group_password({"GroupId": "uredis-master", "Password": b64("Later_pass1")})
    describe = {"Protocol": "redis", "ResourceId": "uredis-master"}
    assert umem.describe_umem(describe)["DataSet"][0]["State"] == "SetPassword"
    assert redis_server.accepts(START_PASSWORD), "not applied yet"
    with pytest.raises(RetCodeException) as caught:  # a second change while one is in flight
        umem.modify_uredis_group_password({"GroupId": "uredis-master", "Password": b64("Other_1")})
    assert caught.value.code == EMULATOR_CODES["busy"]
    deadline = Deadline.after(Runtime(), 10)
    while umem.describe_umem(describe)["DataSet"][0]["State"] != "Running":
        assert not deadline.expired()
        Runtime().sleep(0.02)
    assert redis_server.accepts("Later_pass1")
    assert group.password_changes == 1


# -- distributed spaces (UMem): the official SDK against the emulator ---------------------


def test_official_sdk_changes_a_space_password(
    emulator: URedisEmulator, space_server: RedisServer
) -> None:
    sdk_client(emulator).modify_umem_password(
        {"SpaceId": "umem-space", "Zone": "cn-bj2-02", "Password": b64("Space-password_2")}
    )
    assert emulator.count("ModifyUMemPassword") == 1
    assert space_server.accepts("Space-password_2")
    assert not space_server.accepts(START_PASSWORD)
    assert emulator.spaces["umem-space"].password_changes == 1


def test_official_sdk_tells_a_space_from_a_group(
    emulator: URedisEmulator, space_server: RedisServer
) -> None:
    umem = sdk_client(emulator)
    (space,) = umem.describe_umem({"Protocol": "redis", "ResourceId": "umem-space"})["DataSet"]
    (group,) = umem.describe_umem({"Protocol": "redis", "ResourceId": "uredis-master"})["DataSet"]
    assert (space["ResourceType"], space["State"], space["Address"][0]["Port"]) == (
        "distributed",
        "Running",
        space_server.port,
    )
    assert "Role" not in space, "DescribeUMem gives a role for master-replica groups only"
    assert (group["ResourceType"], group["Role"]) == ("single", "master")
    spaces = umem.describe_umem({"Protocol": "redis", "ResourceType": "distributed"})
    assert [e["ResourceId"] for e in spaces["DataSet"]] == ["umem-space"]


def test_a_space_change_without_zone_is_refused(
    emulator: URedisEmulator, space_server: RedisServer
) -> None:
    # The SDK's schema requires Zone; invoke sends what it is given, as a careless caller.
    with pytest.raises(RetCodeException) as caught:
        sdk_client(emulator).invoke(
            "ModifyUMemPassword", {"SpaceId": "umem-space", "Password": b64("Space-password_2")}
        )
    assert (caught.value.code, caught.value.message) == (230, "Missing Params [zone_id]")
    assert space_server.accepts(START_PASSWORD)


@pytest.mark.parametrize(
    ("action", "params"),
    [
        ("ModifyUMemPassword", {"SpaceId": "uredis-master", "Zone": "cn-bj2-02"}),
        ("ModifyURedisGroupPassword", {"GroupId": "umem-space"}),
    ],
    ids=["space-call-on-a-group", "group-call-on-a-space"],
)
def test_each_change_call_reaches_only_its_kind(
    emulator: URedisEmulator,
    redis_server: RedisServer,
    space_server: RedisServer,
    action: str,
    params: dict[str, str],
) -> None:
    with pytest.raises(RetCodeException) as caught:
        sdk_client(emulator).invoke(action, {**params, "Password": b64("Other-password_3")})
    assert caught.value.code == 230
    assert redis_server.accepts(START_PASSWORD)
    assert space_server.accepts(START_PASSWORD)


@pytest.mark.parametrize("password", ["short", "x" * 37, "bang!bang!"])
def test_a_space_password_follows_the_same_rule(
    emulator: URedisEmulator, space_server: RedisServer, password: str
) -> None:
    with pytest.raises(RetCodeException) as caught:
        sdk_client(emulator).modify_umem_password(
            {"SpaceId": "umem-space", "Zone": "cn-bj2-02", "Password": b64(password)}
        )
    assert caught.value.code == 230
    assert space_server.accepts(START_PASSWORD)


def test_a_sub_account_key_must_send_project_id(
    emulator: URedisEmulator, space_server: RedisServer
) -> None:
    emulator.add_key("sub-account-key", PRIVATE, sub_account=True)
    change = {"SpaceId": "umem-space", "Zone": "cn-bj2-02", "Password": b64("Space-password_2")}
    with pytest.raises(RetCodeException) as caught:
        sdk_client(emulator, public_key="sub-account-key").modify_umem_password(change)
    assert (caught.value.code, caught.value.message) == (230, "Params [ProjectId] not available")
    assert space_server.accepts(START_PASSWORD)
    # The main account's key needs none; the sub-account's works once it names the project.
    sdk_client(emulator).describe_umem({"Protocol": "redis"})
    sdk_client(emulator, public_key="sub-account-key", project_id="org-1").modify_umem_password(
        change
    )
    assert space_server.accepts("Space-password_2")


# -- our provider against the emulator --------------------------------------------------


def provider_for(keys: dict[str, str] | None = None) -> URedisProvider:
    deadline = Deadline.after(Runtime(), 10)
    context = ProviderContext(
        settings=Settings(),
        deadline=deadline,
        transport=Transport("uredis", 5.0, deadline),
        keys=keys or {"publicKey": PUBLIC, "privateKey": PRIVATE},
        aws_client=boto3_client,
    )
    return URedisProvider(context)


def secret_for(
    emulator: URedisEmulator, group: str = "uredis-master", field: str = "groupId", **extra: str
) -> RedisSecret:
    return RedisSecret(
        "secret test (AWSCURRENT)",
        {
            "provider": "uredis",
            "host": "127.0.0.1",
            "port": 6379,
            "password": START_PASSWORD,
            "region": "cn-bj2",
            "zone": "cn-bj2-02",
            field: group,
            "credentialsSecretId": "keys",
            "apiEndpoint": emulator.endpoint,
            **extra,
        },
    )


def test_provider_changes_and_waits(emulator: URedisEmulator, redis_server: RedisServer) -> None:
    emulator.groups["uredis-master"].apply_delay = 0.2
    provider, secret = provider_for(), secret_for(emulator)
    assert provider.inspect(secret).status.ready
    handle = provider.change_password(secret, UNSEEN, "Rotated_password_3", None)
    provider.wait_for_change(secret, handle)
    assert redis_server.accepts("Rotated_password_3")
    wire = b"".join(emulator.seen_bodies)
    assert b"Rotated_password_3" not in wire, "the password travels base64-encoded"
    assert b64("Rotated_password_3").encode() in wire.replace(b"%3D", b"=")


def test_provider_refuses_a_slave(emulator: URedisEmulator) -> None:
    with pytest.raises(InstanceStateError, match="is a slave"):
        provider_for().inspect(secret_for(emulator, "uredis-slave"))


def test_provider_reports_an_unknown_group(emulator: URedisEmulator) -> None:
    with pytest.raises(InstanceStateError, match="not found"):
        provider_for().inspect(secret_for(emulator, "uredis-nope"))


def test_provider_retries_throttling_on_reads(emulator: URedisEmulator) -> None:
    emulator.inject(Fault("code", action="DescribeUMem", code=153, times=2))
    assert provider_for().inspect(secret_for(emulator)).status.ready
    assert emulator.count("DescribeUMem", "153") == 2


def test_provider_does_not_retry_a_change_itself(emulator: URedisEmulator) -> None:
    emulator.inject(Fault("code", action="ModifyURedisGroupPassword", code=153))
    with pytest.raises(ProviderRetryableError, match="code 153"):
        provider_for().change_password(secret_for(emulator), UNSEEN, "Rotated_password_3", None)
    assert emulator.count("ModifyURedisGroupPassword", None) == 1


def test_provider_signature_error_is_a_credentials_error(emulator: URedisEmulator) -> None:
    provider = provider_for({"publicKey": PUBLIC, "privateKey": "wrong"})
    with pytest.raises(ProviderCredentialsError, match="code 171") as caught:
        provider.inspect(secret_for(emulator))
    assert "wrong" not in str(caught.value)


def test_provider_reports_a_failed_change(emulator: URedisEmulator) -> None:
    group = emulator.groups["uredis-master"]
    group.apply_delay, group.fail_next_apply = 0.1, True
    provider, secret = provider_for(), secret_for(emulator)
    handle = provider.change_password(secret, UNSEEN, "Rotated_password_3", None)
    with pytest.raises(ChangeFailedError, match="SetPasswordFail"):
        provider.wait_for_change(secret, handle)


@pytest.mark.parametrize("kind", ["http", "garbage", "truncated", "reset"])
def test_transport_faults_are_retryable(emulator: URedisEmulator, kind: str) -> None:
    emulator.inject(Fault(kind, action="ModifyURedisGroupPassword"))  # type: ignore[arg-type]
    with pytest.raises(ProviderRetryableError):
        provider_for().change_password(secret_for(emulator), UNSEEN, "Rotated_password_3", None)


# -- our provider and distributed spaces -------------------------------------------------


def test_provider_changes_a_space_and_waits(
    emulator: URedisEmulator, space_server: RedisServer
) -> None:
    emulator.spaces["umem-space"].apply_delay = 0.2
    provider, secret = provider_for(), secret_for(emulator, "umem-space", "spaceId")
    seen = provider.inspect(secret)
    assert seen.status.ready
    assert seen.addresses == frozenset({Endpoint("127.0.0.1", space_server.port)})
    handle = provider.change_password(secret, UNSEEN, "Rotated_space_3", None)
    assert emulator.spaces["umem-space"].state == "SetPassword"
    provider.wait_for_change(secret, handle)
    assert space_server.accepts("Rotated_space_3")
    assert emulator.count("ModifyUMemPassword") == 1
    assert emulator.count("ModifyURedisGroupPassword", None) == 0
    assert b"Rotated_space_3" not in b"".join(emulator.seen_bodies), "sent base64-encoded"


@pytest.mark.parametrize(
    ("resource", "field", "message"),
    [
        ("uredis-master", "spaceId", "spaceId uredis-master is a master-replica group"),
        ("umem-space", "groupId", "groupId umem-space is a distributed space"),
    ],
    ids=["group-named-as-space", "space-named-as-group"],
)
@pytest.mark.usefixtures("space_server")
def test_provider_refuses_a_kind_that_does_not_match(
    emulator: URedisEmulator, resource: str, field: str, message: str
) -> None:
    with pytest.raises(InstanceStateError, match=message):
        provider_for().inspect(secret_for(emulator, resource, field))


@pytest.mark.usefixtures("space_server")
def test_provider_refuses_a_space_secret_without_zone(emulator: URedisEmulator) -> None:
    secret = secret_for(emulator, "umem-space", "spaceId")
    secret = RedisSecret(secret.label, {k: v for k, v in secret.data.items() if k != "zone"})
    with pytest.raises(SecretFormatError, match="field 'zone' is required"):
        provider_for().change_password(secret, UNSEEN, "Rotated_space_3", None)
    assert emulator.count("ModifyUMemPassword", None) == 0


@pytest.mark.usefixtures("space_server")
def test_provider_space_failure_is_reported(emulator: URedisEmulator) -> None:
    space = emulator.spaces["umem-space"]
    space.apply_delay, space.fail_next_apply = 0.1, True
    provider, secret = provider_for(), secret_for(emulator, "umem-space", "spaceId")
    handle = provider.change_password(secret, UNSEEN, "Rotated_space_3", None)
    with pytest.raises(ChangeFailedError, match="space umem-space reports SetPasswordFail"):
        provider.wait_for_change(secret, handle)


def test_provider_refuses_a_high_performance_instance(emulator: URedisEmulator) -> None:
    emulator.groups["uredis-master"].resource_type = "performance"
    with pytest.raises(InstanceStateError, match="a high-performance instance"):
        provider_for().inspect(secret_for(emulator))
