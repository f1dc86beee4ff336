"""The Tencent emulator's server: routes each request to API 2.0 or 3.0 by path, limits
each action's rate, and lets the shared state count the requests it answers."""

from __future__ import annotations

import time
from collections.abc import Callable

from localcloud.emulators.base import ApiEmulator, Request, Response
from localcloud.emulators.tencent.front import AuthFront
from localcloud.emulators.tencent.models import Account, Instance, TencentCloud
from localcloud.emulators.tencent.rules import RATE_LIMIT, SlidingWindows
from localcloud.emulators.tencent.v2 import V2_PATH, V2Api, v2_error
from localcloud.emulators.tencent.v3 import V3_PATH, V3Api, v3_error


class TencentEmulator(ApiEmulator):
    def __init__(
        self,
        *,
        rate_limit: int = RATE_LIMIT,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.cloud = TencentCloud(self.lock)
        # The model's own collections, under the names the local cloud and tests use.
        self.keys, self.instances = self.cloud.keys, self.cloud.instances
        self.tasks, self.no_auth_requests = self.cloud.tasks, self.cloud.no_auth_requests
        self.rate_limit = rate_limit
        self.clock = clock  # for the rate limit's window
        self.wall_clock = wall_clock  # for Timestamp windows
        self._windows = SlidingWindows()
        self.v2 = V2Api(self.cloud, now=self._now, throttled=self._throttled)
        self.v3 = V3Api(self.cloud, now=self._now, throttled=self._throttled)

    def use_clock(self, clock: Callable[[], float]) -> Callable[[], float]:
        """Count the rate limit on ``clock`` from now on (a test's virtual time), with empty
        windows: times of two clocks are not comparable. Returns the clock it replaced."""
        with self.lock:
            replaced, self.clock, self._windows = self.clock, clock, SlidingWindows()
        return replaced

    def add_key(self, secret_id: str, secret_key: str, token: str | None = None) -> None:
        self.cloud.add_key(secret_id, secret_key, token)

    def add_instance(self, instance: Instance) -> Instance:
        return self.cloud.add_instance(instance)

    def add_account(self, instance_id: str, account: Account) -> Account:
        """An account made by hand (the console), outside any task."""
        with self.lock:
            instance = self.instances[instance_id]
            if instance.redis is not None:
                instance.redis.set_account(account.name, account.password, account.privilege)
            instance.accounts[account.name] = account
        return account

    def remove_account(self, instance_id: str, name: str) -> None:
        """An account deleted by hand (the console)."""
        with self.lock:
            instance = self.instances[instance_id]
            if instance.redis is not None:
                instance.redis.delete_account(name)
            del instance.accounts[name]

    def add_front(self, instance_id: str) -> AuthFront:
        """Put Tencent's AUTH form in front of the instance (DescribeInstances reports it)."""
        instance = self.instances[instance_id]
        if instance.redis is None:
            raise ValueError(f"{instance_id} has no redis-server to front")
        instance.front = AuthFront(instance.redis).start()
        return instance.front

    def set_password(self, instance_id: str, password: str) -> None:
        """A change made by hand (the console), outside any task: drift."""
        self.cloud.set_password(instance_id, password)

    def _now(self) -> float:
        # Looked up at each call: tests and the bench replace wall_clock after start.
        return self.wall_clock()

    def _throttled(self, api: str, action: str) -> bool:
        """A sliding one-second window per action; refused requests do not count."""
        now = self.clock()
        with self.lock:
            return self._windows.full((api, action), now, self.rate_limit)

    # -- ApiEmulator ---------------------------------------------------------------------

    def action_of(self, request: Request) -> str:
        if request.path != V2_PATH:
            return self.v3.action_of(request)
        return self.v2.action_of(request)

    def error(self, request: Request, code: str | int, message: str) -> Response:
        if request.path == V2_PATH:
            return v2_error(int(code), message)
        return v3_error(str(code), message)

    def outcome_of(self, response: Response) -> str:
        body = response.body
        if isinstance(body, dict) and isinstance(body.get("Response"), dict):
            error = body["Response"].get("Error")
            return "ok" if error is None else str(error.get("Code"))
        if isinstance(body, dict) and "code" in body:
            return "ok" if body["code"] == 0 else str(body["code"])
        return super().outcome_of(response)

    def dispatch(self, request: Request) -> Response:
        if request.path == V2_PATH:
            return self.v2.serve(request)
        if request.path == V3_PATH:
            return self.v3.serve(request)
        return Response(404, {"error": "no such path"})

    def on_request(self) -> None:
        self.cloud.request_answered()

    def stop(self) -> None:
        self.cloud.cancel_timers()
        for instance in self.instances.values():
            if instance.front is not None:
                instance.front.stop()
        super().stop()
