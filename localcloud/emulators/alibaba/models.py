"""The state behind the Alibaba emulator: AccessKeys, the nonces they have used, instances,
their accounts, and the changes in flight.

A password change lands at once (Alibaba: "the password immediately takes effect"), or,
to exercise the waiting, after ``task_duration`` seconds or ``task_after_requests`` more
requests answered. While a change of the default account is in flight the instance
reports ``Changing``; while an account's is, the account reports ``Unavailable`` (an
emulator choice: Alibaba does not document it). Either way a second change is refused with
``TaskExists``. A change lands on the real redis-server: the default account is its
``default`` user, every other account an ACL user of the same name.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from localcloud.redis_server import RedisServer

if TYPE_CHECKING:
    from localcloud.emulators.alibaba.front import AlibabaFront

NORMAL, CHANGING = "Normal", "Changing"  # InstanceStatus
AVAILABLE, UNAVAILABLE = "Available", "Unavailable"  # AccountStatus
READ_ONLY, READ_WRITE, REPL = "RoleReadOnly", "RoleReadWrite", "RoleRepl"
# The ACL rules of each AccountPrivilege on the redis-server (localcloud.redis_server's
# privilege names); RoleRepl's SYNC/PSYNC is not modelled.
REDIS_PRIVILEGE = {READ_ONLY: "r", READ_WRITE: "rw", REPL: "rw"}


@dataclass
class Account:
    """A custom account: an ACL user of the instance's redis-server."""

    name: str
    password: str = field(repr=False)
    privilege: str = READ_WRITE
    description: str = ""
    status: str = AVAILABLE


@dataclass
class Instance:
    """One Tair/Redis instance. ``instance_id`` names its default account too."""

    instance_id: str
    region: str
    redis: RedisServer | None
    password: str = field(repr=False)
    architecture: str = "standard"  # standard, cluster, rwsplit
    status: str = NORMAL  # InstanceStatus while no change is in flight
    engine_version: str = "7.0"
    vpc_auth_mode: str = "Open"  # Close: password-free access in the VPC
    shard_count: int = 1
    task_duration: float = 0.0  # seconds a change is in flight before it lands
    # Or, deterministically: it lands when the API has answered this many more requests.
    task_after_requests: int = 0
    accounts: dict[str, Account] = field(default_factory=dict)
    front: AlibabaFront | None = None  # the proxy endpoint clients use, where there is one
    in_flight: Change | None = None
    password_changes: int = 0  # applied changes, for "exactly one change" assertions
    history: list[str] = field(default_factory=list, repr=False)  # every password applied

    @property
    def reported_status(self) -> str:
        if self.in_flight is not None and self.in_flight.account is None:
            return CHANGING
        return self.status


@dataclass(frozen=True)
class Change:
    """A password to apply: the default account's (``account`` None) or an account's."""

    password: str = field(repr=False)
    account: str | None = None


class AlibabaCloud:
    """One Alibaba Cloud account's keys and instances, served by one emulator per region.

    Its methods hold ``lock``, the emulator's re-entrant lock, so the API can also hold it
    across a check and the change the check guards.
    """

    def __init__(self, lock: threading.RLock) -> None:
        self.lock = lock
        self.keys: dict[str, tuple[str, str | None]] = {}  # AccessKey ID -> (secret, STS token)
        self.instances: dict[str, Instance] = {}
        self.nonces: dict[str, float] = {}  # x-acs-signature-nonce -> when it was used
        self._after_requests: dict[str, int] = {}  # instance id -> requests left
        self._timers: list[threading.Timer] = []

    def add_key(self, access_key_id: str, secret: str, token: str | None = None) -> None:
        with self.lock:
            self.keys[access_key_id] = (secret, token)

    def add_instance(self, instance: Instance) -> Instance:
        with self.lock:
            self.instances[instance.instance_id] = instance
        return instance

    def use_nonce(self, nonce: str, now: float, window: float) -> bool:
        """Record ``nonce``; False if it was used within the last ``window`` seconds
        (older ones are forgotten: their requests are refused by their date anyway)."""
        with self.lock:
            for old, at in list(self.nonces.items()):
                if at < now - window:
                    del self.nonces[old]
            if nonce in self.nonces:
                return False
            self.nonces[nonce] = now
            return True

    def start(self, instance: Instance, change: Change) -> None:
        """Put ``change`` in flight on ``instance`` (the caller checked none is)."""
        with self.lock:
            instance.in_flight = change
            if change.account is not None:
                instance.accounts[change.account].status = UNAVAILABLE
            if instance.task_after_requests > 0:
                self._after_requests[instance.instance_id] = instance.task_after_requests
            elif instance.task_duration <= 0:
                self._land(instance)
            else:
                timer = threading.Timer(instance.task_duration, self._land, (instance,))
                timer.daemon = True
                self._timers.append(timer)
                timer.start()

    def request_answered(self) -> None:
        """Count one more request answered towards changes that land after N of them."""
        with self.lock:
            for instance_id, left in list(self._after_requests.items()):
                if left > 1:
                    self._after_requests[instance_id] = left - 1
                    continue
                del self._after_requests[instance_id]
                self._land(self.instances[instance_id])

    def _land(self, instance: Instance) -> None:
        with self.lock:
            change = instance.in_flight
            if change is None:
                return
            # Applied before the status clears: whoever sees Normal/Available again also
            # finds the new password working.
            self.apply(instance, change)
            instance.in_flight = None

    def apply(self, instance: Instance, change: Change, *, by_api: bool = True) -> None:
        """Set a password on the instance and its redis-server; ``by_api`` False: a change
        made in the console (drift), which ``password_changes`` does not count."""
        with self.lock:
            if change.account is None:
                if instance.redis is not None:
                    instance.redis.set_password(change.password)
                instance.password = change.password
            else:
                account = instance.accounts[change.account]
                if instance.redis is not None:
                    privilege = REDIS_PRIVILEGE[account.privilege]
                    instance.redis.set_account(account.name, change.password, privilege)
                account.password, account.status = change.password, AVAILABLE
            if by_api:
                instance.password_changes += 1
                instance.history.append(change.password)

    def cancel_timers(self) -> None:
        for timer in self._timers:
            timer.cancel()
