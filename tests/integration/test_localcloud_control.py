"""`up`'s control endpoint, attacked as a web page (or another local user) would, over real
HTTP: only a caller holding the run's token, speaking JSON to a loopback name, may make a
secret, and only a secret of the functions' own schema."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any

import pytest

from localcloud.cloud import LocalCloud
from localcloud.control import ControlServer

pytestmark = pytest.mark.integration

TOKEN = "control-token-for-the-tests-0123456789"
GOOD = {"name": "control/a-page-wants-this", "provider": "uredis", "fields": {}}


@pytest.fixture(scope="module")
def control(cloud: LocalCloud) -> Iterator[ControlServer]:
    server = ControlServer(cloud, TOKEN).start()
    yield server
    server.stop()


def post(
    control: ControlServer, body: Any, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    host, port = control.address
    connection = http.client.HTTPConnection(host, port, timeout=60)
    sent = {
        "Host": f"127.0.0.1:{port}",
        "Content-Type": "application/json",
        "Authorization": f"Bearer {TOKEN}",
        **(headers or {}),
    }
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    connection.request("POST", "/secrets", body=data, headers=sent)
    answer = connection.getresponse()
    document = json.loads(answer.read() or b"{}")
    connection.close()
    return answer.status, document


def everything(cloud: LocalCloud) -> tuple[list[str], dict[str, str], int]:
    """What a request could change, read back over HTTP: every secret's name, the keys'
    secrets' values (their grants), and the redis-servers the cloud runs."""
    client = cloud.sm.secrets_manager()
    names = sorted(s["Name"] for s in client.list_secrets(MaxResults=100)["SecretList"])
    keys = {
        arn: client.get_secret_value(SecretId=arn)["SecretString"]
        for arn in cloud.credentials.values()
    }
    return names, keys, len(cloud.redis_servers)


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        pytest.param({"Authorization": ""}, 401, id="no token"),
        pytest.param({"Authorization": "Bearer guessed"}, 401, id="wrong token"),
        pytest.param({"Content-Type": "text/plain"}, 415, id="a form's text/plain"),
        pytest.param({"Content-Type": "application/x-www-form-urlencoded"}, 415, id="form"),
        pytest.param({"Host": "evil.example:80"}, 403, id="DNS rebinding Host"),
        pytest.param({"Host": "127.0.0.1:1"}, 403, id="another port"),
        pytest.param({"Origin": "http://evil.example"}, 403, id="foreign Origin"),
        pytest.param({"Origin": "null"}, 403, id="sandboxed page"),
    ],
)
def test_a_web_page_or_a_stranger_is_refused_and_nothing_changes(
    cloud: LocalCloud, control: ControlServer, headers: dict[str, str], status: int
) -> None:
    before = everything(cloud)
    answer, document = post(control, GOOD, headers)
    assert answer == status, document
    assert "error" in document
    assert everything(cloud) == before


@pytest.mark.parametrize(
    ("provider", "fields", "name", "named"),
    [
        ("uredis", {}, "*", "name"),
        ("uredis", {}, "control/a?b", "name"),
        ("uredis", {}, "control/[ab]", "name"),
        ("uredis", {}, "control/\x1b[2Kok", "name"),
        ("tencent", {"instanceId": "*"}, "control/star-instance", "instanceId"),
        ("uredis", {"groupId": "uredis-[0-9]"}, "control/glob-group", "groupId"),
        ("uredis", {"spaceId": "umem-?"}, "control/glob-space", "spaceId"),
        ("tencent", {"account": "or*"}, "control/glob-account", "account"),
        ("uredis", {"replicas": 50}, "control/many-replicas", "replicas"),
        ("uredis", {"replicaz": 1}, "control/typo", "replicaz"),
        ("uredis", {"apply_delay": 600}, "control/emulator-knob", "apply_delay"),
        ("tencent", {"apiVersion": "4.0"}, "control/api-4", "apiVersion"),
        ("uredis", {"port": "six"}, "control/port-six", "port"),
        ("uredis", {"credentialsSecretId": "localcloud/tencent-api-keys"}, "control/k", "cred"),
        # The ids the local cloud makes: naming one could aim the secret at another's user.
        ("elasticache", {"userId": "user-0a1b2c3d"}, "control/other-user", "userId"),
        ("elasticache", {"replicationGroupId": "rg-0a1b"}, "control/other-group", "replication"),
        ("alibaba", {"instanceId": "r-bp1taken"}, "control/other-instance", "instanceId"),
        ("elasticache", {"kind": "nopass"}, "control/nopass", "kind"),
        ("elasticache", {"replicas": True}, "control/true-replicas", "replicas"),
        ("alibaba", {"architecture": "sharded"}, "control/sharded", "architecture"),
        ("alibaba", {"account": "x:y"}, "control/colon-account", "account"),
        ("tencent", {"instanceId": "crs-demo-taken"}, "control/taken-instance", "instanceId"),
        ("uredis", {}, "control/taken-name", "name"),
    ],
)
def test_a_bad_request_names_its_field_and_changes_nothing(
    cloud: LocalCloud,
    control: ControlServer,
    provider: str,
    fields: dict[str, Any],
    name: str,
    named: str,
) -> None:
    # An instance and a secret that exist already: a request may not take them over.
    if "control/taken" not in cloud.secrets:
        cloud.add_tencent_secret("control/taken", instance_id="crs-demo-taken")
    if name == "control/taken-name":
        name = "control/taken"
    before = everything(cloud)
    answer, document = post(control, {"name": name, "provider": provider, "fields": fields})
    assert answer == 400, document
    assert named in document["error"]
    assert "\x1b" not in document["error"]
    assert everything(cloud) == before


def test_a_body_too_large_or_not_json_is_refused(cloud: LocalCloud, control: ControlServer) -> None:
    before = everything(cloud)
    assert post(control, b"{not json")[0] == 400
    assert post(control, b" " * (1 << 20))[0] == 413
    assert everything(cloud) == before


def test_what_the_owner_asks_is_made_with_its_own_grant(
    cloud: LocalCloud, control: ControlServer
) -> None:
    answer, document = post(control, GOOD)
    assert answer == 200, document
    grants = json.loads(
        cloud.sm.secrets_manager().get_secret_value(SecretId=cloud.credentials["uredis"])[
            "SecretString"
        ]
    )["grants"]
    mine = [g for g in grants if GOOD["name"] in g["secrets"]]
    assert mine == [
        {"secrets": [GOOD["name"]], "instances": [document["groupId"]], "region": "cn-bj2"}
    ]


def test_a_space_is_named_by_space_id_alone(cloud: LocalCloud, control: ControlServer) -> None:
    request = {"name": "control/space", "provider": "uredis", "fields": {"spaceId": "umem-mine"}}
    answer, document = post(control, request)
    assert answer == 200, document
    value = cloud.value(document["arn"], "AWSCURRENT")
    assert value["spaceId"] == "umem-mine"
    assert "groupId" not in value
    assert cloud.driver("uredis").rotate(document["arn"]).succeeded


def test_an_alternating_pair_is_granted_both_accounts_and_no_more(
    cloud: LocalCloud, control: ControlServer
) -> None:
    fields = {
        "apiVersion": "3.0",
        "account": "shop",
        "strategy": "alternating",
        "accounts": ["shop", "shop_clone"],
    }
    answer, document = post(
        control, {"name": "control/alternating", "provider": "tencent", "fields": fields}
    )
    assert answer == 200, document
    keys = cloud.sm.secrets_manager().get_secret_value(SecretId=cloud.credentials["tencent"])
    grants = json.loads(keys["SecretString"])["grants"]
    mine = [g for g in grants if "control/alternating" in g["secrets"]]
    assert [sorted(g["accounts"]) for g in mine] == [["shop", "shop_clone"]]
    assert [g["instances"] for g in mine] == [[document["instanceId"]]]
    value = cloud.value(document["arn"], "AWSCURRENT")
    assert {k: value[k] for k in fields} == fields
    result = cloud.driver("tencent").rotate(document["arn"])
    assert result.succeeded, result.runs
    assert cloud.value(document["arn"], "AWSCURRENT")["account"] == "shop_clone"


@pytest.mark.parametrize(
    ("provider", "fields", "shown"),
    [
        ("elasticache", {}, "userId"),
        ("elasticache", {"kind": "token", "replicas": 0}, "replicationGroupId"),
        (
            "alibaba",
            {
                "architecture": "cluster",
                "account": "shop",
                "strategy": "alternating",
                "accounts": ["shop", "shop_b"],
            },
            "instanceId",
        ),
    ],
)
def test_the_new_providers_secrets_are_made_granted_and_rotate(
    cloud: LocalCloud, control: ControlServer, provider: str, fields: dict[str, Any], shown: str
) -> None:
    name = f"control/{provider}-{shown}"
    answer, document = post(control, {"name": name, "provider": provider, "fields": fields})
    assert answer == 200, document
    value = cloud.value(document["arn"], "AWSCURRENT")
    assert value["provider"] == provider
    assert value[shown] == document[shown]
    assert "password" not in json.dumps(document)
    keys = cloud.sm.secrets_manager().get_secret_value(SecretId=cloud.credentials[provider])
    mine = [g for g in json.loads(keys["SecretString"])["grants"] if name in g["secrets"]]
    assert len(mine) == 1, "granted to this secret alone"
    result = cloud.driver(provider).rotate(document["arn"])
    assert result.succeeded, result.runs
    assert cloud.secrets[name].accepts(cloud.value(document["arn"], "AWSCURRENT"))
