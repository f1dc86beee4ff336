"""The trust boundary, tried as an attacker who may write one rotated secret would: each
attack of issue 10 through the real handler against the local cloud. None may change an
instance, send a provider request or a password where the keys' owner did not allow, or
learn a password; each fails with an error that names the field.

What reached the world is seen two ways: the instrument's seams record every provider and
Redis call the function made, and the attacker's own servers count what they received.
"""

from __future__ import annotations

import http.server
import itertools
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from localcloud.cloud import ExampleSecret, LocalCloud
from localcloud.driver import RotationDriver
from localcloud.emulators.alibaba import Account as AlibabaAccount
from localcloud.emulators.tencent import Account
from localcloud.instrument import Call, Recorder, instrument
from localcloud.redis_server import RedisServer
from redis_rotation.errors import NotPermittedError, RedisAuthError, RotationError
from redis_rotation.providers.transport import normalized_endpoint
from tests.e2e.test_edits_during_rotation import allow_address

pytestmark = pytest.mark.e2e

_names = itertools.count()
CHANGES = {
    "ModifyURedisGroupPassword",
    "ModfiyRedisPassword",
    "ModifyInstancePassword",
    "ModifyInstanceAccount",
    "CreateInstanceAccount",
    "ModifyInstanceAttribute",
    "ResetAccountPassword",
    "CreateAccount",
    "ModifyUser",
    "ModifyReplicationGroup",
}
PROVIDERS = ["uredis", "tencent", "alibaba"]
# ElastiCache's kinds, where an attack has their form here (test_elasticache_trust.py and
# test_trust_boundary_clouds.py have the others).
ELASTICACHE = ["elasticache-user", "elasticache-token"]
TOKEN = "attacker-rotation-token-0123456789abcdefghij"


class CaptureServer(http.server.ThreadingHTTPServer):
    """The attacker's API host: counts every request it gets, answers nothing useful."""

    requests: int = 0


class _Capture(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        assert isinstance(self.server, CaptureServer)
        self.server.requests += 1
        self.send_response(500)
        self.end_headers()

    do_GET = do_POST

    def log_message(self, *_: Any) -> None:  # quiet
        return


@pytest.fixture
def attacker_api() -> Iterator[CaptureServer]:
    server = CaptureServer(("127.0.0.1", 0), _Capture)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def attacker_redis() -> Iterator[RedisServer]:
    """The attacker's Redis: no password, so it would accept (and see) any AUTH."""
    with RedisServer(None) as server:
        yield server


def connections(server: RedisServer) -> int:
    """Connections the server has received, this question's own included."""
    return int(server.admin().info("stats")["total_connections_received"])


def secret(cloud: LocalCloud, provider: str) -> ExampleSecret:
    name = f"attacker/{provider}-{next(_names)}"
    if provider == "uredis":
        return cloud.add_uredis_secret(name)
    if provider == "alibaba":
        return cloud.add_alibaba_secret(name)
    if provider in ELASTICACHE:
        return cloud.add_elasticache_secret(name, kind=provider.split("-", 1)[1])
    return cloud.add_tencent_secret(name, api_version="3.0")


def write(cloud: LocalCloud, example: ExampleSecret, **changes: Any) -> None:
    """What the secret's writer may do: put a new AWSCURRENT value."""
    value = {**cloud.value(example.arn, "AWSCURRENT"), **changes}
    cloud.sm.secrets_manager().put_secret_value(
        SecretId=example.arn, SecretString=json.dumps(value)
    )


def run_steps(
    cloud: LocalCloud, example: ExampleSecret, steps: tuple[str, ...]
) -> tuple[RotationError | None, str, list[Call]]:
    """Run ``steps`` of one rotation through the real handler, recording every call."""
    recorder = Recorder()
    with instrument(recorder) as seams:
        driver: RotationDriver = cloud.driver(example.provider, seams=seams)
        token = driver.start(example.arn)
        for step in steps:
            try:
                driver.run_step(example.arn, token, step, TOKEN)
            except RotationError as exc:
                return exc, step, recorder.calls
    return None, "", recorder.calls


def rotate_as_attacker(
    cloud: LocalCloud, example: ExampleSecret
) -> tuple[RotationError | None, str, list[Call]]:
    return run_steps(cloud, example, ("createSecret", "setSecret", "testSecret", "finishSecret"))


def changes(calls: list[Call]) -> list[Call]:
    return [c for c in calls if c.kind == "provider" and c.name in CHANGES]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_1_another_teams_instance_cannot_be_changed(cloud: LocalCloud, provider: str) -> None:
    attacker, victim = secret(cloud, provider), secret(cloud, provider)
    victim_password = cloud.value(victim.arn, "AWSCURRENT")["password"]
    field = "groupId" if provider == "uredis" else "instanceId"
    write(
        cloud,
        attacker,
        **{field: victim.details[field], "host": victim.redis.host, "port": victim.redis.port},
    )

    error, step, calls = rotate_as_attacker(cloud, attacker)

    assert isinstance(error, NotPermittedError), error
    assert step == "createSecret"
    assert f"field '{field}'" in str(error)
    assert calls == [c for c in calls if c.kind == "secretsmanager"], "no provider or Redis call"
    assert victim.redis.accepts(victim_password), "the victim's instance kept its password"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_2_signed_requests_never_go_to_the_writers_host(
    cloud: LocalCloud, provider: str, attacker_api: CaptureServer
) -> None:
    example = secret(cloud, provider)
    # Tencent 3.0 modify would send AWSCURRENT and AWSPREVIOUS as OldPassword there.
    write(cloud, example, apiEndpoint=f"http://127.0.0.1:{attacker_api.server_port}")

    error, step, calls = rotate_as_attacker(cloud, example)

    assert isinstance(error, NotPermittedError), error
    assert step == "createSecret"
    assert "field 'apiEndpoint'" in str(error)
    assert attacker_api.requests == 0
    assert not [c for c in calls if c.kind != "secretsmanager"]


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://{attacker}\\@127.0.0.1:{api}",
        "http://127.0.0.1:{api}\\@{attacker}",
        "http://{attacker}%5C@127.0.0.1:{api}",
        "http://127.0.0.1:{api}@{attacker}",
        "http://127.0.0.1:{api}/@{attacker}",
        "http://127.0.0.1:{api}#@{attacker}",
        "http://127.0.0.1:{api}?@{attacker}",
    ],
)
def test_3_plain_http_to_loopback_cannot_be_smuggled_elsewhere(
    cloud: LocalCloud, attacker_api: CaptureServer, endpoint: str
) -> None:
    example = secret(cloud, "uredis")
    api = cloud.uredis.endpoint.rsplit(":", 1)[1]
    url = endpoint.format(attacker=f"localhost:{attacker_api.server_port}", api=api)
    # The keys' owner could not list it either: the parser the HTTP client uses refuses it.
    with pytest.raises(RotationError):
        normalized_endpoint(url)
    write(cloud, example, apiEndpoint=url)

    error, step, calls = rotate_as_attacker(cloud, example)

    assert error is not None
    assert step == "createSecret"
    assert "field 'apiEndpoint'" in str(error)
    assert attacker_api.requests == 0
    assert not [c for c in calls if c.kind != "secretsmanager"]


@pytest.mark.parametrize("where", ["host", "readOnlyEndpoints"])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_4_the_new_password_never_goes_to_the_writers_redis(
    cloud: LocalCloud, attacker_redis: RedisServer, provider: str, where: str
) -> None:
    example = secret(cloud, provider)
    old = cloud.value(example.arn, "AWSCURRENT")["password"]
    attacker = {"host": attacker_redis.host, "port": attacker_redis.port}
    if where == "host":
        write(cloud, example, **attacker)
    else:
        write(cloud, example, readOnlyEndpoints=[attacker])
    before = connections(attacker_redis)

    error, step, calls = rotate_as_attacker(cloud, example)

    assert isinstance(error, NotPermittedError), error
    assert step == "setSecret"
    assert ("field 'host'" if where == "host" else "field 'readOnlyEndpoints.0'") in str(error)
    assert connections(attacker_redis) == before + 1, "the writer's Redis saw only ours"
    assert not [c for c in calls if c.kind == "redis"], "no AUTH anywhere"
    assert not changes(calls)
    assert example.redis.accepts(old)


@pytest.mark.parametrize("provider", PROVIDERS + ELASTICACHE)
def test_5_finish_right_after_create_promotes_nothing(cloud: LocalCloud, provider: str) -> None:
    example = secret(cloud, provider)
    old = cloud.value(example.arn, "AWSCURRENT")["password"]

    error, step, calls = run_steps(cloud, example, ("createSecret", "finishSecret"))

    assert isinstance(error, RedisAuthError), error
    assert step == "finishSecret"
    assert "refusing to make it AWSCURRENT" in str(error)
    assert cloud.value(example.arn, "AWSCURRENT")["password"] == old
    assert cloud.accepted_stages(example) == ["AWSCURRENT"]
    assert not changes(calls)


def account_secret(cloud: LocalCloud, provider: str) -> tuple[ExampleSecret, Any]:
    """A secret of the custom account "app", and its instance, which has another
    application's account "other_app" too."""
    name = f"attacker/{provider}-account-{next(_names)}"
    if provider == "alibaba":
        example = cloud.add_alibaba_secret(name, account="app")
        emulator: Any = cloud.alibaba
        other: Any = AlibabaAccount("other_app", "Other-pass1")
    else:
        example = cloud.add_tencent_secret(name, api_version="3.0", account="app")
        emulator, other = cloud.tencent, Account("other_app", "Other-pass1")
    emulator.add_account(example.details["instanceId"], other)
    return example, emulator.instances[example.details["instanceId"]]


@pytest.mark.parametrize("provider", ["tencent", "alibaba"])
@pytest.mark.parametrize(
    "changes_made",
    [
        {"account": "other_app"},  # another application's account, same instance
        {"strategy": "alternating", "accounts": ["app", "admin_clone"]},  # one not granted
        {"strategy": "alternating", "accounts": ["app", "x"], "createMissingAccount": True},
    ],
    ids=["account", "accounts", "create"],
)
def test_6_a_writer_may_name_only_the_accounts_the_grant_lists(
    cloud: LocalCloud, changes_made: dict[str, Any], provider: str
) -> None:
    # Tencent's ModifyInstanceAccount and Alibaba's ResetAccountPassword need no old
    # password: naming an account would take it over.
    example, instance = account_secret(cloud, provider)
    write(cloud, example, **changes_made)

    error, step, calls = rotate_as_attacker(cloud, example)

    assert isinstance(error, NotPermittedError), error
    assert step == "createSecret"
    field = "account" if "accounts" not in changes_made else "accounts.1"
    assert f"field '{field}'" in str(error)
    assert calls == [c for c in calls if c.kind == "secretsmanager"], "no provider or Redis call"
    assert instance.password_changes == 0
    assert example.redis.accepts("Other-pass1", user="other_app")


@pytest.mark.parametrize(
    ("granted", "written"),
    [
        # Issue 19 item 5: the old glob read the brackets as a class, so "0" (which the
        # resolver takes for this machine) matched; item 4: a name under an IP range.
        ("[fd00:1::5]", "0"),
        ("127.0.0.0/8", "localhost"),
    ],
)
def test_7_an_ip_pattern_never_sends_the_password_to_a_name(
    cloud: LocalCloud, attacker_redis: RedisServer, granted: str, written: str
) -> None:
    example = secret(cloud, "uredis")
    old = cloud.value(example.arn, "AWSCURRENT")["password"]
    allow_address(cloud, example, f"{granted}:{attacker_redis.port}")
    write(cloud, example, host=written, port=attacker_redis.port)
    before = connections(attacker_redis)

    error, step, calls = rotate_as_attacker(cloud, example)

    assert isinstance(error, NotPermittedError), error
    assert step == "setSecret"
    assert "field 'host'" in str(error)
    assert connections(attacker_redis) == before + 1, "the writer's Redis saw only ours"
    assert not [c for c in calls if c.kind == "redis"], "no AUTH anywhere"
    assert not changes(calls)
    assert example.redis.accepts(old)
