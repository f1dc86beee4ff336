"""The Tencent provider with a stub transport: request shapes for API 2.0 and 3.0, the
mapping of every documented error code, task polling, redaction and policy selection.
Time is the fake clock: retries and polls cost nothing."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from localcloud.signatures.tc3 import tc3_verify
from localcloud.signatures.tencent_v2 import v2_verify
from redis_rotation import passwords
from redis_rotation.config import Settings
from redis_rotation.errors import (
    ChangeFailedError,
    ConfigurationError,
    DeadlineExceededError,
    InstanceBusyError,
    InstanceStateError,
    OldPasswordRejectedError,
    PasswordPolicyError,
    ProviderCredentialsError,
    ProviderError,
    ProviderRetryableError,
    RotationError,
    SecretFormatError,
)
from redis_rotation.providers.base import ChangeHandle, ProviderContext
from redis_rotation.providers.tencent import TencentProvider
from redis_rotation.providers.transport import Transport
from redis_rotation.secret import RedisSecret, parse_secret
from tests.support.clock import FakeClock
from tests.support.inspection import UNSEEN

pytestmark = pytest.mark.unit

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


@pytest.fixture
def make(fake_clock: FakeClock) -> Make:
    def build(
        answers: Mapping[str, list[Any]] | None = None,
        *,
        keys: Mapping[str, str] = KEYS,
        clock: Callable[[], float] = lambda: float(NOW),
        nonce: Callable[[], int] | None = None,
        seconds: float = 60,
    ) -> Harness:
        transport = StubTransport(fake_clock, answers or {})
        context = ProviderContext(
            settings=Settings(),
            deadline=fake_clock.deadline(seconds),
            transport=transport,
            keys=keys,
            aws_client=no_aws,
        )
        options: dict[str, Any] = {"clock": clock}
        if nonce is not None:
            options["nonce"] = nonce
        return Harness(transport, TencentProvider(context, **options))

    return build


# -- the secret's choice of API ------------------------------------------------------------


@pytest.mark.parametrize(
    ("api", "policy", "needs_old"),
    [
        ("v2", passwords.TENCENT_V2, True),
        ("v3-modify", passwords.TENCENT_V3_MODIFY, True),
        ("v3-reset", passwords.TENCENT_V3_RESET, False),
    ],
)
def test_policy_and_old_password_follow_the_api(
    make: Make, api: str, policy: passwords.PasswordPolicy, needs_old: bool
) -> None:
    provider = make().provider
    assert provider.policy(secret(APIS[api])) is policy
    assert provider.needs_old_password(secret(APIS[api])) is needs_old


def test_api_3_0_is_the_default_and_2_0_is_kept_when_asked(make: Make) -> None:
    """Tencent retired API 2.0 for Redis: a secret without apiVersion uses 3.0 (modify)."""
    provider = make().provider
    assert provider.policy(secret(BASE)) is passwords.TENCENT_V3_MODIFY
    assert provider.policy(secret(BASE, changeMode="reset")) is passwords.TENCENT_V3_RESET
    assert provider.policy(secret(V2)) is passwords.TENCENT_V2
    assert provider.policy(secret(V3_MODIFY, changeMode="modify")) is passwords.TENCENT_V3_MODIFY
    # The schema follows: without apiVersion, a field of 2.0 alone is refused.
    with pytest.raises(SecretFormatError) as caught:
        provider.policy(secret(BASE, signatureMethod="HmacSHA1"))
    assert caught.value.field == "signatureMethod"


@pytest.mark.parametrize(
    ("value", "field_name"),
    [
        ({**V2, "changeMode": "reset"}, "changeMode"),
        ({**V3_MODIFY, "signatureMethod": "HmacSHA1"}, "signatureMethod"),
    ],
)
def test_fields_of_the_other_api_are_refused(
    make: Make, value: dict[str, Any], field_name: str
) -> None:
    # A 2.0 secret asking for reset must not silently be changed with the old password.
    with pytest.raises(SecretFormatError) as caught:
        make().provider.policy(secret(value))
    assert caught.value.field == field_name


# -- API 2.0 requests ------------------------------------------------------------------------


def test_v2_change_is_the_documented_request(make: Make) -> None:
    harness = make({"ModfiyRedisPassword": [v2_ok({"requestId": 11966})]}, nonce=lambda: 4242)
    handle = harness.provider.change_password(secret(V2), UNSEEN, NEW, CURRENT)
    assert handle == ChangeHandle(task_id="11966")
    (sent,) = harness.transport.sent
    assert sent.url == "https://redis.api.qcloud.com/v2/index.php"
    assert sent.data is not None
    assert sent.data == {
        "Action": "ModfiyRedisPassword",  # sic, the real action name
        "redisId": "crs-abc123",
        "oldPassword": CURRENT,
        "password": NEW,  # decoded: the transport encodes the form exactly once
        "Region": "ap-guangzhou",
        "SecretId": KEYS["secretId"],
        "Timestamp": str(NOW),
        "Nonce": "4242",
        "SignatureMethod": "HmacSHA256",
        "Signature": sent.data["Signature"],
    }
    assert_v2_signed(sent, "redis.api.qcloud.com")


def test_v2_signature_method_token_and_endpoint_override(make: Make) -> None:
    harness = make(
        {"ModfiyRedisPassword": [v2_ok({"requestId": 1})]}, keys={**KEYS, "token": "tmp-token"}
    )
    value = secret(V2, signatureMethod="HmacSHA1", apiEndpoint="http://127.0.0.1:8080")
    harness.provider.change_password(value, UNSEEN, NEW, CURRENT)
    (sent,) = harness.transport.sent
    assert sent.url == "http://127.0.0.1:8080/v2/index.php"
    assert sent.data is not None
    assert (sent.data["SignatureMethod"], sent.data["Token"]) == ("HmacSHA1", "tmp-token")
    assert_v2_signed(sent, "127.0.0.1:8080")


def test_each_request_reads_the_clock_once_and_gets_a_fresh_positive_nonce(make: Make) -> None:
    ticks = itertools.count(NOW)
    harness = make(
        {
            "ModfiyRedisPassword": [v2_ok({"requestId": 7})],
            "DescribeTaskInfo": [v2_ok({"status": 2})],
        },
        clock=lambda: float(next(ticks)),
    )
    provider = harness.provider
    provider.change_password(secret(V2), UNSEEN, NEW, CURRENT)
    provider.wait_for_change(secret(V2), ChangeHandle("7"))
    provider.wait_for_change(secret(V2), ChangeHandle("7"))
    fields = [sent.data for sent in harness.transport.sent]
    assert [f["Timestamp"] for f in fields if f] == [str(NOW), str(NOW + 1), str(NOW + 2)]
    nonces = [int(f["Nonce"]) for f in fields if f]
    assert len(set(nonces)) == 3
    assert all(n > 0 for n in nonces)


def test_missing_keys_are_named_and_nothing_is_sent(make: Make) -> None:
    harness = make({"ModfiyRedisPassword": [v2_ok({"requestId": 1})]}, keys={})
    with pytest.raises(ConfigurationError, match="no field 'secretId'"):
        harness.provider.change_password(secret(V2), UNSEEN, NEW, CURRENT)
    assert harness.transport.sent == []


def redis_set(status: Any = 2, redis_id: str = BASE["instanceId"]) -> dict[str, Any]:
    return v2_ok({"totalCount": 1, "redisSet": [{"redisId": redis_id, "status": status}]})


@pytest.mark.parametrize(
    ("status", "ready", "busy"), [(2, True, False), (1, False, True), (0, False, True)]
)
def test_v2_describe_asks_describe_redis(make: Make, status: int, ready: bool, busy: bool) -> None:
    harness = make({"DescribeRedis": [redis_set(status)]}, nonce=lambda: 77)
    described = harness.provider.inspect(secret(V2)).status
    assert (described.ready, described.busy, described.described) == (ready, busy, True)
    assert described.note is not None
    assert "retired API 2.0" in described.note
    (sent,) = harness.transport.sent
    assert sent.url == "https://redis.api.qcloud.com/v2/index.php"
    assert sent.data is not None
    assert (sent.data["Action"], sent.data["redisId"], sent.data["Nonce"]) == (
        "DescribeRedis", "crs-abc123", "77",
    )  # fmt: skip
    assert_v2_signed(sent, "redis.api.qcloud.com")


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (redis_set(-2), "isolated"),
        (redis_set(2, redis_id="crs-other"), "check instanceId and region"),
        (v2_ok({"totalCount": 0, "redisSet": []}), "check instanceId and region"),
    ],
)
def test_v2_describe_refuses_instances_that_need_a_person(
    make: Make, answer: dict[str, Any], words: str
) -> None:
    with pytest.raises(InstanceStateError, match=words):
        make({"DescribeRedis": [answer]}).provider.inspect(secret(V2))


# -- API 3.0 requests ------------------------------------------------------------------------


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


def test_v3_modify_sends_instance_old_and_new_password(make: Make) -> None:
    harness = make({"ModifyInstancePassword": [v3_ok(TaskId=88)]})
    handle = harness.provider.change_password(secret(V3_MODIFY), UNSEEN, NEW, CURRENT)
    assert handle == ChangeHandle(task_id="88")
    (sent,) = harness.transport.sent
    assert_tc3(sent, "ModifyInstancePassword")
    assert sent.json() == {"InstanceId": "crs-abc123", "OldPassword": CURRENT, "Password": NEW}


@pytest.mark.parametrize("old", [None, CURRENT])
def test_v3_reset_never_asks_for_a_password_free_instance(make: Make, old: str | None) -> None:
    harness = make({"ResetPassword": [v3_ok(TaskId=89)]})
    harness.provider.change_password(secret(V3_RESET), UNSEEN, NEW, old)
    (sent,) = harness.transport.sent
    assert_tc3(sent, "ResetPassword")
    assert sent.json() == {"InstanceId": "crs-abc123", "Password": NEW, "NoAuth": False}


def test_a_change_that_needs_the_old_password_refuses_none(make: Make) -> None:
    with pytest.raises(ConfigurationError):
        make().provider.change_password(secret(V3_MODIFY), UNSEEN, NEW, None)


def test_an_answer_without_a_task_id_is_waited_for_through_auth_only(make: Make) -> None:
    harness = make({"ModifyInstancePassword": [v3_ok()]})
    handle = harness.provider.change_password(secret(V3_MODIFY), UNSEEN, NEW, CURRENT)
    assert handle.task_id is None
    harness.provider.wait_for_change(secret(V3_MODIFY), handle)
    assert harness.transport.actions() == ["ModifyInstancePassword"]


@pytest.mark.parametrize(
    ("status", "ready", "busy"),
    [(2, True, False), (1, False, True), (0, False, True), (7, False, False), ([2], False, False)],
)
def test_v3_describe_maps_the_status(make: Make, status: Any, ready: bool, busy: bool) -> None:
    harness = make({"DescribeInstances": [v3_ok(TotalCount=1, InstanceSet=[instance(status)])]})
    described = harness.provider.inspect(secret(V3_MODIFY)).status
    assert (described.ready, described.busy) == (ready, busy)
    (sent,) = harness.transport.sent
    assert_tc3(sent, "DescribeInstances")
    assert sent.json() == {"InstanceId": "crs-abc123"}


@pytest.mark.parametrize(
    ("found", "words"),
    [
        ([instance(-2)], "isolated"),
        ([instance(-3)], "pending deletion"),
        ([instance(2, NoAuth=True)], "password-free"),
        ([], "check instanceId and region"),
        ([{**instance(2), "InstanceId": "crs-other"}], "check instanceId and region"),
    ],
)
def test_v3_describe_refuses_instances_that_need_a_person(
    make: Make, found: list[dict[str, Any]], words: str
) -> None:
    harness = make({"DescribeInstances": [v3_ok(TotalCount=len(found), InstanceSet=found)]})
    with pytest.raises(InstanceStateError, match=words):
        harness.provider.inspect(secret(V3_MODIFY))


def test_v3_describe_is_retried_when_throttled(make: Make, fake_clock: FakeClock) -> None:
    answers = [v3_error("RequestLimitExceeded"), v3_ok(TotalCount=1, InstanceSet=[instance()])]
    harness = make({"DescribeInstances": answers})
    assert harness.provider.inspect(secret(V3_MODIFY)).status.ready
    assert harness.transport.actions() == ["DescribeInstances", "DescribeInstances"]
    assert fake_clock.sleeps, "backed off before retrying"


# -- error codes -----------------------------------------------------------------------------

V2_CODES: list[tuple[int, str, type[RotationError]]] = [
    (10502, "OldPasswordError", OldPasswordRejectedError),
    (10701, "InstanceNotExists", InstanceStateError),
    (10707, "InstanceLockedError", InstanceStateError),
    (10702, "InstanceStatusAbnormal", InstanceBusyError),
    (11058, "PasswordRuleError", PasswordPolicyError),
    (10501, "PasswordEmpty", PasswordPolicyError),
    (4400, "", ProviderRetryableError),
    (4500, "", ProviderRetryableError),
    (4100, "", ProviderCredentialsError),
    (4101, "", ProviderCredentialsError),
    (4110, "", ProviderCredentialsError),
    (11201, "InvalidParameter", ProviderError),
    (5100, "", ProviderError),
    # A business error reported under a common code is still recognised by its codeDesc.
    (4000, "OldPasswordError", OldPasswordRejectedError),
]
V3_CODES: list[tuple[str, type[RotationError]]] = [
    ("InvalidParameterValue.PasswordError", OldPasswordRejectedError),
    ("ResourceNotFound.InstanceNotExists", InstanceStateError),
    ("ResourceUnavailable.InstanceLockedError", InstanceStateError),
    ("ResourceUnavailable.InstanceStatusAbnormal", InstanceBusyError),
    ("InvalidParameterValue.PasswordRuleError", PasswordPolicyError),
    ("InvalidParameterValue.PasswordEmpty", PasswordPolicyError),
    ("RequestLimitExceeded", ProviderRetryableError),
    ("RequestLimitExceeded.UinLimitExceeded", ProviderRetryableError),
    ("InternalError", ProviderRetryableError),
    ("InternalError.InternalError", ProviderRetryableError),
    ("FailedOperation.SystemError", ProviderRetryableError),
    ("AuthFailure.SignatureFailure", ProviderCredentialsError),
    ("AuthFailure.SecretIdNotFound", ProviderCredentialsError),
    ("AuthFailure.SignatureExpire", ProviderCredentialsError),
    ("UnauthorizedOperation.NoCAMAuthed", ProviderCredentialsError),
    ("InvalidParameter", ProviderError),
    ("RequestLimitExceededSoon", ProviderError),  # a family is a code and its sub-codes
]


@pytest.mark.parametrize(("code", "description", "expected"), V2_CODES)
def test_v2_error_codes(
    make: Make, code: int, description: str, expected: type[RotationError]
) -> None:
    harness = make({"ModfiyRedisPassword": [v2_error(code, description)]})
    with pytest.raises(RotationError) as caught:
        harness.provider.change_password(secret(V2), UNSEEN, NEW, CURRENT)
    assert type(caught.value) is expected
    assert str(code) in str(caught.value)
    assert len(harness.transport.sent) == 1, "a change is never retried by the provider"


@pytest.mark.parametrize(("code", "expected"), V3_CODES)
@pytest.mark.parametrize("api", ["v3-modify", "v3-reset"])
def test_v3_error_codes(make: Make, api: str, code: str, expected: type[RotationError]) -> None:
    harness = make({CHANGE_ACTION[api]: [v3_error(code)]})
    with pytest.raises(RotationError) as caught:
        harness.provider.change_password(secret(APIS[api]), UNSEEN, NEW, CURRENT)
    assert type(caught.value) is expected
    assert code in str(caught.value)
    assert len(harness.transport.sent) == 1


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("ResourceNotFound.InstanceNotExists", "check instanceId and region"),
        ("ResourceUnavailable.InstanceLockedError", "unlock it"),
        ("ResourceUnavailable.InstanceStatusAbnormal", "check the instance in the console"),
        ("InvalidParameterValue.PasswordRuleError", "a bug"),
        ("AuthFailure.SignatureFailure", "check the keys in tencent-keys"),
        ("AuthFailure.SignatureExpire", "check the system clock"),
    ],
)
def test_errors_say_what_to_do(make: Make, code: str, words: str) -> None:
    harness = make({"ModifyInstancePassword": [v3_error(code)]})
    with pytest.raises(RotationError, match=words):
        harness.provider.change_password(secret(V3_MODIFY), UNSEEN, NEW, CURRENT)


def test_rule_errors_name_the_local_policy(make: Make) -> None:
    harness = make({"ModfiyRedisPassword": [v2_error(11058, "PasswordRuleError")]})
    with pytest.raises(PasswordPolicyError) as caught:
        harness.provider.change_password(secret(V2), UNSEEN, NEW, CURRENT)
    assert passwords.TENCENT_V2.name in str(caught.value)


@pytest.mark.parametrize("api", ["v2", "v3-modify"])
def test_provider_messages_are_redacted(make: Make, api: str) -> None:
    keys = {**KEYS, "token": "tmp-token-secret"}
    leaked = f"bad: {NEW} / {CURRENT} / {keys['secretKey']} / {keys['token']} / {keys['secretId']}"
    answer = v2_error(5100, "", leaked) if api == "v2" else v3_error("FailedOperation", leaked)
    harness = make({CHANGE_ACTION[api]: [answer]}, keys=keys)
    with pytest.raises(ProviderError) as caught:
        harness.provider.change_password(secret(APIS[api]), UNSEEN, NEW, CURRENT)
    text = str(caught.value)
    assert "***" in text
    for value in (NEW, CURRENT, *keys.values()):
        assert value not in text


@pytest.mark.parametrize(
    ("api", "answer"),
    [
        ("v2", {"message": "no code"}),
        ("v2", ["not", "an", "object"]),
        ("v3-modify", {"code": 0}),
        ("v3-modify", {"Response": {"Error": "flat"}}),
    ],
)
def test_unreadable_answers_are_retryable(make: Make, api: str, answer: Any) -> None:
    harness = make({CHANGE_ACTION[api]: [answer]})
    with pytest.raises(ProviderRetryableError, match="InvalidAnswer"):
        harness.provider.change_password(secret(APIS[api]), UNSEEN, NEW, CURRENT)


# -- waiting for the task --------------------------------------------------------------------


def test_v2_task_is_polled_until_it_succeeds(make: Make) -> None:
    statuses = [v2_ok({"status": s}) for s in (0, 1, 1, 2)]
    harness = make({"DescribeTaskInfo": statuses})
    harness.provider.wait_for_change(secret(V2), ChangeHandle("11966"))
    sent = harness.transport.sent
    assert len(sent) == 4
    assert all(s.data is not None and s.data["requestId"] == "11966" for s in sent)


@pytest.mark.parametrize(("status", "word"), [(3, "failed"), (-1, "error")])
def test_v2_failed_task_is_a_change_failure(make: Make, status: int, word: str) -> None:
    harness = make({"DescribeTaskInfo": [v2_ok({"status": 1}), v2_ok({"status": status})]})
    with pytest.raises(ChangeFailedError, match=f"task 11966 .* ended '{word}'"):
        harness.provider.wait_for_change(secret(V2), ChangeHandle("11966"))


def test_v3_task_is_polled_until_it_succeeds(make: Make) -> None:
    states = [v3_ok(Status=s, TaskMessage="") for s in ("preparing", "running", "succeed")]
    harness = make({"DescribeTaskInfo": states})
    harness.provider.wait_for_change(secret(V3_MODIFY), ChangeHandle("88"))
    assert [s.json() for s in harness.transport.sent] == [{"TaskId": 88}] * 3
    assert_tc3(harness.transport.sent[0], "DescribeTaskInfo")


@pytest.mark.parametrize("status", ["failed", "error"])
def test_v3_failed_task_reports_its_message_redacted(make: Make, status: str) -> None:
    harness = make(
        {
            "ModifyInstancePassword": [v3_ok(TaskId=88)],
            "DescribeTaskInfo": [v3_ok(Status=status, TaskMessage=f"could not set {NEW}")],
        }
    )
    value = secret(V3_MODIFY)
    handle = harness.provider.change_password(value, UNSEEN, NEW, CURRENT)
    with pytest.raises(ChangeFailedError) as caught:
        harness.provider.wait_for_change(value, handle)
    assert "could not set ***" in str(caught.value)
    assert NEW not in str(caught.value)


def test_task_polls_are_retried_when_throttled(make: Make) -> None:
    answers = [v3_error("RequestLimitExceeded"), v3_ok(Status="succeed", TaskMessage="")]
    harness = make({"DescribeTaskInfo": answers})
    harness.provider.wait_for_change(secret(V3_RESET), ChangeHandle("5"))
    assert harness.transport.actions() == ["DescribeTaskInfo", "DescribeTaskInfo"]


@pytest.mark.parametrize(
    ("api", "answer"),
    [("v2", v2_ok({"status": 9})), ("v3-modify", v3_ok(Status="paused"))],
)
def test_unknown_task_status_is_an_error(make: Make, api: str, answer: dict[str, Any]) -> None:
    harness = make({"DescribeTaskInfo": [answer]})
    with pytest.raises(ProviderError, match="UnknownTaskStatus"):
        harness.provider.wait_for_change(secret(APIS[api]), ChangeHandle("5"))


def test_a_task_that_outlasts_the_deadline_times_out(make: Make) -> None:
    harness = make({"DescribeTaskInfo": [v2_ok({"status": 1})]}, seconds=5)
    with pytest.raises(DeadlineExceededError):
        harness.provider.wait_for_change(secret(V2), ChangeHandle("5"))
    assert len(harness.transport.sent) > 3


# -- custom accounts (API 3.0) ---------------------------------------------------------------

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


def test_an_account_is_changed_with_modify_instance_account_and_its_password_only(
    make: Make,
) -> None:
    harness = make(
        {
            "DescribeInstanceAccount": [account_list(account("app_a"))],
            "ModifyInstanceAccount": [v3_ok(TaskId=55)],
        }
    )
    provider = harness.provider
    assert provider.policy(secret(ACCOUNT)) is passwords.TENCENT_V3_ACCOUNT
    assert not provider.needs_old_password(secret(ACCOUNT))
    handle = provider.change_password(secret(ACCOUNT), UNSEEN, NEW, None)
    assert handle.task_id == "55"
    *_, sent = harness.transport.sent
    assert_tc3(sent, "ModifyInstanceAccount")
    # No NoAuth, no privileges: only the password changes.
    assert sent.json() == {
        "InstanceId": "crs-abc123",
        "AccountName": "app_a",
        "AccountPassword": NEW,
    }


def test_a_missing_account_is_created_like_the_current_one(make: Make) -> None:
    current = account("app_a", Privilege="r", ReadonlyPolicy=["replication"])
    harness = make(
        {
            "DescribeInstanceAccount": [account_list(current)],
            "CreateInstanceAccount": [v3_ok(TaskId=56)],
        }
    )
    harness.provider.change_password(secret(ALTERNATE), UNSEEN, NEW, None)
    *_, sent = harness.transport.sent
    assert_tc3(sent, "CreateInstanceAccount")
    assert sent.json() == {
        "InstanceId": "crs-abc123",
        "AccountName": "app_b",
        "AccountPassword": NEW,
        "Privilege": "r",
        "ReadonlyPolicy": ["replication"],
    }


@pytest.mark.parametrize(
    ("value", "accounts", "ready", "busy"),
    [
        (ACCOUNT, [account("app_a")], True, False),
        (ACCOUNT, [account("app_a", status=1)], False, True),  # a task changes it
        (ALTERNATE, [account("app_a")], True, False),  # app_b will be created
    ],
)
def test_describe_asks_for_the_account(
    make: Make, value: dict[str, Any], accounts: list[dict[str, Any]], ready: bool, busy: bool
) -> None:
    harness = make(
        {
            "DescribeInstances": [v3_ok(TotalCount=1, InstanceSet=[instance()])],
            "DescribeInstanceAccount": [account_list(*accounts)],
        }
    )
    described = harness.provider.inspect(secret(value)).status
    assert (described.ready, described.busy) == (ready, busy)
    assert harness.transport.actions() == ["DescribeInstances", "DescribeInstanceAccount"]


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        (ACCOUNT, "has no account app_a: create it in the console, then"),
        ({**ALTERNATE, "createMissingAccount": False}, "or set createMissingAccount"),
    ],
)
def test_a_missing_account_is_named(make: Make, value: dict[str, Any], hint: str) -> None:
    harness = make(
        {
            "DescribeInstances": [v3_ok(TotalCount=1, InstanceSet=[instance()])],
            "DescribeInstanceAccount": [account_list(account("other"))],
        }
    )
    with pytest.raises(InstanceStateError, match=hint):
        harness.provider.inspect(secret(value))


def test_accounts_are_looked_up_page_by_page(make: Make) -> None:
    first = [account(f"a{i}") for i in range(100)]
    pages = [account_list(*first, total=101), account_list(account("app_a"), total=101)]
    harness = make({"DescribeInstanceAccount": pages, "ModifyInstanceAccount": [v3_ok(TaskId=1)]})
    harness.provider.change_password(secret(ACCOUNT), UNSEEN, NEW, None)
    offsets = [s.json()["Offset"] for s in harness.transport.sent[:2]]
    assert offsets == [0, 100]
    assert harness.transport.actions()[-1] == "ModifyInstanceAccount"


def test_the_change_uses_the_account_listing_of_the_inspection_it_is_given(make: Make) -> None:
    harness = make(
        {
            "DescribeInstances": [v3_ok(TotalCount=1, InstanceSet=[instance()])],
            "DescribeInstanceAccount": [account_list(account("app_a"))],
            "CreateInstanceAccount": [v3_ok(TaskId=3)],
            "ModifyInstanceAccount": [v3_ok(TaskId=4)],
        }
    )
    provider = harness.provider
    seen = provider.inspect(secret(ALTERNATE))
    assert seen.status.ready
    provider.change_password(secret(ALTERNATE), seen, NEW, None)
    provider.change_password(secret(ACCOUNT), UNSEEN, NEW, None)  # no listing given: asks again
    assert harness.transport.actions() == [
        "DescribeInstances",
        "DescribeInstanceAccount",
        "CreateInstanceAccount",
        "DescribeInstanceAccount",
        "ModifyInstanceAccount",
    ]


def test_an_account_without_privileges_to_copy_is_not_guessed(make: Make) -> None:
    current = {"AccountName": "app_a", "Status": 2}
    harness = make({"DescribeInstanceAccount": [account_list(current)]})
    with pytest.raises(InstanceStateError, match="no Privilege and ReadonlyPolicy to copy"):
        harness.provider.change_password(secret(ALTERNATE), UNSEEN, NEW, None)
    assert harness.transport.actions() == ["DescribeInstanceAccount"]


def test_tencent_saying_the_account_is_gone_is_a_state_error(make: Make) -> None:
    harness = make(
        {
            "DescribeInstanceAccount": [account_list(account("app_a"))],
            "ModifyInstanceAccount": [v3_error("ResourceNotFound.AccountDoesNotExists")],
        }
    )
    with pytest.raises(InstanceStateError, match="no such account"):
        harness.provider.change_password(secret(ACCOUNT), UNSEEN, NEW, None)
