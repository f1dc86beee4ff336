"""Custom accounts as the official SDK (tencentcloud-sdk-python-redis) asks for them, backed
by ACL users of the real redis-server, and Tencent's one-argument ``AUTH account@password``
through the emulator's front, where the real redis-server decides."""

from __future__ import annotations

import socket

import pytest
import redis
from tencentcloud.redis.v20180412 import models

from localcloud.emulators.tencent import Account, TencentEmulator
from localcloud.redis_server import RedisServer
from tests.integration.tencent_emulator.calls import (
    INSTANCE,
    MARKS,
    START,
    instance,
    sdk,
    sdk_error,
    task_info,
)
from tests.support.tencent_auth import logs_in_one_argument

pytestmark = MARKS


def create(name: str, password: str, privilege: str = "rw") -> models.CreateInstanceAccountRequest:
    request = models.CreateInstanceAccountRequest()
    request.InstanceId, request.AccountName, request.AccountPassword = INSTANCE, name, password
    request.ReadonlyPolicy, request.Privilege = ["master"], privilege
    return request


def modify(
    name: str, password: str | None = None, **extra: object
) -> models.ModifyInstanceAccountRequest:
    request = models.ModifyInstanceAccountRequest()
    request.InstanceId, request.AccountName = INSTANCE, name
    if password is not None:
        request.AccountPassword = password
    for key, value in extra.items():
        setattr(request, key, value)
    return request


def accounts(emulator: TencentEmulator, limit: int = 100, offset: int = 0) -> list[models.Account]:
    request = models.DescribeInstanceAccountRequest()
    request.InstanceId, request.Limit, request.Offset = INSTANCE, limit, offset
    found: list[models.Account] = sdk(emulator).DescribeInstanceAccount(request).Accounts
    return found


def auth_one_argument(port: int, secret: str) -> bool:
    return logs_in_one_argument("127.0.0.1", port, secret)


def test_sdk_account_lifecycle(emulator: TencentEmulator, redis_server: RedisServer) -> None:
    client = sdk(emulator)
    task = client.CreateInstanceAccount(create("app_a", "Acc0unt-pass", "r")).TaskId
    assert client.DescribeTaskInfo(task_info(task)).Status == "succeed"
    (found,) = accounts(emulator)
    assert (found.AccountName, found.Privilege, found.ReadonlyPolicy, found.Status) == (
        "app_a", "r", ["master"], 2,
    )  # fmt: skip
    assert redis_server.accepts("Acc0unt-pass", user="app_a")

    task = client.ModifyInstanceAccount(modify("app_a", "Chang3d-pass")).TaskId
    assert client.DescribeTaskInfo(task_info(task)).Status == "succeed"
    assert redis_server.accepts("Chang3d-pass", user="app_a")
    assert not redis_server.accepts("Acc0unt-pass", user="app_a")
    assert redis_server.accepts(START)  # the default account is untouched

    request = models.DeleteInstanceAccountRequest()
    request.InstanceId, request.AccountName = INSTANCE, "app_a"
    assert client.DescribeTaskInfo(task_info(client.DeleteInstanceAccount(request).TaskId)).Status
    assert accounts(emulator) == []
    assert not redis_server.accepts("Chang3d-pass", user="app_a")


def test_read_only_account_cannot_write(
    emulator: TencentEmulator, redis_server: RedisServer
) -> None:
    emulator.add_account(INSTANCE, Account("reader", "Read0nly-pass", privilege="r"))
    client = redis.Redis(port=redis_server.port, username="reader", password="Read0nly-pass")
    try:
        assert client.get("k") is None
        with pytest.raises(redis.exceptions.NoPermissionError):
            client.set("k", "v")
    finally:
        client.close()


def test_account_status_while_its_task_runs(emulator: TencentEmulator) -> None:
    emulator.add_account(INSTANCE, Account("app_a", "Acc0unt-pass"))
    instance(emulator).task_after_requests = 3
    client = sdk(emulator)
    client.ModifyInstanceAccount(modify("app_a", "Chang3d-pass"))
    assert [a.Status for a in accounts(emulator)] == [1]  # changing
    busy = sdk_error(client.ModifyInstanceAccount, modify("app_a", "Other-pass1"))
    assert busy == "ResourceUnavailable.InstanceStatusAbnormal"
    assert [a.Status for a in accounts(emulator)] == [2]  # valid: the task ended


def test_documented_account_rules(emulator: TencentEmulator, redis_server: RedisServer) -> None:
    client = sdk(emulator)
    missing = sdk_error(client.ModifyInstanceAccount, modify("nobody", "Acc0unt-pass"))
    assert missing == "ResourceNotFound.AccountDoesNotExists"
    for password in ("short1A", "/Leading-slash1", "x" * 20 + "A1" * 6 + "y"):  # 8-32, no '/'
        refused = sdk_error(client.CreateInstanceAccount, create("app_b", password))
        assert refused == "InvalidParameterValue.PasswordRuleError", password
    assert sdk_error(client.CreateInstanceAccount, create("bad name", "Acc0unt-pass")) == (
        "InvalidParameterValue"
    )
    no_auth = sdk_error(client.ModifyInstanceAccount, modify("root", NoAuth=True))
    assert no_auth == "InvalidParameterValue.PasswordFreeDenied"
    assert emulator.no_auth_requests == [INSTANCE]
    assert accounts(emulator) == []
    assert redis_server.accepts(START)


def test_account_actions_are_limited_per_action(emulator: TencentEmulator) -> None:
    emulator.clock = lambda: 1000.0
    request = models.DescribeInstanceAccountRequest()
    request.InstanceId, request.Limit, request.Offset = INSTANCE, 10, 0
    client = sdk(emulator)
    for _ in range(20):
        client.DescribeInstanceAccount(request)
    assert sdk_error(client.DescribeInstanceAccount, request) == "RequestLimitExceeded"
    missing = sdk_error(client.ModifyInstanceAccount, modify("nobody", "Acc0unt-pass"))
    assert missing == "ResourceNotFound.AccountDoesNotExists"  # another action's window


def test_describe_pages(emulator: TencentEmulator) -> None:
    for index in range(3):
        emulator.add_account(INSTANCE, Account(f"app_{index}", "Acc0unt-pass"))
    assert [a.AccountName for a in accounts(emulator, limit=2, offset=1)] == ["app_1", "app_2"]


def test_front_speaks_tencent_auth(emulator: TencentEmulator, redis_server: RedisServer) -> None:
    emulator.add_account(INSTANCE, Account("app_a", "Acc0unt-pass"))
    front = emulator.add_front(INSTANCE)
    assert auth_one_argument(front.port, "app_a@Acc0unt-pass")
    assert not auth_one_argument(front.port, "app_a@Wrong-pass1")
    assert not auth_one_argument(front.port, "nobody@Acc0unt-pass")
    assert auth_one_argument(front.port, START)  # the default account, as before
    # Open-source Redis alone does not speak the form.
    assert not auth_one_argument(redis_server.port, "app_a@Acc0unt-pass")
    # The whole string is tried as the default account's password first.
    emulator.set_password(INSTANCE, "root@Default1")
    assert auth_one_argument(front.port, "root@Default1")
    described = sdk(emulator).DescribeInstances(models.DescribeInstancesRequest())
    assert described.InstanceSet[0].Port == front.port


def test_front_reads_inline_and_pipelined_commands(emulator: TencentEmulator) -> None:
    emulator.add_account(INSTANCE, Account("app_a", "Acc0unt-pass"))
    front = emulator.add_front(INSTANCE)
    with socket.create_connection((front.host, front.port), timeout=5) as sock:
        # An inline AUTH, then a RESP PING sent before the first reply came back.
        sock.sendall(b"AUTH app_a@Acc0unt-pass\r\n*1\r\n$4\r\nPING\r\n")
        replies = b""
        while replies.count(b"\r\n") < 2:
            replies += sock.recv(1024)
    assert replies == b"+OK\r\n+PONG\r\n"
