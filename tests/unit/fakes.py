"""In-memory stand-ins for unit tests of the engine: Secrets Manager, a provider, Redis.

The Secrets Manager fake keeps versions and labels as the service does (a label lives on one
version at a time; moving AWSCURRENT labels the old one AWSPREVIOUS) and raises botocore's
ClientError with the service's codes. Integration and e2e tests use moto's server instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from redis_rotation import passwords
from redis_rotation.errors import ProviderError, RedisUnreachableError
from redis_rotation.passwords import PasswordPolicy
from redis_rotation.providers.base import ChangeHandle, Inspection, InstanceStatus, ProviderContext
from redis_rotation.redis_check import RedisTarget
from redis_rotation.secret import RedisSecret

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:redis-abc"
NAME = "redis-abc"
# The credentials secret "keys": the engine's unit tests' secret may change uredis-abc.
KEYS = {
    "publicKey": "unit-public",
    "privateKey": "unit-private",
    "grants": [
        {
            "secrets": [NAME],
            "instances": ["uredis-abc"],
            "region": "cn-bj2",
            "redisAddresses": ["10.0.0.5:6379"],
        }
    ],
}


def client_error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, operation)


@dataclass
class FakeSecretsManager:
    versions: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> value, stages
    rotation_enabled: bool | None = True
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    generated: list[str] = field(default_factory=list)  # passwords to hand out, in order
    # Other secrets (the credentials secret): id -> SecretString.
    others: dict[str, str] = field(default_factory=lambda: {"keys": json.dumps(KEYS)})

    def add_version(self, version: str, stages: list[str], value: dict[str, Any] | None) -> None:
        for other in self.versions.values():
            other["stages"] = [s for s in other["stages"] if s not in stages]
        self.versions[version] = {
            "stages": list(stages),
            "string": None if value is None else json.dumps(value),
        }

    def stages_of(self, version: str) -> list[str]:
        return list(self.versions[version]["stages"])

    def value_of(self, stage: str) -> dict[str, Any]:
        for version in self.versions.values():
            if stage in version["stages"]:
                value: dict[str, Any] = json.loads(version["string"])
                return value
        raise KeyError(stage)

    # -- the API the engine uses -----------------------------------------------------------

    def describe_secret(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("DescribeSecret", kwargs))
        result: dict[str, Any] = {
            "ARN": ARN,
            "Name": NAME,
            "VersionIdsToStages": {v: list(d["stages"]) for v, d in self.versions.items()},
        }
        if self.rotation_enabled is not None:
            result["RotationEnabled"] = self.rotation_enabled
        return result

    def get_secret_value(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("GetSecretValue", kwargs))
        if kwargs["SecretId"] in self.others:
            return {"SecretString": self.others[kwargs["SecretId"]]}
        version_id, stage = kwargs.get("VersionId"), kwargs.get("VersionStage")
        for vid, data in self.versions.items():
            if version_id not in (None, vid) or (stage and stage not in data["stages"]):
                continue
            if data["string"] is None:
                break
            return {"ARN": ARN, "VersionId": vid, "SecretString": data["string"]}
        raise client_error("ResourceNotFoundException", "GetSecretValue")

    def put_secret_value(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("PutSecretValue", kwargs))
        token = kwargs["ClientRequestToken"]
        existing = self.versions.get(token)
        if existing and existing["string"] not in (None, kwargs["SecretString"]):
            raise client_error("ResourceExistsException", "PutSecretValue")
        stages = kwargs.get("VersionStages", ["AWSCURRENT"])
        self.add_version(token, stages, json.loads(kwargs["SecretString"]))
        return {"ARN": ARN, "VersionId": token}

    def update_secret_version_stage(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("UpdateSecretVersionStage", kwargs))
        stage, move_to = kwargs["VersionStage"], kwargs.get("MoveToVersionId")
        remove_from = kwargs.get("RemoveFromVersionId")
        holder = next((v for v, d in self.versions.items() if stage in d["stages"]), None)
        if holder is not None and holder != remove_from and move_to is not None:
            raise client_error("InvalidParameterException", "UpdateSecretVersionStage")
        if remove_from is not None:
            self.versions[remove_from]["stages"].remove(stage)
        if move_to is not None:
            self.versions[move_to]["stages"].append(stage)
            if stage == "AWSCURRENT" and remove_from is not None:
                for data in self.versions.values():
                    if "AWSPREVIOUS" in data["stages"]:
                        data["stages"].remove("AWSPREVIOUS")
                self.versions[remove_from]["stages"].append("AWSPREVIOUS")
        return {"ARN": ARN}

    def get_random_password(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("GetRandomPassword", kwargs))
        return {"RandomPassword": self.generated.pop(0)}

    def count(self, operation: str) -> int:
        return sum(1 for name, _ in self.calls if name == operation)


@dataclass
class FakeRedis:
    """A RedisProbe: the password the instance accepts; ``unreachable`` makes every check
    fail to connect. A client without a password is always refused."""

    password: str
    unreachable: bool = False
    checks: int = 0
    kept: set[str] = field(default_factory=set)  # also accepted (a provider's second password)
    asked: list[str] = field(default_factory=list)  # each endpoint a password was sent to

    def ping(self, target: RedisTarget, username: str | None, password: str | None) -> bool:
        if password is None:
            return False  # the anonymous half of the proof: refused, as a real instance does
        self.checks += 1
        self.asked.append(str(target.endpoint))
        if self.unreachable:
            raise RedisUnreachableError(
                f"cannot reach Redis at {target.endpoint} (ConnectionError)"
            )
        return password == self.password or password in self.kept


@dataclass
class FakeProvider:
    """A scripted provider. ``statuses`` are returned in turn (the last one repeats)."""

    redis: FakeRedis
    name: str = "uredis"
    credentials_schema: str = "credentials-uredis.schema.json"
    old_password_needed: bool = False
    statuses: list[InstanceStatus] = field(
        default_factory=lambda: [InstanceStatus(ready=True, busy=False, detail="Running")]
    )
    failures: list[ProviderError] = field(default_factory=list)  # raised by change, in turn
    accepted_old: set[str] | None = None  # old passwords the change accepts (None: any)
    calls: list[tuple[str, Any]] = field(default_factory=list)
    contexts: list[ProviderContext] = field(default_factory=list)
    policy_value: PasswordPolicy = passwords.UREDIS
    strict: bool = False  # two passwords after a change; one once the previous is dropped

    def policy(self, secret: RedisSecret) -> PasswordPolicy:
        return self.policy_value

    def needs_old_password(self, secret: RedisSecret) -> bool:
        return self.old_password_needed

    def __call__(self, context: ProviderContext) -> FakeProvider:
        """As a ProviderFactory: this provider, whatever the context."""
        self.contexts.append(context)
        return self

    def inspect(self, secret: RedisSecret) -> Inspection:
        self.calls.append(("describe", None))
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return Inspection(status, None)  # as Tencent API 2.0: only the grant allows addresses

    def change_password(
        self,
        secret: RedisSecret,
        inspection: Inspection,
        new_password: str,
        old_password: str | None,
    ) -> ChangeHandle:
        self.calls.append(("change", old_password))
        if self.failures:
            raise self.failures.pop(0)
        if self.accepted_old is not None and old_password not in self.accepted_old:
            from redis_rotation.errors import OldPasswordRejectedError

            raise OldPasswordRejectedError(self.name, "change", "OldPasswordError", "wrong old")
        if self.strict:
            self.redis.kept = {self.redis.password}
        self.redis.password = new_password
        return ChangeHandle(task_id="task-1")

    def wait_for_change(self, secret: RedisSecret, handle: ChangeHandle) -> None:
        self.calls.append(("wait", handle.task_id))

    def one_password_at_rest(self, secret: RedisSecret) -> bool:
        return self.strict

    def drop_previous(self, secret: RedisSecret) -> ChangeHandle:
        self.calls.append(("drop", None))
        self.redis.kept = set()
        return ChangeHandle(task_id="drop-1")

    def count(self, name: str) -> int:
        return sum(1 for call, _ in self.calls if call == name)
