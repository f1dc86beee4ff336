"""The offline cloud: Secrets Manager (moto server), the provider API emulators and real
redis-server instances, wired together with example secrets."""

from __future__ import annotations

import json
import secrets
import string
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from localcloud import elasticache_examples
from localcloud.driver import Invoke, RotationDriver
from localcloud.emulators.alibaba import Account as AlibabaAccount
from localcloud.emulators.alibaba import AlibabaEmulator
from localcloud.emulators.alibaba import Instance as AlibabaInstance
from localcloud.emulators.tencent import Account, Instance, TencentEmulator
from localcloud.emulators.uredis import Group, Space, URedisEmulator
from localcloud.redis_cluster import RedisCluster
from localcloud.redis_server import OnChange, RedisServer
from localcloud.secretsmanager import SecretsManagerServer, apply_environment

if TYPE_CHECKING:
    from redis_rotation.seams import Seams

FUNCTION_NAMES = {
    "uredis": "redis-rotation-uredis",
    "tencent": "redis-rotation-tencent",
    "elasticache": "redis-rotation-elasticache",
    "alibaba": "redis-rotation-alibaba",
}
UREDIS_REGION, UREDIS_ZONE = "cn-bj2", "cn-bj2-02"
TENCENT_REGION = "ap-guangzhou"
ALIBABA_REGION = "cn-hangzhou"


def random_password(alphabet: str = string.ascii_letters + string.digits, length: int = 20) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


Grant = dict[str, Any]


def grant_for(name: str, instance: str, region: str, allowed: list[RedisServer]) -> Grant:
    """One grant of a credentials secret: the secret ``name`` may change ``instance`` and
    send passwords to the ``allowed`` servers besides the addresses the provider reports."""
    grant: Grant = {"secrets": [name], "instances": [instance], "region": region}
    if allowed:
        grant["redisAddresses"] = [f"{r.host}:{r.port}" for r in allowed]
    return grant


@dataclass
class ExampleSecret:
    name: str
    arn: str
    provider: str
    redis: RedisServer
    details: dict[str, Any] = field(default_factory=dict)

    def accepts(self, value: dict[str, Any]) -> bool:
        """Whether the instance accepts a version's value: its password, for its account
        (a Tencent custom account is an ACL user of the redis-server)."""
        return self.redis.accepts(
            value["password"], user=value.get("account") or value.get("username")
        )

    def accepts_any(self, values: list[dict[str, Any]]) -> bool:
        """Whether one of ``values`` is accepted, asked of the server's ACL (cheap)."""
        by_user: dict[str, list[str]] = {}
        for value in values:
            user = value.get("account") or value.get("username") or "default"
            by_user.setdefault(user, []).append(value["password"])
        return any(self.redis.accepts_any(pw, user) for user, pw in by_user.items())


class LocalCloud:
    def __init__(self) -> None:
        self.sm = SecretsManagerServer()
        self.uredis = URedisEmulator()
        self.tencent = TencentEmulator()
        self.elasticache = elasticache_examples.new_emulator()
        self.alibaba = AlibabaEmulator(ALIBABA_REGION)
        self.secrets: dict[str, ExampleSecret] = {}
        self.credentials: dict[str, str] = {}  # provider -> credentials secret ARN
        self.grants: dict[str, list[Grant]] = {}  # provider -> its credentials' grants
        self.api_keys: dict[str, dict[str, str]] = {}  # provider -> its (one) API key pair
        self.function_arns: dict[str, str] = {}
        self._redis: list[RedisServer] = []

    def start(self) -> LocalCloud:
        self.sm.start()
        self.uredis.start()
        self.tencent.start()
        self.elasticache.start()
        self.alibaba.start()
        apply_environment(self.environment())
        return self

    def environment(self) -> dict[str, str]:
        """The environment the rotation functions run with on the local cloud."""
        return {
            **self.sm.environment(),
            # A secret without apiEndpoint reaches the emulators, as the stack's parameters
            # point the functions at the real APIs.
            "UREDIS_API_ENDPOINT": self.uredis.endpoint,
            "TENCENT_API_ENDPOINT": self.tencent.endpoint,
            "TENCENT_API3_ENDPOINT": self.tencent.endpoint,
            "POWERTOOLS_SERVICE_NAME": "redis-rotation",
            "POWERTOOLS_METRICS_NAMESPACE": "RedisRotation",
            "POWERTOOLS_TRACE_DISABLED": "true",
        }

    # -- resources -------------------------------------------------------------------------

    def _credentials_secret(self, provider: str, keys: dict[str, str], grant: Grant) -> str:
        """The provider's one credentials secret, its binding widened by ``grant``: as the
        keys' owner would, each secret is granted its own instance and nothing else."""
        grants = self.grants.setdefault(provider, [])
        grants.append(grant)
        value = {**keys, "grants": grants, "apiEndpoints": [self.api_endpoints()[provider]]}
        client = self.sm.secrets_manager()
        if provider not in self.credentials:
            created = client.create_secret(
                Name=f"localcloud/{provider}-api-keys", SecretString=json.dumps(value)
            )
            self.credentials[provider] = created["ARN"]
        else:
            client.put_secret_value(
                SecretId=self.credentials[provider], SecretString=json.dumps(value)
            )
        return self.credentials[provider]

    def function_arn(self, provider: str) -> str:
        if provider not in self.function_arns:
            self.function_arns[provider] = self.sm.register_function(FUNCTION_NAMES[provider])
        return self.function_arns[provider]

    def start_redis(self, password: str | None, on_change: OnChange = "keep") -> RedisServer:
        server = RedisServer(password, on_change).start()
        self._redis.append(server)
        return server

    def start_redis_cluster(self, replicas: int, password: str | None) -> RedisCluster:
        """A real Redis Cluster of 3 shards, its nodes ended with the cloud's servers."""
        cluster = RedisCluster(3, replicas, password).start()
        self._redis += cluster.nodes
        return cluster

    @property
    def redis_servers(self) -> tuple[RedisServer, ...]:
        return tuple(self._redis)

    def has_instance(self, instance_id: str) -> bool:
        """Whether an emulator has a group, space or instance of that id."""
        uredis = self.uredis.groups.keys() | self.uredis.spaces.keys()
        return any(
            instance_id in found
            for found in (uredis, self.tencent.instances, self.alibaba.instances)
        )

    def create_secret(self, name: str, value: dict[str, Any]) -> str:
        created = self.sm.secrets_manager().create_secret(Name=name, SecretString=json.dumps(value))
        return str(created["ARN"])

    def add_uredis_secret(
        self,
        name: str,
        *,
        group_id: str | None = None,
        space: bool = False,
        apply_delay: float = 0.0,
        apply_after_requests: int = 0,
        replicas: int = 0,
        on_change: OnChange = "keep",
        **extra: Any,
    ) -> ExampleSecret:
        if "uredis" not in self.api_keys:
            keys = {"publicKey": "localcloud-public-key", "privateKey": random_password(length=40)}
            self.uredis.add_key(keys["publicKey"], keys["privateKey"])
            self.api_keys["uredis"] = keys
        password = random_password()
        redis = self.start_redis(password, on_change)
        replica_servers = [self.start_redis(password, on_change) for _ in range(replicas)]
        if replica_servers:
            extra["readOnlyEndpoints"] = [{"host": r.host, "port": r.port} for r in replica_servers]
        # ``space``: a distributed Redis (UMem space, named by spaceId) instead of a group.
        group_id = group_id or f"{'umem' if space else 'uredis'}-{secrets.token_hex(4)}"
        id_field = "spaceId" if space else "groupId"
        # DescribeUMem reports the master's address; the replicas are allowed by the grant.
        credentials = self._credentials_secret(
            "uredis",
            self.api_keys["uredis"],
            grant_for(name, group_id, UREDIS_REGION, replica_servers),
        )
        self.uredis.add_group(
            (Space if space else Group)(
                group_id=group_id,
                region=UREDIS_REGION,
                zone=UREDIS_ZONE,
                redis=redis,
                apply_delay=apply_delay,
                apply_after_requests=apply_after_requests,
                replicas=replica_servers,
            )
        )
        value = {
            "provider": "uredis",
            "host": redis.host,
            "port": redis.port,
            "password": password,
            "region": UREDIS_REGION,
            "zone": UREDIS_ZONE,
            id_field: group_id,
            "credentialsSecretId": credentials,
            "apiEndpoint": self.uredis.endpoint,
            "tls": {"enabled": False},
            **extra,
        }
        arn = self.create_secret(name, value)
        example = ExampleSecret(name, arn, "uredis", redis, {id_field: group_id})
        self.secrets[name] = example
        return example

    def add_elasticache_secret(self, name: str, **options: Any) -> ExampleSecret:
        arn, primary, details = elasticache_examples.add_secret(self, name, **options)
        example = ExampleSecret(name, arn, "elasticache", primary, details)
        self.secrets[name] = example
        return example

    def uredis_instance(self, example: ExampleSecret) -> Group:
        """The emulator's group or space behind a URedis example secret."""
        details = example.details
        return self.uredis.resource(details.get("groupId") or details["spaceId"])

    def add_tencent_secret(
        self,
        name: str,
        *,
        instance_id: str | None = None,
        api_version: str = "2.0",
        change_mode: str | None = None,
        task_duration: float = 0.0,
        task_after_requests: int = 0,
        on_change: OnChange = "keep",
        account: str | None = None,
        alternate: str | None = None,
        create_missing: bool = False,
        **extra: Any,
    ) -> ExampleSecret:
        """A Tencent secret: of the default account, or of the custom ``account`` (API 3.0,
        through the AUTH front), alternating with ``alternate`` if given (which exists
        unless ``create_missing``, when the rotation creates it)."""
        if "tencent" not in self.api_keys:
            keys = {"secretId": "AKIDlocalcloud", "secretKey": random_password(length=32)}
            self.tencent.add_key(keys["secretId"], keys["secretKey"])
            self.api_keys["tencent"] = keys
        password = random_password(length=16)
        redis = self.start_redis(password, on_change)
        instance_id = instance_id or f"crs-{secrets.token_hex(4)}"
        # API 2.0 reports no addresses: the grant allows the instance's own.
        grant = grant_for(
            name, instance_id, TENCENT_REGION, [redis] if api_version == "2.0" else []
        )
        named = [a for a in (account, alternate) if a]
        if named:
            grant["accounts"] = named
        credentials = self._credentials_secret("tencent", self.api_keys["tencent"], grant)
        self.tencent.add_instance(
            Instance(
                instance_id,
                TENCENT_REGION,
                redis,
                password,
                task_duration=task_duration,
                task_after_requests=task_after_requests,
            )
        )
        choice: dict[str, Any] = {
            "apiVersion": api_version,
            **({"changeMode": change_mode} if change_mode else {}),
        }
        address = (redis.host, redis.port)
        if account is not None:
            password = random_password(length=24)
            self.tencent.add_account(instance_id, Account(account, password))
            front = self.tencent.add_front(instance_id)
            address = (front.host, front.port)
            choice["account"] = account
        if account is not None and alternate is not None:
            choice.update(strategy="alternating", accounts=[account, alternate])
            if create_missing:
                choice["createMissingAccount"] = True
            else:
                self.tencent.add_account(
                    instance_id, Account(alternate, random_password(length=24))
                )
        value = {
            "provider": "tencent",
            "host": address[0],
            "port": address[1],
            "password": password,
            "region": TENCENT_REGION,
            "instanceId": instance_id,
            "credentialsSecretId": credentials,
            "apiEndpoint": self.tencent.endpoint,
            "tls": {"enabled": False},
            **choice,
            **extra,
        }
        arn = self.create_secret(name, value)
        example = ExampleSecret(name, arn, "tencent", redis, {"instanceId": instance_id, **choice})
        self.secrets[name] = example
        return example

    def add_alibaba_secret(
        self,
        name: str,
        *,
        architecture: str = "standard",
        task_duration: float = 0.0,
        task_after_requests: int = 0,
        account: str | None = None,
        alternate: str | None = None,
        create_missing: bool = False,
        on_change: OnChange = "keep",
        **extra: Any,
    ) -> ExampleSecret:
        """An Alibaba secret, reached through the instance's proxy endpoint: of the default
        account, or of the custom ``account``, alternating with ``alternate`` if given
        (which exists unless ``create_missing``, when the rotation creates it)."""
        if "alibaba" not in self.api_keys:
            keys = {"accessKeyId": "LTAIlocalcloud", "accessKeySecret": random_password(length=30)}
            self.alibaba.add_key(keys["accessKeyId"], keys["accessKeySecret"])
            self.api_keys["alibaba"] = keys
        # Alibaba's rule: three kinds of characters.
        password = random_password(length=15) + "1aA"
        redis = self.start_redis(password, on_change)
        instance_id = f"r-bp1{secrets.token_hex(6)}"
        grant = grant_for(name, instance_id, ALIBABA_REGION, [])
        named = [a for a in (account, alternate) if a]
        if named:
            grant["accounts"] = named
        credentials = self._credentials_secret("alibaba", self.api_keys["alibaba"], grant)
        self.alibaba.add_instance(
            AlibabaInstance(
                instance_id,
                ALIBABA_REGION,
                redis,
                password,
                architecture=architecture,
                task_duration=task_duration,
                task_after_requests=task_after_requests,
            )
        )
        front = self.alibaba.add_front(instance_id)
        choice: dict[str, Any] = {}
        if account is not None:
            password = random_password(length=21) + "1aA"
            self.alibaba.add_account(instance_id, AlibabaAccount(account, password))
            choice["account"] = account
        if account is not None and alternate is not None:
            choice.update(strategy="alternating", accounts=[account, alternate])
            if create_missing:
                choice["createMissingAccount"] = True
            else:
                other = AlibabaAccount(alternate, random_password(length=21) + "1aA")
                self.alibaba.add_account(instance_id, other)
        value = {
            "provider": "alibaba",
            "host": front.host,
            "port": front.port,
            "password": password,
            "region": ALIBABA_REGION,
            "instanceId": instance_id,
            "credentialsSecretId": credentials,
            "apiEndpoint": self.alibaba.endpoint,
            "tls": {"enabled": False},
            **choice,
            **extra,
        }
        arn = self.create_secret(name, value)
        details = {"instanceId": instance_id, "architecture": architecture, **choice}
        example = ExampleSecret(name, arn, "alibaba", redis, details)
        self.secrets[name] = example
        return example

    # -- rotating --------------------------------------------------------------------------

    @staticmethod
    def handler(provider: str, seams: Seams | None = None) -> Invoke:
        """The real Lambda handler of the provider's function, from the source tree, with
        ``seams`` in place of the real HTTP poster and Redis probe if given."""
        from redis_rotation.entrypoint import lambda_handler_for

        handler: Invoke = lambda_handler_for(provider, seams)  # type: ignore[assignment]
        return handler

    def driver(
        self,
        provider: str,
        invoke: Invoke | None = None,
        *,
        seams: Seams | None = None,
        **options: Any,
    ) -> RotationDriver:
        return RotationDriver(
            self.sm.secrets_manager(),
            invoke or self.handler(provider, seams),
            self.function_arn(provider),
            function_name=FUNCTION_NAMES[provider],
            **options,
        )

    def attach_functions(self, providers: tuple[str, ...] = tuple(FUNCTION_NAMES)) -> None:
        """A RotateSecret naming one of these functions' ARNs runs it, as on AWS (moto's
        "invocation" does nothing)."""
        from localcloud import rotation_service

        for provider in providers:
            rotation_service.attach(self.driver(provider))

    def detach_functions(self) -> None:
        from localcloud import rotation_service

        rotation_service.detach(self.function_arns.values())

    def api_endpoints(self) -> dict[str, str]:
        return {
            "uredis": self.uredis.endpoint,
            "tencent": self.tencent.endpoint,
            "elasticache": self.elasticache.endpoint,
            "alibaba": self.alibaba.endpoint,
        }

    def stages(self, secret_id: str) -> dict[str, list[str]]:
        metadata = self.sm.secrets_manager().describe_secret(SecretId=secret_id)
        return {k: list(v) for k, v in metadata.get("VersionIdsToStages", {}).items()}

    def value(self, secret_id: str, stage: str) -> dict[str, Any]:
        response = self.sm.secrets_manager().get_secret_value(
            SecretId=secret_id, VersionStage=stage
        )
        value: dict[str, Any] = json.loads(response["SecretString"])
        return value

    def accepted_stages(self, example: ExampleSecret) -> list[str]:
        """The labels whose password the instance accepts now. The invariant: never empty.
        AWSPENDING counts only on a version of its own: a finished rotation leaves it on
        AWSCURRENT's (as AWS does), where it names the same password."""
        client = self.sm.secrets_manager()
        accepted = []
        current_version = None
        for stage in ("AWSCURRENT", "AWSPENDING", "AWSPREVIOUS"):
            try:
                value = client.get_secret_value(SecretId=example.arn, VersionStage=stage)
            except client.exceptions.ResourceNotFoundException:
                continue
            if stage == "AWSCURRENT":
                current_version = value["VersionId"]
            elif stage == "AWSPENDING" and value["VersionId"] == current_version:
                continue
            if example.accepts(json.loads(value["SecretString"])):
                accepted.append(stage)
        return accepted

    def stop(self) -> None:
        self.detach_functions()  # the rotations in flight end before what they reach stops
        for server in self._redis:
            server.terminate()
        for server in self._redis:
            server.close()
        self.uredis.stop()
        self.tencent.stop()
        self.elasticache.stop()
        self.alibaba.stop()
        self.sm.stop()

    def __enter__(self) -> LocalCloud:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
