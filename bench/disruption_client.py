"""``python -m bench.disruption_client``: one application process of the disruption
benchmark, of one client kind, under steady load (``bench.load``).

Protocol (JSON lines, ``bench.common.LineChannel``): the parent writes the spec (kind,
secret id, load shape); the child builds its clients and answers ``{"ready": true}``; on
``{"command": "stop"}`` it stops the load and answers with every command's sample and the
time of every Secrets Manager call its client made. The environment points boto3 at the
local cloud's Secrets Manager.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import boto3
import redis
from redis.credentials import CredentialProvider

from bench.load import Load
from localcloud.secretsmanager import CallCounter

KINDS = ("naive", "caching", "ours")


class CachingProvider(CredentialProvider):
    """``aws-secretsmanager-caching`` with its default settings behind redis-py's provider
    interface: every new connection asks the cache, which re-reads the secret hourly."""

    def __init__(self, cache: Any, secret_id: str) -> None:
        self._cache = cache
        self._secret_id = secret_id

    def get_credentials(self) -> tuple[str] | tuple[str, str]:
        value = json.loads(self._cache.get_secret_string(self._secret_id))
        return credentials(value)


def credentials(value: dict[str, Any]) -> tuple[str] | tuple[str, str]:
    """What an application sends to AUTH, as each provider documents it: a custom account
    logs in with one argument (Tencent ``<account>@<password>``, Alibaba
    ``<account>:<password>``); an ElastiCache RBAC user with two (``username``)."""
    password = str(value["password"])
    if value.get("account"):
        separator = ":" if value.get("provider") == "alibaba" else "@"
        return (f"{value['account']}{separator}{password}",)
    if value.get("username"):
        return (str(value["username"]), password)
    return (password,)


def client_factory(kind: str, secret_id: str, sm: Any) -> Callable[[], redis.Redis]:
    """How an application of ``kind`` makes a client (redis-py's defaults otherwise)."""
    if kind == "ours":
        from redis_rotation_client import redis_kwargs

        return lambda: redis.Redis(**redis_kwargs(secret_id, client=sm))
    value = json.loads(sm.get_secret_value(SecretId=secret_id)["SecretString"])
    where = {"host": value["host"], "port": int(value["port"]), "protocol": 2}
    if kind == "naive":
        # Reads AWSCURRENT once, at start-up.
        *user, password = credentials(value)
        username = user[0] if user else None
        return lambda: redis.Redis(**where, username=username, password=password)
    from aws_secretsmanager_caching import SecretCache, SecretCacheConfig

    provider = CachingProvider(SecretCache(config=SecretCacheConfig(), client=sm), secret_id)
    return lambda: redis.Redis(**where, credential_provider=provider)


def main() -> int:
    spec = json.loads(sys.stdin.readline())
    sm = boto3.client("secretsmanager")
    counter = CallCounter(sm)
    make_client = client_factory(spec["kind"], spec["secret_id"], sm)
    load = Load(
        make_client, threads=spec["threads"], rate=spec["rate"], recycle=spec["recycle"]
    ).start()
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        if json.loads(line).get("command") == "stop":
            break
    samples = load.stop()
    answer = {
        "samples": [s.to_json() for s in samples],
        "calls": [at for name, at in counter.calls if name == "GetSecretValue"],
    }
    print(json.dumps(answer), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
