"""What every subcommand shares: its registration, user errors, exit codes and JSON output.

Exit codes (documented in docs/cli.md):
  0  the command did what was asked, and what it checked is fine;
  1  the command ran, and what it checked is not fine (a failed rotation, a stuck secret,
     a failed preflight check, a repair that was refused);
  2  a user error: a wrong option, an unknown secret, no local cloud, no AWS credentials;
  130  interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from typing import Any

OK, NOT_OK, USER_ERROR, INTERRUPTED = 0, 1, 2, 130

# argparse's own type for what add_subparsers returns.
type Subcommands = argparse._SubParsersAction[argparse.ArgumentParser]
Run = Callable[[argparse.Namespace], int]


class UserError(Exception):
    """Something the user can fix; printed as one line, without a traceback, and exit 2."""


def add_command(
    commands: Subcommands, name: str, run: Run, summary: str, description: str | None = None
) -> argparse.ArgumentParser:
    """A subcommand whose parser runs ``run``; ``--help`` shows ``description`` as written."""
    parser: argparse.ArgumentParser = commands.add_parser(
        name,
        help=summary,
        description=description or summary,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(run=run)
    return parser


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def print_json(document: Any) -> None:
    emit(json.dumps(document, indent=2, sort_keys=False))


def emit(text: str) -> None:
    """Print ``text``; a reader that went away (``| head``) ends the output quietly."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        # Python would report the failed flush again at exit: point stdout at nothing.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def add_local_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--local",
        action="store_true",
        help="use the running local cloud (`redis-rotation up`) instead of AWS",
    )


def use_local_cloud(args: argparse.Namespace) -> dict[str, Any] | None:
    """With ``--local``, point this process at the running local cloud and return its state."""
    if not getattr(args, "local", False):
        return None
    return running_local_cloud()


def running_local_cloud() -> dict[str, Any]:
    """The state of a running ``up``, its environment applied to this process."""
    from localcloud import state  # the local cloud is a development install's part

    try:
        running = state.load()
    except state.NoLocalCloud as exc:
        raise UserError(str(exc)) from None
    state.apply(running)
    return running
