"""(1) Cold start: the import time of each handler module in a fresh interpreter, against
``import boto3`` alone, in the same run.

Each import runs in a new interpreter (``python -c``), timed inside it around the import
statement only (interpreter start-up is the same for all and not counted). The handler is
imported as Lambda imports it: by module name, with its function's directory and the
layer's directory on PYTHONPATH. The configurations are interleaved round by round, so a
noisy moment hits all of them; the figure is the ratio of the least times (the median of
each round's own ratio is reported too).

A function's first invocation imports boto3 too (the Secrets Manager client is made on
first use), so what the handler adds to a cold start is t(boto3 + handler) - t(boto3).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict

from bench.common import (
    FUNCTION_DIRS,
    PROVIDERS,
    Measurement,
    Target,
    child_environment,
    function_path,
    median,
    run_python,
)

ADDED_TARGET = 0.3  # the handler adds at most 30% to boto3's own import time (issue 20)

TIMED = (
    "import time, json\nt = time.perf_counter()\n{body}\nprint(json.dumps(time.perf_counter() - t))"
)

CONFIGS: dict[str, tuple[str, tuple[str, ...]]] = {"boto3": ("import boto3", ())}
for _provider in PROVIDERS:
    CONFIGS[f"{_provider}_handler"] = (f"import {_provider}_handler", (_provider,))
    CONFIGS[f"boto3+{_provider}_handler"] = (
        f"import boto3\nimport {_provider}_handler",
        (_provider,),
    )
IMPORTTIME_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def _environment(providers: tuple[str, ...]) -> dict[str, str]:
    """Lambda's markers too: the template turns tracing on (``Tracing: Active``), and
    Powertools' Tracer does its import-time work (X-Ray SDK, patching) only in Lambda."""
    provider = providers[0] if providers else "uredis"
    return child_environment(
        {
            "PYTHONPATH": function_path(*providers) if providers else "",
            "LAMBDA_TASK_ROOT": str(FUNCTION_DIRS[provider]),
            "AWS_LAMBDA_FUNCTION_NAME": f"redis-rotation-{provider}",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        }
    )


def time_import(config: str) -> float:
    body, providers = CONFIGS[config]
    done = run_python(["-c", TIMED.format(body=body)], env=_environment(providers), timeout=120)
    return float(json.loads(done.stdout.strip().splitlines()[-1]))


def breakdown(provider: str, top: int = 8) -> dict[str, float]:
    """Where a handler's import time goes: ``-X importtime`` self time (ms) per package."""
    module = f"{provider}_handler"
    done = run_python(
        ["-X", "importtime", "-c", f"import {module}"],
        env=_environment((provider,)),
        timeout=120,
    )
    per_package: dict[str, float] = defaultdict(float)
    for line in done.stderr.splitlines():
        match = IMPORTTIME_LINE.match(line)
        if match:
            per_package[match.group(4).split(".")[0]] += int(match.group(1)) / 1000
    ranked = sorted(per_package.items(), key=lambda kv: -kv[1])[:top]
    return {name: round(ms, 1) for name, ms in ranked}


def run(rounds: int = 11) -> Measurement:
    measurement = Measurement("coldstart")
    for config in CONFIGS:  # a first, untimed run writes any missing bytecode caches
        time_import(config)
    samples: dict[str, list[float]] = {config: [] for config in CONFIGS}
    for _ in range(rounds):
        for config in CONFIGS:
            samples[config].append(time_import(config))
    boto3 = samples["boto3"]
    measurement.figures["rounds"] = rounds
    measurement.figures["least_import_ms"] = {
        config: round(min(values) * 1000, 1) for config, values in samples.items()
    }
    measurement.figures["median_import_ms"] = {
        config: round(median(values) * 1000, 1) for config, values in samples.items()
    }
    for provider in PROVIDERS:
        handler = samples[f"{provider}_handler"]
        both = samples[f"boto3+{provider}_handler"]
        # Judged on the least times (timeit's advice: the higher ones are interference
        # from other processes); the median of each round's own ratio is reported too.
        added = min(both) / min(boto3) - 1
        per_round = median([(b - o) / o for b, o in zip(both, boto3, strict=True)])
        alone = min(handler) / min(boto3)
        measurement.figures[f"{provider}_handler"] = {
            "added_to_boto3": round(added, 3),
            "added_to_boto3_median_of_rounds": round(per_round, 3),
            "alone_vs_boto3": round(alone, 3),
            "import_breakdown_ms": breakdown(provider),
        }
        measurement.targets.append(
            Target(
                f"cold start, {provider}_handler",
                f"adds <= {ADDED_TARGET:.0%} to boto3",
                f"{added:+.0%}",
                added <= ADDED_TARGET,
                f"least times; median of per-round ratios {per_round:+.0%}; alone "
                f"{alone:.2f}x boto3's import ({min(handler) * 1000:.0f} vs "
                f"{min(boto3) * 1000:.0f} ms)",
            )
        )
    measurement.notes.append(
        "least times over the rounds (median of per-round ratios also given); Lambda's "
        "environment markers set, so tracing is on as deployed (Tracing: Active); "
        "import_breakdown_ms: -X importtime self time per top-level package of the "
        "handler imported alone"
    )
    return measurement
