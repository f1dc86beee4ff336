"""``redis-rotation preflight``: the checks of ``redis_rotation.preflight``, as a subcommand."""

from __future__ import annotations

import argparse

from redis_rotation.preflight import checks, cli
from rotation_cli.base import (
    Subcommands,
    add_command,
    add_local_flag,
    current_value,
    use_local_cloud,
)


def run(args: argparse.Namespace) -> int:
    use_local_cloud(args)
    # An unknown or non-JSON secret is a user error (exit 2), as in every command; a JSON
    # value the schema refuses is a finding of the `secret` check (exit 1).
    import boto3  # a client of its own: the functions' shared one outlives settings

    current_value(boto3.client("secretsmanager"), args.secret_id)
    return cli.run(args)


def register(commands: Subcommands) -> None:
    parser = add_command(
        commands,
        "preflight",
        run,
        "check a secret before its first rotation (reads only)",
        checks.__doc__,
    )
    cli.add_arguments(parser)
    add_local_flag(parser)
