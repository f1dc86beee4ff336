"""API endpoints: one strict form, read the same by our check and by the HTTP client, and
signed exactly as the client sends the Host header (lower case, no default port)."""

from __future__ import annotations

import pytest
import requests

from redis_rotation.errors import ConfigurationError
from redis_rotation.providers.transport import endpoint_url, normalized_endpoint

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("written", "url", "host"),
    [
        ("https://Redis.API.qcloud.com", "https://redis.api.qcloud.com/v2/index.php",
         "redis.api.qcloud.com"),
        ("https://redis.api.qcloud.com:443", "https://redis.api.qcloud.com/v2/index.php",
         "redis.api.qcloud.com"),
        ("redis.api.qcloud.com/", "https://redis.api.qcloud.com/v2/index.php",
         "redis.api.qcloud.com"),
        ("https://api.ucloud.cn:8443", "https://api.ucloud.cn:8443/v2/index.php",
         "api.ucloud.cn:8443"),
        ("http://LocalHost:80", "http://localhost/v2/index.php", "localhost"),
        ("http://127.0.0.1:9000", "http://127.0.0.1:9000/v2/index.php", "127.0.0.1:9000"),
    ],
)  # fmt: skip
def test_the_signed_host_is_the_host_header_the_client_sends(
    written: str, url: str, host: str
) -> None:
    assert endpoint_url(written, "/v2/index.php") == (url, host)
    # The oracle: what requests itself puts in the Host header for that URL.
    prepared = requests.Request("POST", url).prepare()
    sent = requests.adapters.HTTPAdapter().get_connection_with_tls_context(prepared, verify=True)
    default = {"https": 443, "http": 80}[str(sent.scheme)]
    assert (sent.host if sent.port in (None, default) else f"{sent.host}:{sent.port}") == host


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://evil.example\\@127.0.0.1",
        "http://127.0.0.1\\@evil.example",
        "https://user@api.ucloud.cn",
        "https://user:pw@api.ucloud.cn",
        "https://api.ucloud.cn/v2",
        "https://api.ucloud.cn?x=1",
        "https://api.ucloud.cn#frag",
        "https://api.ucloud.cn:99999",
        "ftp://api.ucloud.cn",
        "http://api.ucloud.cn",  # plain HTTP beyond loopback
        "https://api.ucloud.cn\t",
        "https://",
    ],
)
def test_anything_beyond_scheme_host_port_is_refused(endpoint: str) -> None:
    with pytest.raises(ConfigurationError):
        normalized_endpoint(endpoint)
