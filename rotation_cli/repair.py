"""``redis-rotation repair SECRET``: finish or undo a stuck rotation by moving labels only.

It reads the labelled versions (AWSCURRENT, AWSPENDING, AWSPREVIOUS) and asks Redis, with
a read-only AUTH per version on each of its own endpoints, for its own account or user
and with its own TLS, which of their passwords it accepts.
From that it decides what happened:

  the change never landed (Redis accepts AWSCURRENT):   remove AWSPENDING;
  the change landed, finishSecret never ran
    (Redis accepts AWSPENDING):                         move AWSCURRENT to AWSPENDING's
                                                        version (AWSPREVIOUS follows), then
                                                        remove AWSPENDING, as AWS does;
  drift (Redis accepts AWSPREVIOUS):                    move AWSCURRENT back to AWSPREVIOUS's
                                                        version;
  Redis accepts no labelled password:                   refuse.

It refuses whenever it is unsure: an endpoint it cannot reach, endpoints that disagree,
two passwords accepted for one account, a change that may still be in flight (the
provider reports the instance busy; if it cannot say, --settled), a version whose fields
differ from AWSCURRENT's, or a secret the keys' owner's binding does not allow (passwords
go only to addresses the binding allows). It never changes a Redis password and never
calls a provider's change API; it may ask the provider's read-only describe, as setSecret
does, which addresses are the instance's and whether a change still runs.

--apply moves nothing while Secrets Manager may still retry the rotation: AWSPENDING
younger than the retry window (5 attempts x 4 steps x --function-timeout, 100 minutes by
default; --stuck-after sets it directly).

Without --apply it prints the plan and changes nothing. With --apply, right before each
label move it reads the labels and asks Redis again, and stops if anything changed (a
rotation that resumed meanwhile); after removing AWSPENDING it asks Redis once more and
puts the label back if that password landed in between.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from redis_rotation.entrypoint import provider_of
from redis_rotation.errors import RedisUnreachableError, RotationError, SecretFormatError
from redis_rotation.redis_check import Level
from redis_rotation.seams import DEFAULT_SEAMS, Seams
from redis_rotation.store import CURRENT, PENDING, PREVIOUS, SecretStore
from redis_rotation.terminal import safe_lines
from rotation_cli.access import (
    DEFAULT_FUNCTION_TIMEOUT,
    LOG,
    CountedClient,
    add_window_flags,
    open_secret,
    retry_window,
    window_of,
)
from rotation_cli.base import (
    NOT_OK,
    OK,
    Subcommands,
    add_command,
    add_json_flag,
    add_local_flag,
    current_value,
    emit,
    print_json,
    use_local_cloud,
)

if TYPE_CHECKING:
    from redis_rotation.secret import RedisSecret
    from redis_rotation.session import RotationSession

STAGES = (CURRENT, PENDING, PREVIOUS)
# What UpdateSecretVersionStage answers when a label is no longer where the move said
# ("Version stage AWSCURRENT not found in version ...").
STATE_CHANGED = frozenset({"InvalidParameterException", "InvalidRequestException"})


class Refused(Exception):
    """The evidence does not say safely what to do; nothing (more) was changed."""


@dataclass(frozen=True)
class Version:
    version_id: str
    secret: RedisSecret | None  # None: no value (the stub RotateSecret creates) or malformed
    malformed: str | None = None  # why the value is not a rotated secret (names the field)


@dataclass(frozen=True)
class Move:
    """One UpdateSecretVersionStage: ``stage`` onto ``to_version`` (None: removed) from
    ``from_version`` (Secrets Manager refuses it if the label has moved off that version)."""

    stage: str
    to_version: str | None
    from_version: str | None

    def request(self, secret_id: str) -> dict[str, Any]:
        request: dict[str, Any] = {"SecretId": secret_id, "VersionStage": self.stage}
        if self.to_version is not None:
            request["MoveToVersionId"] = self.to_version
        if self.from_version is not None:
            request["RemoveFromVersionId"] = self.from_version
        return request

    def __str__(self) -> str:
        if self.to_version is None:
            return f"remove {self.stage} from version {self.from_version}"
        follows = "; AWSPREVIOUS follows to it" if self.stage == CURRENT else ""
        return f"move {self.stage} to version {self.to_version} (from {self.from_version}{follows})"


@dataclass(frozen=True)
class Evidence:
    arn: str
    labelled: Mapping[str, Version]  # stage -> its version
    accepted: tuple[str, ...]  # the stages whose password every endpoint accepts
    endpoints: tuple[str, ...]
    # Why a change to AWSPENDING's password may still be in flight at the provider, if so.
    unsettled: str | None = None

    def version(self, stage: str) -> str | None:
        held = self.labelled.get(stage)
        return held.version_id if held else None


@dataclass(frozen=True)
class Plan:
    finding: str
    moves: tuple[Move, ...] = ()


def _edited(evidence: Evidence, stage: str) -> str | None:
    """The first field other than the password on which ``stage`` differs from AWSCURRENT."""
    current, other = evidence.labelled[CURRENT].secret, evidence.labelled[stage].secret
    assert current is not None  # both were asked of Redis
    assert other is not None
    return current.edited_field(other)


def _login(secret: RedisSecret) -> tuple[str | None, str | None]:
    return secret.account, secret.username


def _promote(evidence: Evidence) -> Plan:
    pending, current = evidence.version(PENDING), evidence.version(CURRENT)
    edited = _edited(evidence, PENDING)
    if edited is not None:
        raise Refused(
            f"Redis accepts AWSPENDING, but its field '{edited}' differs from AWSCURRENT "
            "(AWSCURRENT was edited during the rotation): let the rotation carry the edit "
            f"forward: aws secretsmanager rotate-secret --secret-id {evidence.arn}"
        )
    return Plan(
        "the change landed but finishSecret never ran: Redis accepts AWSPENDING; promote "
        "it to AWSCURRENT",
        (Move(CURRENT, pending, current), Move(PENDING, None, pending)),
    )


def decide(evidence: Evidence) -> Plan:
    """What happened and the label moves that fix it; Refused when that is not certain."""
    accepted, current = evidence.accepted, evidence.version(CURRENT)
    pending, previous = evidence.version(PENDING), evidence.version(PREVIOUS)
    remove_pending = (Move(PENDING, None, pending),) if pending else ()
    if not accepted:
        raise Refused(
            "Redis accepts no labelled password (AWSCURRENT, AWSPENDING, AWSPREVIOUS) on "
            f"{', '.join(evidence.endpoints)}: its password was changed outside the rotation. "
            "repair never changes a Redis password: set the instance's password to the "
            "AWSCURRENT value at the provider, then run repair again"
        )
    # AWSPENDING live means its change landed, whether AWSCURRENT is another account's
    # (alternating) or still accepted too (a user with two passwords, as ElastiCache keeps).
    if PENDING in accepted and pending != current:
        return _promote(evidence)
    if CURRENT in accepted:
        if pending is None:
            return Plan("ok: Redis accepts AWSCURRENT and no rotation is unfinished")
        if pending == current:
            return Plan(
                "a finished rotation left AWSPENDING on AWSCURRENT's version: remove it, as "
                "AWS does once finishSecret returns",
                remove_pending,
            )
        if evidence.unsettled:
            raise Refused(evidence.unsettled)
        return Plan(
            "the change never landed: Redis accepts AWSCURRENT, not AWSPENDING; removing "
            "AWSPENDING lets the next rotation start over",
            remove_pending,
        )
    edited = _edited(evidence, PREVIOUS)
    if evidence.unsettled and pending != previous:
        raise Refused(evidence.unsettled)  # AWSPENDING would go while its change may land
    if edited is not None:
        raise Refused(
            f"Redis accepts AWSPREVIOUS, whose field '{edited}' differs from AWSCURRENT: "
            "moving the labels back would undo that edit; put a new AWSCURRENT value with "
            "the password Redis accepts by hand"
        )
    return Plan(
        "drift to AWSPREVIOUS: Redis accepts AWSPREVIOUS's password, not AWSCURRENT's (the "
        "instance's password was set back, or AWSCURRENT was put by hand); move AWSCURRENT "
        "back to it",
        (Move(CURRENT, previous, current), *(m for m in remove_pending if pending != previous)),
    )


@dataclass
class Repair:
    secret_id: str
    client: CountedClient
    seams: Seams = DEFAULT_SEAMS
    env: Mapping[str, str] | None = None
    settled: bool = False  # the caller knows no change is in flight (Tencent API 2.0)
    # Seconds after AWSPENDING was created during which Secrets Manager may still run the
    # rotation's steps: --apply refuses to move a label until then.
    window: float = retry_window(DEFAULT_FUNCTION_TIMEOUT)
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    _session: RotationSession | None = None
    _admitted: set[str] = field(default_factory=set)  # version ids (a value never changes)

    @property
    def store(self) -> SecretStore:
        return SecretStore(self.client.client, LOG)

    def gather(self) -> Evidence:
        """Read the labels and their values, and ask Redis which password it accepts."""
        try:
            metadata = self.store.describe(self.secret_id)
            labelled = self._labelled(metadata)
            current = labelled[CURRENT].secret
            assert current is not None  # _labelled refuses a valueless AWSCURRENT
            session = self._session_for(current, metadata)
            accepted = self._accepted(session, labelled)
            pending = labelled.get(PENDING)
            # A stored AWSPENDING that Redis does not accept yet may have been asked for:
            # the provider's read-only describe says whether a change still runs.
            asked = pending is not None and pending.secret is not None
            return Evidence(
                str(metadata["ARN"]),
                labelled,
                accepted,
                tuple(map(str, current.endpoints)),
                self._unsettled(session, current) if asked and PENDING not in accepted else None,
            )
        except RotationError as exc:
            raise Refused(str(exc)) from None

    def _labelled(self, metadata: Mapping[str, Any]) -> dict[str, Version]:
        stages: Mapping[str, list[str]] = metadata.get("VersionIdsToStages", {})
        labelled: dict[str, Version] = {}
        for stage in STAGES:
            holders = [v for v, labels in stages.items() if stage in labels]
            if len(holders) > 1:
                raise Refused(f"{stage} is on {len(holders)} versions: fix that by hand first")
            if holders:
                try:
                    value = self.store.read(self.secret_id, stage, holders[0])
                except SecretFormatError as exc:
                    if stage == CURRENT:
                        raise
                    # Treated as holding no password, as a rotation would; shown with why.
                    why = str(exc).removeprefix(f"{exc.secret_label}: ")
                    labelled[stage] = Version(holders[0], None, f"malformed: {why}")
                    continue
                labelled[stage] = Version(holders[0], value)
        if CURRENT not in labelled or labelled[CURRENT].secret is None:
            raise Refused(f"secret {self.secret_id} has no AWSCURRENT value")
        return labelled

    def _session_for(self, current: RedisSecret, metadata: Mapping[str, Any]) -> RotationSession:
        if self._session is None:
            self._session = open_secret(
                self.client.client, provider_of(metadata, current), metadata, self.seams, self.env
            )
        return self._session

    def _admit(self, session: RotationSession, version: Version) -> None:
        if version.version_id not in self._admitted and version.secret is not None:
            session.admit(version.secret)
            self._admitted.add(version.version_id)

    def _unsettled(self, session: RotationSession, current: RedisSecret) -> str | None:
        status = session.provider(current).inspect(current).status
        if status.busy:
            return (
                f"the provider reports {current.instance_id} busy ({status.detail}): the "
                "stopped rotation's change may still be applied; wait and run repair again"
            )
        if not status.described and not self.settled:
            return (
                f"the {current.provider} API cannot say whether the stopped rotation's change "
                f"is still in flight ({status.detail}): once its task has surely ended "
                "(minutes), run repair again with --settled"
            )
        return None

    def _accepted(
        self, session: RotationSession, labelled: Mapping[str, Version]
    ) -> tuple[str, ...]:
        """The stages whose password every endpoint of their own version accepts, for their
        own account or user, with their own TLS (AUTH only). A version is asked only once
        the binding admits it, as a rotation would."""
        check = session.proof
        verdicts: dict[str, bool] = {}  # version id -> accepted
        asked = {held.version_id: held for held in labelled.values() if held.secret is not None}
        # Every admission (it may ask the provider) before the first question to Redis: the
        # answers then come as close together as they can, not around provider calls.
        for held in asked.values():
            self._admit(session, held)
        for held in asked.values():
            version = held.secret
            assert version is not None
            try:
                answers = {
                    check.proves(version, Level.AUTH, endpoint) for endpoint in version.endpoints
                }
            except RedisUnreachableError as exc:
                raise Refused(
                    f"{exc}: without every endpoint's answer repair cannot tell"
                ) from None
            if len(answers) > 1:
                raise Refused(
                    "the endpoints accept different passwords (a change still replicating, or "
                    "a replica left behind): wait a minute and run repair again"
                )
            verdicts[held.version_id] = answers.pop()
        accepted = tuple(s for s, v in labelled.items() if verdicts.get(v.version_id))
        live: dict[tuple[str | None, str | None], dict[str, RedisSecret]] = {}
        for stage in accepted:
            version = labelled[stage].secret
            assert version is not None  # only versions with a value were asked
            live.setdefault(_login(version), {})[version.password] = version
        for versions in live.values():
            # A user may hold two passwords (ElastiCache keeps the new and the old): that is
            # only so if it still refuses a wrong one and none; else any password would pass.
            if len(versions) > 1 and not all(
                check.proves(version, Level.FULL, endpoint)
                for version in versions.values()
                for endpoint in version.endpoints
            ):
                raise Refused(
                    f"Redis accepts {len(versions)} different labelled passwords and a wrong "
                    "one or none (an instance without password authentication): repair "
                    "cannot tell which one is live"
                )
        return accepted

    def plan(self) -> tuple[Evidence, Plan]:
        evidence = self.gather()
        return evidence, decide(evidence)

    def retried_until(self, evidence: Evidence) -> datetime | None:
        """When Secrets Manager stops retrying the unfinished rotation, if that is still
        ahead: until then a retry that has read AWSPENDING may change the password after
        any label move."""
        pending = evidence.version(PENDING)
        if pending is None or pending == evidence.version(CURRENT):
            return None
        created = next(
            (
                v.get("CreatedDate")
                for v in self.store.versions(evidence.arn)
                if v.get("VersionId") == pending
            ),
            None,
        )
        until = (created or self.now()) + timedelta(seconds=self.window)
        return until if until > self.now() else None

    def _refuse_while_retried(self, evidence: Evidence) -> None:
        until = self.retried_until(evidence)
        if until is not None:
            raise Refused(
                "Secrets Manager may still retry this rotation until "
                f"{until:%Y-%m-%d %H:%M:%S} UTC (AWSPENDING's age is within the retry window, "
                f"{timedelta(seconds=int(self.window))}): a retry that already read AWSPENDING "
                "could change the password after a label move. Run --apply after that time, "
                "or sooner with --stuck-after SECONDS once the rotation function surely runs "
                "no more (rotation cancelled, and one function timeout passed)"
            )

    def apply(self, plan: Plan) -> list[Move]:
        """Carry out ``plan``, re-checking labels and Redis before each move; nothing moves
        while Secrets Manager may still retry the rotation."""
        done: list[Move] = []
        for move in plan.moves:
            evidence = self.gather()
            if not done:
                self._refuse_while_retried(evidence)
            now = decide(evidence)
            if not now.moves or now.moves[0] != move:
                raise Refused(
                    f"the secret changed since the plan (a rotation may have resumed): "
                    f"{len(done)} of {len(plan.moves)} moves made, nothing more moved; run "
                    "repair again"
                )
            try:
                self.store.move_stage(evidence.arn, move.stage, move.to_version, move.from_version)
            except ClientError as exc:
                if _error_code(exc) not in STATE_CHANGED:
                    raise
                return self._after_a_lost_race(plan, done, exc)
            done.append(move)
            if move.stage == PENDING and move.to_version is None:
                self._undo_if_landed(evidence, move)
        return done

    def _after_a_lost_race(self, plan: Plan, done: list[Move], exc: ClientError) -> list[Move]:
        """A move Secrets Manager refused because the labels moved meanwhile (a resumed
        rotation's finishSecret): read them again, and finish the plan if what is left to
        do is still what it says; otherwise stop."""
        left = plan.moves[len(done) + 1 :]
        now = decide(self.gather())
        if not now.moves:
            return done
        if now.moves == left:
            return [*done, *self.apply(Plan(plan.finding, left))]
        raise Refused(
            "a label moved while repair moved it (a rotation may have resumed; Secrets "
            f"Manager said: {_error_message(exc)}): {len(done)} of {len(plan.moves)} moves "
            "made, nothing more moved; run repair again"
        )

    def _undo_if_landed(self, before: Evidence, move: Move) -> None:
        """A resumed rotation's change may have landed between the last check and the
        removal: then AWSPENDING goes back, so its password is never unlabelled."""
        removed = before.labelled[PENDING].secret
        if removed is None or PENDING in before.accepted:
            return
        session = self._session
        assert session is not None
        if session.accepts(removed, Level.AUTH):
            self.store.move_stage(before.arn, PENDING, move.from_version, None)
            raise Refused(
                "Redis began to accept AWSPENDING while repair removed it (a rotation "
                "resumed): the label is back; run repair again"
            )


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _error_message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", _error_code(exc)))


def _labels_line(evidence: Evidence) -> str:
    parts = []
    for stage in STAGES:
        held = evidence.labelled.get(stage)
        if held is not None:
            value = "" if held.secret is not None else f" ({held.malformed or 'no value'})"
            parts.append(f"{stage} {held.version_id}{value}")
    return ", ".join(parts)


def run(args: argparse.Namespace, seams: Seams = DEFAULT_SEAMS) -> int:
    use_local_cloud(args)
    client = CountedClient.create()
    current_value(client.client, args.secret_id)  # unknown or not JSON: exit 2 (docs/cli.md)
    repair = Repair(args.secret_id, client, seams, settled=args.settled, window=window_of(args))
    report: dict[str, Any] = {"secret": args.secret_id, "applied": False}
    lines = [f"repair {args.secret_id} ({'apply' if args.apply else 'dry run'})"]
    code = OK
    try:
        evidence, plan = repair.plan()
        report |= {
            "labels": {s: v.version_id for s, v in evidence.labelled.items()},
            "redisAccepts": list(evidence.accepted),
            "finding": plan.finding,
            "plan": [str(m) for m in plan.moves],
        }
        lines += [
            f"  labels: {_labels_line(evidence)}",
            f"  Redis ({', '.join(evidence.endpoints)}) accepts: {', '.join(evidence.accepted)}",
            f"  finding: {plan.finding}",
        ]
        lines += [f"  {i}. {move}" for i, move in enumerate(plan.moves, 1)]
        if plan.moves and args.apply:
            done = repair.apply(plan)
            report["applied"] = True
            moves = f"{len(done)} label move{'s' if len(done) > 1 else ''}"
            lines.append(f"  applied: {moves}, each after Redis and the labels were re-checked")
        elif plan.moves:
            code = NOT_OK
            lines.append("  dry run: nothing changed; run again with --apply to carry it out")
    except Refused as exc:
        code = NOT_OK
        report["refused"] = str(exc)
        lines.append(f"  refused: {exc}")
    report["secretsManagerCalls"] = client.total
    lines.append(f"  Secrets Manager calls: {client.total}")
    if args.json:
        print_json(report)
    else:
        emit(safe_lines(lines))
    return code


def register(commands: Subcommands) -> None:
    parser = add_command(
        commands, "repair", run, "finish or undo a stuck rotation (labels only)", __doc__
    )
    parser.add_argument("secret_id", metavar="SECRET", help="name or ARN of the rotated secret")
    parser.add_argument("--apply", action="store_true", help="carry out the plan")
    parser.add_argument(
        "--settled",
        action="store_true",
        help="no password change is in flight (when the provider's describe cannot say)",
    )
    add_window_flags(parser)
    add_json_flag(parser)
    add_local_flag(parser)
