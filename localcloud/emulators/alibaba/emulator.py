"""The Alibaba emulator's server: one regional R-KVStore endpoint over a shared cloud."""

from __future__ import annotations

import time
from collections.abc import Callable

from localcloud.emulators.alibaba.api import RegionApi, error
from localcloud.emulators.alibaba.front import AlibabaFront
from localcloud.emulators.alibaba.models import Account, AlibabaCloud, Change, Instance
from localcloud.emulators.base import ApiEmulator, Request, Response


class AlibabaEmulator(ApiEmulator):
    """``region``'s endpoint. Pass another emulator's ``cloud`` to serve a second region
    of the same Alibaba Cloud account (its keys, nonces and instances)."""

    def __init__(
        self,
        region: str = "cn-hangzhou",
        *,
        cloud: AlibabaCloud | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        if cloud is not None:
            self.lock = cloud.lock  # one lock for the state both endpoints share
        self.cloud = cloud or AlibabaCloud(self.lock)
        self.region = region
        self.wall_clock = wall_clock  # for x-acs-date windows
        self.api = RegionApi(self.cloud, region, now=self._now)

    @property
    def instances(self) -> dict[str, Instance]:
        return self.cloud.instances

    def add_key(self, access_key_id: str, secret: str, token: str | None = None) -> None:
        self.cloud.add_key(access_key_id, secret, token)

    def add_instance(self, instance: Instance) -> Instance:
        return self.cloud.add_instance(instance)

    def add_account(self, instance_id: str, account: Account) -> Account:
        """An account made by hand (the console), outside any API call."""
        with self.lock:
            instance = self.instances[instance_id]
            instance.accounts[account.name] = account
            self.cloud.apply(instance, Change(account.password, account.name), by_api=False)
        return account

    def set_password(self, instance_id: str, password: str, account: str | None = None) -> None:
        """A change made by hand (the console), outside any API call: drift."""
        self.cloud.apply(self.instances[instance_id], Change(password, account), by_api=False)

    def add_front(self, instance_id: str) -> AlibabaFront:
        """Put the proxy endpoint, with Alibaba's AUTH form, in front of the instance."""
        instance = self.instances[instance_id]
        if instance.redis is None:
            raise ValueError(f"{instance_id} has no redis-server to front")
        front = AlibabaFront(instance.redis)
        front.start()
        instance.front = front
        return front

    def _now(self) -> float:
        # Looked up at each call: tests replace wall_clock after start.
        return self.wall_clock()

    # -- ApiEmulator ---------------------------------------------------------------------

    def action_of(self, request: Request) -> str:
        return request.headers.get("x-acs-action", "")

    def dispatch(self, request: Request) -> Response:
        return self.api.serve(request)

    def error(self, request: Request, code: str | int, message: str) -> Response:  # noqa: ARG002
        # One wire, so one error form whatever the request.
        return error(400, str(code), message)

    def outcome_of(self, response: Response) -> str:
        body = response.body
        if response.status != 200 and isinstance(body, dict) and "Code" in body:
            return str(body["Code"])
        return super().outcome_of(response)

    def on_request(self) -> None:
        self.cloud.request_answered()

    def stop(self) -> None:
        self.cloud.cancel_timers()
        for instance in self.instances.values():
            if instance.front is not None and instance.region == self.region:
                instance.front.stop()
        super().stop()


__all__ = ["AlibabaEmulator"]
