"""What every Tencent API class offers the provider, and what they share. An API class
works through a ``TencentClient``; it imports nothing of the provider."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, Literal

from redis_rotation.errors import InstanceStateError
from redis_rotation.observability import logger
from redis_rotation.providers.base import ChangeHandle, Inspection, InstanceStatus

if TYPE_CHECKING:
    from redis_rotation.passwords import PasswordPolicy
    from redis_rotation.providers.tencent.client import TencentClient
    from redis_rotation.secret import RedisSecret

NAME = "tencent"
TASK_INFO = "DescribeTaskInfo"

TaskState = Literal["wait", "done", "failed"]

# An instance's Status, the same numbers in API 2.0 (DescribeRedis) and 3.0
# (DescribeInstances): 2 running; 1 (a workflow, perhaps our own task) and 0
# (initialising) end by themselves; -2 and -3 (3.0 only) need a person.
BUSY_STATUSES = {1: "in a workflow", 0: "initialising"}
DEAD_STATUSES = {
    -2: "isolated (expired or in arrears): renew or restore it in the console, then rotate again",
    -3: "pending deletion: point the secret at a live instance",
}


def instance_status(
    raw: Any, secret: RedisSecret, action: str, note: str | None = None
) -> InstanceStatus:
    """What an instance's reported Status means for a change."""
    status = raw if isinstance(raw, int) and not isinstance(raw, bool) else None
    if status in DEAD_STATUSES:
        raise InstanceStateError(
            NAME,
            action,
            f"Status{status}",
            f"instance {secret.instance_id} is {DEAD_STATUSES[status]}",
        )
    if status == 2:
        return InstanceStatus(ready=True, busy=False, detail="running", note=note)
    if status in BUSY_STATUSES:
        return InstanceStatus(ready=False, busy=True, detail=BUSY_STATUSES[status], note=note)
    return InstanceStatus(ready=False, busy=False, detail=f"Status {raw}", note=note)


def not_found(secret: RedisSecret, action: str) -> InstanceStateError:
    return InstanceStateError(
        NAME,
        action,
        "NotFound",
        f"there is no instance {secret.instance_id} in region {secret.region}: check "
        "instanceId and region",
    )


class TencentApi(ABC):
    """One Tencent API (and change mode), working through a ``TencentClient``."""

    name: str
    policy: PasswordPolicy
    needs_old_password: bool

    def __init__(self, client: TencentClient) -> None:
        self.client = client

    @abstractmethod
    def inspect(self, secret: RedisSecret) -> Inspection: ...

    @abstractmethod
    def change(
        self,
        secret: RedisSecret,
        inspection: Inspection,
        new_password: str,
        old_password: str | None,
    ) -> ChangeHandle: ...

    @abstractmethod
    def task_state(self, secret: RedisSecret, task_id: str) -> tuple[TaskState, str, str]:
        """(state, the provider's word for it, its message, redacted)."""


def task_handle(task_id: Any, action: str) -> ChangeHandle:
    """The change's task id, if the answer carries a usable one."""
    if isinstance(task_id, int) and not isinstance(task_id, bool):
        handle = ChangeHandle(task_id=str(task_id))
    elif isinstance(task_id, str) and task_id.isascii() and task_id.isdigit():
        handle = ChangeHandle(task_id=task_id)
    else:
        handle = ChangeHandle()
        logger.warning("no task id in the answer; waiting on AUTH only", extra={"action": action})
    return handle
