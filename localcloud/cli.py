"""``python -m localcloud up | demo | rotate <secret-id>``.

up      start everything, create an example secret per provider, print the endpoints and
        secret ids as one JSON object, and serve until interrupted.
demo    start everything and run a full rotation per example secret, showing what happened.
rotate  run one rotation against a running ``up`` (found through its state file).
preflight  run ``python -m redis_rotation.preflight`` against a running ``up``.

Passwords are never printed: the demo shows a short SHA-256 fingerprint of each.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from localcloud.cloud import ExampleSecret, LocalCloud
from localcloud.driver import RotationResult

STATE_FILE = Path(".localcloud/state.json")

# Each provider module of the local cloud registers how it creates its demo secrets.
ExampleFactory = Callable[[LocalCloud], list[ExampleSecret]]


def _uredis_examples(cloud: LocalCloud) -> list[ExampleSecret]:
    return [cloud.add_uredis_secret("localcloud/uredis-demo", group_id="uredis-demo")]


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


EXAMPLES: list[ExampleFactory] = [_uredis_examples, _tencent_examples]


def fingerprint(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()[:10]


def quiet_functions(verbose: bool) -> None:
    """The functions' own JSON logs would bury the command's output; `--verbose` shows them."""
    if not verbose:
        os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
        os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")


def start_cloud(verbose: bool) -> tuple[LocalCloud, list[ExampleSecret]]:
    quiet_functions(verbose)
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
    cloud, examples = start_cloud(args.verbose)
    state = describe(cloud, examples)
    STATE_FILE.parent.mkdir(parents=True, exist_ok=True)
    STATE_FILE.write_text(json.dumps(state, indent=2))
    print(json.dumps(state, indent=2), flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        cloud.stop()
        STATE_FILE.unlink(missing_ok=True)
    return 0


def _running_cloud() -> dict[str, Any] | None:
    """The state of a running ``up``, its environment applied to this process; or None."""
    from localcloud.secretsmanager import apply_environment

    if not STATE_FILE.exists():
        print(
            f"no running local cloud ({STATE_FILE} is missing): run `make up` first",
            file=sys.stderr,
        )
        return None
    state: dict[str, Any] = json.loads(STATE_FILE.read_text())
    apply_environment(state["environment"])
    return state


def cmd_rotate(args: argparse.Namespace) -> int:
    from localcloud.driver import RotationDriver

    quiet_functions(args.verbose)
    state = _running_cloud()
    if state is None:
        return 2
    import boto3

    client = boto3.client("secretsmanager", endpoint_url=state["secretsManager"])
    current = client.get_secret_value(SecretId=args.secret_id, VersionStage="AWSCURRENT")
    provider = json.loads(current["SecretString"]).get("provider")
    if provider not in state["functions"]:
        print(f"secret {args.secret_id} names an unknown provider", file=sys.stderr)
        return 2
    driver = RotationDriver(client, LocalCloud.handler(provider), state["functions"][provider])
    result = driver.rotate(args.secret_id)
    print(json.dumps(_result_summary(result), indent=2))
    return 0 if result.succeeded else 1


def cmd_preflight(args: argparse.Namespace) -> int:
    if _running_cloud() is None:
        return 2
    from redis_rotation import preflight

    return preflight.main([args.secret_id, *(["--verbose"] if args.verbose else [])])


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


def demo_one(cloud: LocalCloud, example: ExampleSecret) -> bool:
    print(f"\n== {example.name}  ({example.provider}, {example.details}) ==")
    before = cloud.value(example.arn, "AWSCURRENT")
    print(
        f"  before: AWSCURRENT password #{fingerprint(before['password'])}, Redis accepts it: "
        f"{example.accepts(before)}"
    )
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
    if example.details.get("strategy") == "alternating":
        # Zero downtime: the version clients hold keeps working until the next rotation.
        old_kept = example.accepts(before)
        ok = changed and old_kept and before["account"] != after["account"]
        verdict = f"old version still accepted (now AWSPREVIOUS): {old_kept}"
    else:
        old_refused = not example.accepts(before)
        ok = changed and old_refused
        verdict = f"old password refused: {old_refused}"
    print(f"  {verdict}; new password accepted: {new_accepted}; {'OK' if ok else 'FAILED'}")
    return ok


def cmd_demo(args: argparse.Namespace) -> int:
    cloud, examples = start_cloud(args.verbose)
    try:
        print(
            f"local cloud: Secrets Manager (moto) at {cloud.sm.endpoint}; provider APIs "
            f"{json.dumps(cloud.api_endpoints())}"
        )
        results = [demo_one(cloud, example) for example in examples]
    finally:
        cloud.stop()
    passed = sum(results)
    print(f"\ndemo: {passed} of {len(results)} rotations succeeded")
    return 0 if passed == len(results) else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m localcloud",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--verbose", action="store_true", help="show the functions' own logs")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("up", help="start the local cloud and serve until interrupted")
    commands.add_parser("demo", help="run a full rotation for each provider")
    rotate = commands.add_parser("rotate", help="rotate one secret on a running `up`")
    rotate.add_argument("secret_id")
    check = commands.add_parser("preflight", help="check a secret on a running `up`")
    check.add_argument("secret_id")
    args = parser.parse_args(argv)
    handlers = {"up": cmd_up, "demo": cmd_demo, "rotate": cmd_rotate, "preflight": cmd_preflight}
    return handlers[args.command](args)
