"""The preflight command: the checks' verdicts for people or as JSON, and the exit status."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict

from botocore.exceptions import BotoCoreError

import redis_rotation.preflight.checks as checks_module
from redis_rotation.observability import logger
from redis_rotation.preflight.checks import DEFAULT_TIMEOUT, Check, run_checks
from redis_rotation.terminal import safe_lines


def render(secret_id: str, checks: Sequence[Check]) -> str:
    failed = [check.name for check in checks if check.verdict == "FAIL"]
    warned = [check.name for check in checks if check.verdict == "WARN"]
    width = max(len(check.name) for check in checks)
    lines = [f"Preflight of {secret_id} (reads only, changes nothing)"]
    lines += [f"  {c.verdict:<4}  {c.name:<{width}}  {c.detail}" for c in checks]
    if failed:
        lines.append(f"Verdict: NOT ready to rotate: {len(failed)} failed ({', '.join(failed)})")
    else:
        note = f" ({len(warned)} warning{'s' if len(warned) > 1 else ''}: {', '.join(warned)})"
        lines.append(f"Verdict: ready to rotate{note if warned else ''}")
    return safe_lines(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The preflight options, shared by this module's ``main`` and ``redis-rotation preflight``."""
    parser.add_argument("secret_id", help="name or ARN of the rotated secret")
    parser.add_argument(
        "--password-length",
        type=int,
        help="the stack's password length parameter, to check it against the secret's rule",
    )
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds")
    parser.add_argument("--json", action="store_true", help="print the checks as JSON")
    parser.add_argument("--verbose", action="store_true", help="show the functions' own logs")


def main(argv: Sequence[str] | None = None, print_: Callable[[str], None] = print) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m redis_rotation.preflight",
        description=checks_module.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    return run(parser.parse_args(argv), print_)


def run(args: argparse.Namespace, print_: Callable[[str], None] = print) -> int:
    """Run the checks ``args`` ask for; 0 when ready, 1 when a check failed, 2 on no AWS."""
    env = dict(os.environ)
    if args.password_length is not None:
        env["PASSWORD_LENGTH"] = str(args.password_length)
    level = logger.log_level
    if not args.verbose:
        # The engine's and providers' JSON log lines would bury the verdicts.
        logger.setLevel(logging.ERROR)
    try:
        checks = run_checks(args.secret_id, env=env, timeout=args.timeout)
    except BotoCoreError as exc:  # no credentials, no region, no route to Secrets Manager
        print(
            f"preflight: cannot use Secrets Manager ({type(exc).__name__}): check the AWS "
            "credentials, the region (AWS_DEFAULT_REGION or the profile's) and the network path",
            file=sys.stderr,
        )
        return 2
    finally:
        logger.setLevel(level)  # main() may run inside another program (the local cloud CLI)
    if args.json:
        ready = all(check.verdict != "FAIL" for check in checks)
        document = {"secret": args.secret_id, "ready": ready, "checks": [asdict(c) for c in checks]}
        print_(json.dumps(document, indent=2))
    else:
        print_(render(args.secret_id, checks))
    return 1 if any(check.verdict == "FAIL" for check in checks) else 0
