"""``python -m bench`` (``make bench``): run the measurements, write
``bench-results/bench.json`` and print a table of the targets and whether each is met.

``--only NAME ...`` runs some of them; ``--quick`` runs small versions of all (a smoke
run: the figures are not the issue's); ``--markdown`` prints the table of the last
bench.json as Markdown (for the README) without measuring anything.

Exit status: 0 when every measurement ran, whatever the targets; 1 when one failed to run.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from bench import coldstart, cost, disruption, fleet, operations, size, waiting
from bench.common import RESULTS_DIR, ROOT, Measurement, Target, write_json

OUTPUT = RESULTS_DIR / "bench.json"
NAMES = ("coldstart", "cost", "waiting", "fleet", "size", "disruption", "operations")


def plan(quick: bool, fleet_size: int | None) -> dict[str, Callable[[], Measurement]]:
    if quick:
        return {
            "coldstart": lambda: coldstart.run(rounds=3),
            "cost": lambda: cost.run(rotations=3),
            "waiting": lambda: waiting.run(repeats=1),
            "fleet": lambda: fleet.run(fleet_size or 20),
            "size": size.run,
            "disruption": lambda: disruption.run(
                ["uredis"], shape=disruption.Shape(baseline=1.0, after=1.0)
            ),
            "operations": lambda: operations.run(200, check_batches=2),
        }
    return {
        "coldstart": lambda: coldstart.run(rounds=11),
        "cost": lambda: cost.run(rotations=15),
        "waiting": lambda: waiting.run(repeats=3),
        "fleet": lambda: fleet.run(fleet_size or 200),
        "size": size.run,
        "disruption": disruption.run,
        "operations": operations.run,
    }


def git_state() -> dict[str, Any]:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 (git from PATH)
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return {}
    return {"commit": commit, "uncommitted_changes": bool(changed)}


def rows(measurements: Sequence[dict[str, Any]]) -> list[tuple[str, str, str, str, str]]:
    return [
        (
            m["name"],
            t["name"],
            t["goal"],
            t["value"],
            "yes" if t["met"] else "NO",
        )
        for m in measurements
        for t in m["targets"]
    ]


def print_table(measurements: Sequence[dict[str, Any]]) -> None:
    table = [("measurement", "target", "goal", "measured", "met"), *rows(measurements)]
    widths = [min(44, max(len(row[i]) for row in table)) for i in range(5)]
    for n, row in enumerate(table):
        print("  ".join(cell[: widths[i]].ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))
    missed = [(m["name"], t) for m in measurements for t in m["targets"] if not t["met"]]
    for name, target in missed:
        print(f"missed: {name} / {target['name']}: {target['note']}")
    for m in measurements:
        # A measurement's own table (the disruption benchmark's, per client kind).
        for row in m.get("figures", {}).get("table", []):
            print("  ".join(str(cell).ljust(14) for cell in row).rstrip())
    for m in measurements:
        if m.get("error"):
            print(f"FAILED TO RUN: {m['name']}: {m['error']}")


def print_markdown(report: dict[str, Any]) -> None:
    print("| target | goal | measured | met |")
    print("|---|---|---|---|")
    for _, target, goal, value, met in rows(report["measurements"]):
        print(f"| {target} | {goal} | {value} | {met} |")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", nargs="+", choices=NAMES, help="run only these")
    parser.add_argument("--quick", action="store_true", help="small versions (a smoke run)")
    parser.add_argument("--fleet-size", type=int, help="secrets in the fleet (default 200)")
    parser.add_argument("--markdown", action="store_true", help="print the last bench.json")
    args = parser.parse_args(argv)

    if args.markdown:
        print_markdown(json.loads(OUTPUT.read_text()))
        return 0

    RESULTS_DIR.mkdir(exist_ok=True)
    started = time.monotonic()
    chosen = plan(args.quick, args.fleet_size)
    results: list[dict[str, Any]] = []
    failed = False
    for name in args.only or NAMES:
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        begun = time.monotonic()
        try:
            measurement = chosen[name]()
        except Exception as exc:
            failed = True
            measurement = Measurement(name)
            measurement.targets.append(Target(name, "runs", "failed to run", False, str(exc)))
            result = measurement.to_json()
            result["error"] = f"{type(exc).__name__}: {exc}"
            result["traceback"] = traceback.format_exc()
        else:
            result = measurement.to_json()
        result["seconds"] = round(time.monotonic() - begun, 1)
        results.append(result)

    targets = [t for m in results for t in m["targets"]]
    report = {
        "command": "make bench" + (" (quick)" if args.quick else ""),
        "finished_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "git": git_state(),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "seconds": round(time.monotonic() - started, 1),
        "targets_met": sum(1 for t in targets if t["met"]),
        "targets": len(targets),
        "measurements": results,
    }
    write_json(OUTPUT, report)
    print_table(results)
    print(
        f"bench: {report['targets_met']} of {report['targets']} targets met in "
        f"{report['seconds']:.0f} s; figures in {OUTPUT.relative_to(ROOT)}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
