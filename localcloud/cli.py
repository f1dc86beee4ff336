"""The local cloud's verbs of ``redis-rotation`` (``python -m localcloud`` is the same).

Passwords are never printed: the demo shows a short SHA-256 fingerprint of each.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import shlex
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from localcloud import state as local_state
from localcloud.cloud import ExampleSecret, LocalCloud
from localcloud.control import ControlServer, control_request
from localcloud.driver import RotationResult
from localcloud.logs import SILENT, around_run, function_logs
from rotation_cli.base import UserError, current_value, running_local_cloud

# Each provider module of the local cloud registers how it creates its demo secrets.
ExampleFactory = Callable[[LocalCloud], list[ExampleSecret]]


def _uredis_examples(cloud: LocalCloud) -> list[ExampleSecret]:
    # A master-replica group and a distributed space (UMem), each changed by its own call.
    return [
        cloud.add_uredis_secret("localcloud/uredis-demo", group_id="uredis-demo"),
        cloud.add_uredis_secret("localcloud/uredis-space-demo", group_id="umem-demo", space=True),
    ]


def _tencent_examples(cloud: LocalCloud) -> list[ExampleSecret]:
    # One per API and change mode, and one per kind of custom account; tasks take a
    # moment, as Tencent's asynchronous ones do.
    accounts: dict[str, dict[str, Any]] = {
        "v3-account": {"account": "orders"},
        # The other account does not exist yet: the first rotation creates it.
        "v3-alternating": {
            "account": "orders",
            "alternate": "orders_clone",
            "create_missing": True,
        },
    }
    modes = [("v2", "2.0", None), ("v3-modify", "3.0", "modify"), ("v3-reset", "3.0", "reset")]
    modes += [(label, "3.0", None) for label in accounts]
    return [
        cloud.add_tencent_secret(
            f"localcloud/tencent-{label}-demo",
            instance_id=f"crs-demo-{label}",
            api_version=version,
            change_mode=mode,
            task_duration=0.3,
            **accounts.get(label, {}),
        )
        for label, version, mode in modes
    ]


def _elasticache_examples(cloud: LocalCloud) -> list[ExampleSecret]:
    # An RBAC user and a replication group's AUTH token, each on a primary and a replica,
    # and an RBAC user of a cluster-mode group (a real Redis Cluster, its nodes found
    # through DescribeCacheClusters).
    modes: dict[str, dict[str, Any]] = {
        "user": {"kind": "user"},
        "token": {"kind": "token"},
        "cluster-user": {"kind": "user", "cluster_mode": True},
    }
    return [
        cloud.add_elasticache_secret(f"localcloud/elasticache-{label}-demo", **options)
        for label, options in modes.items()
    ]


def _alibaba_examples(cloud: LocalCloud) -> list[ExampleSecret]:
    # The default account, a custom one, and an alternating pair (the other account is
    # created by the first rotation) on a standard and on a cluster instance.
    pair = {"account": "orders", "alternate": "orders_clone", "create_missing": True}
    modes: dict[str, dict[str, Any]] = {
        "default": {},
        "account": {"account": "orders"},
        "alternating": pair,
        "cluster-alternating": {**pair, "architecture": "cluster"},
    }
    return [
        cloud.add_alibaba_secret(f"localcloud/alibaba-{label}-demo", **options)
        for label, options in modes.items()
    ]


EXAMPLES: list[ExampleFactory] = [
    _uredis_examples,
    _tencent_examples,
    _elasticache_examples,
    _alibaba_examples,
]


def fingerprint(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()[:10]


def quiet_functions(verbose: bool) -> None:
    """The functions' own JSON logs would bury the command's output; `--verbose` shows them.
    For `up`, which serves until it ends: the level is set on the logger made at import."""
    if not verbose:
        from redis_rotation.observability import logger

        logger.setLevel(SILENT)
        os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
        os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")


def start_cloud() -> tuple[LocalCloud, list[ExampleSecret]]:
    cloud = LocalCloud().start()
    examples = [example for factory in EXAMPLES for example in factory(cloud)]
    return cloud, examples


def describe(cloud: LocalCloud, examples: Sequence[ExampleSecret]) -> dict[str, Any]:
    return {
        "secretsManager": cloud.sm.endpoint,
        "providerApis": cloud.api_endpoints(),
        "functions": {p: cloud.function_arn(p) for p in sorted({e.provider for e in examples})},
        "environment": cloud.environment(),
        "secrets": {
            e.name: {
                "arn": e.arn,
                "provider": e.provider,
                "redis": f"{e.redis.host}:{e.redis.port}",
                **e.details,
            }
            for e in examples
        },
    }


def cmd_up(args: argparse.Namespace) -> int:
    other = local_state.running()
    if other is not None:
        # Taking its state file over would leave it running and unreachable.
        raise UserError(
            f"a local cloud is already running (process {other[0]}, state in {other[1]}): "
            "stop it first, or give this one its own REDIS_ROTATION_STATE"
        )
    quiet_functions(args.verbose)
    cloud, examples = start_cloud()
    # `aws secretsmanager rotate-secret --rotation-lambda-arn <a function's ARN>` rotates.
    cloud.attach_functions()
    # The control endpoint's token: only who can read the state file may make secrets.
    control = ControlServer(cloud, secrets.token_urlsafe(32)).start()
    state = {
        **describe(cloud, examples),
        "control": control.endpoint,
        "controlToken": control.token,
        "pid": os.getpid(),
    }
    path = local_state.save(state)
    if args.json:
        # The token stays in the private state file, off the terminal and out of logs.
        shown = {k: v for k, v in state.items() if k != "controlToken"}
        print(json.dumps(shown, indent=2), flush=True)
    else:
        print_state(state)
    # The last line, on stderr so that --json stays one document: scripts wait for it.
    print(f"local cloud ready (state in {path}); stop it with Ctrl-C", file=sys.stderr, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        control.stop()
        cloud.stop()
        local_state.remove()
    return 0


def print_state(state: dict[str, Any]) -> None:
    print(f"Secrets Manager: {state['secretsManager']}")
    for provider, endpoint in state["providerApis"].items():
        print(f"{provider} API: {endpoint}")
    for provider, arn in state["functions"].items():
        print(f"{provider} function (rotate-secret --rotation-lambda-arn): {arn}")
    print("secrets:")
    for name, secret in state["secrets"].items():
        print(f"  {name:<34} {secret['provider']:<7} redis {secret['redis']}")
    print('point the AWS CLI and boto3 here: eval "$(redis-rotation env)"', flush=True)


def _provider_of(client: Any, secret_id: str, functions: dict[str, str]) -> str:
    provider = current_value(client, secret_id).get("provider")
    if provider not in functions:
        raise UserError(f"secret {secret_id}: field 'provider' must be one of {sorted(functions)}")
    return str(provider)


def cmd_rotate(args: argparse.Namespace) -> int:
    from localcloud.driver import RotationDriver

    state = running_local_cloud()
    import boto3

    client = boto3.client("secretsmanager", endpoint_url=state["secretsManager"])
    provider = _provider_of(client, args.secret_id, state["functions"])
    driver = RotationDriver(client, LocalCloud.handler(provider), state["functions"][provider])
    # The functions' log lines must not mix into the result (stdout).
    with function_logs(args.verbose, args.log_file) as logs, around_run(logs):
        result = driver.rotate(args.secret_id)
    summary = _result_summary(result)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        for step in summary["steps"]:
            note = f"  ({step['error']})" if step["error"] else ""
            print(f"attempt {step['attempt']}: {step['step']:<13} {step['outcome']}{note}")
        verdict = "rotated" if result.succeeded else "NOT rotated"
        print(f"{args.secret_id}: {verdict} (version {result.token})")
    return 0 if result.succeeded else 1


def cmd_add_secret(args: argparse.Namespace) -> int:
    state = running_local_cloud()
    fields: dict[str, Any] = {}
    if args.secret_string:
        try:
            fields = json.loads(args.secret_string)
        except ValueError:
            raise UserError("--secret-string must be a JSON object") from None
        if not isinstance(fields, dict):
            raise UserError("--secret-string must be a JSON object")
    request = {"name": args.name, "provider": args.provider, "fields": fields}
    answer = control_request(state["control"], str(state.get("controlToken", "")), request)
    if args.json:
        print(json.dumps(answer, indent=2))
    else:
        print(f"created {answer['name']} ({answer['provider']}, redis {answer['redis']})")
        print(f"  arn: {answer['arn']}")
        print(f"  rotate it: redis-rotation rotate {answer['name']}")
    return 0


def cmd_env(args: argparse.Namespace) -> int:
    state = running_local_cloud()
    for name, value in sorted(state["environment"].items()):
        print(f"export {name}={shlex.quote(str(value))}")
    if args.verbose:
        print("# eval this in a shell to point the AWS CLI and boto3 at the local cloud")
    return 0


def _result_summary(result: RotationResult) -> dict[str, Any]:
    return {
        "secret": result.secret_id,
        "version": result.token,
        "succeeded": result.succeeded,
        "attempts": result.attempts,
        "steps": [
            {"attempt": r.attempt, "step": r.step, "outcome": r.outcome, "error": r.error}
            for r in result.runs
        ],
    }


def _show_versions(cloud: LocalCloud, example: ExampleSecret, accepted: dict[str, bool]) -> None:
    for version, stages in sorted(cloud.stages(example.arn).items(), key=lambda kv: kv[1]):
        value = cloud.value(example.arn, stages[0])
        verdict = "accepted" if accepted.get(version) else "refused"
        password = fingerprint(value["password"])
        labels = ",".join(stages)
        account = f"  account {value['account']}" if "account" in value else ""
        print(
            f"    {labels:<12} version {version[:8]}{account}  password #{password}  -> Redis "
            f"{verdict}"
        )


def demo_one(cloud: LocalCloud, example: ExampleSecret, logs: TextIO | None) -> bool:
    print(f"\n== {example.name}  ({example.provider}, {example.details}) ==")
    before = cloud.value(example.arn, "AWSCURRENT")
    print(
        f"  before: AWSCURRENT password #{fingerprint(before['password'])}, Redis accepts it: "
        f"{example.accepts(before)}"
    )
    with around_run(logs):
        result = cloud.driver(example.provider).rotate(example.arn)
    for run in result.runs:
        note = f"  ({run.error})" if run.error else ""
        print(f"  attempt {run.attempt}: {run.step:<13} {run.outcome}{note}")
    after = cloud.value(example.arn, "AWSCURRENT")
    accepted = {
        version: example.accepts(cloud.value(example.arn, stages[0]))
        for version, stages in cloud.stages(example.arn).items()
    }
    print("  after:")
    _show_versions(cloud, example, accepted)
    new_accepted = example.accepts(after)
    changed = result.succeeded and new_accepted and before["password"] != after["password"]
    two_passwords = example.provider == "elasticache"  # ElastiCache keeps the old one too
    if example.details.get("strategy") == "alternating" or two_passwords:
        # Zero downtime: the version clients hold keeps working until the next rotation.
        old_kept = example.accepts(before)
        ok = changed and old_kept and (two_passwords or before["account"] != after["account"])
        verdict = f"old version still accepted (now AWSPREVIOUS): {old_kept}"
    else:
        old_refused = not example.accepts(before)
        ok = changed and old_refused
        verdict = f"old password refused: {old_refused}"
    print(f"  {verdict}; new password accepted: {new_accepted}; {'OK' if ok else 'FAILED'}")
    return ok


def cmd_demo(args: argparse.Namespace) -> int:
    with function_logs(args.verbose, args.log_file) as logs:
        cloud, examples = start_cloud()
        try:
            print(
                f"local cloud: Secrets Manager (moto) at {cloud.sm.endpoint}; provider APIs "
                f"{json.dumps(cloud.api_endpoints())}",
                flush=True,  # scripts (and Ctrl-C) act on this line: a pipe must not hold it
            )
            results = [demo_one(cloud, example, logs) for example in examples]
        finally:
            cloud.stop()
    passed = sum(results)
    print(f"\ndemo: {passed} of {len(results)} rotations succeeded")
    return 0 if passed == len(results) else 1


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m localcloud`` is ``redis-rotation`` (kept for scripts that call it)."""
    from rotation_cli.main import main as console

    return console(argv)
