"""Secrets Manager on loopback: moto in server mode, reached over real HTTP by boto3."""

from __future__ import annotations

import io
import json
import os
import urllib.request
import zipfile
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

REGION = "us-east-1"
# moto accepts any keys; these are dummies that keep boto3 from looking for real ones.
DUMMY_KEYS = {"AWS_ACCESS_KEY_ID": "localcloud", "AWS_SECRET_ACCESS_KEY": "localcloud"}


class SecretsManagerServer:
    def __init__(self) -> None:
        self.endpoint = ""
        self._server: Any = None

    def start(self) -> SecretsManagerServer:
        import logging

        from moto.server import ThreadedMotoServer

        from localcloud import moto_fidelity, rotation_service

        # Before the first request: moto then answers as AWS does where a rotation depends
        # on it (see moto_fidelity).
        moto_fidelity.apply()
        rotation_service.apply()
        # werkzeug's access log would print every request line of the moto server.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)

        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        # rotate_secret "invokes" the rotation function in moto's Lambda; without Docker that
        # is a no-op, and the driver calls the real handler itself.
        self._post("/moto-api/config", {"lambda": {"use_docker": False}})
        return self

    def _post(self, path: str, payload: dict[str, Any]) -> None:
        request = urllib.request.Request(  # noqa: S310 (our own loopback moto server)
            self.endpoint + path,
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            response.read()

    def environment(self) -> dict[str, str]:
        """What a process needs in its environment to use this server through boto3."""
        return {
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": self.endpoint,
            "AWS_ENDPOINT_URL_LAMBDA": self.endpoint,
            "AWS_ENDPOINT_URL_IAM": self.endpoint,
            # moto's CloudWatch Logs: empty (the functions log to stdout here), so `status`
            # finds no log group, as for a function that never ran.
            "AWS_ENDPOINT_URL_LOGS": self.endpoint,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            **DUMMY_KEYS,
        }

    def client(self, service: str = "secretsmanager") -> Any:
        import boto3

        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=DUMMY_KEYS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=DUMMY_KEYS["AWS_SECRET_ACCESS_KEY"],
        )

    def secrets_manager(self) -> SecretsManagerClient:
        client: SecretsManagerClient = self.client("secretsmanager")
        return client

    def register_function(self, name: str) -> str:
        """Create a stand-in Lambda function in moto (rotate_secret requires one); its ARN."""
        iam = self.client("iam")
        role_name = f"{name}-role"
        try:
            role_arn = iam.get_role(RoleName=role_name)["Role"]["Arn"]
        except iam.exceptions.NoSuchEntityException:
            role_arn = iam.create_role(
                RoleName=role_name,
                AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
            )["Role"]["Arn"]
        lam = self.client("lambda")
        try:
            return str(lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"])
        except lam.exceptions.ResourceNotFoundException:
            pass
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zf:
            zf.writestr("handler.py", "def lambda_handler(event, context):\n    return None\n")
        created = lam.create_function(
            FunctionName=name,
            Runtime="python3.13",
            Role=role_arn,
            Handler="handler.lambda_handler",
            Code={"ZipFile": archive.getvalue()},
        )
        return str(created["FunctionArn"])

    def stop(self) -> None:
        if self._server is not None:
            # moto keeps its state per process, not per server: a later local cloud in this
            # process (the benchmarks run several in turn) must start as empty as this one.
            self._post("/moto-api/reset", {})
            self._server.stop()
            self._server = None


def apply_environment(env: dict[str, str]) -> None:
    """Point this process's boto3 at the local endpoints (the handler reads the environment)."""
    os.environ.update(env)


class CallCounter:
    """Counts the Secrets Manager calls one boto3 client sends, by operation, with the
    ``time.monotonic()`` of each: an oracle outside the code that makes the calls."""

    def __init__(self, client: Any) -> None:
        import threading

        self._lock = threading.Lock()
        self.calls: list[tuple[str, float]] = []
        client.meta.events.register("before-call.secrets-manager", self._seen)

    def _seen(self, model: Any, **_: Any) -> None:
        import time

        with self._lock:
            self.calls.append((str(model.name), time.monotonic()))

    def count(self, operation: str = "GetSecretValue", since: float = float("-inf")) -> int:
        with self._lock:
            return sum(1 for name, at in self.calls if name == operation and at >= since)
