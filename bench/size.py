"""(5) Size and memory: the layer's zipped size, and the peak RSS of a rotation.

The layer is built the way it is deployed: ``sam build SharedLayer`` into a temporary
directory (whatever build method the template names), then zipped as Lambda stores it
(the ``python/`` tree, deflated). Without SAM CLI, or if it fails, the layer is assembled
by pip for the template's default architecture (arm64) instead, and the JSON says so.

The peak RSS is the ``ru_maxrss`` of a fresh process that imports the handler and runs one
rotation's four invocations against the local cloud (served by another process).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from bench.common import (
    LAYER_DIR,
    MODES,
    ROOT,
    CloudProcess,
    Measurement,
    Target,
    run_worker,
)

LAYER_TARGET_BYTES = 5 * 1024 * 1024
LAMBDA_MEMORY_MB = 128
# "Fits with room to spare": at most three quarters of the 128 MB size.
RSS_TARGET_MB = 0.75 * LAMBDA_MEMORY_MB


def _tool_environment() -> dict[str, str]:
    env = dict(os.environ)
    # sam build needs python3.13 on PATH: this interpreter's directory first.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["SAM_CLI_TELEMETRY"] = "0"
    return env


def build_with_sam(work: Path) -> Path:
    sam = shutil.which("sam", path=_tool_environment()["PATH"])
    if sam is None:
        raise FileNotFoundError("sam is not installed")
    build_dir = work / "sam-build"
    subprocess.run(  # noqa: S603 (SAM CLI from the venv, fixed arguments)
        [
            sam,
            "build",
            "SharedLayer",
            "--template-file",
            str(ROOT / "template.yaml"),
            "--build-dir",
            str(build_dir),
            "--cache-dir",
            str(work / "sam-cache"),
        ],
        cwd=ROOT,
        env=_tool_environment(),
        capture_output=True,
        check=True,
        timeout=600,
    )
    return build_dir / "SharedLayer"


def build_with_pip(work: Path) -> Path:
    layer = work / "pip-build"
    target = layer / "python"
    for requirements in sorted(LAYER_DIR.glob("requirements*.txt")):
        no_deps = ["--no-deps"] if "nodeps" in requirements.name else []
        subprocess.run(  # noqa: S603 (pip of this interpreter, fixed arguments)
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-compile",
                "--only-binary=:all:",
                "--platform",
                "manylinux2014_aarch64",
                "--implementation",
                "cp",
                "--python-version",
                "3.13",
                "--target",
                str(target),
                *no_deps,
                "-r",
                str(requirements),
            ],
            env=_tool_environment(),
            capture_output=True,
            check=True,
            timeout=600,
        )
    shutil.copytree(
        LAYER_DIR / "redis_rotation",
        target / "redis_rotation",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    shutil.rmtree(target / "bin", ignore_errors=True)
    return layer


def zip_layer(layer: Path, archive: Path) -> dict[str, Any]:
    unpacked = 0
    per_package: dict[str, int] = {}
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for path in sorted(layer.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(layer).as_posix())
                size = path.stat().st_size
                unpacked += size
                parts = path.relative_to(layer).parts
                top = parts[1] if len(parts) > 2 else parts[-1]
                per_package[top] = per_package.get(top, 0) + size
    largest = sorted(per_package.items(), key=lambda kv: -kv[1])[:6]
    return {
        "zipped_bytes": archive.stat().st_size,
        "unpacked_bytes": unpacked,
        "largest_unpacked_kb": {name: round(n / 1024) for name, n in largest},
    }


def layer_size() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-layer-") as tmp:
        work = Path(tmp)
        try:
            layer, method = build_with_sam(work), "sam build SharedLayer"
        except (OSError, subprocess.SubprocessError) as exc:
            layer = build_with_pip(work)
            method = f"pip (manylinux2014_aarch64); sam build failed: {type(exc).__name__}"
        return {"method": method, **zip_layer(layer, work / "layer.zip")}


def run() -> Measurement:
    measurement = Measurement("size")
    layer = layer_size()
    measurement.figures["layer"] = layer
    zipped = int(layer["zipped_bytes"])
    measurement.targets.append(
        Target(
            "layer, zipped",
            "< 5 MB",
            f"{zipped / 1024 / 1024:.2f} MB",
            zipped < LAYER_TARGET_BYTES,
            f"{int(layer['unpacked_bytes']) / 1024 / 1024:.1f} MB unpacked; {layer['method']}",
        )
    )
    spec = {"secrets": [{"name": f"bench/rss/{mode}", "mode": mode} for mode in MODES]}
    rss: dict[str, Any] = {}
    with CloudProcess(spec, log_name="rss-cloud", startup_timeout=180) as cloud:
        for mode in MODES:
            rss[mode] = run_worker("rss", cloud.state, mode, timeout=300, name=f"rss-{mode}")
    measurement.figures["rss_mb"] = {
        mode: {k: round(v, 1) if isinstance(v, float) else v for k, v in r.items()}
        for mode, r in rss.items()
    }
    worst_mode = max(rss, key=lambda m: float(rss[m]["peak_mb"]))
    peak = float(rss[worst_mode]["peak_mb"])
    failed = [m for m, r in rss.items() if not r["succeeded"]]
    measurement.targets.append(
        Target(
            "peak RSS of a rotation",
            f"<= {RSS_TARGET_MB:.0f} MB (of {LAMBDA_MEMORY_MB})",
            f"{peak:.1f} MB ({worst_mode})",
            peak <= RSS_TARGET_MB and not failed,
            f"interpreter {float(rss[worst_mode]['interpreter_mb']):.0f} MB, after the handler "
            f"import {float(rss[worst_mode]['after_import_mb']):.0f} MB"
            + (f"; rotation FAILED for {failed}" if failed else ""),
        )
    )
    measurement.notes.append(
        "RSS: tracing off (outside Lambda Powertools' Tracer does not patch); one rotation "
        "per fresh process, the driver's calls through the function's own client"
    )
    return measurement
