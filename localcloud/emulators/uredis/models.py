"""The state behind the URedis emulator: master-replica groups and distributed spaces, and
a password change that lands at once, after a delay spent in the ``SetPassword`` state, or
after a number of requests answered (the same for both kinds)."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

from localcloud.redis_server import RedisServer


@dataclass
class Group:
    group_id: str
    region: str
    redis: RedisServer | None
    zone: str = ""
    project_id: str = ""
    role: str = "master"
    resource_type: str = "single"  # DescribeUMem's ResourceType
    state: str = "Running"
    has_password: bool = True
    password_changes: int = 0  # applied changes, for "exactly one change" assertions
    fail_next_apply: bool = False
    apply_delay: float = 0.0  # seconds spent in SetPassword before the change lands
    # Or, deterministically: the change lands when the API has answered this many more
    # requests (a describe, a refused second change: every request answered counts).
    apply_after_requests: int = 0
    # A provider that applies late *without* saying so: the state stays Running meanwhile.
    silent_delay: bool = False
    # Read-only replicas, which take the master's password; ``stale_replicas`` leaves them
    # behind (a replica the provider failed to update).
    replicas: list[RedisServer] = field(default_factory=list, repr=False)
    stale_replicas: bool = False
    _requests_left: int = field(default=0, repr=False)
    _pending: str = field(default="", repr=False)
    history: list[str] = field(default_factory=list, repr=False)  # every password applied


@dataclass
class Space(Group):
    """A distributed Redis (UMem space): changed by ModifyUMemPassword, and without a role
    (DescribeUMem returns Role for master-replica groups only)."""

    resource_type: str = "distributed"

    @property
    def space_id(self) -> str:
        return self.group_id


class URedisGroups:
    """The groups of one account and the changes of their passwords.

    Its methods hold ``lock``, the emulator's re-entrant lock, so the API can also hold it
    across a check and the change the check guards.
    """

    def __init__(self, lock: threading.RLock) -> None:
        self.lock = lock
        self.groups: dict[str, Group] = {}
        self.spaces: dict[str, Space] = {}
        # Group ids of every request that asked to remove the password: the rotation must
        # never send one (tests assert this stays empty for the functions' traffic).
        self.empty_password_requests: list[str] = []
        self._timers: list[threading.Timer] = []

    def add_group(self, group: Group) -> Group:
        if isinstance(group, Space):
            self.spaces[group.space_id] = group
        else:
            self.groups[group.group_id] = group
        return group

    def resources(self) -> list[Group]:
        """Every instance, groups and spaces."""
        return [*self.groups.values(), *self.spaces.values()]

    def find(
        self,
        resource_id: str,
        region: str,
        zone: str | None,
        project: str | None,
        among: Mapping[str, Group] | None = None,
    ) -> Group | None:
        """The instance (``among`` one kind, else either) in ``region``, and in ``zone`` and
        ``project`` when both the request and the instance say one."""
        kinds: list[Mapping[str, Group]] = [self.groups, self.spaces] if among is None else [among]
        group = next((k[resource_id] for k in kinds if resource_id in k), None)
        if group is None or group.region != region:
            return None
        if zone and group.zone and zone != group.zone:
            return None
        if project and group.project_id and project != group.project_id:
            return None
        return group

    def change_password(self, group: Group, password: str) -> None:
        """Start the change: it lands now, after ``apply_delay`` or after N requests."""
        with self.lock:
            if group.apply_after_requests > 0:
                group.state = "SetPassword"
                group._requests_left, group._pending = group.apply_after_requests, password
            elif group.apply_delay > 0:
                group.state = "Running" if group.silent_delay else "SetPassword"
                timer = threading.Timer(group.apply_delay, self._apply, (group, password))
                timer.daemon = True
                self._timers.append(timer)
                timer.start()
            else:
                self._apply(group, password)

    def request_answered(self) -> None:
        """Count one more request answered towards the changes that land after N of them."""
        with self.lock:
            for group in self.resources():
                if group._requests_left > 0:
                    group._requests_left -= 1
                    if group._requests_left == 0:
                        self._apply(group, group._pending)

    def _apply(self, group: Group, password: str) -> None:
        with self.lock:
            if group.fail_next_apply:
                group.fail_next_apply = False
                group.state = "SetPasswordFail"
                return
            if group.redis is not None:
                group.redis.set_password(password)
            for replica in [] if group.stale_replicas else group.replicas:
                replica.set_password(password)
            group.has_password = bool(password)
            group.password_changes += 1
            group.history.append(password)
            group.state = "Running"

    def cancel_timers(self) -> None:
        for timer in self._timers:
            timer.cancel()
