"""What every Tencent API class offers the provider, and what they share."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, Literal

from redis_rotation.observability import logger
from redis_rotation.providers.base import ChangeHandle, InstanceStatus

if TYPE_CHECKING:
    from redis_rotation.passwords import PasswordPolicy
    from redis_rotation.providers.tencent.provider import TencentProvider
    from redis_rotation.secret import Endpoint, RedisSecret

NAME = "tencent"
TASK_INFO = "DescribeTaskInfo"

TaskState = Literal["wait", "done", "failed"]


class TencentApi(ABC):
    """One Tencent API (and change mode), for the provider that made it."""

    name: str
    policy: PasswordPolicy
    needs_old_password: bool

    def __init__(self, provider: TencentProvider) -> None:
        self.provider = provider

    @abstractmethod
    def describe(self, secret: RedisSecret) -> InstanceStatus: ...

    @abstractmethod
    def addresses(self, secret: RedisSecret) -> frozenset[Endpoint] | None: ...

    @abstractmethod
    def change(
        self, secret: RedisSecret, new_password: str, old_password: str | None
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
