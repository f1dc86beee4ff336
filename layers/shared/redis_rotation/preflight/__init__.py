"""Is a secret ready to be rotated? The checks (``checks.py``) and the command (``cli.py``,
run as ``python -m redis_rotation.preflight``)."""

from redis_rotation.preflight.checks import Check, Preflight, run_checks
from redis_rotation.preflight.cli import main, render

__all__ = ["Check", "Preflight", "main", "render", "run_checks"]
