"""A running ``up``'s control endpoint: other commands ask it to make instances and secrets.

The emulators and redis-servers live in the ``up`` process, so a new instance can only be
made there. The endpoint listens on 127.0.0.1 only, and answers with ids and addresses,
never a password.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from botocore.exceptions import ClientError

from localcloud.cloud import ExampleSecret, LocalCloud

# Secret fields that name what the local cloud must make, as add_*_secret takes them.
_MADE = {
    "uredis": {"groupId": "group_id"},
    "tencent": {
        "instanceId": "instance_id",
        "apiVersion": "api_version",
        "changeMode": "change_mode",
    },
}
# What only the local cloud may set: the password it made and the keys' secret it granted.
_RESERVED = ("password", "credentialsSecretId", "provider")


class RequestRefused(ValueError):
    """The request cannot be carried out; the message says why."""


def add_secret(
    cloud: LocalCloud, name: str, provider: str, fields: dict[str, Any]
) -> ExampleSecret:
    """A new instance with a fresh redis-server, and a secret ``name`` for it, granted to it
    in the provider's credentials secret; ``fields`` are the user's own secret fields."""
    if provider not in _MADE:
        raise RequestRefused(f"provider must be one of {sorted(_MADE)}")
    reserved = sorted(set(fields) & set(_RESERVED))
    if reserved:
        raise RequestRefused(f"the local cloud sets {', '.join(reserved)} itself: leave it out")
    made = {_MADE[provider][k]: v for k, v in fields.items() if k in _MADE[provider]}
    extra = {k: v for k, v in fields.items() if k not in _MADE[provider]}
    add = cloud.add_uredis_secret if provider == "uredis" else cloud.add_tencent_secret
    try:
        return add(name, **made, **extra)
    except ClientError as exc:
        raise RequestRefused(exc.response.get("Error", {}).get("Message", str(exc))) from None
    except (TypeError, ValueError) as exc:
        raise RequestRefused(str(exc)) from None


class ControlServer:
    def __init__(self, cloud: LocalCloud) -> None:
        self.cloud = cloud
        self.lock = threading.Lock()  # one change of the cloud at a time
        control = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    request = json.loads(self.rfile.read(length))
                    with control.lock:
                        example = add_secret(
                            control.cloud,
                            str(request["name"]),
                            str(request["provider"]),
                            dict(request.get("fields") or {}),
                        )
                except (RequestRefused, KeyError, ValueError, TypeError) as exc:
                    self._answer(400, {"error": str(exc)})
                    return
                self._answer(
                    200,
                    {
                        "name": example.name,
                        "arn": example.arn,
                        "provider": example.provider,
                        "redis": f"{example.redis.host}:{example.redis.port}",
                        **example.details,
                    },
                )

            def _answer(self, status: int, document: dict[str, Any]) -> None:
                body = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:  # no access log on the console
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)

    @property
    def endpoint(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> ControlServer:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def control_request(endpoint: str, request: dict[str, Any]) -> dict[str, Any]:
    """Ask the running ``up`` at ``endpoint``; its refusal becomes a ``UserError``."""
    from rotation_cli.base import UserError

    data = json.dumps(request).encode()
    post = urllib.request.Request(  # noqa: S310  # the local cloud's own http://127.0.0.1
        f"{endpoint}/secrets", data=data, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(post, timeout=120) as answer:  # noqa: S310
            document: dict[str, Any] = json.loads(answer.read())
            return document
    except urllib.error.HTTPError as exc:
        reason = json.loads(exc.read() or b"{}").get("error", f"HTTP {exc.code}")
        raise UserError(f"the local cloud refused: {reason}") from None
    except urllib.error.URLError as exc:
        raise UserError(
            f"the local cloud does not answer ({exc.reason}): is `up` running?"
        ) from None
