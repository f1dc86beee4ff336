"""The state behind the Tencent emulator: API keys, instances, their accounts and the
tasks that change them.

A change runs as an asynchronous task of configurable duration: while a change of the
default account's password runs the instance reports Status 1 ("in a workflow"), while an
account's change runs that account reports Status 1 ("changing"); when it ends the change
is applied to the real redis-server (the default user, or an ACL user per account), or,
with failure injection, the task fails and nothing changes. Both API generations share this
state; their wire formats are in ``v2`` and ``v3``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from localcloud.redis_server import RedisServer

if TYPE_CHECKING:
    from localcloud.emulators.tencent.front import AuthFront

# DescribeInstanceAccount Status.
ACCOUNT_CHANGING, ACCOUNT_VALID = 1, 2


@dataclass
class Account:
    """A custom account: an ACL user of the instance's redis-server once created."""

    name: str
    password: str = field(repr=False)
    privilege: str = "rw"  # r, w, rw
    readonly_policy: list[str] = field(default_factory=lambda: ["master"])
    remark: str = ""
    status: int = ACCOUNT_VALID
    created: str = ""


@dataclass
class Instance:
    instance_id: str
    region: str
    redis: RedisServer | None
    password: str = field(repr=False)
    status: int = 2  # DescribeInstances Status while no task runs: 2 running, -2, -3, 0
    locked: bool = False
    no_auth: bool = False
    task_duration: float = 0.0  # seconds a password task runs before it ends
    # Or, deterministically: the task ends when the API has answered this many more requests
    # (a task poll, a describe, a refused second change: every request answered counts).
    task_after_requests: int = 0
    fail_next_task: bool = False  # the next task ends "failed" and changes nothing
    running_task: int | None = None
    password_changes: int = 0  # applied changes, for "exactly one change" assertions
    history: list[str] = field(default_factory=list, repr=False)  # every password applied
    accounts: dict[str, Account] = field(default_factory=dict)
    # Tencent's proxy, as far as AUTH goes; DescribeInstances reports its port when set.
    front: AuthFront | None = None

    @property
    def reported_status(self) -> int:
        return 1 if self.running_task is not None else self.status


@dataclass
class Task:
    task_id: int
    instance_id: str
    task_type: str
    started: str
    status: str = "running"  # preparing, running, succeed, failed, error
    message: str = ""


@dataclass(frozen=True)
class Change:
    """What a task applies when it ends: the default account's password (``account``
    None), or an account's password (create or modify), or an account's removal."""

    password: str = field(repr=False)
    account: str | None = None
    delete: bool = False


@dataclass
class _TaskAfterRequests:
    """A task that ends when the API has answered ``requests_left`` more requests."""

    requests_left: int
    instance: Instance
    task: Task
    change: Change


class TencentCloud:
    """One account's keys and instances, and the tasks that change their passwords.

    Its methods hold ``lock``, the emulator's re-entrant lock, so the API can also hold it
    across a check and the change the check guards.
    """

    def __init__(self, lock: threading.RLock) -> None:
        self.lock = lock
        self.keys: dict[str, tuple[str, str | None]] = {}  # SecretId -> (SecretKey, Token)
        self.instances: dict[str, Instance] = {}
        self.tasks: dict[int, Task] = {}
        self.no_auth_requests: list[str] = []  # instance ids of every NoAuth=true request
        self._next_task_id = 10000
        self._timers: list[threading.Timer] = []
        self._after_requests: dict[int, _TaskAfterRequests] = {}

    def add_key(self, secret_id: str, secret_key: str, token: str | None = None) -> None:
        self.keys[secret_id] = (secret_key, token)

    def add_instance(self, instance: Instance) -> Instance:
        with self.lock:
            self.instances[instance.instance_id] = instance
        return instance

    def set_password(self, instance_id: str, password: str) -> None:
        """A change made by hand (the console), outside any task: drift."""
        with self.lock:
            instance = self.instances[instance_id]
            if instance.redis is not None:
                instance.redis.set_password(password)
            instance.password = password

    def find(self, instance_id: str | None, region: str) -> Instance | None:
        instance = self.instances.get(instance_id or "")
        return instance if instance is not None and instance.region == region else None

    def start_task(
        self, instance: Instance, change: Change | str, task_type: str, started_at: float
    ) -> Task:
        """Start ``change`` (a password alone: the default account's); ``started_at`` is
        the wall-clock time. An account's task marks that account "changing", not the
        instance (an emulator choice: Tencent does not document it)."""
        if isinstance(change, str):
            change = Change(change)
        with self.lock:
            self._next_task_id += 1
            started = datetime.fromtimestamp(started_at, tz=UTC)
            task = Task(
                self._next_task_id,
                instance.instance_id,
                task_type,
                started.strftime("%Y-%m-%d %H:%M:%S"),
            )
            self.tasks[task.task_id] = task
            if change.account is None:
                instance.running_task = task.task_id
            else:
                instance.accounts[change.account].status = ACCOUNT_CHANGING
            if instance.task_after_requests > 0:
                self._after_requests[task.task_id] = _TaskAfterRequests(
                    instance.task_after_requests, instance, task, change
                )
                return task
            if instance.task_duration <= 0:
                self._finish_task(instance, task, change)
                return task
            timer = threading.Timer(
                instance.task_duration, self._finish_task, (instance, task, change)
            )
            timer.daemon = True
            self._timers.append(timer)
            timer.start()
            return task

    def request_answered(self) -> None:
        """Count one more request answered towards the tasks that end after N of them."""
        with self.lock:
            for task_id, pending in list(self._after_requests.items()):
                pending.requests_left -= 1
                if pending.requests_left == 0:
                    del self._after_requests[task_id]
                    self._finish_task(pending.instance, pending.task, pending.change)

    def _finish_task(self, instance: Instance, task: Task, change: Change) -> None:
        with self.lock:
            # The change is applied before the instance (or account) stops being busy, so
            # a client that sees Status 2 again also finds the new password working.
            if instance.fail_next_task:
                instance.fail_next_task = False
                task.status = "failed"
                task.message = "the password change failed (injected by the local cloud)"
                self._undo(instance, change)
            else:
                self._apply(instance, change)
                task.status = "succeed"
            if change.account is None:
                instance.running_task = None

    def _apply(self, instance: Instance, change: Change) -> None:
        if change.account is None:
            if instance.redis is not None:
                instance.redis.set_password(change.password)
            instance.password = change.password
        else:
            account = instance.accounts[change.account]
            if change.delete:
                if instance.redis is not None:
                    instance.redis.delete_account(account.name)
                del instance.accounts[account.name]
                return
            if instance.redis is not None:
                instance.redis.set_account(account.name, change.password, account.privilege)
            account.password, account.status = change.password, ACCOUNT_VALID
        instance.password_changes += 1
        instance.history.append(change.password)

    @staticmethod
    def _undo(instance: Instance, change: Change) -> None:
        """A failed account task leaves the account as it was (a new one, which has no
        password yet, is not created)."""
        account = instance.accounts.get(change.account or "")
        if account is None:
            return
        if not account.password:
            del instance.accounts[account.name]
        else:
            account.status = ACCOUNT_VALID

    def cancel_timers(self) -> None:
        for timer in self._timers:
            timer.cancel()
