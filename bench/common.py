"""What every measurement shares: paths, the functions' environment, results and targets,
bounded subprocesses and a line protocol with child processes."""

from __future__ import annotations

import json
import os
import selectors
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
LAYER_DIR = ROOT / "layers" / "shared"
PROVIDERS = ("uredis", "tencent", "elasticache", "alibaba")
FUNCTION_DIRS = {p: ROOT / "functions" / p for p in PROVIDERS}
RESULTS_DIR = ROOT / "bench-results"

# The provider modes of a rotation: (provider, options of LocalCloud.add_*_secret).
MODES: dict[str, tuple[str, dict[str, Any]]] = {
    "uredis": ("uredis", {}),
    "tencent-2.0": ("tencent", {"api_version": "2.0"}),
    "tencent-3.0-modify": ("tencent", {"api_version": "3.0", "change_mode": "modify"}),
    "tencent-3.0-reset": ("tencent", {"api_version": "3.0", "change_mode": "reset"}),
}
# The ElastiCache and Alibaba modes: the cost and disruption benchmarks measure them too
# (waiting, size and the fleet stay on the four above: their targets are issue 20's).
NEW_PROVIDER_MODES: dict[str, tuple[str, dict[str, Any]]] = {
    "elasticache-user": ("elasticache", {"kind": "user"}),
    "elasticache-token": ("elasticache", {"kind": "token"}),
    "alibaba-default": ("alibaba", {}),
    "alibaba-account": ("alibaba", {"account": "app"}),
    "alibaba-alternating": ("alibaba", {"account": "app", "alternate": "app_b"}),
    "alibaba-cluster-alternating": (
        "alibaba",
        {"architecture": "cluster", "account": "app", "alternate": "app_b"},
    ),
}
COST_MODES = {**MODES, **NEW_PROVIDER_MODES}

# What the template's Globals give every function (POWERTOOLS_LOG_LEVEL at its default).
# Tracing: Powertools turns it off outside Lambda (no LAMBDA_TASK_ROOT), and the local
# cloud's environment turns it off explicitly; the cold start sets the Lambda markers.
LAMBDA_ENVIRONMENT = {
    "POWERTOOLS_SERVICE_NAME": "redis-rotation",
    "POWERTOOLS_METRICS_NAMESPACE": "RedisRotation",
    "POWERTOOLS_LOG_LEVEL": "INFO",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


@dataclass
class Target:
    """One target of the issue, and whether this run met it."""

    name: str
    goal: str  # the target in words, e.g. "<= 1.5x"
    value: str  # what was measured, formatted
    met: bool
    note: str = ""


@dataclass
class Measurement:
    name: str
    figures: dict[str, Any] = field(default_factory=dict)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0  # how long the measurement took (for the bench's own budget)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def function_path(*providers: str) -> str:
    """PYTHONPATH as Lambda sets it up: the function's own directory, then the layer's."""
    return os.pathsep.join([*(str(FUNCTION_DIRS[p]) for p in providers), str(LAYER_DIR)])


def child_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A small, explicit environment for child processes (nothing of the bench's own)."""
    env = {
        name: os.environ[name] for name in ("PATH", "HOME", "LANG", "TMPDIR") if name in os.environ
    }
    env.update(LAMBDA_ENVIRONMENT)
    # The bench package and the local cloud, importable wherever the bench is started.
    env["PYTHONPATH"] = os.pathsep.join([function_path(*PROVIDERS), str(ROOT)])
    env["PYTHONUNBUFFERED"] = "1"
    if "REDIS_SERVER" in os.environ:
        env["REDIS_SERVER"] = os.environ["REDIS_SERVER"]
    env.update(extra or {})
    return env


def run_python(
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    timeout: float,
    stdout: int | IO[Any] | None = subprocess.PIPE,
    stderr: int | IO[Any] | None = subprocess.PIPE,
) -> subprocess.CompletedProcess[str]:
    """Run this interpreter with ``args``, bounded by ``timeout``; raise if it fails."""
    done = subprocess.run(  # noqa: S603 (our own interpreter, fixed arguments)
        [sys.executable, *args],
        env=dict(env),
        cwd=ROOT,
        stdout=stdout,
        stderr=stderr,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(args[:3])} exited {done.returncode}: {(done.stderr or '')[-2000:]}"
        )
    return done


class LineChannel:
    """JSON lines to and from a child process, every read bounded by a timeout."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdin is not None
        assert process.stdout is not None
        self.process = process
        self._stdin = process.stdin
        self._fd = process.stdout.fileno()
        self._buffer = b""

    def send(self, message: Mapping[str, Any]) -> None:
        self._stdin.write(json.dumps(message).encode() + b"\n")
        self._stdin.flush()

    def receive(self, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(self._fd, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no answer from the child process within {timeout:g} s")
                if selector.select(remaining):
                    chunk = os.read(self._fd, 65536)
                    if not chunk:
                        raise RuntimeError(
                            f"the child process ended (exit code {self.process.poll()})"
                        )
                    self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def request(self, message: Mapping[str, Any], timeout: float) -> dict[str, Any]:
        self.send(message)
        return self.receive(timeout)


class CloudProcess:
    """``python -m bench.cloudproc`` as a context manager: started with a spec, stopped on exit."""

    def __init__(self, spec: Mapping[str, Any], *, log_name: str, startup_timeout: float) -> None:
        self.spec = spec
        self.log_path = RESULTS_DIR / f"{log_name}.log"
        self.startup_timeout = startup_timeout
        self.state: dict[str, Any] = {}
        self._process: subprocess.Popen[bytes] | None = None
        self._channel: LineChannel | None = None

    def __enter__(self) -> CloudProcess:
        RESULTS_DIR.mkdir(exist_ok=True)
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "bench.cloudproc"],
                cwd=ROOT,
                env=child_environment(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
            )
        try:
            self._channel = LineChannel(self._process)
            self._channel.send(self.spec)
            self.state = self._channel.receive(self.startup_timeout)
        except BaseException:
            self._kill()
            raise
        return self

    def request(self, command: str, timeout: float = 120.0, **fields: Any) -> dict[str, Any]:
        assert self._channel is not None, "the cloud process is not running"
        return self._channel.request({"command": command, **fields}, timeout)

    def __exit__(self, *exc: object) -> None:
        try:
            if self._channel is not None and self._process and self._process.poll() is None:
                self.request("stop", timeout=60)
                self._process.wait(timeout=60)
        except (TimeoutError, RuntimeError, OSError, subprocess.TimeoutExpired):
            pass
        finally:
            self._kill()

    def _kill(self) -> None:
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()
        self._process = None


def write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2, sort_keys=False) + "\n")


def run_worker(
    command: str, state: Mapping[str, Any], *args: str, timeout: float, name: str
) -> dict[str, Any]:
    """``python -m bench.worker COMMAND`` against a running cloud; its JSON result.

    The functions' own output (JSON logs, EMF metrics at the template's INFO level) goes
    to a log file, as it would go to CloudWatch, and is not printed.
    """
    state_path = RESULTS_DIR / f"{name}.state.json"
    out_path = RESULTS_DIR / f"{name}.result.json"
    write_json(state_path, state)
    out_path.unlink(missing_ok=True)
    with (RESULTS_DIR / f"{name}.log").open("w") as log:
        run_python(
            ["-m", "bench.worker", command, str(state_path), str(out_path), *args],
            env=child_environment(),
            timeout=timeout,
            stdout=log,
            stderr=log,
        )
    result: dict[str, Any] = json.loads(out_path.read_text())
    state_path.unlink(missing_ok=True)
    return result
