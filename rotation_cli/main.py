"""redis-rotation: rotate the passwords of managed Redis at UCloud and Tencent Cloud with
AWS Secrets Manager, and operate the rotations.

preflight, status and repair work on AWS, with the AWS CLI's credentials, region and
endpoint settings; with --local, on the running local cloud. up, demo, rotate, add-secret
and env are the local cloud's (the `local` extra: pip install '.[local]' from the checkout).

Exit codes, for every command: 0 done and fine; 1 done and not fine (a failed check or
rotation, a stuck secret, a refused repair); 2 could not start on what it was given (a
wrong option, an unknown or non-JSON secret, no AWS credentials or region, no local
cloud); 130 interrupted.

Run `redis-rotation COMMAND --help` for a command's options.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import FrameType

from botocore.exceptions import BotoCoreError, ClientError

from redis_rotation import __version__
from redis_rotation.terminal import terminal_safe
from rotation_cli.base import INTERRUPTED, USER_ERROR, Subcommands, UserError

# Each module registers its subcommands, in the order --help lists them.
COMMAND_MODULES = (
    "rotation_cli.preflight",
    "rotation_cli.status",
    "rotation_cli.repair",
    "rotation_cli.local",
)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="redis-rotation",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    root.add_argument("--version", action="version", version=f"redis-rotation {__version__}")
    commands: Subcommands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(commands)
    return root


@contextmanager
def remembered_interrupts() -> Iterator[threading.Event]:
    """Ctrl-C raises KeyboardInterrupt as usual, and is also remembered: Python swallows an
    interrupt that lands in a finalizer ("Exception ignored in ..."), and the command would
    then run on and exit 0."""
    seen = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield seen  # only the main thread may set a handler (and receives the signal)
        return

    def on_interrupt(signum: int, frame: FrameType | None) -> None:
        seen.set()
        signal.default_int_handler(signum, frame)

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield seen
    finally:
        signal.signal(signal.SIGINT, previous)


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    with remembered_interrupts() as interrupted:
        code = _run(args)
    return INTERRUPTED if interrupted.is_set() else code


def _run(args: argparse.Namespace) -> int:
    try:
        code: int = args.run(args)
    except UserError as exc:
        print(terminal_safe(f"redis-rotation {args.command}: {exc}"), file=sys.stderr)
        return USER_ERROR
    except ClientError as exc:  # e.g. an unknown secret, or access denied
        error = exc.response.get("Error", {})
        print(
            terminal_safe(  # AWS's message quotes the secret's name and version ids
                f"redis-rotation {args.command}: AWS refused {exc.operation_name}: "
                f"{error.get('Code', 'error')}: {error.get('Message', '')}"
            ),
            file=sys.stderr,
        )
        return USER_ERROR
    except BotoCoreError as exc:  # no credentials, no region, no route
        print(
            f"redis-rotation {args.command}: cannot reach AWS ({type(exc).__name__}): check "
            "the AWS credentials, the region (AWS_DEFAULT_REGION or the profile's) and the "
            "network path",
            file=sys.stderr,
        )
        return USER_ERROR
    except KeyboardInterrupt:
        return INTERRUPTED
    return code
