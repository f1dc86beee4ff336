"""``redis-rotation status``: every selected secret's rotation state, one line each.

Which secrets: those rotated by a function (--function NAME or ARN, repeatable), by this
stack's functions (--stack NAME: NAME-uredis, -tencent, -elasticache, -alibaba), whose
name starts with a prefix (--prefix) or that carry a tag (--tag KEY or KEY=VALUE); the
options combine (all must hold). No option: the secrets this project's functions rotate
(rotation on, function named *-uredis, *-tencent, *-elasticache or *-alibaba); --all:
every secret the caller may list.

States:
  ok            rotation is on and no rotation is unfinished
  rotating      AWSPENDING is attached, younger than the retry window, and no step
                failure was logged since it was created
  failing       as rotating, but the function's log group has a step failure for this
                secret since AWSPENDING was created (the last one is shown)
  stuck         AWSPENDING is older than the retry window: Secrets Manager has stopped
                retrying; `redis-rotation repair SECRET` says what happened and fixes it
  not-attached  rotation is off, or no rotation function is set

The retry window is 5 attempts x 4 steps x the function's timeout (--function-timeout,
the stack's FunctionTimeout, 300 s by default: 100 minutes); --stuck-after overrides it.

Cost: ListSecrets, 100 secrets a page, filtered by the server for --prefix and --tag;
BatchGetSecretValue, 20 AWSCURRENT values a call (provider, instance); one
ListSecretVersionIds per secret with AWSPENDING attached (its age). With --check, one
GetSecretValue per credentials secret and one AUTH per Redis endpoint, sent only to
addresses the keys' owner's binding allows. The counts are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import textwrap
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from redis_rotation.entrypoint import STACK_FUNCTIONS, function_name, function_provider
from redis_rotation.errors import RedisUnreachableError, RotationError
from redis_rotation.redis_check import Level
from redis_rotation.seams import DEFAULT_SEAMS, Seams
from redis_rotation.secret import load_json_object, parse_secret, validate
from redis_rotation.store import CURRENT, PENDING
from redis_rotation.terminal import safe_lines, terminal_safe
from rotation_cli.access import CountedClient, add_window_flags, open_secret, window_of
from rotation_cli.base import (
    NOT_OK,
    OK,
    Subcommands,
    UserError,
    add_command,
    add_json_flag,
    add_local_flag,
    emit,
    print_json,
    use_local_cloud,
)

if TYPE_CHECKING:
    from redis_rotation.secret import RedisSecret
    from redis_rotation.store import Credentials

PAGE_SIZE = 100  # ListSecrets' MaxResults limit
BATCH_SIZE = 20  # BatchGetSecretValue's SecretIdList limit
FAILURE_PHRASE = "step failed"  # the functions' failure log line (observability.step_result)


@dataclass
class Row:
    name: str
    arn: str
    provider: str = "-"
    instance: str = "-"
    strategy: str = "-"
    last_rotated: datetime | None = None
    next_rotation: datetime | None = None
    state: str = "ok"
    detail: str = ""
    auth: str | None = None  # with --check
    function: str | None = None  # the rotation function's name
    pending_version: str | None = None
    pending_since: datetime | None = None
    value: RedisSecret | None = field(default=None, repr=False)

    def document(self) -> dict[str, Any]:
        keep = asdict(self)
        del keep["value"]
        return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in keep.items()}


@dataclass(frozen=True)
class Selection:
    functions: frozenset[str] = frozenset()
    prefix: str | None = None
    tags: tuple[tuple[str, str | None], ...] = ()
    every: bool = False  # --all

    @property
    def default(self) -> bool:
        """No selector: the secrets this stack's functions rotate."""
        return not (self.every or self.functions or self.prefix or self.tags)

    def filters(self) -> list[dict[str, Any]]:
        """What ListSecrets' server-side Filters can select (they are ANDed)."""
        filters: list[dict[str, Any]] = []
        if self.prefix:
            filters.append({"Key": "name", "Values": [self.prefix]})
        for key, value in self.tags:
            filters.append({"Key": "tag-key", "Values": [key]})
            if value is not None:
                filters.append({"Key": "tag-value", "Values": [value]})
        return filters

    def wants(self, entry: Mapping[str, Any]) -> bool:
        """What the server cannot select: the function, and a tag's key and value together
        (its tag-key and tag-value filters may match two different tags)."""
        tags = {t.get("Key"): t.get("Value") for t in entry.get("Tags", [])}
        if any(k not in tags or (v is not None and tags[k] != v) for k, v in self.tags):
            return False
        attached = entry.get("RotationLambdaARN")
        if self.default:
            return bool(entry.get("RotationEnabled")) and function_provider(attached) is not None
        return not self.functions or function_name(attached) in self.functions


@dataclass
class Status:
    client: CountedClient
    selection: Selection
    window: float
    seams: Seams = DEFAULT_SEAMS
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    logs: Any = None  # a CloudWatch Logs client; None: one is made when needed
    logs_calls: int = 0
    notes: list[str] = field(default_factory=list)

    def rows(self, *, check: bool = False) -> list[Row]:
        rows = [self._row(entry) for entry in self._listed()]
        self._values(rows)
        for row in rows:
            self._classify(row)
        self._failures([r for r in rows if r.state == "rotating"])
        if check:
            credentials: dict[tuple[str, str], Credentials] = {}
            for row in rows:
                row.auth = self._check(row, credentials)
        return rows

    def _listed(self) -> Iterator[Mapping[str, Any]]:
        paginator = self.client.client.get_paginator("list_secrets")
        pages = paginator.paginate(
            Filters=self.selection.filters(),  # type: ignore[arg-type]
            PaginationConfig={"PageSize": PAGE_SIZE},
        )
        for page in pages:
            yield from (e for e in page.get("SecretList", []) if self.selection.wants(e))

    def _row(self, entry: Mapping[str, Any]) -> Row:
        row = Row(
            name=str(entry["Name"]),
            arn=str(entry["ARN"]),
            last_rotated=entry.get("LastRotatedDate"),
            next_rotation=entry.get("NextRotationDate"),
            function=function_name(entry.get("RotationLambdaARN")),
        )
        row.provider = function_provider(entry.get("RotationLambdaARN")) or "-"
        stages: Mapping[str, list[str]] = entry.get("SecretVersionsToStages", {})
        # AWSPENDING on AWSCURRENT's version is what a finished rotation leaves where AWS's
        # removal did not run: harmless, the next RotateSecret takes it.
        row.pending_version = next(
            (v for v, s in stages.items() if PENDING in s and CURRENT not in s), None
        )
        if not entry.get("RotationEnabled") or row.function is None:
            row.state, row.detail = "not-attached", "rotation is off or has no function"
        return row

    def _values(self, rows: Sequence[Row]) -> None:
        """Provider, instance and strategy from AWSCURRENT, 20 secrets a call."""
        by_arn = {row.arn: row for row in rows}
        arns = list(by_arn)
        for start in range(0, len(arns), BATCH_SIZE):
            answer = self.client.client.batch_get_secret_value(
                SecretIdList=arns[start : start + BATCH_SIZE]
            )
            for value in answer.get("SecretValues", []):
                row = by_arn[str(value["ARN"])]
                try:
                    row.value = parse_secret(value.get("SecretString"), f"secret {row.name}")
                except RotationError as exc:
                    row.detail = _keys_secret(value.get("SecretString")) or str(exc)
                    continue
                if row.provider == "-":  # not attached to one of this stack's functions
                    row.provider = row.value.provider
                row.instance = row.value.instance_id
                row.strategy = _strategy(row.value)
            for error in answer.get("Errors", []):
                by_arn[str(error["SecretId"])].detail = f"cannot read: {error.get('ErrorCode')}"

    def _classify(self, row: Row) -> None:
        if row.state == "not-attached" or row.pending_version is None:
            return
        try:
            versions = self.client.client.list_secret_version_ids(SecretId=row.arn, MaxResults=100)
        except ClientError as exc:  # this secret's permissions: the other rows go on
            row.detail = f"cannot list its versions: {_error_name(exc)}"
            return
        created = next(
            (
                v.get("CreatedDate")
                for v in versions.get("Versions", [])
                if v.get("VersionId") == row.pending_version
            ),
            None,
        )
        row.pending_since = created
        age = (self.now - created).total_seconds() if created else 0.0
        row.state = "stuck" if age >= self.window else "rotating"
        pending = f"AWSPENDING on {row.pending_version} for {_duration(age)}" + (
            f" (retry window {_duration(self.window)}): run repair" if age >= self.window else ""
        )
        # Why AWSCURRENT could not be read stays shown: it is what the next step will meet.
        row.detail = f"{row.detail}; {pending}" if row.detail else pending

    def _failures(self, rows: Sequence[Row]) -> None:
        """Rotating secrets whose function logged a step failure since AWSPENDING came."""
        groups: dict[str, list[Row]] = {}
        for row in rows:
            groups.setdefault(f"/aws/lambda/{row.function}", []).append(row)
        for group, members in groups.items():
            since = min(r.pending_since or self.now for r in members)
            try:
                last = self._last_failures(group, since)
            except (ClientError, BotoCoreError) as exc:  # no group, permission or endpoint
                self.notes.append(
                    f"log group {group} is not readable ({_error_name(exc)}): 'failing' "
                    "cannot be told from 'rotating' for its secrets"
                )
                continue
            for row in members:
                failure = last.get(row.arn) or last.get(row.name)
                if failure and (row.pending_since is None or failure[0] >= row.pending_since):
                    row.state = "failing"
                    row.detail = f"{failure[1]}; {row.detail}"

    def _last_failures(self, group: str, since: datetime) -> dict[str, tuple[datetime, str]]:
        """secret id -> (time, what) of its last logged step failure in ``group``."""
        if self.logs is None:
            import boto3

            self.logs = boto3.client(
                "logs", endpoint_url=os.environ.get("AWS_ENDPOINT_URL_LOGS") or None
            )
        last: dict[str, tuple[datetime, str]] = {}
        paginator = self.logs.get_paginator("filter_log_events")
        pages = paginator.paginate(
            logGroupName=group,
            startTime=int(since.timestamp() * 1000),
            filterPattern=f'"{FAILURE_PHRASE}"',
        )
        for page in pages:
            self.logs_calls += 1
            for event in page.get("events", []):
                line = _json(event.get("message", ""))
                if not str(line.get("message", "")).startswith(FAILURE_PHRASE):
                    continue
                when = datetime.fromtimestamp(int(event.get("timestamp", 0)) / 1000, UTC)
                what = f"{line.get('step', '?')} failed: {line.get('error', '?')}"
                key = str(line.get("secret_id", ""))
                if key not in last or last[key][0] <= when:
                    last[key] = (when, what)
        return last

    def _check(self, row: Row, credentials: dict[tuple[str, str], Credentials]) -> str | None:
        """One AUTH per endpoint with AWSCURRENT's password, where the binding allows it.
        Whatever goes wrong is this row's answer: the other rows are still checked."""
        if row.state == "not-attached":
            return None
        if row.value is None:  # a rotated secret the rotation cannot read fails the check
            return "not checked: AWSCURRENT cannot be read as a rotated secret (see its detail)"
        current = row.value
        metadata = {"Name": row.name, "ARN": row.arn}
        try:
            provider = row.provider if row.provider != "-" else current.provider
            # One read per (credentials secret, schema) across the fleet.
            session = open_secret(
                self.client.client, provider, metadata, self.seams, credentials=credentials
            )
            session.admit(current)
            refused = [
                str(e)
                for e in current.endpoints
                if not session.proof.proves(current, Level.AUTH, e)
            ]
        except RedisUnreachableError as exc:
            return f"unreachable: {exc}"
        except RotationError as exc:
            return f"not checked: {exc}"
        except (ClientError, BotoCoreError) as exc:
            return f"not checked: {_error_name(exc)}"
        except Exception as exc:  # a defect must not end the fleet's status, nor print a trace
            return f"not checked: unexpected {type(exc).__name__} (a defect: please report it)"
        return f"refused at {', '.join(refused)}" if refused else "ok"


def _strategy(value: RedisSecret) -> str:
    if value.alternating:
        return f"alternating ({', '.join(value.accounts)})"
    login = value.account or value.username
    return f"single-user ({login})" if login else "single-user"


def _keys_secret(secret_string: str | None) -> str | None:
    """What a provider's API keys' secret (not a rotated one) is shown as."""
    for provider in STACK_FUNCTIONS:
        try:
            validate(
                load_json_object(secret_string, "keys"),
                f"credentials-{provider}.schema.json",
                "keys",
            )
        except RotationError:
            continue
        return f"the {provider} API keys' secret (read by the rotation, not rotated)"
    return None


def _json(text: str) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def _error_name(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", type(exc).__name__))
    return type(exc).__name__


def _duration(seconds: float) -> str:
    return str(timedelta(seconds=int(seconds)))


COLUMNS = ("SECRET", "PROVIDER", "INSTANCE", "STRATEGY", "LAST ROTATED", "NEXT ROTATION", "STATE")
# Text rows fit a terminal of this many columns: long cells are shortened, and AUTH and
# DETAIL go on wrapped lines of their own below the row. --json keeps everything.
WIDTH = 120
CELL_WIDTHS = (30, 8, 18, 12, 12, 13, 12)


def _day(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d") if moment else "-"


def _cell(text: str, width: int) -> str:
    text = terminal_safe(text)  # before measuring: an escape is wider than its character
    return text if len(text) <= width else f"{text[: width - 1]}…"


def table(rows: Iterable[Row], check: bool) -> list[str]:
    lines = ["  ".join(c.ljust(w) for c, w in zip(COLUMNS, CELL_WIDTHS, strict=True)).rstrip()]
    for r in rows:
        # The strategy's first word; the accounts or user are in --json.
        strategy = r.strategy.split(" ", 1)[0]
        day = (_day(r.last_rotated), _day(r.next_rotation))
        cells = (r.name, r.provider, r.instance, strategy, *day, r.state)
        lines.append(
            "  ".join(
                _cell(c, w).ljust(w) for c, w in zip(cells, CELL_WIDTHS, strict=True)
            ).rstrip()
        )
        notes = [f"auth: {r.auth or '-'}"] if check and r.state != "not-attached" else []
        notes += [r.detail] if r.detail else []
        for note in notes:
            lines += textwrap.wrap(
                terminal_safe(note),
                WIDTH,
                initial_indent="    ",
                subsequent_indent="      ",
                break_on_hyphens=False,
            )
    return lines


def summary(rows: Sequence[Row], status: Status) -> dict[str, Any]:
    calls = status.client.calls
    return {
        "secrets": len(rows),
        "states": dict(Counter(r.state for r in rows)),
        "secretsManagerCalls": status.client.total,
        "secretsManagerCallsByOperation": dict(calls),
        "logsCalls": status.logs_calls,
        "retryWindowSeconds": status.window,
        "notes": status.notes,
    }


def selection_of(args: argparse.Namespace) -> Selection:
    functions = {function_name(f) or "" for f in args.function or ()}
    functions |= {f"{args.stack}-{p}" for p in STACK_FUNCTIONS} if args.stack else set()
    tags = []
    for raw in args.tag or ():
        key, sep, value = raw.partition("=")
        if not key:
            raise UserError(f"--tag {raw!r}: give KEY or KEY=VALUE")
        tags.append((key, value if sep else None))
    return Selection(frozenset(functions), args.prefix, tuple(tags), args.all)


def run(args: argparse.Namespace) -> int:
    use_local_cloud(args)
    status = Status(CountedClient.create(), selection_of(args), window_of(args))
    rows = status.rows(check=args.check)
    facts = summary(rows, status)
    if args.json:
        print_json({"summary": facts, "secrets": [r.document() for r in rows]})
    else:
        lines = table(rows, args.check)
        states = ", ".join(f"{n} {s}" for s, n in sorted(facts["states"].items()))
        by_operation = ", ".join(f"{op} {n}" for op, n in sorted(status.client.calls.items()))
        lines.append(f"{len(rows)} secrets: {states or 'none'}")
        lines.append(f"Secrets Manager calls: {status.client.total} ({by_operation})")
        lines.append(f"CloudWatch Logs calls: {status.logs_calls}")
        for note in status.notes:
            lines += textwrap.wrap(terminal_safe(f"note: {note}"), WIDTH, subsequent_indent="  ")
        emit(safe_lines(lines))
    unhealthy = any(r.state in ("stuck", "failing") for r in rows)
    failed_check = any(r.auth not in (None, "ok") for r in rows)
    return NOT_OK if unhealthy or failed_check else OK


def register(commands: Subcommands) -> None:
    parser = add_command(
        commands, "status", run, "every secret's rotation state (reads only)", __doc__
    )
    parser.add_argument(
        "--function", action="append", help="rotated by this function (name or ARN)"
    )
    parser.add_argument("--stack", help="rotated by this stack's functions (its name)")
    parser.add_argument("--prefix", help="secret names starting with this")
    parser.add_argument("--tag", action="append", help="KEY or KEY=VALUE")
    parser.add_argument(
        "--all", action="store_true", help="every secret the caller may list (the keys' too)"
    )
    parser.add_argument(
        "--check", action="store_true", help="ask Redis whether it accepts AWSCURRENT"
    )
    add_window_flags(parser)
    add_json_flag(parser)
    add_local_flag(parser)
