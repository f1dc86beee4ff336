"""Fakes for the client's unit tests: a Secrets Manager client over a stage map, and a
connection whose AUTH the test decides."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError
from redis.exceptions import AuthenticationError

from redis_rotation_client import SecretsManagerCredentialProvider
from tests.support.clock import FakeClock

# The TLS settings a secret may have, each a different connection.
TLS_VARIANTS = [
    {"enabled": False},
    {"enabled": False, "verify": True, "caCertificate": "a CA"},
    {"enabled": True},
    {"enabled": True, "verify": False},
    {"enabled": True, "verify": True, "caCertificate": "a CA"},
]

BASE = {"provider": "uredis", "host": "10.0.0.5", "port": 6379, "tls": {"enabled": False}}


class FakeSecrets:
    """get_secret_value over a stage -> SecretString map; counts the calls."""

    def __init__(self, stages: dict[str, dict[str, Any]]) -> None:
        self.stages = stages
        self.calls: list[str] = []

    def get_secret_value(self, SecretId: str, VersionStage: str) -> dict[str, Any]:
        assert SecretId == "app/redis"
        self.calls.append(VersionStage)
        if VersionStage not in self.stages:
            error = {"Error": {"Code": "ResourceNotFoundException", "Message": "none"}}
            raise ClientError(error, "GetSecretValue")  # type: ignore[arg-type]
        return {"SecretString": json.dumps(self.stages[VersionStage])}


class Handshake:
    """A connection whose AUTH the test decides: it asks the provider as redis-py does."""

    def __init__(self, provider: SecretsManagerCredentialProvider, accepted: set[str]) -> None:
        self.provider = provider
        self.accepted = accepted
        self.sent: tuple[str, ...] = ()
        self.host, self.port = BASE["host"], BASE["port"]  # where redis-py connected it

    def on_connect(self) -> None:
        self.sent = self.provider.get_credentials()
        if self.sent[-1] not in self.accepted:
            raise AuthenticationError("WRONGPASS")

    def connect(self) -> tuple[str, ...]:
        self.provider.on_connect(self)  # type: ignore[arg-type]
        return self.sent


def provider(
    stages: dict[str, dict[str, Any]], clock: FakeClock, **options: Any
) -> tuple[SecretsManagerCredentialProvider, FakeSecrets]:
    secrets = FakeSecrets(stages)
    made = SecretsManagerCredentialProvider(
        "app/redis", client=secrets, clock=clock.clock, **options
    )
    return made, secrets
