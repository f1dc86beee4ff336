"""What the Tencent provider's unit tests share: the stub transport that answers as Tencent
does, the secrets of each API, and builders of Tencent's answers."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from localcloud.signatures.tc3 import tc3_verify
from localcloud.signatures.tencent_v2 import v2_verify
from redis_rotation.providers.tencent import TencentProvider
from redis_rotation.providers.transport import Transport
from redis_rotation.secret import RedisSecret, parse_secret
from tests.support.clock import FakeClock

CURRENT, NEW = "Curr3nt!Pass", "N3w@P#ss(1)"
KEYS = {"secretId": "AKIDunitunitunit", "secretKey": "unit-secret-key-0123456789"}
NOW = 1_700_000_000
BASE: dict[str, Any] = {
    "provider": "tencent",
    "host": "10.0.0.9",
    "port": 6379,
    "password": CURRENT,
    "region": "ap-guangzhou",
    "instanceId": "crs-abc123",
    "credentialsSecretId": "tencent-keys",
    "tls": {"enabled": False},
}
V2: dict[str, Any] = {**BASE, "apiVersion": "2.0"}
V3_MODIFY: dict[str, Any] = {**BASE, "apiVersion": "3.0"}
V3_RESET: dict[str, Any] = {**BASE, "apiVersion": "3.0", "changeMode": "reset"}
APIS = {"v2": V2, "v3-modify": V3_MODIFY, "v3-reset": V3_RESET}
CHANGE_ACTION = {
    "v2": "ModfiyRedisPassword",
    "v3-modify": "ModifyInstancePassword",
    "v3-reset": "ResetPassword",
}


def secret(value: Mapping[str, Any], **changes: Any) -> RedisSecret:
    # Through the real schema, so every test secret is one a user could store.
    return parse_secret(json.dumps({**value, **changes}), "secret test (AWSCURRENT)")


def v2_ok(data: Mapping[str, Any]) -> dict[str, Any]:
    return {"code": 0, "message": "", "codeDesc": "Success", "data": dict(data)}


def v2_error(code: int, description: str = "", message: str = "refused") -> dict[str, Any]:
    return {"code": code, "message": message, "codeDesc": description}


def assert_v2_signed(sent: Sent, host: str) -> None:
    """The request's signature verifies for the host it was sent to (the emulator's check)."""
    assert sent.data is not None
    assert v2_verify(
        http_method="POST", host=host, path="/v2/index.php", params=sent.data,
        secret_key=KEYS["secretKey"],
    )  # fmt: skip


def v3_ok(**fields: Any) -> dict[str, Any]:
    return {"Response": {**fields, "RequestId": "req-1"}}


def v3_error(code: str, message: str = "refused") -> dict[str, Any]:
    return {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": "req-1"}}


def instance(status: Any = 2, **extra: Any) -> dict[str, Any]:
    return {"InstanceId": BASE["instanceId"], "Status": status, "NoAuth": False, **extra}


@dataclass
class Sent:
    url: str
    action: str
    data: dict[str, str] | None
    body: bytes | None
    headers: dict[str, str]

    def json(self) -> Any:
        assert self.body is not None
        return json.loads(self.body)


class StubTransport(Transport):
    """Answers each action from a script (the last answer repeats) and records requests."""

    def __init__(self, clock: FakeClock, answers: Mapping[str, list[Any]]) -> None:
        super().__init__("tencent", 5.0, clock.deadline(60))
        self.answers = {action: list(script) for action, script in answers.items()}
        self.sent: list[Sent] = []

    def post(
        self,
        url: str,
        *,
        action: str,
        data: Mapping[str, str] | None = None,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        self.sent.append(
            Sent(url, action, dict(data) if data is not None else None, body, dict(headers or {}))
        )
        script = self.answers[action]
        answer = script.pop(0) if len(script) > 1 else script[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def actions(self) -> list[str]:
        return [sent.action for sent in self.sent]


@dataclass
class Harness:
    transport: StubTransport
    provider: TencentProvider


Make = Callable[..., Harness]


def no_aws(service: str, endpoint_url: str | None) -> Any:
    raise AssertionError(f"Tencent asked for an AWS {service} client ({endpoint_url})")


def redis_set(status: Any = 2, redis_id: str = BASE["instanceId"]) -> dict[str, Any]:
    return v2_ok({"totalCount": 1, "redisSet": [{"redisId": redis_id, "status": status}]})


def assert_tc3(sent: Sent, action: str) -> None:
    assert sent.url == "https://redis.tencentcloudapi.com/"
    assert sent.action == action
    assert sent.headers["X-TC-Action"] == action
    assert sent.headers["X-TC-Version"] == "2018-04-12"
    assert sent.headers["X-TC-Region"] == "ap-guangzhou"
    assert sent.headers["X-TC-Timestamp"] == str(NOW)
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.body is not None
    assert tc3_verify(headers=sent.headers, payload=sent.body, secret_key=KEYS["secretKey"])


ACCOUNT: dict[str, Any] = {**V3_MODIFY, "account": "app_a"}
# AWSPENDING of an alternating secret whose AWSCURRENT uses app_a.
ALTERNATE: dict[str, Any] = {
    **ACCOUNT,
    "account": "app_b",
    "strategy": "alternating",
    "accounts": ["app_a", "app_b"],
    "createMissingAccount": True,
}


def account(name: str, status: int = 2, **extra: Any) -> dict[str, Any]:
    fields = {"Privilege": "rw", "ReadonlyPolicy": ["master"], **extra}
    return {"AccountName": name, "Status": status, **fields}


def account_list(*accounts: dict[str, Any], total: int | None = None) -> dict[str, Any]:
    return v3_ok(TotalCount=len(accounts) if total is None else total, Accounts=list(accounts))
