"""The state behind the ElastiCache emulator: replication groups of real redis-servers
(a primary and its replicas), RBAC users living on the nodes of their groups, and changes
that land node by node, after the API has answered.

A change is a list of steps, one ``ACL SETUSER`` per node, primary first. Unless the model
is ``paused`` a worker thread applies them, ``node_delay`` seconds apart; while paused a
test applies them itself with ``advance``, so it can look at the window where the primary
has the new password and a replica the old one. The resource is ``modifying`` until its
last node is done.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from localcloud.redis_server import RedisServer

ACCOUNT = "123456789012"
# ElastiCache refuses ACL SETUSER from clients; the nearest a redis-server comes is a user
# without the admin commands (but with the topology commands a cluster client sends).
USER_RULES = ("~*", "&*", "+@all", "-@admin", "+cluster|slots", "+cluster|nodes")


@dataclass
class Node:
    """One cache cluster (node) of a replication group."""

    cluster_id: str
    server: RedisServer
    role: str = "replica"  # DescribeReplicationGroups' CurrentRole: primary | replica
    shard: str = "0001"  # NodeGroupId: cluster mode enabled has one per shard


@dataclass
class ReplicationGroup:
    group_id: str
    nodes: list[Node]
    region: str = "us-east-1"
    status: str = "available"
    transit_encryption_enabled: bool = True
    # The AUTH tokens the nodes accept, oldest first (at most two); empty: no token.
    tokens: list[str] = field(default_factory=list, repr=False)
    # After a ROTATE on a group without a token, AWS accepts logins without one as well.
    open_without_token: bool = False
    auth_token_status: str | None = None  # PendingModifiedValues.AuthTokenStatus
    auth_token_last_modified: datetime | None = None
    user_group_ids: list[str] = field(default_factory=list)
    # Strategies of changes asked for without ApplyImmediately: they wait for a maintenance
    # window, which never comes here.
    deferred: list[str] = field(default_factory=list)
    token_changes: int = 0
    # Each change lands one node per API request answered, not per time: deterministic.
    apply_per_request: bool = False
    # Seconds the last node lags behind the others, while the status already says done.
    lag_last_node: float = 0.0
    # Cluster mode enabled: NodeGroupId -> its slots ("0-5460"); its nodes form a real Redis
    # Cluster, and node addresses come from DescribeCacheClusters only.
    slots: dict[str, str] = field(default_factory=dict)

    @property
    def cluster_enabled(self) -> bool:
        return bool(self.slots)

    @property
    def auth_token_enabled(self) -> bool:
        return bool(self.tokens)

    @property
    def primary(self) -> Node:
        """The (first shard's) primary."""
        return next(n for n in self.nodes if n.role == "primary")

    @property
    def replicas(self) -> list[Node]:
        return [n for n in self.nodes if n.role != "primary"]

    def arn(self) -> str:
        return f"arn:aws:elasticache:{self.region}:{ACCOUNT}:replicationgroup:{self.group_id}"


@dataclass
class User:
    user_id: str
    user_name: str
    groups: list[ReplicationGroup]  # the groups whose user group holds this user
    passwords: list[str] = field(default_factory=list, repr=False)
    region: str = "us-east-1"
    status: str = "active"
    no_password: bool = False
    user_group_ids: list[str] = field(default_factory=list)
    password_changes: int = 0
    apply_per_request: bool = False  # as ReplicationGroup's

    def arn(self) -> str:
        return f"arn:aws:elasticache:{self.region}:{ACCOUNT}:user:{self.user_id}"


Step = Callable[[], None]


@dataclass
class _Change:
    steps: deque[Step]
    done: Callable[[], None]


class ElastiCacheModel:
    """The users and groups of one account. Methods hold ``lock``, the emulator's lock."""

    def __init__(self, lock: threading.RLock) -> None:
        self.lock = lock
        self.groups: dict[str, ReplicationGroup] = {}
        self.users: dict[str, User] = {}
        self.paused = False
        self.node_delay = 0.0
        # UserIds / group ids of every request that would open password-free logins
        # (NoPasswordRequired, ROTATE on a tokenless group): the rotation must send none.
        self.password_free_requests: list[str] = []
        self._queue: deque[_Change] = deque()
        self._by_request: deque[_Change] = deque()  # changes that land per request answered
        self._idle = threading.Condition(lock)
        self._stopping = threading.Event()
        self._workers: list[threading.Thread] = []
        self._timers: list[threading.Timer] = []

    # -- set-up ----------------------------------------------------------------------------

    def add_group(self, group: ReplicationGroup) -> ReplicationGroup:
        with self.lock:
            self.groups[group.group_id] = group
            if not group.user_group_ids:  # RBAC groups leave the default user as it is
                for node in group.nodes:
                    _set_default(node.server, group.tokens)
        return group

    def add_user(self, user: User) -> User:
        with self.lock:
            self.users[user.user_id] = user
            for group in user.groups:
                for node in group.nodes:
                    _set_user(node.server, user.user_name, user.passwords, reset=True)
        return user

    # -- changes ---------------------------------------------------------------------------

    def change_user(self, user: User, passwords: list[str], no_password: bool) -> None:
        user.passwords, user.no_password = list(passwords), no_password
        user.status = "modifying"
        user.password_changes += 1
        steps: list[Step] = [
            _bind(_set_user, node.server, user.user_name, list(passwords), False)
            for group in user.groups
            for node in _primary_first(group)
        ]
        lag = max((g.lag_last_node for g in user.groups), default=0.0)
        self._start(steps, lambda: setattr(user, "status", "active"), user.apply_per_request, lag)

    def change_token(self, group: ReplicationGroup, tokens: list[str], status: str) -> None:
        group.tokens = list(tokens)
        group.status, group.auth_token_status = "modifying", status
        group.token_changes += 1
        open_ = group.open_without_token
        steps: list[Step] = [
            _bind(_set_default, node.server, list(tokens), open_) for node in _primary_first(group)
        ]

        def done() -> None:
            group.status, group.auth_token_status = "available", None
            group.auth_token_last_modified = datetime.now(UTC)

        self._start(steps, done, group.apply_per_request, group.lag_last_node)

    def _start(
        self, steps: list[Step], done: Callable[[], None], per_request: bool, lag: float
    ) -> None:
        with self.lock:
            if lag > 0 and len(steps) > 1:
                # A node that has not caught up: it lands ``lag`` seconds after the status
                # says done.
                steps, last, reported = steps[:-1], steps[-1], done

                def done() -> None:
                    reported()
                    timer = threading.Timer(lag, self._locked, (last,))
                    timer.daemon = True
                    self._timers.append(timer)
                    timer.start()

            change = _Change(deque(steps), done)
            if per_request:
                self._by_request.append(change)
                return
            self._queue.append(change)
            if not self.paused:
                worker = threading.Thread(target=self._drain, daemon=True)
                self._workers.append(worker)
                worker.start()

    def _drain(self) -> None:
        while not self._stopping.is_set():
            if not self.advance(1):
                return
            # A real window between nodes: the event ends it early when the emulator stops.
            self._stopping.wait(self.node_delay)

    def advance(self, steps: int = 1) -> int:
        """Apply up to ``steps`` node changes, oldest change first; return how many."""
        return self._advance(self._queue, steps)

    def request_answered(self) -> None:
        """One more API request: each per-request change lands on one more node."""
        with self.lock:
            for change in list(self._by_request):
                self._advance(deque([change]), 1)
                if not change.steps:
                    self._by_request.remove(change)

    def _advance(self, queue: deque[_Change], steps: int) -> int:
        applied = 0
        with self.lock:
            while applied < steps and queue:
                change = queue[0]
                if change.steps:
                    change.steps.popleft()()
                    applied += 1
                if not change.steps:
                    queue.popleft()
                    change.done()
            self._idle.notify_all()
        return applied

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until every change has landed on every node (a condition, not a sleep)."""
        with self.lock:
            return self._idle.wait_for(lambda: not self._queue, timeout)

    def settle(self) -> int:
        """Apply every step still queued."""
        return self.advance(10**6)

    def pending_steps(self) -> int:
        with self.lock:
            return sum(len(c.steps) for c in self._queue)

    def _locked(self, step: Step) -> None:
        with self.lock:
            step()

    def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._stopping.set()
        for worker in self._workers:
            worker.join(timeout=10)


def _bind(function: Callable[..., None], *args: object) -> Step:
    return lambda: function(*args)


def _primary_first(group: ReplicationGroup) -> list[Node]:
    """Every node of every shard, the primaries first."""
    return sorted(group.nodes, key=lambda node: node.role != "primary")


def _set_user(server: RedisServer, name: str, passwords: list[str], reset: bool) -> None:
    """ModifyUser on one node: the list replaces the user's passwords (``nopass`` if none)."""
    secrets = [f">{p}" for p in passwords] or ["nopass"]
    rules = ["reset", "on", *USER_RULES] if reset else ["on"]
    with server.admin() as admin:
        admin.execute_command("ACL", "SETUSER", name, *rules, "resetpass", *secrets)


def _set_default(server: RedisServer, tokens: list[str], open_: bool = False) -> None:
    """The AUTH tokens as the default user's passwords. Redis cannot hold "no password or
    a token": ``nopass`` is the nearest to AWS's open group (no AUTH, or ``AUTH default
    <anything>``, gets in; a one-argument AUTH is refused, unlike at AWS)."""
    secrets = ["nopass"] if open_ or not tokens else [f">{t}" for t in tokens]
    with server.admin() as admin:
        admin.execute_command("ACL", "SETUSER", "default", "on", "resetpass", *secrets)
