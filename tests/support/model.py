"""The world of the stateful model test (tests/e2e/test_model.py): one secret of one rotation
mode on the local cloud, what an operator and a secret's writer can do to it, and the
oracle that reads the truth from Secrets Manager's labels and the redis-server's ACL.

Nothing here believes the functions or repair: labels come from DescribeSecret, the
accepted passwords from ``ACL GETUSER`` (the SHA-256 of every password a user holds).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from localcloud.cloud import ExampleSecret, LocalCloud, random_password
from rotation_cli import main

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

CURRENT, PENDING, PREVIOUS = "AWSCURRENT", "AWSPENDING", "AWSPREVIOUS"
LABELS = (CURRENT, PENDING, PREVIOUS)
# Exit code of a command that ended in an error it did not report as a refusal.
COMMAND_ERROR = 2
# Edits an operator makes to AWSCURRENT (any field), and the hand-written AWSPENDING values a
# secret's writer puts (see ``World.edit_current`` and ``World.write_pending``).
EDITS = ("tls", "port", "password", "zone", "restore")
PENDINGS = ("new-password", "minus-field", "copy", "other-account", "garbage")


def sha(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


@dataclass
class Labels:
    """Secret Manager's labels and the values of the labelled versions, read once."""

    stages: dict[str, list[str]]
    values: dict[str, dict[str, Any] | None]  # version -> value (None: empty stub, garbage)

    def holder(self, stage: str) -> str | None:
        return next((v for v, labels in self.stages.items() if stage in labels), None)

    def value(self, stage: str) -> dict[str, Any] | None:
        holder = self.holder(stage)
        return self.values.get(holder) if holder else None

    @property
    def unfinished(self) -> bool:
        """AWSPENDING on a version that is not AWSCURRENT: RotateSecret is refused."""
        return any(PENDING in ls and CURRENT not in ls for ls in self.stages.values())

    def held(self) -> set[tuple[str, str]]:
        """(account, password hash) of every labelled version."""
        return {
            (value.get("account") or value.get("username") or "default", sha(value["password"]))
            for value in self.values.values()
            if value and isinstance(value.get("password"), str)
        }


@dataclass
class World:
    cloud: LocalCloud
    client: SecretsManagerClient
    example: ExampleSecret
    accounts: tuple[str, ...]  # the ACL users whose passwords the secret manages
    original: dict[str, Any]
    # Passwords the model itself (as operator or writer) took the last label from: losing
    # them is that edit's doing, not the rotation's nor repair's.
    unlabelled_by_edits: set[tuple[str, str]] = field(default_factory=set)

    @classmethod
    def of(cls, cloud: LocalCloud, client: SecretsManagerClient, example: ExampleSecret) -> World:
        details = example.details
        accounts = tuple(
            details.get("accounts")
            or [details.get("account") or details.get("username") or "default"]
        )
        original = json.loads(client.get_secret_value(SecretId=example.arn)["SecretString"])
        return cls(cloud, client, example, accounts, original)

    # -- the oracle ------------------------------------------------------------------------

    def labels(self) -> Labels:
        described = self.client.describe_secret(SecretId=self.example.arn)
        stages = {k: list(v) for k, v in described.get("VersionIdsToStages", {}).items()}
        values: dict[str, dict[str, Any] | None] = {}
        for version, labels in stages.items():
            if set(LABELS) & set(labels):
                values[version] = self._read(version)
        return Labels(stages, values)

    def _read(self, version: str) -> dict[str, Any] | None:
        try:
            answer = self.client.get_secret_value(SecretId=self.example.arn, VersionId=version)
            value = json.loads(answer["SecretString"])
        except (self.client.exceptions.ResourceNotFoundException, ValueError):
            return None  # RotateSecret's empty stub; a garbage value
        return value if isinstance(value, dict) else None

    def accepted(self) -> set[tuple[str, str]]:
        """(account, password hash) of every password the redis-server accepts now, for
        every account the secret manages; ("<account>", "nopass") for a password-less one."""
        found: set[tuple[str, str]] = set()
        with self.example.redis.admin() as admin:
            for account in self.accounts:
                user: Any = admin.acl_getuser(account)
                flags = [str(f) for f in user["flags"]] if user else []
                if "on" not in flags:
                    continue  # no such account yet (alternating creates the other one)
                if "nopass" in flags:
                    found.add((account, "nopass"))
                found |= {(account, str(h)) for h in user["passwords"]}
        return found

    def lost(self, labels: Labels) -> set[tuple[str, str]]:
        """Accepted passwords that no labelled version holds (the invariant: none)."""
        return self.accepted() - labels.held() - self.unlabelled_by_edits

    def new_password_works(self, token: str) -> str | None:
        """After finishSecret returned: the rotation's new password is AWSCURRENT's and the
        instance accepts it (for its account). A failure's description, or None."""
        labels = self.labels()
        current, new = labels.value(CURRENT), self._read(token)
        if current is None or new is None:
            return f"AWSCURRENT {current is not None}, the rotation's version {new is not None}"
        if current["password"] != new["password"]:
            return "AWSCURRENT does not hold the rotation's new password"
        if not self.example.accepts(current):
            return f"the instance refuses AWSCURRENT's password for {current.get('account')}"
        return None

    # -- what an operator and a secret's writer do -----------------------------------------

    def _put(self, secret_string: str, stage: str) -> None:
        before = self.labels().held()
        self.client.put_secret_value(
            SecretId=self.example.arn,
            ClientRequestToken=str(uuid.uuid4()),
            SecretString=secret_string,
            VersionStages=[stage],
        )
        self.unlabelled_by_edits |= before - self.labels().held()

    def edit_current(self, edit: str) -> None:
        """PutSecretValue with AWSCURRENT: one field changed (``restore``: every field but
        the password back to the secret's first value)."""
        value = self.labels().value(CURRENT)
        assert value is not None
        if edit == "tls":
            value["tls"] = {"enabled": False, "verify": not value["tls"].get("verify", True)}
        elif edit == "port":
            value["port"] = int(value["port"]) + 1
        elif edit == "password":  # a typo: the instance never had it
            value["password"] = random_password(length=24)
        elif edit == "zone":
            value["zone"] = "cn-bj2-03"
        else:
            value = {
                **self.original,
                "account": value.get("account"),
                "password": value["password"],
            }
            value = {k: v for k, v in value.items() if v is not None}
        self._put(json.dumps(value), CURRENT)

    def write_pending(self, kind: str, field_index: int) -> None:
        """A hand-written AWSPENDING, on a version of its own (the rotation in progress is
        then that version's)."""
        current = self.labels().value(CURRENT)
        assert current is not None
        if kind == "garbage":
            self._put("{not json", PENDING)
            return
        value = dict(current)
        if kind == "new-password":
            value["password"] = random_password(length=24)
        elif kind == "minus-field":
            fields = sorted(set(value) - {"password", "provider"})
            del value[fields[field_index % len(fields)]]
        elif kind == "other-account":
            others = [a for a in self.accounts if a != current.get("account")] or ["intruder"]
            value.update(account=others[0], password=random_password(length=24))
        self._put(json.dumps(value), PENDING)

    def set_busy(self, busy: bool) -> None:
        """The instance in a workflow (URedis: state SetPassword; Tencent: Status 1;
        ElastiCache: modifying; Alibaba: Changing)."""
        details, provider = self.example.details, self.example.provider
        if provider == "uredis":
            self.cloud.uredis_instance(self.example).state = "SetPassword" if busy else "Running"
        elif provider == "elasticache":
            emulator = self.cloud.elasticache
            if "userId" in details:
                emulator.users[details["userId"]].status = "modifying" if busy else "active"
            else:
                emulator.groups[details["group"]].status = "modifying" if busy else "available"
        elif provider == "alibaba":
            instance = self.cloud.alibaba.instances[details["instanceId"]]
            instance.status = "Changing" if busy else "Normal"
        else:
            self.cloud.tencent.instances[details["instanceId"]].status = 1 if busy else 2

    def repair(self, apply: bool) -> tuple[int, str]:
        """``redis-rotation repair`` as an operator runs it: exit code and all it printed."""
        out = io.StringIO()
        argv = ["repair", self.example.arn, "--json", *(["--apply"] if apply else [])]
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            code = main.main(argv)
        return code, out.getvalue()
