"""Tencent API 2.0 (TencentV2Api): the documented requests, signed; DescribeRedis; its tasks."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from redis_rotation.errors import (
    ChangeFailedError,
    ConfigurationError,
    InstanceStateError,
)
from redis_rotation.providers.base import ChangeHandle
from tests.support.inspection import UNSEEN
from tests.unit.tencent.support import (
    CURRENT,
    KEYS,
    NEW,
    NOW,
    V2,
    Make,
    assert_v2_signed,
    redis_set,
    secret,
    v2_ok,
)

pytestmark = pytest.mark.unit


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
