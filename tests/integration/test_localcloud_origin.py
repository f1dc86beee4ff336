"""The local Secrets Manager (moto server) as a web page meets it, over real HTTP: a page
from another origin, or one reached through a rebound DNS name, reads nothing, and no
answer allows another origin. boto3 and the AWS CLI send no Origin and keep working."""

from __future__ import annotations

import http.client
import json
import urllib.parse

import pytest

from localcloud.cloud import LocalCloud

pytestmark = pytest.mark.integration

READ = {
    # moto routes by the credential scope; it checks no signature.
    "Authorization": "AWS4-HMAC-SHA256 Credential=localcloud/20261204/us-east-1/secretsmanager/"
    "aws4_request, SignedHeaders=host, Signature=0",
    "X-Amz-Target": "secretsmanager.GetSecretValue",
    "Content-Type": "application/x-amz-json-1.1",
}


def ask(
    cloud: LocalCloud, method: str, headers: dict[str, str], body: bytes = b""
) -> tuple[int, dict[str, str], bytes]:
    address = urllib.parse.urlsplit(cloud.sm.endpoint)
    assert address.hostname is not None
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
    sent = {"Host": address.netloc, **headers}
    connection.request(method, "/", body=body, headers=sent)
    answer = connection.getresponse()
    read = answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
    connection.close()
    return read


@pytest.fixture(scope="module")
def secret(cloud: LocalCloud) -> tuple[str, str]:
    """A secret and its password, made through boto3 (which sends no Origin)."""
    password = "origin-test-password-0123"
    arn = cloud.create_secret("origin/page-target", {"password": password})
    return arn, password


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"Origin": "http://evil.example"}, id="foreign Origin"),
        pytest.param({"Origin": "null"}, id="sandboxed page"),
        pytest.param({"Origin": "http://127.0.0.1:1"}, id="another loopback port"),
        pytest.param({"Host": "evil.example"}, id="DNS rebinding"),
        pytest.param({"Host": "rebound.example:80", "Origin": "http://rebound.example"}, id="both"),
    ],
)
def test_a_web_page_reads_no_secret(
    cloud: LocalCloud, secret: tuple[str, str], headers: dict[str, str]
) -> None:
    arn, password = secret
    body = json.dumps({"SecretId": arn}).encode()
    status, answer, content = ask(cloud, "POST", {**READ, **headers}, body)
    assert status == 403
    assert password.encode() not in content
    assert not [h for h in answer if h.startswith("access-control-")], answer
    # The CORS preflight a page's fetch() sends first is refused too, and allows nothing.
    status, answer, _ = ask(
        cloud,
        "OPTIONS",
        {
            **headers,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-amz-target,content-type",
        },
    )
    assert status == 403
    assert not [h for h in answer if h.startswith("access-control-")], answer


def test_an_sdk_request_is_answered_without_cors(
    cloud: LocalCloud, secret: tuple[str, str]
) -> None:
    arn, password = secret
    status, answer, content = ask(cloud, "POST", READ, json.dumps({"SecretId": arn}).encode())
    assert status == 200
    assert json.loads(content)["SecretString"] == json.dumps({"password": password})
    assert not [h for h in answer if h.startswith("access-control-")], answer
    assert cloud.value(arn, "AWSCURRENT") == {"password": password}  # boto3, too
