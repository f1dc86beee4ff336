"""A running ``up``'s control endpoint: other commands ask it to make instances and secrets.

The emulators and redis-servers live in the ``up`` process, so a new instance can only be
made there. The endpoint listens on 127.0.0.1 only, and answers with ids and addresses,
never a password. A web page can reach a loopback port too, and another local user can;
so a request must carry the run's token (in the state file, mode 0600), name a loopback
Host (no DNS rebinding), send JSON (a page cannot without a CORS preflight, which this
server refuses) and no Origin; and it may only ask for a secret of the functions' schema.
"""

from __future__ import annotations

import hmac
import json
import re
import threading
import urllib.error
import urllib.request
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from botocore.exceptions import ClientError

from localcloud.cloud import (
    ALIBABA_REGION,
    TENCENT_REGION,
    UREDIS_REGION,
    UREDIS_ZONE,
    ExampleSecret,
    LocalCloud,
)
from localcloud.elasticache_examples import ELASTICACHE_REGION
from localcloud.guard import loopback_hosts

# What only the local cloud may set: the password it made and the keys' secret it granted.
_RESERVED = ("password", "credentialsSecretId", "provider")
# Options of the local cloud itself, not secret fields, each with its values (the first is
# the default): every replica is one more redis-server process.
_REPLICAS = (0, 1, 2)
_OPTIONS: dict[str, dict[str, tuple[object, ...]]] = {
    "uredis": {"replicas": _REPLICAS},
    "tencent": {},
    "alibaba": {"architecture": ("standard", "rwsplit", "cluster")},
    "elasticache": {"kind": ("user", "token"), "replicas": (1, 0, 2)},
}
# Ids the local cloud makes for these providers: a request may not name one (it could name
# another secret's user or instance).
_MADE_IDS = {
    "alibaba": ("instanceId",),
    "elasticache": ("userId", "username", "replicationGroupId"),
}
# Secrets Manager's own alphabet for names: never a glob character or a control character.
_NAME = re.compile(r"[A-Za-z0-9/_+=.@-]{1,512}")
MAX_BODY = 64 * 1024


class RequestRefused(ValueError):
    """The request cannot be carried out; the message says why."""


def _quoted(value: object) -> str:
    """``value`` for an error message: escapes shown as escapes, never sent raw."""
    return ascii(str(value))[:80]


def _validated(provider: str, fields: dict[str, Any], options: dict[str, Any]) -> None:
    """Refuse ``fields`` the functions would refuse, checked by the functions' own schema on
    the secret they would make (what the local cloud fills in is stood in for)."""
    from redis_rotation.errors import SecretFormatError
    from redis_rotation.secret import parse_secret

    made: dict[str, Any]
    if provider == "uredis":
        made = {"region": UREDIS_REGION, "zone": UREDIS_ZONE}
        if "spaceId" not in fields:
            made["groupId"] = "uredis-to-be-made"
    elif provider == "alibaba":
        made = {"region": ALIBABA_REGION, "instanceId": "r-to-be-made"}
    elif provider == "elasticache":
        made = {"region": ELASTICACHE_REGION}
        if options["kind"] == "user":
            made |= {"userId": "user-to-be-made", "username": "app-to-be-made"}
        else:
            made["replicationGroupId"] = "rg-to-be-made"
    else:
        made = {"region": TENCENT_REGION, "instanceId": "crs-to-be-made", "apiVersion": "2.0"}
    candidate = {
        "provider": provider,
        "host": "127.0.0.1",
        "port": 6379,
        "password": "a-password-to-be-made",
        "credentialsSecretId": "keys-to-be-made",
        "tls": {"enabled": False},
        **made,
        **fields,
    }
    try:
        parse_secret(json.dumps(candidate), "the secret")
    except SecretFormatError as exc:
        raise RequestRefused(str(exc)) from None


def _taken(cloud: LocalCloud, name: str, fields: dict[str, Any]) -> None:
    """Refuse a name or an instance that exists: a request may not take either over."""
    client = cloud.sm.secrets_manager()
    try:
        client.describe_secret(SecretId=name)
    except client.exceptions.ResourceNotFoundException:
        pass
    else:
        raise RequestRefused(f"name {_quoted(name)}: a secret of that name exists")
    for key in ("groupId", "spaceId", "instanceId"):
        if key in fields and cloud.has_instance(str(fields[key])):
            raise RequestRefused(f"field '{key}': instance {_quoted(fields[key])} exists")


def add_secret(
    cloud: LocalCloud, name: str, provider: str, fields: dict[str, Any]
) -> ExampleSecret:
    """A new instance with a fresh redis-server, and a secret ``name`` for it, granted to it
    in the provider's credentials secret; ``fields`` are the user's own secret fields, and
    the local cloud's options (``_OPTIONS``). Everything is checked before anything is made."""
    if provider not in _OPTIONS:
        raise RequestRefused(f"provider must be one of {sorted(_OPTIONS)}")
    if not _NAME.fullmatch(name):
        raise RequestRefused(
            f"name {_quoted(name)}: use 1-512 letters, digits and /_+=.@- (no glob characters)"
        )
    reserved = sorted(set(fields) & {*_RESERVED, *_MADE_IDS.get(provider, ())})
    if reserved:
        raise RequestRefused(f"the local cloud sets {', '.join(reserved)} itself: leave it out")
    options = {k: fields.pop(k) for k in list(fields) if k in _OPTIONS[provider]}
    for option, allowed in _OPTIONS[provider].items():
        value = options.setdefault(option, allowed[0])
        # By type too: True == 1, and 1.0 == 1.
        if not any(type(value) is type(a) and value == a for a in allowed):
            raise RequestRefused(f"field '{option}' must be one of {list(allowed)}")
    _validated(provider, fields, options)
    _taken(cloud, name, fields)
    try:
        if provider == "uredis":
            return _add_uredis(cloud, name, fields, options)
        if provider == "alibaba":
            return _add_alibaba(cloud, name, fields, options)
        if provider == "elasticache":
            return cloud.add_elasticache_secret(name, **options, **fields)
        return _add_tencent(cloud, name, fields)
    except ClientError as exc:
        raise RequestRefused(exc.response.get("Error", {}).get("Message", str(exc))) from None


def _add_uredis(
    cloud: LocalCloud, name: str, fields: dict[str, Any], options: dict[str, Any]
) -> ExampleSecret:
    # A space is named by spaceId alone (the schema refuses groupId beside it).
    space = "spaceId" in fields
    group_id = fields.pop("spaceId" if space else "groupId", None)
    return cloud.add_uredis_secret(
        name, group_id=group_id, space=space, replicas=options.get("replicas", 0), **fields
    )


def _accounts(fields: dict[str, Any]) -> dict[str, Any]:
    """The accounts, taken out of ``fields``: the local cloud makes and grants them, both of
    an alternating pair."""
    account = fields.pop("account", None)
    pair = fields.pop("accounts", None) or []
    if fields.get("strategy") == "alternating":
        del fields["strategy"]
    return {
        "account": account,
        "alternate": next((a for a in pair if a != account), None),
        "create_missing": bool(fields.pop("createMissingAccount", False)),
    }


def _add_tencent(cloud: LocalCloud, name: str, fields: dict[str, Any]) -> ExampleSecret:
    accounts = _accounts(fields)
    return cloud.add_tencent_secret(
        name,
        instance_id=fields.pop("instanceId", None),
        api_version=fields.pop("apiVersion", "2.0"),
        change_mode=fields.pop("changeMode", None),
        **accounts,
        **fields,
    )


def _add_alibaba(
    cloud: LocalCloud, name: str, fields: dict[str, Any], options: dict[str, Any]
) -> ExampleSecret:
    return cloud.add_alibaba_secret(name, **options, **_accounts(fields), **fields)


def refusal(headers: Message, path: str, port: int, token: str) -> tuple[int, str] | None:
    """Why a request is refused (status, message), or None: checked before its body is read."""
    if path != "/secrets":
        return 404, "the one resource is /secrets"
    if headers.get("Host", "") not in loopback_hosts(port):
        return 403, "the Host must name this loopback address and port"
    if "Origin" in headers:  # the command sends none; even this server's own pages may not
        return 403, "no web page may call the local cloud (it sent an Origin)"
    if headers.get_content_type() != "application/json" or "Content-Type" not in headers:
        return 415, "the Content-Type must be application/json"
    scheme, _, offered = headers.get("Authorization", "").partition(" ")
    if scheme != "Bearer" or not hmac.compare_digest(offered.encode(), token.encode()):
        return 401, "the token is missing or wrong: it is in the state file of `up`"
    return None


class ControlServer:
    def __init__(self, cloud: LocalCloud, token: str) -> None:
        self.cloud = cloud
        self.token = token
        self.lock = threading.Lock()  # one change of the cloud at a time
        control = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                status, document = control.respond(self)
                body = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:  # no access log on the console
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)

    def respond(self, request: BaseHTTPRequestHandler) -> tuple[int, dict[str, Any]]:
        """The status and document that answer ``request``."""
        try:
            length = int(request.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        refused = refusal(request.headers, request.path, self.address[1], self.token)
        if refused is None and not 0 <= length <= MAX_BODY:
            refused = (413, f"the body must be at most {MAX_BODY} bytes")
        if refused is not None:
            request.close_connection = True
            if 0 <= length <= 16 * MAX_BODY:  # read it, so that closing sends no reset
                request.rfile.read(length)
            return refused[0], {"error": refused[1]}
        try:
            body = json.loads(request.rfile.read(length))
            if not isinstance(body, dict) or not isinstance(body.get("fields", {}), dict):
                raise RequestRefused("the body must be an object, and its fields an object")
            with self.lock:
                example = add_secret(
                    self.cloud,
                    str(body["name"]),
                    str(body["provider"]),
                    dict(body.get("fields") or {}),
                )
        except KeyError as exc:
            return 400, {"error": f"field {exc} is required"}
        except (RequestRefused, ValueError, TypeError) as exc:
            return 400, {"error": str(exc)}
        return 200, {
            "name": example.name,
            "arn": example.arn,
            "provider": example.provider,
            "redis": f"{example.redis.host}:{example.redis.port}",
            **example.details,
        }

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.server.server_address[:2]
        return str(host), int(port)

    @property
    def endpoint(self) -> str:
        host, port = self.address
        return f"http://{host}:{port}"

    def start(self) -> ControlServer:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def control_request(endpoint: str, token: str, request: dict[str, Any]) -> dict[str, Any]:
    """Ask the running ``up`` at ``endpoint``; its refusal becomes a ``UserError``."""
    from rotation_cli.base import UserError

    data = json.dumps(request).encode()
    post = urllib.request.Request(  # noqa: S310  # the local cloud's own http://127.0.0.1
        f"{endpoint}/secrets",
        data=data,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
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
